// Package lsp is devproxy's language server: the protocol layer between an
// editor and the route engine. It converts engine findings into LSP
// diagnostics, code actions and the like; it never parses or decides
// anything itself (proxy/routing and proxy/routefile do). In the same
// process it hosts the proxy (proxy/httpproxy).
//
// The standard LSP types, method names and the decoding of each method's
// params come from go.lsp.dev/protocol: Server implements protocol.Server
// (embedding protocol.UnimplementedServer) and protocol.ServerHandler
// dispatches to it. The devproxy/ methods are ours (devproxy_types.go) and
// arrive through Server.Request. Which methods are answered, and the
// capabilities that announce them, are listed together in initialize.go;
// each feature has a file named after its method.
//
// Message order is owned here (house style, habit 1), in handle, which sits
// in front of the library's dispatcher: jsonrpc2 v1 runs a handler inline
// on the read loop unless the handler releases itself, so text sync
// notifications run in wire order and only update state and schedule work,
// while requests take an immutable snapshot and then go asynchronous. No
// notification error or panic ever closes the connection (habit 2).
package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/calliope"
)

// Options configure a Server.
type Options struct {
	Version string
	Log     *slog.Logger
	// Debounce is how long diagnostics wait after a change before they are
	// published; zero means 50 ms.
	Debounce time.Duration
	// ListenSettle is how long a new listen or tunnel address must stay
	// the same before the proxy moves to it: the Settings UI sends every
	// keystroke (127.0.0.1:8, then 127.0.0.1:80...). Zero means 1 s.
	ListenSettle time.Duration
	// DisableProxy keeps the proxy from starting whatever the settings say
	// (tests and benchmarks that only need the editor features).
	DisableProxy bool
	// Assistant builds the Calliope that answers devproxy/chat over the
	// given engine (chat.go); nil: one that answers offline.
	Assistant func(calliope.Engine) *calliope.Assistant
	// Keeper, when set, starts a process that takes the port over from
	// this one when the session ends while it serves the proxy (a window
	// reloading or closing), on the bound addresses, for this window's
	// folders: `devproxy keeper` (server/cli/keeper.go), given the
	// port's listening sockets when it can be (listeners: duplicates of
	// the proxy's and the tunnel listener's, which the caller closes
	// afterwards). nil: the proxy stops with the session.
	Keeper func(listen, tunnelListen string, folders []join.FolderReg, listeners []*os.File) error
}

// Server is one language-server session.
type Server struct {
	// UnimplementedServer answers "method not found" for the requests this
	// server does not override and ignores such notifications.
	protocol.UnimplementedServer

	opts   Options
	log    *slog.Logger
	conn   jsonrpc2.Conn
	client protocol.Client // calls and notifications to the editor

	// methods is what the dispatcher calls: the server itself. A test may
	// put a wrapper in front of it to add a misbehaving method.
	methods  protocol.Server
	dispatch jsonrpc2.Handler // protocol.ServerHandler(methods)

	// ctx is the connection's context: the parent of the proxy and of
	// every background goroutine, so shutdown stops them all (habit 5).
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	ws          *routing.Workspace // nil until initialize
	root        string             // the primary folder
	folders     []string           // the editor's folders, absolute
	joined      []routing.FolderSpec
	caps        clientSupport
	settings    Settings
	docs        map[string]*document // by absolute path
	initialized bool
	shutdown    bool

	snap  atomic.Pointer[snapshot]
	diags *diagnostics
	proxy *proxyHost
	// running holds the cancel functions of the requests in flight, by
	// id, for $/cancelRequest. Their contexts derive from ctx, never from
	// the context jsonrpc2 passes in: that one is pooled and recycled once
	// the handler returns, so a context.WithCancel child of it races. This
	// is also why protocol.Handlers (protocol.CancelHandler, built on
	// jsonrpc2.CancelHandler) is not used.
	cancelMu sync.Mutex
	running  map[string]context.CancelFunc
	// watching is what the file-watcher registration asks for (nil before
	// it is made; refreshWatchers).
	watchMu sync.Mutex
	// foldersMu makes each applyFolders read the folders and install them
	// as one step.
	foldersMu sync.Mutex
	// watchJoined starts the watcher of joined folders, once.
	watchJoined sync.Once
	watching    []string
	// lensMu guards lensTimer, the debounce of workspace/codeLens/refresh
	// (refreshLenses).
	lensMu    sync.Mutex
	lensTimer *time.Timer
	// calliope answers devproxy/chat (chat.go).
	calliope chatHost
}

// clientSupport is what the server needs to know of the client's
// capabilities, read once at initialize.
type clientSupport struct {
	configuration   bool // answers workspace/configuration
	dynamicWatchers bool // accepts file watchers registered at run time
	codeLensRefresh bool // accepts workspace/codeLens/refresh
	// disabledActions: the client shows code actions marked disabled
	// (codeActionLiteralSupport and disabledSupport).
	disabledActions bool
}

// document is an open editor buffer.
type document struct {
	version int32
	text    string
}

// snapshot is what requests read: an immutable route table, its version,
// and the open documents' texts at the time.
type snapshot struct {
	table *routing.RouteTable
	// version is the table's generation: devproxy/routes and
	// devproxy/routesChanged carry it.
	version int64
	// buffers are the open documents the table does not load (route files
	// outside the route folders), as they were when the snapshot was made.
	// The table's own files carry their buffers' text and version.
	buffers map[string]buffer
}

// buffer is an open document's text and version.
type buffer struct {
	text    string
	version int32
}

// text is a workspace file's text as this snapshot knows it: a loaded
// route file's (an editor's buffer or the disk, as the engine read it),
// the resolutions the pins came from, or an open buffer. The disk is never
// read here: a request sees one consistent state.
func (snap *snapshot) text(rel string) (string, bool) {
	if f := snap.table.FileByPath(rel); f != nil && f.Text != nil {
		return string(f.Text), true
	}
	if rel == snap.table.ResolutionsFileFor(rel) {
		if text := snap.table.ResolutionsTextOf(rel); text != nil {
			return string(text), true
		}
	}
	if b, ok := snap.buffers[rel]; ok {
		return b.text, true
	}
	return "", false
}

// docVersion is the version of the editor buffer a file's text came from;
// false when it came from the disk.
func (snap *snapshot) docVersion(rel string) (int32, bool) {
	if f := snap.table.FileByPath(rel); f != nil {
		return f.Version, f.Open
	}
	b, ok := snap.buffers[rel]
	return b.version, ok
}

// New prepares a server; Run starts it on a connection.
func New(opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Debounce == 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	if opts.ListenSettle == 0 {
		opts.ListenSettle = time.Second
	}
	s := &Server{opts: opts, log: opts.Log, docs: map[string]*document{}, running: map[string]context.CancelFunc{}}
	s.methods = s
	s.diags = newDiagnostics(s, opts.Debounce)
	s.proxy = &proxyHost{s: s}
	return s
}

// Run serves the protocol on rwc (stdin/stdout for `devproxy lsp`) until
// the client exits or the stream ends.
func (s *Server) Run(ctx context.Context, rwc io.ReadWriteCloser) error {
	s.ctx, s.cancel = context.WithCancel(ctx)
	defer s.cancel()
	// Not protocol.NewServer: it installs protocol.Handlers, whose
	// asynchronous dispatch gives up the message order and whose
	// cancellation races (see running).
	s.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(rwc), jsonrpc2.WithCodec(wireCodec{}))
	s.client = protocol.ClientDispatcher(s.conn)
	s.dispatch = protocol.ServerHandler(s.methods, nil)
	s.conn.Go(s.ctx, s.handle)
	select {
	case <-s.conn.Done():
	case <-s.ctx.Done():
		s.conn.Close()
	}
	s.proxy.handOff()
	s.proxy.stop()
	return s.conn.Err()
}

// wireCodec encodes message payloads the way protocol.NewServer's codec
// does (that one is not exported): go.lsp.dev/protocol's encoder, which
// knows its union types. Payloads already encoded pass through verbatim:
// the devproxy/ messages, written with encoding/json as the engine's report
// types expect.
type wireCodec struct{}

func (wireCodec) Marshal(v any) ([]byte, error) {
	switch raw := v.(type) {
	case jsonrpc2.RawMessage:
		return rawOrNull(raw), nil
	case json.RawMessage:
		return rawOrNull(raw), nil
	}
	return protocol.Marshal(v)
}

func (wireCodec) Unmarshal(data []byte, v any) error {
	switch p := v.(type) {
	case *jsonrpc2.RawMessage:
		*p = slices.Clone(data)
		return nil
	case *json.RawMessage:
		*p = slices.Clone(data)
		return nil
	}
	return protocol.Unmarshal(data, v)
}

func rawOrNull(raw []byte) []byte {
	if raw == nil {
		return []byte("null")
	}
	return raw
}

// handle is the connection's handler, in front of the library's
// dispatcher. Notifications run inline, in wire order, and never fail the
// connection; requests are checked, take a snapshot, and then run
// concurrently with the messages after them. A panic anywhere answers an
// error and leaves the connection up.
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
		s.notification(ctx, method, req)
		return nil, nil
	}
	switch method {
	case protocol.MethodInitialize, protocol.MethodShutdown:
		// Inline: nothing after them runs before they are done.
		return s.answer(ctx, method, req)
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
	key := idKey(req.ID())
	work, cancel := context.WithCancel(context.WithValue(s.ctx, snapshotKey{}, s.snap.Load()))
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
	return s.answer(work, method, req)
}

// answer runs a request through the dispatcher with work as its context
// and gives its errors LSP's codes.
func (s *Server) answer(work context.Context, method string, req *jsonrpc2.Request) (any, error) {
	result, err := s.dispatch(work, req)
	switch {
	case err == nil:
		return result, nil
	case work.Err() != nil && s.ctx.Err() == nil:
		return nil, jsonrpc2.NewError(protocol.CodeRequestCancelled, method+" was cancelled")
	case errors.Is(err, jsonrpc2.ErrParse):
		// The message was JSON (jsonrpc2 checked); its params were not
		// what the method takes.
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("%s: %v", method, err))
	}
	return nil, err
}

// snapshotKey carries a request's snapshot in its context.
type snapshotKey struct{}

// snapshotOf is the snapshot handle took for the request of ctx, before
// any later message could change the state.
func (s *Server) snapshotOf(ctx context.Context) *snapshot {
	if snap, ok := ctx.Value(snapshotKey{}).(*snapshot); ok && snap != nil {
		return snap
	}
	return s.snap.Load()
}

// notification handles a notification inline, in wire order. Before
// initialize (and after shutdown) only the lifecycle ones are served.
func (s *Server) notification(ctx context.Context, method string, req *jsonrpc2.Request) {
	switch method {
	case protocol.MethodCancelRequest:
		s.cancelRequest(req.Params())
		return
	case protocol.MethodInitialized, protocol.MethodExit, protocol.MethodSetTrace:
	default:
		s.mu.Lock()
		ready := s.ws != nil && !s.shutdown
		s.mu.Unlock()
		if !ready {
			return
		}
	}
	if _, err := s.dispatch(ctx, req); err != nil {
		if errors.Is(err, jsonrpc2.ErrMethodNotFound) {
			s.log.Debug("notification ignored", "method", method)
			return
		}
		s.log.Warn("notification failed", "method", method, "err", err)
	}
}

// cancelRequest cancels the request $/cancelRequest names, if it still
// runs; the request then answers RequestCancelled (see answer).
func (s *Server) cancelRequest(params jsonrpc2.RawMessage) {
	var p protocol.CancelParams
	if err := protocol.Unmarshal(params, &p); err != nil {
		s.log.Warn("notification failed", "method", protocol.MethodCancelRequest, "err", err)
		return
	}
	var id jsonrpc2.ID
	switch v := p.ID.(type) {
	case protocol.Integer:
		id = jsonrpc2.NewNumberID(int64(v))
	case protocol.String:
		id = jsonrpc2.NewStringID(string(v))
	default:
		return
	}
	s.cancelMu.Lock()
	cancel := s.running[idKey(id)]
	s.cancelMu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// idKey is a request id as a map key that outlives the request.
func idKey(id jsonrpc2.ID) string {
	if n, ok := id.Number(); ok {
		return "n" + strconv.FormatInt(n, 10)
	}
	str, _ := id.StringValue()
	return "s" + strings.Clone(str)
}

// outbound is the context of a message to the client: a child of the
// connection's, with a timeout (habit 5).
func (s *Server) outbound() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, 10*time.Second)
}

// notify sends one of the devproxy/ notifications, encoded with
// encoding/json like the rest of devproxy's documents; failures are logged.
func (s *Server) notify(method string, params any) {
	b, err := json.Marshal(params)
	if err != nil {
		s.log.Error("cannot encode a notification", "method", method, "err", err)
		return
	}
	ctx, cancel := s.outbound()
	defer cancel()
	if err := s.conn.Notify(ctx, method, jsonrpc2.RawMessage(b)); err != nil && s.ctx.Err() == nil {
		s.log.Debug("notify failed", "method", method, "err", err)
	}
}

// setTable installs a new route table for requests and tells the client
// the routes may have changed.
func (s *Server) setTable(t *routing.RouteTable) {
	s.mu.Lock()
	lensRefresh := s.caps.codeLensRefresh
	buffers := map[string]buffer{}
	for abs, d := range s.docs {
		rel, ok := t.DisplayPath(abs)
		if ok && t.FileByPath(rel) == nil {
			buffers[rel] = buffer{text: d.text, version: d.version}
		}
	}
	s.mu.Unlock()
	next := &snapshot{table: t, version: int64(t.Generation), buffers: buffers}
	// The read loop and the settings goroutine both publish: the newest
	// table wins, whichever arrives last (compare and swap, no read then
	// store).
	var prev *snapshot
	for {
		prev = s.snap.Load()
		if prev != nil && prev.table.Generation >= t.Generation {
			return
		}
		if s.snap.CompareAndSwap(prev, next) {
			break
		}
	}
	if s.conn != nil && prev != nil {
		go s.notify("devproxy/routesChanged", RoutesChangedParams{Version: next.version})
		if lensRefresh {
			s.refreshLenses()
		}
	}
	if prev != nil {
		s.proxy.tableChanged(t)
	}
}

// refreshLenses asks the client, with workspace/codeLens/refresh, to ask
// for the code lenses again: a lens says whether its location is active,
// which a change to another file (a pin, a conflict partner) changes
// without touching the lens's own document. A burst of table changes
// sends one request, the debounce after the last; the request runs on a
// goroutine of its own (never the read loop: the client's answer must be
// readable) and is bounded by the outbound timeout.
func (s *Server) refreshLenses() {
	s.lensMu.Lock()
	defer s.lensMu.Unlock()
	if s.lensTimer != nil {
		s.lensTimer.Reset(s.opts.Debounce)
		return
	}
	s.lensTimer = time.AfterFunc(s.opts.Debounce, func() {
		if s.ctx.Err() != nil {
			return
		}
		ctx, cancel := s.outbound()
		defer cancel()
		if err := s.client.CodeLensRefresh(ctx); err != nil && s.ctx.Err() == nil {
			s.log.Debug("workspace/codeLens/refresh failed", "err", err)
		}
	})
}
