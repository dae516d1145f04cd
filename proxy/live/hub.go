// Package live pushes the dev proxy's events (route tables, health,
// configuration, metrics) to the clients that watch them: the dashboard in
// a browser and other devproxy processes, instead of their polling.
//
// The wire is JSON-RPC 2.0 over a WebSocket at GET /devproxy/ws on the
// proxy's local listener, the path proxy/join's owner also serves: Route
// hands a request that carries an Authorization header to join and every
// other to the Hub. A client subscribes to topics (devproxy/subscribe) and
// then receives the notifications the host publishes on them; it may also
// call the methods the host registers.
//
// Browsers reach the hub, so the hub checks where a page comes from
// before the upgrade (the default policy takes the dashboard the proxy
// serves itself, and processes that send no Origin), and a slow or
// hostile client can never hold up the others: every send is bounded by a
// queue, a write deadline and a message size limit.
//
// What an event holds, and when it is published, is the host's.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
)

// Path is where the hub is served.
const Path = "/devproxy/ws"

// The built-in methods.
const (
	// MethodSubscribe (client → hub, request) adds topics. Params
	// TopicsParams (schemas/live-subscribe.schema.json), result
	// TopicsParams: every topic the client is now subscribed to.
	MethodSubscribe = "devproxy/subscribe"
	// MethodUnsubscribe (client → hub, request) removes topics. Params
	// and result as MethodSubscribe's.
	MethodUnsubscribe = "devproxy/unsubscribe"
)

// The default topics.
const (
	TopicRoutes  = "routes"
	TopicHealth  = "health"
	TopicConfig  = "config"
	TopicMetrics = "metrics"
	TopicTunnel  = "tunnel"
)

// DefaultTopics are the topics a hub takes when Options.Topics is empty.
var DefaultTopics = []string{TopicRoutes, TopicHealth, TopicConfig, TopicMetrics, TopicTunnel}

// Limits.
const (
	// MaxMessage bounds one message from a client; a larger one closes
	// that connection (close code 1009).
	MaxMessage = 64 << 10
	// DefaultMaxClients is Options.MaxClients when it is zero.
	DefaultMaxClients = 64
	// MaxInflight bounds the requests to registered methods one client
	// may have running; one more is answered with CodeBusy at once.
	MaxInflight = 8
	// MaxQueued bounds the notifications waiting for one client. They
	// are snapshots, so a newer notification of a method replaces the
	// one waiting (the queue holds at most one per method); a client
	// that lets more than MaxQueued different methods pile up is dropped.
	MaxQueued = 64
	// MaxNotification bounds one message a Client reads from the hub: a
	// route table of a large workspace is more than MaxMessage.
	MaxNotification = 16 << 20
)

// CodeBusy answers a request made while the client already has
// MaxInflight requests running.
const CodeBusy = -32001

// CodeForbidden is the error code of a request the client's credential
// does not allow (Options.Permit): a read-only key asking for a change.
const CodeForbidden = -32003

// Method answers a request from a client. An error of type
// *jsonrpc2.Error goes to the client as it is; any other becomes an
// InternalError whose message does not carry the error's text (which may
// hold paths or addresses), and is logged.
type Method func(ctx context.Context, params json.RawMessage) (any, error)

// Options configure a Hub.
type Options struct {
	// Methods are the requests clients may make besides subscribing.
	// A name may not be one of the built-in methods.
	Methods map[string]Method
	// Topics are the topics clients may subscribe to; nil means
	// DefaultTopics.
	Topics []string
	// AllowOrigin decides whether a request may be upgraded; nil means
	// SameOrigin.
	AllowOrigin func(r *http.Request) bool
	// Permit decides whether the client that connected with r may call
	// method (a registered one): nil, or the error it gets (a
	// *jsonrpc2.Error as it is, such as CodeForbidden). nil permits all.
	Permit func(r *http.Request, method string) error
	// MaxClients bounds the connections; 0 means DefaultMaxClients.
	MaxClients int
	Log        *slog.Logger
}

// keepAlive: the hub pings every Ping interval and drops a client it has
// not heard from (a message, a ping or a pong) for Read; each write may
// block for Write, after which the client is dropped. A hub or a client
// copies these when it starts; tests shorten them before.
var keepAlive = wsrpc.KeepAlive{Ping: 10 * time.Second, Read: 20 * time.Second, Write: 10 * time.Second}

// Hub serves the clients and sends them what is published.
type Hub struct {
	methods     map[string]Method
	topics      map[string]bool
	allowOrigin func(*http.Request) bool
	permit      func(*http.Request, string) error
	maxClients  int
	log         *slog.Logger
	timing      wsrpc.KeepAlive
	upgrader    websocket.Upgrader
	// recvParams, when set (tests), sees the params of every request as
	// they arrived on the wire.
	recvParams func(method string, params json.RawMessage)

	mu      sync.Mutex
	clients map[*client]struct{}
	open    int // requests admitted and not yet ended, upgraded or not
	closed  bool
}

// NewHub returns a hub with opts. It panics when a method is named as a
// built-in one, a programming error.
func NewHub(opts Options) *Hub {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	topics := opts.Topics
	if topics == nil {
		topics = DefaultTopics
	}
	h := &Hub{
		methods:     map[string]Method{},
		topics:      map[string]bool{},
		allowOrigin: opts.AllowOrigin,
		permit:      opts.Permit,
		maxClients:  opts.MaxClients,
		log:         log,
		timing:      keepAlive,
		clients:     map[*client]struct{}{},
	}
	for name, m := range opts.Methods {
		if name == MethodSubscribe || name == MethodUnsubscribe {
			panic("live: " + name + " is a built-in method")
		}
		h.methods[name] = m
	}
	for _, t := range topics {
		h.topics[t] = true
	}
	if h.allowOrigin == nil {
		h.allowOrigin = SameOrigin
	}
	if h.maxClients <= 0 {
		h.maxClients = DefaultMaxClients
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// The origin was checked before the upgrade, with a reason in
		// the refusal; gorilla's own check would refuse the loopback
		// aliases.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return h
}

// Handler serves GET /devproxy/ws. Put it behind the proxy's local
// listener only (httpproxy.ServeOptions.Local), through Route when
// proxy/join's owner serves there too.
func (h *Hub) Handler() http.Handler { return http.HandlerFunc(h.serveHTTP) }

// Clients is how many clients are connected now.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Close closes every client with close code 1001 (going away) and
// refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	for _, c := range clients {
		c.close(websocket.CloseGoingAway, "devproxy is stopping")
	}
}

// Publish sends the notification method with params to every client
// subscribed to topic. params is marshalled once. Publish never waits
// for a client: each has its own queue and writer. Events are snapshots,
// so a notification still waiting for a client is replaced by a newer
// one of the same method (the client gets the latest, never a backlog);
// a client whose write stays stuck for the write timeout (10s), or that
// lets more than MaxQueued methods pile up, is dropped with close code
// 1008 ("too slow"), and may reconnect and subscribe again.
func (h *Hub) Publish(topic, method string, params any) {
	if !h.topics[topic] {
		// Nobody can be subscribed to it: a typo in the host.
		h.log.Warn("live: a notification on a topic clients cannot subscribe to; it is not sent", "topic", topic, "method", method)
		return
	}
	msg, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		Params  any    `json:"params,omitempty"`
	}{"2.0", method, params})
	if err != nil {
		h.log.Error("live: a notification cannot be marshalled; it is not sent", "topic", topic, "method", method, "err", err)
		return
	}
	h.mu.Lock()
	var targets []*client
	for c := range h.clients {
		if c.subscribed(topic) {
			targets = append(targets, c)
		}
	}
	h.mu.Unlock()
	for _, c := range targets {
		c.enqueue(method, msg)
	}
}

func (h *Hub) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		refuse(w, http.StatusNotFound, "Not found; live events are served at "+Path+".")
		return
	}
	if why := h.originRefusal(r); why != "" {
		refuse(w, http.StatusForbidden, why)
		return
	}
	if r.Method != http.MethodGet || !websocket.IsWebSocketUpgrade(r) {
		refuse(w, http.StatusBadRequest, "Live events are a WebSocket: send GET "+Path+" with an upgrade.")
		return
	}
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		refuse(w, http.StatusServiceUnavailable, "This devproxy is stopping.")
		return
	case h.open >= h.maxClients:
		h.mu.Unlock()
		refuse(w, http.StatusServiceUnavailable, "Too many clients are watching this devproxy ("+strconv.Itoa(h.maxClients)+"); close a dashboard tab and retry.")
		return
	}
	h.open++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.open--
		h.mu.Unlock()
	}()

	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.log.Debug("live: upgrade failed", "err", err)
		return // the upgrader answered
	}
	c := h.accept(ws, r)
	if c == nil {
		return
	}
	select {
	case <-c.rpc.DisconnectNotify():
	case <-r.Context().Done():
		c.close(websocket.CloseGoingAway, "devproxy is stopping")
	}
	c.end()
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// originRefusal is why the request's origin may not connect, or "".
func (h *Hub) originRefusal(r *http.Request) string {
	if h.allowOrigin(r) {
		return ""
	}
	origin, sent := r.Header["Origin"]
	switch {
	case !sent:
		return "This client may not watch this devproxy."
	case len(origin) != 1 || origin[0] == "" || origin[0] == "null":
		return "A page without an origin (Origin: null: a sandboxed frame, a file, a redirect) may not watch this devproxy."
	}
	return "Only devproxy's own pages may watch this devproxy; " + strconv.Quote(origin[0]) + " is another site."
}

// accept runs the JSON-RPC connection on ws.
func (h *Hub) accept(ws *websocket.Conn, r *http.Request) *client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &client{h: h, ws: ws, cancel: cancel, topics: map[string]bool{}, wake: make(chan struct{}, 1),
		inflight: make(chan struct{}, MaxInflight), upgrade: r}
	wsrpc.Prepare(ws, h.timing, MaxMessage)
	c.stream = newStream(ws, h.timing)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		cancel()
		wsrpc.SendClose(ws, websocket.CloseGoingAway, "devproxy is stopping")
		ws.Close()
		return nil
	}
	c.rpc = jsonrpc2.NewConn(ctx, c.stream, c, jsonrpc2.SetLogger(wsrpc.Logger(h.log)))
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	done := c.rpc.DisconnectNotify()
	go wsrpc.PingLoop(ws, h.timing, done)
	go c.sendLoop(done)
	return c
}

// client is one connection.
type client struct {
	h      *Hub
	ws     *websocket.Conn
	stream *wsStream
	rpc    *jsonrpc2.Conn
	cancel context.CancelFunc // the context of the requests it made
	wake   chan struct{}      // holds at most one wake-up for sendLoop
	// inflight holds a token per request to a registered method running.
	inflight chan struct{}
	// upgrade is the request the connection began with (Options.Permit).
	upgrade *http.Request

	// topics is guarded by h.mu (Publish reads it under the hub's lock).
	topics map[string]bool

	qmu   sync.Mutex
	queue []queued // in publish order, at most one per method
}

type queued struct {
	method string
	msg    []byte
}

func (c *client) subscribed(topic string) bool { return c.topics[topic] }

// enqueue adds a notification, replacing a waiting one of the same
// method: the client gets the latest snapshot, never a backlog. A client
// with more than MaxQueued methods waiting is dropped.
func (c *client) enqueue(method string, msg []byte) {
	c.qmu.Lock()
	c.queue = slices.DeleteFunc(c.queue, func(q queued) bool { return q.method == method })
	c.queue = append(c.queue, queued{method, msg})
	over := len(c.queue) > MaxQueued
	if over {
		c.queue = nil
	}
	c.qmu.Unlock()
	if over {
		c.h.log.Debug("live: a client let too many notifications pile up; it is dropped")
		go c.close(websocket.ClosePolicyViolation, "too slow: notifications piled up")
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sendLoop writes the queued notifications until the connection ends. A
// write that does not complete within the write timeout drops the
// client.
func (c *client) sendLoop(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-c.wake:
		}
		for {
			c.qmu.Lock()
			if len(c.queue) == 0 {
				c.qmu.Unlock()
				break
			}
			q := c.queue[0]
			c.queue = c.queue[1:]
			c.qmu.Unlock()
			if err := c.stream.writeRaw(q.msg); err != nil {
				c.h.log.Debug("live: a client did not take a notification; it is dropped", "method", q.method, "err", err)
				c.close(websocket.ClosePolicyViolation, "too slow")
				return
			}
		}
	}
}

func (c *client) close(code int, text string) {
	wsrpc.SendClose(c.ws, code, text)
	c.end()
}

// end closes the connection and cancels its running requests.
func (c *client) end() {
	c.cancel()
	c.rpc.Close()
	c.qmu.Lock()
	c.queue = nil
	c.qmu.Unlock()
}

// TopicsParams are the params and the result of devproxy/subscribe and
// devproxy/unsubscribe (schemas/live-subscribe.schema.json).
type TopicsParams struct {
	Topics []string `json:"topics"`
}

// Handle answers one request. Subscribing runs on the connection's
// reader, so that a notification published after the reply was sent
// reaches the client; registered methods run on goroutines of their own,
// at most MaxInflight at a time. A panic answers the request with an
// internal error and leaves the connection as it was.
func (c *client) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	if c.h.recvParams != nil && req.Params != nil {
		c.h.recvParams(req.Method, *req.Params)
	}
	switch req.Method {
	case MethodSubscribe, MethodUnsubscribe:
		c.answer(ctx, conn, req, func() (any, error) { return c.subscribe(req) })
		return
	}
	m, ok := c.h.methods[req.Method]
	if !ok {
		if !req.Notif {
			c.answer(ctx, conn, req, func() (any, error) {
				return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "unknown method " + strconv.Quote(req.Method)}
			})
		}
		return
	}
	if c.h.permit != nil {
		if err := c.h.permit(c.upgrade, req.Method); err != nil {
			if !req.Notif {
				c.answer(ctx, conn, req, func() (any, error) { return nil, err })
			}
			return
		}
	}
	select {
	case c.inflight <- struct{}{}:
	default:
		c.answer(ctx, conn, req, func() (any, error) {
			return nil, &jsonrpc2.Error{Code: CodeBusy, Message: "busy: at most " + strconv.Itoa(MaxInflight) + " requests at a time; wait for an answer"}
		})
		return
	}
	var params json.RawMessage
	if req.Params != nil {
		params = *req.Params
	}
	go func() {
		defer func() { <-c.inflight }()
		mctx := context.WithValue(ctx, callerKey{}, c)
		c.answer(ctx, conn, req, func() (any, error) { return m(mctx, params) })
	}()
}

// callerKey marks a method's context with the client that called it.
type callerKey struct{}

// Notify sends a notification to the client whose request ctx belongs to
// (a registered Method's ctx), whatever its subscriptions: a method that
// streams (devproxy/chat's deltas) tells its caller as it goes. The
// notification is written before Notify returns, so every one reaches
// the client in order and before the method's result; a client that does
// not read slows only its own request, up to the write timeout. It fails
// when ctx is not a method's, or the connection is gone.
func Notify(ctx context.Context, method string, params any) error {
	c, ok := ctx.Value(callerKey{}).(*client)
	if !ok {
		return errors.New("live: Notify needs the context of a method's request")
	}
	msg, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		Params  any    `json:"params,omitempty"`
	}{"2.0", method, params})
	if err != nil {
		return err
	}
	return c.stream.writeRaw(msg)
}

// answer runs f and sends what it returns, unless req is a notification.
func (c *client) answer(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, f func() (any, error)) {
	result, err := func() (result any, err error) {
		defer func() {
			if v := recover(); v != nil {
				c.h.log.Error("live: panic answering a client", "method", req.Method, "panic", fmt.Sprint(v))
				err = errors.New("panic")
			}
		}()
		return f()
	}()
	if req.Notif {
		return
	}
	var rerr *jsonrpc2.Error
	switch {
	case errors.As(err, &rerr):
		err = conn.ReplyWithError(ctx, req.ID, rerr)
	case err != nil:
		c.h.log.Warn("live: a method failed", "method", req.Method, "err", err)
		err = conn.ReplyWithError(ctx, req.ID, &jsonrpc2.Error{Code: jsonrpc2.CodeInternalError, Message: "internal error in " + req.Method + "; the devproxy log has the details"})
	default:
		err = conn.Reply(ctx, req.ID, result)
	}
	if err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		// A reply that cannot be written (the client stopped reading,
		// or the result cannot be marshalled) ends nothing else.
		c.h.log.Debug("live: reply failed", "method", req.Method, "err", err)
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			c.close(websocket.ClosePolicyViolation, "too slow")
		}
	}
}

// subscribe applies devproxy/subscribe or devproxy/unsubscribe.
func (c *client) subscribe(req *jsonrpc2.Request) (any, error) {
	p, perr := c.h.decodeTopics(req.Params)
	if perr != nil {
		return nil, perr
	}
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range p.Topics {
		if req.Method == MethodSubscribe {
			c.topics[t] = true
		} else {
			delete(c.topics, t)
		}
	}
	out := TopicsParams{Topics: []string{}}
	for t := range c.topics {
		out.Topics = append(out.Topics, t)
	}
	slices.Sort(out.Topics)
	return out, nil
}

// decodeTopics reads and checks subscribe params: unknown fields and
// unknown topics are refused, naming them.
func (h *Hub) decodeTopics(raw *json.RawMessage) (TopicsParams, *jsonrpc2.Error) {
	var wire struct {
		Topics *[]string `json:"topics"`
	}
	if raw == nil {
		return TopicsParams{}, paramError("params", "missing; send {\"topics\": [...]}")
	}
	if err := decodeStrict(*raw, &wire); err != nil {
		return TopicsParams{}, paramError("params", "%v", err)
	}
	if wire.Topics == nil {
		return TopicsParams{}, paramError("topics", "missing; send {\"topics\": [...]}")
	}
	for i, t := range *wire.Topics {
		if j := slices.Index((*wire.Topics)[:i], t); j >= 0 {
			return TopicsParams{}, paramError("topics["+strconv.Itoa(i)+"]", "%q is already topics[%d]", t, j)
		}
		if !h.topics[t] {
			known := make([]string, 0, len(h.topics))
			for k := range h.topics {
				known = append(known, strconv.Quote(k))
			}
			slices.Sort(known)
			return TopicsParams{}, paramError("topics["+strconv.Itoa(i)+"]", "unknown topic %q; the topics are %v", t, known)
		}
	}
	return TopicsParams{Topics: *wire.Topics}, nil
}

// paramError is an InvalidParams answer naming the field at fault.
func paramError(field, format string, args ...any) *jsonrpc2.Error {
	return &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: field + ": " + fmt.Sprintf(format, args...)}
}
