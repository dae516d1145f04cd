package lsp

import (
	"context"
	"encoding/json"
	"reflect"

	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Settings are the editor's `devproxy` settings (docs/lsp.md). The ones
// devproxy.json also has are overridden by it.
type Settings struct {
	Apps      []string `json:"apps,omitempty"`
	Overrides []string `json:"overrides,omitempty"`
	Listen    string   `json:"listen,omitempty"`
	Tunnel    struct {
		Listen string `json:"listen,omitempty"`
	} `json:"tunnel"`
	Proxy struct {
		Enabled *bool `json:"enabled,omitempty"`
	} `json:"proxy"`
	// Environment is the profile of devproxy.json's "environments" the
	// server applies (devproxy.environment); "" for none.
	Environment string `json:"environment,omitempty"`
	// Calliope chooses its models (devproxy.calliope.*); the environment
	// (OLLAMA_HOST, OPENAI_*) fills what is unset.
	Calliope struct {
		Providers []string `json:"providers,omitempty"` // order: "local", "openai"
		BaseURL   string   `json:"baseUrl,omitempty"`   // an OpenAI-compatible local server
		Model     string   `json:"model,omitempty"`
		Docs      []string `json:"docs,omitempty"` // the workspace's documents, globs
	} `json:"calliope"`
}

// config is the part of the settings the route engine reads.
func (st Settings) config() routing.Config {
	var c routing.Config
	c.Apps, c.Overrides, c.Listen = st.Apps, st.Overrides, st.Listen
	c.Tunnel.Listen = st.Tunnel.Listen
	c.Environment = st.Environment
	return c
}

func (st Settings) proxyEnabled() bool { return st.Proxy.Enabled == nil || *st.Proxy.Enabled }

// DidChangeConfiguration pulls the settings again (the notification's own
// payload is not relied on). The call back to the client must not run on
// the read loop.
func (s *Server) DidChangeConfiguration(context.Context, *protocol.DidChangeConfigurationParams) error {
	go s.fetchConfiguration()
	return nil
}

// fetchConfiguration reads the `devproxy` settings from the client and
// applies them. It runs off the read loop (it waits for the client).
func (s *Server) fetchConfiguration() {
	ctx, cancel := s.outbound()
	defer cancel()
	section := "devproxy"
	out, err := s.client.Configuration(ctx, &protocol.ConfigurationParams{Items: []protocol.ConfigurationItem{{Section: &section}}})
	if err != nil {
		s.log.Warn("workspace/configuration failed; keeping the current settings", "err", err)
	} else if len(out) == 1 && string(out[0]) != "null" {
		var st Settings
		if err := json.Unmarshal(out[0], &st); err != nil {
			s.log.Warn("the devproxy settings cannot be read", "err", err)
		} else {
			s.mu.Lock()
			changed := !reflect.DeepEqual(st, s.settings)
			calliopeChanged := !reflect.DeepEqual(st.Calliope, s.settings.Calliope)
			s.settings = st
			s.mu.Unlock()
			if calliopeChanged {
				s.modelsChanged() // found again at Calliope's next question
			}
			// VS Code asks again after every devproxy.* change (the trace
			// level too) and right after start, with the settings
			// initializationOptions already gave: only a real change
			// recomposes and republishes.
			if changed {
				s.applyFolders()
				s.proxy.apply()
				s.diags.publishAll()
				s.refreshWatchers() // the route folders may have moved
				return
			}
		}
	}
	s.proxy.apply()
}
