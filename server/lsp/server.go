// Package lsp is devproxy's language server: the protocol layer between an
// editor and the route engine. It converts engine findings into LSP
// diagnostics, code actions and the like; it never parses or decides
// anything itself (proxy/routing and proxy/routefile do). In the same
// process it hosts the proxy (proxy/httpproxy).
//
// Message order is owned here (house style, habit 1): jsonrpc2 v1 runs a
// handler inline on the read loop unless the handler releases itself, so
// text sync notifications run in wire order and only update state and
// schedule work, while requests read an immutable snapshot and then go
// asynchronous. No notification error or panic ever closes the
// connection (habit 2).
package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Options configure a Server.
type Options struct {
	Version string
	Log     *slog.Logger
	// Debounce is how long diagnostics wait after a change before they are
	// published; zero means 50 ms.
	Debounce time.Duration
	// DisableProxy keeps the proxy from starting whatever the settings say
	// (tests and benchmarks that only need the editor features).
	DisableProxy bool
}

// Server is one language-server session.
type Server struct {
	opts Options
	log  *slog.Logger
	conn jsonrpc2.Conn

	// ctx is the connection's context: the parent of the proxy and of
	// every background goroutine, so shutdown stops them all (habit 5).
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	ws          *routing.Workspace // nil until initialize
	root        string
	caps        ClientCapabilities
	settings    Settings
	docs        map[string]*document // by relative path
	initialized bool
	shutdown    bool

	snap  atomic.Pointer[snapshot]
	diags *diagnostics
	proxy *proxyHost
	// running holds the cancel functions of the requests in flight, by
	// id, for $/cancelRequest. Their contexts derive from ctx, never from
	// the context jsonrpc2 passes in: that one is pooled and recycled once
	// the handler returns, so a context.WithCancel child of it races.
	cancelMu sync.Mutex
	running  map[string]context.CancelFunc
}

// document is an open editor buffer.
type document struct {
	uri     string
	rel     string
	version int
	text    string
}

// snapshot is what requests read: an immutable route table, its version,
// and the open documents' texts at the time.
type snapshot struct {
	table   *routing.RouteTable
	version int64
	texts   map[string]string // rel path -> open document text
	root    string
}

// New prepares a server; Run starts it on a connection.
func New(opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Debounce == 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	s := &Server{opts: opts, log: opts.Log, docs: map[string]*document{}, running: map[string]context.CancelFunc{}}
	s.diags = newDiagnostics(s, opts.Debounce)
	s.proxy = &proxyHost{s: s}
	return s
}

// Run serves the protocol on rwc (stdin/stdout for `devproxy lsp`) until
// the client exits or the stream ends.
func (s *Server) Run(ctx context.Context, rwc io.ReadWriteCloser) error {
	s.ctx, s.cancel = context.WithCancel(ctx)
	defer s.cancel()
	s.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(rwc), jsonrpc2.WithCodec(jsonCodec{}))
	s.conn.Go(s.ctx, s.handle)
	select {
	case <-s.conn.Done():
	case <-s.ctx.Done():
		s.conn.Close()
	}
	s.proxy.stop()
	return s.conn.Err()
}

// jsonCodec encodes payloads with encoding/json, the encoding the engine's
// report types (check, explain) are written for.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// handle dispatches one message. Notifications run inline and never fail
// the connection; requests decode their params, take a snapshot, then run
// concurrently.
func (s *Server) handle(ctx context.Context, req *jsonrpc2.Request) (result any, err error) {
	// jsonrpc2 lends the method and params until the handler returns (or
	// Async clones them in place); keep a copy of the name for the log.
	method := strings.Clone(req.Method())
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "method", method, "panic", r, "stack", string(debug.Stack()))
			if req.IsCall() {
				result, err = nil, jsonrpc2.NewError(jsonrpc2.InternalError, fmt.Sprintf("%s failed: %v", method, r))
			} else {
				result, err = nil, nil
			}
		}
	}()
	if !req.IsCall() {
		if err := s.notification(ctx, method, json.RawMessage(req.Params())); err != nil {
			s.log.Warn("notification failed", "method", method, "err", err)
		}
		return nil, nil
	}
	switch method {
	case "initialize":
		return s.initialize(ctx, json.RawMessage(req.Params()))
	case "shutdown":
		return s.shutdownRequest()
	}
	s.mu.Lock()
	ready, down := s.ws != nil, s.shutdown
	s.mu.Unlock()
	if !ready {
		return nil, jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "the server is not initialized yet")
	}
	if down {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the server is shutting down")
	}
	h, ok := requests[method]
	if !ok {
		return nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, "method not supported: "+method)
	}
	params := append(json.RawMessage(nil), req.Params()...)
	snap := s.snap.Load()
	key := idKey(req.ID())
	work, cancel := context.WithCancel(s.ctx)
	s.cancelMu.Lock()
	s.running[key] = cancel
	s.cancelMu.Unlock()
	defer func() {
		s.cancelMu.Lock()
		delete(s.running, key)
		s.cancelMu.Unlock()
		cancel()
	}()
	// The snapshot is taken; later messages may go on while this runs.
	jsonrpc2.Async(ctx)
	result, err = h(s, work, snap, params)
	if err != nil && work.Err() != nil && s.ctx.Err() == nil {
		return nil, jsonrpc2.NewError(requestCancelled, method+" was cancelled")
	}
	return result, err
}

// requestCancelled is LSP's error code for a request the client cancelled.
const requestCancelled jsonrpc2.Code = -32800

// idKey is a request id as a map key that outlives the request.
func idKey(id jsonrpc2.ID) string {
	if n, ok := id.Number(); ok {
		return "n" + strconv.FormatInt(n, 10)
	}
	str, _ := id.StringValue()
	return "s" + strings.Clone(str)
}

// requestHandler answers one request kind from a snapshot.
type requestHandler func(s *Server, ctx context.Context, snap *snapshot, params json.RawMessage) (any, error)

// requests is filled by the files that implement each method.
var requests = map[string]requestHandler{}

// decode reads a request's params.
func decode[T any](params json.RawMessage) (T, error) {
	var p T
	if err := json.Unmarshal(params, &p); err != nil {
		return p, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
	}
	return p, nil
}

// notification handles the messages that change state, in wire order.
func (s *Server) notification(ctx context.Context, method string, params json.RawMessage) error {
	switch method {
	case "initialized":
		return s.initializedNotification()
	case "exit":
		s.cancel()
		return nil
	case "$/cancelRequest":
		var p struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(params, &p); err != nil {
			return err
		}
		if id, ok := parseID(p.ID); ok {
			s.cancelMu.Lock()
			cancel := s.running[idKey(id)]
			s.cancelMu.Unlock()
			if cancel != nil {
				cancel()
			}
		}
		return nil
	case "$/setTrace", "$/logTrace":
		return nil
	}
	s.mu.Lock()
	ready := s.ws != nil && !s.shutdown
	s.mu.Unlock()
	if !ready {
		return nil
	}
	switch method {
	case "textDocument/didOpen":
		var p DidOpenTextDocumentParams
		if err := json.Unmarshal(params, &p); err != nil {
			return err
		}
		return s.didOpen(p)
	case "textDocument/didChange":
		var p DidChangeTextDocumentParams
		if err := json.Unmarshal(params, &p); err != nil {
			return err
		}
		return s.didChange(p)
	case "textDocument/didClose":
		var p DidCloseTextDocumentParams
		if err := json.Unmarshal(params, &p); err != nil {
			return err
		}
		return s.didClose(p)
	case "textDocument/didSave":
		var p DidSaveTextDocumentParams
		if err := json.Unmarshal(params, &p); err != nil {
			return err
		}
		return s.didSave(p)
	case "workspace/didChangeWatchedFiles":
		var p DidChangeWatchedFilesParams
		if err := json.Unmarshal(params, &p); err != nil {
			return err
		}
		return s.didChangeWatchedFiles(p)
	case "workspace/didChangeConfiguration":
		// Pull the settings again; a call back to the client must not
		// run on the read loop.
		go s.fetchConfiguration()
		return nil
	}
	return nil
}

func parseID(raw json.RawMessage) (jsonrpc2.ID, bool) {
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return jsonrpc2.NewNumberID(n), true
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return jsonrpc2.NewStringID(str), true
	}
	return jsonrpc2.ID{}, false
}

// notify sends a notification to the client; failures are logged.
func (s *Server) notify(method string, params any) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := s.conn.Notify(ctx, method, params); err != nil && s.ctx.Err() == nil {
		s.log.Debug("notify failed", "method", method, "err", err)
	}
}

// call makes a request to the client with a timeout. It must not run on the
// read loop (it would wait for a response the read loop cannot read).
func (s *Server) call(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	_, err := s.conn.Call(ctx, method, params, result)
	return err
}
