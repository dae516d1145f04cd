package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/docs"
	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/store"
	"github.com/devtunnelproxy/devproxy/server/calliope"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

// Calliope in the editor (docs/calliope.md, "Wire"): the devproxy/chat
// request runs one turn of server/calliope's assistant; while it runs the
// answer streams as devproxy/chatDelta notifications and what Calliope
// does as devproxy/chatThinking, in order, all before the result;
// $/cancelRequest stops the turn and the model's request (handle gives
// every request a cancellable context).

// chat answers devproxy/chat.
func (s *Server) chat(ctx context.Context, raw json.RawMessage) (calliope.ChatResult, error) {
	var p calliope.ChatParams
	if err := json.Unmarshal(raw, &p); err != nil || p.Message == "" {
		return calliope.ChatResult{}, jsonrpc2.NewError(jsonrpc2.InvalidParams, "devproxy/chat takes {\"message\": \"…\", \"conversation\"?: \"id\"}")
	}
	// The notifications are sent from this goroutine, one after the other,
	// so they reach the client in the order Calliope emits them, and all
	// of them before the result.
	return s.assistant().Chat(ctx, p, func(e calliope.Event) {
		s.notify(calliope.Notification(e))
	})
}

// chatHost is the server's assistant, built at the first devproxy/chat.
// When its models may have changed (devproxy.calliope.* settings, the
// key) it is told its new model at the next question; its docs index and
// history stay.
type chatHost struct {
	mu        sync.Mutex
	assistant *calliope.Assistant
	close     func()
	building  chan struct{} // closed when the assistant being built is ready
	stale     bool          // the models must be found again
	// openaiKey is the key the user stored in VS Code's SecretStorage
	// (devproxy/setSecrets); it wins over OPENAI_API_KEY. Never logged.
	openaiKey string
}

// SetSecretsParams are devproxy/setSecrets' params.
type SetSecretsParams struct {
	OpenAIAPIKey *string `json:"openaiApiKey"`
}

// setSecrets takes the devproxy/setSecrets notification: a new key (""
// forgets it) is used from Calliope's next question.
func (s *Server) setSecrets(raw json.RawMessage) {
	var p SetSecretsParams
	if err := json.Unmarshal(raw, &p); err != nil || p.OpenAIAPIKey == nil {
		s.log.Warn(`devproxy/setSecrets takes {"openaiApiKey": "…"}; ignored`)
		return
	}
	s.calliope.mu.Lock()
	defer s.calliope.mu.Unlock()
	if s.calliope.openaiKey == *p.OpenAIAPIKey {
		return
	}
	s.calliope.openaiKey = *p.OpenAIAPIKey
	s.calliope.stale = true
	s.log.Info("calliope's OpenAI key changed", "set", *p.OpenAIAPIKey != "")
}

// modelsChanged marks Calliope's models to be found again (a change of
// devproxy.calliope.*).
func (s *Server) modelsChanged() {
	s.calliope.mu.Lock()
	s.calliope.stale = true
	s.calliope.mu.Unlock()
}

// closeAssistant releases Calliope's files at shutdown.
func (s *Server) closeAssistant() {
	s.calliope.mu.Lock()
	c := s.calliope.close
	s.calliope.assistant, s.calliope.close = nil, nil
	s.calliope.mu.Unlock()
	if c != nil {
		c()
	}
}

// modelSettings are the provider settings of the devproxy.calliope.*
// settings and the key.
func (s *Server) modelSettings(key string) provider.Settings {
	s.mu.Lock()
	c := s.settings.Calliope
	s.mu.Unlock()
	return provider.Settings{Order: c.Providers, LocalBaseURL: c.BaseURL, LocalModel: c.Model, OpenAIKey: key}
}

// assistant is the server's Calliope: Options.Assistant's, or the one
// calliope.Build makes for the workspace (models from the settings, the
// key and the environment; the docs index and history in the data
// directory, never the workspace). It is built, and its models found
// again, on the asking request's goroutine, outside the lock: the read
// loop (setSecrets) never waits for it.
func (s *Server) assistant() *calliope.Assistant {
	for {
		s.calliope.mu.Lock()
		if a := s.calliope.assistant; a != nil {
			stale, key := s.calliope.stale, s.calliope.openaiKey
			s.calliope.stale = false
			s.calliope.mu.Unlock()
			if stale && s.opts.Assistant == nil {
				a.SetModel(calliope.Models(s.ctx, s.modelSettings(key), nil, nil, s.log))
			}
			return a
		}
		if s.opts.Assistant != nil {
			s.calliope.assistant = s.opts.Assistant(chatEngine{s})
			s.calliope.mu.Unlock()
			continue
		}
		if b := s.calliope.building; b != nil {
			s.calliope.mu.Unlock()
			<-b
			continue
		}
		building := make(chan struct{})
		s.calliope.building = building
		s.calliope.stale = false
		key := s.calliope.openaiKey
		s.calliope.mu.Unlock()

		t := s.snap.Load().table
		s.mu.Lock()
		globs := s.settings.Calliope.Docs
		s.mu.Unlock()
		a, closeAll := calliope.Build(s.ctx, calliope.Config{Root: t.Root, DataDir: s.dataDir(t), Engine: chatEngine{s},
			Docs: docs.FS, WorkspaceDocs: globs, Log: s.log, Settings: s.modelSettings(key)})

		s.calliope.mu.Lock()
		s.calliope.building = nil
		close(building)
		s.calliope.assistant, s.calliope.close = a, closeAll
		s.calliope.mu.Unlock()
	}
}

// dataDir is where Calliope keeps its files: the health store's folder
// (devproxy.json's dataDir, else one per workspace under the state
// directory); "" when there is none outside the workspace.
func (s *Server) dataDir(t *routing.RouteTable) string {
	dir := t.Config.DataDir
	if dir == "" {
		d, err := store.DefaultDir(t.Root)
		if err != nil {
			s.log.Warn("calliope keeps its files in memory", "err", err)
			return ""
		}
		dir = d
	}
	if err := store.CheckOutside(dir, t.Root); err != nil {
		s.log.Warn("calliope keeps its files in memory", "err", err)
		return ""
	}
	return dir
}

// chatEngine is what Calliope reads in a language server: the current
// table and the health of the proxy this window hosts, if any.
type chatEngine struct{ s *Server }

func (e chatEngine) Table() *routing.RouteTable { return e.s.snap.Load().table }

func (e chatEngine) Health() monitor.Document { return e.s.proxy.health() }

func (e chatEngine) Rescan(ctx context.Context, route string) (monitor.Document, error) {
	raw, _ := json.Marshal(RescanParams{Route: route})
	doc, err := e.s.proxy.rescan(ctx, raw)
	var rpcErr *jsonrpc2.Error
	if errors.As(err, &rpcErr) {
		return doc, errors.New(rpcErr.Message)
	}
	return doc, err
}

// RecentErrors are the failed requests the proxy saw on route: this
// window's while it owns the port, the owner's while it joined another.
func (e chatEngine) RecentErrors(route string, n int) []calliope.ProxyError {
	e.s.proxy.mu.Lock()
	nd := e.s.proxy.node
	e.s.proxy.mu.Unlock()
	if nd == nil {
		return nil
	}
	ctx, cancel := e.s.outbound()
	defer cancel()
	errs, err := nd.RecentErrors(ctx, route, n)
	if err != nil {
		e.s.log.Debug("cannot read the proxy's recent errors", "err", err)
		return nil
	}
	return errs
}
