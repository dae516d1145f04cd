// Package httpproxy is devproxy's reverse proxy: it asks the current
// RouteTable what to do with each request and does it — forwarding with
// streaming bodies, pooled keep-alive connections, WebSocket upgrades and
// server-sent events, or answering from the route file (return, redirects,
// empty_gif), or serving the proxy's own pages.
//
// Both sides speak HTTP/1.x through code of our own: a server that reads
// requests with nginx's rules (http1.go, conn.go), and a small pooled
// client that works synchronously on the handler's goroutine (upstream.go,
// forward.go). On a 2-core machine, Go's net/http server and transport
// spent most of the CPU on goroutine hand-offs and extra reads, and
// fasthttp's parser could not follow nginx (see docs/benchmarks-proxy.md).
// Every byte from clients, upstreams and route files is checked where it
// is written; docs/security.md lists the guarantees.
//
// The table is swapped atomically on reload. Each request reads the table
// once, when it arrives, so a request or an open WebSocket finishes on the
// table it started with.
package httpproxy

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Version is reported by /devproxy/api/config; the binary sets it.
var Version = "dev"

// Proxy routes requests through the current RouteTable.
type Proxy struct {
	table atomic.Pointer[routing.RouteTable]
	pool  *upstreamPool
	log   *slog.Logger
	// clientBodyTimeout bounds each pause while a client sends a request
	// body (nginx's client_body_timeout).
	clientBodyTimeout time.Duration
	// readHeaderTimeout bounds how long a client may take to send its
	// request headers (slowloris).
	readHeaderTimeout time.Duration
	// sendTimeout bounds each write to a client (nginx's send_timeout).
	sendTimeout time.Duration
	// local is the host's handler for its own paths on the local
	// listener (local.go); nil when there is none.
	local      atomic.Pointer[http.Handler]
	tunnelGate atomic.Pointer[TunnelGate]
	headless   bool // ServeOptions.Headless; set before serving
	probeToken string
	// accessLog, when set, hears of every request once it is answered
	// (accesslog.go).
	accessLog func(AccessEntry)
}

// New returns a proxy serving t.
func New(t *routing.RouteTable, log *slog.Logger) *Proxy {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{pool: newUpstreamPool(), log: log, clientBodyTimeout: defaultClientBodyTimeout,
		readHeaderTimeout: readHeaderTimeout, sendTimeout: defaultClientSendTimeout}
	p.table.Store(t)
	var b [16]byte
	rand.Read(b[:])
	p.probeToken = hex.EncodeToString(b[:])
	return p
}

// ProbeHeader is the request header that marks the health scanner's own
// probes, with the value ProbeToken: the access log flags them
// (AccessEntry.Probe), so that they count as neither traffic nor
// passive health. Only a process that knows the token can set it.
const ProbeHeader = "X-Devproxy-Probe"

// ProbeToken is this proxy's value for ProbeHeader.
func (p *Proxy) ProbeToken() string { return p.probeToken }

// Swap installs a new table for requests that arrive from now on.
func (p *Proxy) Swap(t *routing.RouteTable) { p.table.Store(t) }

// Table is the table new requests use.
func (p *Proxy) Table() *routing.RouteTable { return p.table.Load() }

// SetClientBodyTimeout changes how long a client may pause while sending a
// request body (default 60s, as nginx's client_body_timeout).
func (p *Proxy) SetClientBodyTimeout(d time.Duration) { p.clientBodyTimeout = d }

// SetReadHeaderTimeout changes how long a client may take to send its
// request headers (default 10s).
func (p *Proxy) SetReadHeaderTimeout(d time.Duration) { p.readHeaderTimeout = d }

// SetSendTimeout changes how long one write to a client may block (default
// 60s, as nginx's send_timeout). It applies to connections made afterwards.
func (p *Proxy) SetSendTimeout(d time.Duration) { p.sendTimeout = d }

// Close releases idle upstream connections.
func (p *Proxy) Close() { p.pool.close() }

// serveExchange answers one request that arrived on a listener. With
// tunnel set, the request counts as coming through the tunnel (the public
// internet, https).
func (p *Proxy) serveExchange(x *exchange, tunnel bool) {
	t := p.table.Load()
	h := x.req
	req := &routing.Request{
		Method:     h.Method,
		Target:     h.Target,
		Host:       h.HostHeader,
		Header:     requestHeader(h.Fields),
		RemoteAddr: x.c.remote,
		Tunnel:     tunnel,
		ServerPort: x.c.localPort,
	}
	x.c.path.Store(&h.Target)
	x.debugLocation = !tunnel && wantsLocation(h.Fields, x.c.remote)
	if !tunnel && !hostAllowed(h.Host, x.c.nc.LocalAddr(), &t.Config) {
		x.keepAlive = false
		p.log.Warn("refused a request for a host that is not allowed (DNS rebinding protection)", "host", h.Host, "remote", req.RemoteAddr)
		writeError(x, http.StatusForbidden, "Forbidden",
			"This Host is not served on the local address. If it is yours, add it to \"allowedHosts\" in devproxy.json.", nil)
		return
	}
	if h.ContentLength > 0 || h.Chunked {
		x.body = newClientBody(x, p.clientBodyTimeout)
	}
	p.carryOut(x, t, req, t.Resolve(req), true)
}

// Debug headers: a request from this machine to the local listener with
// DebugHeader: location gets LocationHeader on its answer, naming the
// location that took it ("apps/web.conf:3 ^~ /web/", or "none"): what
// the editor's request runner shows. The tunnel never gets it, and an
// answer without the request header is untouched.
const (
	DebugHeader    = "X-Devproxy-Debug"
	LocationHeader = "X-Devproxy-Location"
)

// wantsLocation reports whether a request asks for LocationHeader, from a
// loopback address. The header is looked for first: almost no request
// has it.
func wantsLocation(fields []headerField, remote string) bool {
	for _, f := range fields {
		if strings.EqualFold(f.Name, DebugHeader) && strings.EqualFold(strings.TrimSpace(f.Value), "location") {
			return wsrpc.LoopbackRemote(remote)
		}
	}
	return false
}

// locationValue is LocationHeader's value for decision d.
func locationValue(d *routing.Decision) string {
	if d == nil || d.Location == nil {
		return "none"
	}
	spec := d.Location.Spec
	if d.Location.Modifier != "" {
		spec = d.Location.Modifier + " " + spec
	}
	return d.Location.File + ":" + strconv.Itoa(d.Location.Line) + " " + spec
}

// requestHeader copies the client's headers into the form the route engine
// reads ($http_*, and the headers the upstream sees).
func requestHeader(fields []headerField) http.Header {
	out := make(http.Header, len(fields))
	for _, f := range fields {
		key := textproto.CanonicalMIMEHeaderKey(f.Name)
		out[key] = append(out[key], f.Value)
	}
	return out
}

// carryOut performs a decision. errorPages is false while an error page is
// being served, as nginx does not apply error_page recursively.
func (p *Proxy) carryOut(x *exchange, t *routing.RouteTable, req *routing.Request, d *routing.Decision, errorPages bool) {
	if x.decision == nil {
		x.decision = d // the access log names the location that took the request
	}
	switch d.Action {
	case routing.ActionProxy:
		p.forward(x, t, req, d, errorPages)
	case routing.ActionReserved:
		p.servePage(x, req, t, d)
	case routing.ActionNone:
		if d.Matched {
			writeError(x, http.StatusNotFound, "Not Found",
				"The location "+d.Location.Spec+" in "+d.Location.File+" has no proxy_pass, return or empty_gif.", d)
			return
		}
		if file, line, reason, ok := t.BrokenMatch(d.Path); ok && d.Private == "" {
			// A file with errors contributes no routes; say which one
			// would have taken the path, rather than only "no route".
			writeError(x, http.StatusNotFound, "Not Found",
				file+":"+strconv.Itoa(line)+" would take "+d.Path+" but has errors: "+reason, d)
			return
		}
		writeError(x, http.StatusNotFound, "Not Found", NoRouteMessage(d.URI), d)
	case routing.ActionError:
		switch d.Status {
		case http.StatusBadRequest:
			x.keepAlive = false
			// Without the decision's details: its path is the malformed
			// target, and error bodies never repeat request content.
			writeError(x, d.Status, "Bad Request", "The request path is malformed or climbs above /.", nil)
		case http.StatusRequestEntityTooLarge:
			writeError(x, d.Status, "Payload Too Large", "The request body is larger than client_max_body_size of "+d.Location.File+".", d)
			x.keepAlive = false
		default:
			writeError(x, d.Status, http.StatusText(d.Status), "The route file could not handle this request; run `devproxy explain` on the path to see why.", d)
		}
	case routing.ActionReturn, routing.ActionRedirect:
		if d.CloseClient {
			x.abort() // return 444: hang up without an answer
			return
		}
		writeDecision(x, d)
	}
}

// closesAfter reports the statuses after which nginx closes the
// connection when it writes the answer itself
// (ngx_http_special_response_handler): what follows a request that earned
// one cannot be trusted.
func closesAfter(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusRequestURITooLong,
		http.StatusInternalServerError, http.StatusNotImplemented:
		return true
	}
	return false
}

// writeDecision sends an answer decided by the route file.
func writeDecision(x *exchange, d *routing.Decision) {
	if closesAfter(d.Status) {
		x.keepAlive = false
	}
	fields := make([]headerField, len(d.ResponseFields))
	for i, h := range d.ResponseFields {
		fields[i] = headerField{h.Name, h.Value}
	}
	switch {
	case d.BinaryBody != nil:
		x.respond(d.Status, fields, d.BinaryBody)
	default:
		x.respond(d.Status, fields, []byte(d.Body))
	}
}
