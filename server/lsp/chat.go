package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/store"
	"github.com/devtunnelproxy/devproxy/server/calliope"
)

// Calliope in the editor (docs/calliope.md, "Wire"): the devproxy/chat
// request runs one turn of server/calliope's assistant; while it runs the
// answer streams as devproxy/chatDelta notifications and what Calliope
// does as devproxy/chatThinking, in order, all before the result;
// $/cancelRequest stops the turn and the model's request (handle gives
// every request a cancellable context).

// chatHost is the server's assistant, built at the first devproxy/chat.
type chatHost struct {
	once      sync.Once
	assistant *calliope.Assistant
}

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

// assistant is the server's Calliope: Options.Assistant's, or one that
// answers offline from this window's table and proxy, keeping its
// history in the workspace's data directory.
func (s *Server) assistant() *calliope.Assistant {
	s.calliope.once.Do(func() {
		engine := chatEngine{s}
		if s.opts.Assistant != nil {
			s.calliope.assistant = s.opts.Assistant(engine)
			return
		}
		s.calliope.assistant = calliope.New(calliope.Options{Engine: engine, History: s.openHistory(), Log: s.log})
	})
	return s.calliope.assistant
}

// openHistory opens Calliope's history in the data directory (never the
// workspace); nil, logged, when it cannot (another window holds it).
func (s *Server) openHistory() *calliope.History {
	t := s.snap.Load().table
	dir := t.Config.DataDir
	if dir == "" {
		d, err := store.DefaultDir(t.Root)
		if err != nil {
			s.log.Warn("calliope keeps no history", "err", err)
			return nil
		}
		dir = d
	}
	if err := store.CheckOutside(dir, t.Root); err != nil {
		s.log.Warn("calliope keeps no history", "err", err)
		return nil
	}
	h, err := calliope.OpenHistory(filepath.Join(dir, "calliope.db"))
	if err != nil {
		s.log.Warn("calliope keeps no history", "err", err)
		return nil
	}
	context.AfterFunc(s.ctx, func() { h.Close() })
	return h
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
