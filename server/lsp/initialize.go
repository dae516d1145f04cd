package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"

	"go.lsp.dev/jsonrpc2"

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
}

// config is the part of the settings the route engine reads.
func (st Settings) config() routing.Config {
	var c routing.Config
	c.Apps, c.Overrides, c.Listen = st.Apps, st.Overrides, st.Listen
	c.Tunnel.Listen = st.Tunnel.Listen
	return c
}

func (st Settings) proxyEnabled() bool { return st.Proxy.Enabled == nil || *st.Proxy.Enabled }

// commands the server advertises through workspace/executeCommand: none;
// the code lenses and actions run client-side commands (docs/lsp.md).
var advertisedCommands []string

func (s *Server) initialize(ctx context.Context, params json.RawMessage) (any, error) {
	var p InitializeParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
	}
	s.mu.Lock()
	if s.ws != nil {
		s.mu.Unlock()
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize was already called")
	}
	rootURI := p.RootURI
	if rootURI == "" && len(p.WorkspaceFolders) > 0 {
		rootURI = p.WorkspaceFolders[0].URI
	}
	root, ok := uriToPath(rootURI)
	if !ok && p.RootPath != "" {
		root, ok = p.RootPath, true
	}
	if !ok {
		if wd, err := os.Getwd(); err == nil {
			root = wd
		}
	}
	if len(p.InitializationOptions) > 0 && string(p.InitializationOptions) != "null" {
		if err := json.Unmarshal(p.InitializationOptions, &s.settings); err != nil {
			s.log.Warn("initializationOptions are not devproxy settings", "err", err)
		}
	}
	ws, err := routing.NewWorkspaceWithDefaults(root, s.settings.config())
	if err != nil {
		s.mu.Unlock()
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("workspace %s: %v", root, err))
	}
	s.ws, s.root, s.caps = ws, ws.Root(), p.Capabilities
	s.mu.Unlock()
	s.setTable(ws.Table())
	s.log.Info("initialized", "root", s.root)
	return InitializeResult{
		ServerInfo: ServerInfo{Name: "devproxy", Version: s.opts.Version},
		Capabilities: ServerCapabilities{
			TextDocumentSync:       TextDocumentSyncOptions{OpenClose: true, Change: 1, Save: SaveOptions{}},
			HoverProvider:          true,
			DefinitionProvider:     true,
			DocumentSymbolProvider: true,
			CodeActionProvider:     CodeActionOptions{CodeActionKinds: []string{"quickfix", "refactor.rewrite"}},
			CodeLensProvider:       CodeLensOptions{},
			CompletionProvider:     CompletionOptions{TriggerCharacters: []string{"$"}},
			RenameProvider:         RenameOptions{PrepareProvider: true},
		},
	}, nil
}

// initializedNotification starts what needs a client that is ready: the
// first diagnostics, file watching, the settings and the proxy.
func (s *Server) initializedNotification() error {
	s.mu.Lock()
	if s.ws == nil || s.initialized {
		s.mu.Unlock()
		return nil
	}
	s.initialized = true
	caps := s.caps
	s.mu.Unlock()

	s.diags.publishAll()
	go func() {
		if caps.Workspace.DidChangeWatchedFiles.DynamicRegistration {
			s.registerWatchers()
		}
		if caps.Workspace.Configuration {
			s.fetchConfiguration() // also starts the proxy
			return
		}
		s.proxy.apply()
	}()
	return nil
}

// registerWatchers asks the client to report file events of the route
// folders and the settings files (clients without static file events).
func (s *Server) registerWatchers() {
	opts := DidChangeWatchedFilesRegistrationOptions{Watchers: []FileSystemWatcher{
		{GlobPattern: "**/*.conf"}, {GlobPattern: "**/" + routing.ConfigFile}, {GlobPattern: "**/" + routing.ResolutionsFile},
	}}
	err := s.call("client/registerCapability", RegistrationParams{Registrations: []Registration{{
		ID: "devproxy-watch", Method: "workspace/didChangeWatchedFiles", RegisterOptions: opts,
	}}}, nil)
	if err != nil {
		s.log.Warn("cannot register file watchers", "err", err)
	}
}

// fetchConfiguration reads the `devproxy` settings from the client and
// applies them. It runs off the read loop (it waits for the client).
func (s *Server) fetchConfiguration() {
	var out []json.RawMessage
	if err := s.call("workspace/configuration", ConfigurationParams{Items: []ConfigurationItem{{Section: "devproxy"}}}, &out); err != nil {
		s.log.Warn("workspace/configuration failed; keeping the current settings", "err", err)
	} else if len(out) == 1 && string(out[0]) != "null" {
		var st Settings
		if err := json.Unmarshal(out[0], &st); err != nil {
			s.log.Warn("the devproxy settings cannot be read", "err", err)
		} else {
			s.mu.Lock()
			changed := !reflect.DeepEqual(st, s.settings)
			s.settings = st
			ws := s.ws
			s.mu.Unlock()
			// VS Code asks again after every devproxy.* change (the trace
			// level too) and right after start, with the settings
			// initializationOptions already gave: only a real change
			// recomposes and republishes.
			if changed {
				s.setTable(ws.SetDefaults(st.config()))
				s.proxy.apply()
				s.diags.publishAll()
				return
			}
		}
	}
	s.proxy.apply()
}

func (s *Server) shutdownRequest() (any, error) {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	s.proxy.stop()
	s.diags.clearAll()
	return nil, nil
}

// setTable installs a new route table for requests and tells the client
// the routes may have changed.
func (s *Server) setTable(t *routing.RouteTable) {
	s.mu.Lock()
	texts := make(map[string]string, len(s.docs))
	for rel, d := range s.docs {
		texts[rel] = d.text
	}
	s.mu.Unlock()
	prev := s.snap.Load()
	var version int64 = 1
	if prev != nil {
		if prev.table == t {
			return
		}
		version = prev.version + 1
	}
	s.snap.Store(&snapshot{table: t, version: version, texts: texts, root: t.Root})
	if s.conn != nil && prev != nil {
		go s.notify("devproxy/routesChanged", map[string]int64{"version": version})
	}
}
