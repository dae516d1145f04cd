// Package httpproxy is devproxy's reverse proxy: an http.Handler that asks
// the current RouteTable what to do with each request and does it —
// forwarding with streaming bodies, pooled keep-alive connections,
// WebSocket upgrades and server-sent events, or answering from the route
// file (return, redirects, empty_gif), or serving the proxy's own pages.
//
// The table is swapped atomically on reload. Each request reads the table
// once, when it arrives, so a request or an open WebSocket finishes on the
// table it started with.
package httpproxy

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Version is reported by /devproxy/api/config; the binary sets it.
var Version = "dev"

// Proxy routes requests through the current RouteTable.
type Proxy struct {
	table     atomic.Pointer[routing.RouteTable]
	transport *upstreamTransport
	log       *slog.Logger
	// clientBodyTimeout bounds each read of a request body (nginx's
	// client_body_timeout).
	clientBodyTimeout time.Duration
}

// New returns a proxy serving t.
func New(t *routing.RouteTable, log *slog.Logger) *Proxy {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{transport: newUpstreamTransport(), log: log, clientBodyTimeout: defaultClientBodyTimeout}
	p.table.Store(t)
	return p
}

// Swap installs a new table for requests that arrive from now on.
func (p *Proxy) Swap(t *routing.RouteTable) { p.table.Store(t) }

// SetClientBodyTimeout changes how long a client may pause while sending a
// request body (default 60s, as nginx's client_body_timeout).
func (p *Proxy) SetClientBodyTimeout(d time.Duration) { p.clientBodyTimeout = d }

// Table is the table new requests use.
func (p *Proxy) Table() *routing.RouteTable { return p.table.Load() }

// Close releases idle upstream connections.
func (p *Proxy) Close() { p.transport.CloseIdleConnections() }

type tunnelKey struct{}

// MarkTunnel returns a context that marks every request of a connection as
// coming through the tunnel (the public internet, https).
func MarkTunnel(ctx context.Context) context.Context {
	return context.WithValue(ctx, tunnelKey{}, true)
}

// FromTunnel reports whether a request arrived on the tunnel listener.
func FromTunnel(r *http.Request) bool {
	v, _ := r.Context().Value(tunnelKey{}).(bool)
	return v
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := p.table.Load()
	req := &routing.Request{
		Method:     r.Method,
		Target:     r.RequestURI,
		Host:       r.Host,
		Header:     r.Header,
		RemoteAddr: r.RemoteAddr,
		Tunnel:     FromTunnel(r),
		ServerPort: localPort(r),
	}
	if r.ProtoMajor == 2 || r.RequestURI == "*" {
		req.Target = r.URL.RequestURI()
	}
	d := t.Resolve(req)
	p.carryOut(w, r, t, req, d, true)
}

// carryOut performs a decision. errorPages is false while an error page is
// being served, as nginx does not apply error_page recursively.
func (p *Proxy) carryOut(w http.ResponseWriter, r *http.Request, t *routing.RouteTable, req *routing.Request, d *routing.Decision, errorPages bool) {
	switch d.Action {
	case routing.ActionProxy:
		p.forward(w, r, t, req, d, errorPages)
	case routing.ActionReserved:
		p.servePage(w, r, t, d)
	case routing.ActionNone:
		if d.Matched {
			writeJSONError(w, http.StatusNotFound, "Not Found",
				"The location "+d.Location.Spec+" in "+d.Location.File+" has no proxy_pass, return or empty_gif.", d)
			return
		}
		writeJSONError(w, http.StatusNotFound, "Not Found", "No route matches "+d.Path+".", d)
	case routing.ActionError:
		switch d.Status {
		case http.StatusBadRequest:
			writeJSONError(w, d.Status, "Bad Request", "The request path is malformed or climbs above /.", d)
		case http.StatusRequestEntityTooLarge:
			writeJSONError(w, d.Status, "Payload Too Large", "The request body is larger than client_max_body_size of "+d.Location.File+".", d)
		default:
			writeJSONError(w, d.Status, http.StatusText(d.Status), "The route file could not handle this request; run `devproxy explain` on the path to see why.", d)
		}
	case routing.ActionReturn, routing.ActionRedirect:
		if d.CloseClient {
			closeConnection(w)
			return
		}
		writeDecision(w, d)
	}
}

// writeDecision sends an answer decided by the route file.
func writeDecision(w http.ResponseWriter, d *routing.Decision) {
	h := w.Header()
	for k, v := range d.ResponseHeaders {
		h.Set(k, v)
	}
	body := d.BinaryBody
	if body == nil && d.Body != "" {
		body = []byte(d.Body)
	}
	if body != nil {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(d.Status)
	if body != nil {
		w.Write(body)
	}
}

// closeConnection implements return 444: hang up without an answer.
func closeConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

func localPort(r *http.Request) int {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if tcp, ok := a.(*net.TCPAddr); ok {
			return tcp.Port
		}
	}
	return 0
}

// Server timeouts that keep slow or hostile clients from holding
// resources. Upstream streams (WebSockets, SSE, long polls) are not
// limited: no write timeout on the client side.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// NewHTTPServer wraps the proxy in an http.Server with safe timeouts. With
// tunnel set, every request on it counts as coming through the tunnel.
func (p *Proxy) NewHTTPServer(tunnel bool, errLog *slog.Logger) *http.Server {
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if errLog != nil {
		srv.ErrorLog = slog.NewLogLogger(errLog.Handler(), slog.LevelDebug)
	}
	if tunnel {
		srv.ConnContext = func(ctx context.Context, _ net.Conn) context.Context { return MarkTunnel(ctx) }
	}
	return srv
}
