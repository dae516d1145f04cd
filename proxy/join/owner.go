package join

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
)

// OwnerConfig configures an Owner.
type OwnerConfig struct {
	// Token is what members must present (LoadOrCreateToken).
	Token string
	// Client and Folders describe the owner itself.
	Client  Client
	Folders []FolderReg
	// OnChange, when set, is called with the new Members after every
	// change: a member registered, updated or left, or SetFolders. Calls
	// are in order and never overlap; when changes come faster than
	// OnChange returns, it sees the latest. It may run after the member's
	// request has been answered, and it may call the Owner's methods.
	OnChange func(Members)
	// OnStop, when set, is called (on a goroutine of its own) after a
	// member's devproxy/stop has been answered: the host releases the
	// port so that the member can take it.
	OnStop func()
	Log    *slog.Logger
}

// Owner is the owner's side: the handler members connect to, and who is
// registered with which folders.
type Owner struct {
	token    []byte
	onChange func(Members)
	onStop   func()
	log      *slog.Logger
	timing   keepAliveTiming
	upgrader websocket.Upgrader
	// recvParams, when set (tests), sees the params of every request as
	// they arrived on the wire.
	recvParams func(method string, params json.RawMessage)

	mu         sync.Mutex
	self       OwnerInfo
	conns      map[*memberConn]struct{}
	open       int // connections accepted and not yet ended, upgraded or not
	seq        int // numbers connections, in order; a member's ID
	gen        uint64
	closed     bool
	dirty      bool // a change OnChange and the members have not heard of
	delivering bool // a goroutine is delivering changes
}

// maxConns bounds connections, registered or not yet.
const maxConns = MaxMembers + 8

// NewOwner returns an owner with its own client and folders, which are
// checked as a member's are.
func NewOwner(cfg OwnerConfig) (*Owner, error) {
	if len(cfg.Token) < 2*tokenBytes {
		return nil, errors.New("join: the owner needs a token of 64 hex digits (LoadOrCreateToken)")
	}
	if err := checkClient(cfg.Client); err != nil {
		return nil, errors.New("join: owner " + err.Message)
	}
	if err := checkFolders(cfg.Folders); err != nil {
		return nil, errors.New("join: owner " + err.Message)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Owner{
		token:    []byte(cfg.Token),
		onChange: cfg.OnChange,
		onStop:   cfg.OnStop,
		log:      log,
		timing:   keepAlive,
		self:     OwnerInfo{Client: cfg.Client, Folders: cloneFolders(cfg.Folders)},
		conns:    map[*memberConn]struct{}{},
	}
	o.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Browsers always send Origin; members never do (refused before
		// the upgrade already, this is a second lock).
		CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" },
	}
	return o, nil
}

// Handler serves GET /devproxy/ws. Put it behind the proxy's local
// listener only (httpproxy.ServeOptions.Local).
func (o *Owner) Handler() http.Handler { return http.HandlerFunc(o.serveHTTP) }

// Members is the owner and the registered members now.
func (o *Owner) Members() Members {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.snapshotLocked()
}

// SetFolders replaces the owner's own folders; the members are told.
func (o *Owner) SetFolders(folders []FolderReg) error {
	if err := checkFolders(folders); err != nil {
		return errors.New("join: owner " + err.Message)
	}
	o.mu.Lock()
	o.self.Folders = cloneFolders(folders)
	o.gen++
	o.mu.Unlock()
	o.changed()
	return nil
}

// Close closes every member connection and refuses new ones. OnChange is
// not called for the members it removes.
func (o *Owner) Close() {
	o.mu.Lock()
	o.closed = true
	conns := make([]*memberConn, 0, len(o.conns))
	for mc := range o.conns {
		conns = append(conns, mc)
	}
	o.mu.Unlock()
	for _, mc := range conns {
		mc.close(websocket.CloseGoingAway, "the devproxy that owns the port is stopping")
	}
}

func (o *Owner) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		refuse(w, http.StatusNotFound, "Not found; members connect to "+Path+".")
		return
	}
	// Browsers send Origin with every WebSocket handshake; members never
	// do. A page cannot be a member, whatever it knows.
	if _, ok := r.Header["Origin"]; ok {
		refuse(w, http.StatusForbidden, "Browsers cannot join devproxy; only devproxy processes of this user can.")
		return
	}
	if !o.authorized(r) {
		refuse(w, http.StatusUnauthorized, "Send the token of this user's devproxy state directory as Authorization: Bearer <token>.")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		refuse(w, http.StatusBadRequest, "Members connect with a WebSocket upgrade.")
		return
	}
	o.mu.Lock()
	switch {
	case o.closed:
		o.mu.Unlock()
		refuse(w, http.StatusServiceUnavailable, "This devproxy is stopping.")
		return
	case o.open >= maxConns:
		o.mu.Unlock()
		refuse(w, http.StatusServiceUnavailable, "Too many devproxy processes are connected.")
		return
	}
	o.open++
	o.seq++
	seq := o.seq
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.open--
		o.mu.Unlock()
	}()

	ws, err := o.upgrader.Upgrade(w, r, nil)
	if err != nil {
		o.log.Debug("join: upgrade failed", "err", err)
		return // the upgrader answered
	}
	mc := o.accept(ws, seq)
	if mc == nil {
		return
	}
	select {
	case <-mc.rpc.DisconnectNotify():
	case <-r.Context().Done():
		// The proxy is shutting down: say so, then go.
		mc.close(websocket.CloseGoingAway, "the devproxy that owns the port is stopping")
	}
	o.drop(mc)
}

// authorized compares the bearer token in constant time.
func (o *Owner) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), o.token) == 1
}

// memberConn is one member's connection.
type memberConn struct {
	o    *Owner
	seq  int
	ws   *websocket.Conn
	rpc  *jsonrpc2.Conn
	kick chan struct{} // wakes the sender; holds at most one wake-up

	// info is nil until the member registers; guarded by o.mu.
	info *MemberInfo

	// sendMu orders what goes to the member: a reply to its register or
	// update, and devproxy/members notifications, each carrying Members
	// no older than the one before.
	sendMu  sync.Mutex
	sentGen uint64 // the generation of the Members it last got
}

// accept runs the JSON-RPC connection on ws.
func (o *Owner) accept(ws *websocket.Conn, seq int) *memberConn {
	mc := &memberConn{o: o, seq: seq, ws: ws, kick: make(chan struct{}, 1)}
	wsrpc.Prepare(ws, o.timing.KeepAlive, MaxMessage)
	// The connection joins o.conns before its first request is handled
	// (apply waits for o.mu): a member registered before it was listed
	// would hear of no change until the next one.
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		wsrpc.SendClose(ws, websocket.CloseGoingAway, "the devproxy that owns the port is stopping")
		ws.Close()
		return nil
	}
	mc.rpc = jsonrpc2.NewConn(context.Background(), newStream(ws, o.timing.KeepAlive), mc, jsonrpc2.SetLogger(wsrpc.Logger(o.log)))
	o.conns[mc] = struct{}{}
	o.mu.Unlock()
	done := mc.rpc.DisconnectNotify()
	go wsrpc.PingLoop(ws, o.timing.KeepAlive, done)
	go mc.sendLoop(done)
	unregistered := time.AfterFunc(o.timing.register, func() {
		o.mu.Lock()
		registered := mc.info != nil
		o.mu.Unlock()
		if !registered {
			mc.close(websocket.ClosePolicyViolation, "register within "+o.timing.register.String())
		}
	})
	go func() { <-done; unregistered.Stop() }()
	return mc
}

// drop forgets a connection that ended; its folders go with it.
func (o *Owner) drop(mc *memberConn) {
	mc.rpc.Close()
	o.mu.Lock()
	delete(o.conns, mc)
	registered := mc.info != nil
	if registered {
		o.gen++
	}
	o.mu.Unlock()
	if registered {
		o.log.Info("a devproxy member left", "id", strconv.Itoa(mc.seq))
		o.changed()
	}
}

func (mc *memberConn) close(code int, text string) {
	wsrpc.SendClose(mc.ws, code, text)
	mc.rpc.Close()
}

// Handle answers one request from the member. It runs on the
// connection's reader, so requests are handled in the order they came. A
// panic answers the request with an internal error and leaves the
// connection as it was.
func (mc *memberConn) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	defer func() {
		if v := recover(); v != nil {
			mc.o.log.Error("join: panic answering a member", "method", req.Method, "panic", fmt.Sprint(v))
			if !req.Notif {
				conn.ReplyWithError(ctx, req.ID, &jsonrpc2.Error{Code: jsonrpc2.CodeInternalError, Message: "internal error"})
			}
		}
	}()
	result, err := mc.handle(ctx, conn, req)
	if req.Notif || err == errAnswered {
		return
	}
	var rerr *jsonrpc2.Error
	switch {
	case errors.As(err, &rerr):
		conn.ReplyWithError(ctx, req.ID, rerr)
	case err != nil:
		conn.ReplyWithError(ctx, req.ID, &jsonrpc2.Error{Code: jsonrpc2.CodeInternalError, Message: err.Error()})
	default:
		conn.Reply(ctx, req.ID, result)
	}
}

// handle is Handle without the answer: it returns the result or the
// error to send, or errAnswered when it replied itself.
func (mc *memberConn) handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
	o := mc.o
	if o.recvParams != nil && req.Params != nil {
		o.recvParams(req.Method, *req.Params)
	}
	switch req.Method {
	case MethodRegister, MethodUpdate:
		if req.Notif {
			return nil, nil
		}
		p, perr := decodeRegister(req.Params)
		if perr != nil {
			return nil, perr
		}
		// The reply is sent here, under sendMu, rather than returned:
		// a notification sent after it must not carry older Members.
		mc.sendMu.Lock()
		snap, gen, err := o.apply(mc, req.Method, p)
		if err != nil {
			mc.sendMu.Unlock()
			return nil, err
		}
		if err := conn.Reply(ctx, req.ID, snap); err != nil {
			o.log.Debug("join: reply failed", "method", req.Method, "err", err)
		}
		mc.sentGen = gen
		mc.sendMu.Unlock()
		// Not on this connection's reader: OnChange may take a while,
		// and a reader that stops misses the member's pongs.
		go o.changed()
		return nil, errAnswered
	case MethodStop:
		if req.Notif {
			return nil, nil
		}
		if err := conn.Reply(ctx, req.ID, struct{}{}); err != nil {
			o.log.Debug("join: reply failed", "method", req.Method, "err", err)
		}
		o.log.Info("a devproxy member asked this one to release the port", "id", strconv.Itoa(mc.seq))
		if o.onStop != nil {
			go o.onStop()
		}
		return nil, errAnswered
	}
	if req.Notif {
		return nil, nil
	}
	return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "unknown method " + strconv.Quote(req.Method)}
}

// errAnswered tells the handler wrapper the reply was sent already.
var errAnswered = errors.New("answered")

// apply records a member's registration or update, and returns the new
// Members and their generation.
func (o *Owner) apply(mc *memberConn, method string, p RegisterParams) (Members, uint64, *jsonrpc2.Error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return Members{}, 0, &jsonrpc2.Error{Code: jsonrpc2.CodeInternalError, Message: "this devproxy is stopping"}
	}
	if mc.info == nil {
		if method == MethodUpdate {
			return Members{}, 0, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidRequest, Message: MethodUpdate + " before " + MethodRegister}
		}
		n := 0
		for other := range o.conns {
			if other.info != nil {
				n++
			}
		}
		if n >= MaxMembers {
			return Members{}, 0, paramError("client", "this devproxy already has %d members, the most it takes", MaxMembers)
		}
		mc.info = &MemberInfo{ID: strconv.Itoa(mc.seq)}
		o.log.Info("a devproxy joined", "id", mc.info.ID, "pid", p.Client.PID, "kind", p.Client.Kind, "folders", len(p.Folders))
	}
	mc.info.Client = p.Client
	mc.info.Folders = cloneFolders(p.Folders)
	o.gen++
	return o.snapshotLocked(), o.gen, nil
}

// snapshotLocked copies the current Members; o.mu is held.
func (o *Owner) snapshotLocked() Members {
	m := Members{
		Owner:   OwnerInfo{Client: o.self.Client, Folders: cloneFolders(o.self.Folders)},
		Members: []MemberInfo{},
	}
	regs := make([]*memberConn, 0, len(o.conns))
	for mc := range o.conns {
		if mc.info != nil {
			regs = append(regs, mc)
		}
	}
	slices.SortFunc(regs, func(a, b *memberConn) int { return a.seq - b.seq })
	for _, mc := range regs {
		m.Members = append(m.Members, MemberInfo{ID: mc.info.ID, Client: mc.info.Client, Folders: cloneFolders(mc.info.Folders)})
	}
	return m
}

// changed tells OnChange and every member of the latest Members. One
// goroutine delivers at a time; a change made meanwhile (OnChange may
// make one) is delivered by that goroutine's next round, so deliveries
// never overlap and the last one is always the latest.
func (o *Owner) changed() {
	o.mu.Lock()
	o.dirty = true
	if o.delivering {
		o.mu.Unlock()
		return
	}
	o.delivering = true
	for o.dirty && !o.closed {
		o.dirty = false
		snap := o.snapshotLocked()
		var targets []*memberConn
		for mc := range o.conns {
			if mc.info != nil {
				targets = append(targets, mc)
			}
		}
		o.mu.Unlock()
		for _, mc := range targets {
			select {
			case mc.kick <- struct{}{}:
			default: // a wake-up is pending; it sends the latest
			}
		}
		o.callOnChange(snap)
		o.mu.Lock()
	}
	o.delivering = false
	o.mu.Unlock()
}

func (o *Owner) callOnChange(m Members) {
	if o.onChange == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			o.log.Error("join: OnChange panicked", "panic", fmt.Sprint(v))
		}
	}()
	o.onChange(m)
}

// sendLoop sends devproxy/members whenever the member has not seen the
// latest, until the connection ends. A member that does not take it
// within the write timeout is dropped.
func (mc *memberConn) sendLoop(done <-chan struct{}) {
	o := mc.o
	for {
		select {
		case <-done:
			return
		case <-mc.kick:
		}
		mc.sendMu.Lock()
		o.mu.Lock()
		registered := mc.info != nil
		snap, gen := o.snapshotLocked(), o.gen
		o.mu.Unlock()
		if registered && gen > mc.sentGen {
			err := mc.rpc.Notify(context.Background(), MethodMembers, snap)
			mc.sentGen = gen
			if err != nil {
				mc.sendMu.Unlock()
				o.log.Debug("join: a member did not take devproxy/members; it is dropped", "id", strconv.Itoa(mc.seq), "err", err)
				mc.rpc.Close()
				return
			}
		}
		mc.sendMu.Unlock()
	}
}
