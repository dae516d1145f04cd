// Package httpproxy is devproxy's reverse proxy: it asks the current
// RouteTable what to do with each request and does it — forwarding with
// streaming bodies, pooled keep-alive connections, WebSocket upgrades and
// server-sent events, or answering from the route file (return, redirects,
// empty_gif), or serving the proxy's own pages.
//
// The client side runs on fasthttp, the upstream side on a small pooled
// HTTP/1.1 client of our own that works synchronously on the handler's
// goroutine: on a 2-core machine, Go's net/http server and transport spent
// most of the CPU on goroutine hand-offs and extra reads (see
// docs/benchmarks-proxy.md).
//
// The table is swapped atomically on reload. Each request reads the table
// once, when it arrives, so a request or an open WebSocket finishes on the
// table it started with.
package httpproxy

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/valyala/fasthttp"
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
}

// New returns a proxy serving t.
func New(t *routing.RouteTable, log *slog.Logger) *Proxy {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{pool: newUpstreamPool(), log: log, clientBodyTimeout: defaultClientBodyTimeout, readHeaderTimeout: readHeaderTimeout}
	p.table.Store(t)
	return p
}

// Swap installs a new table for requests that arrive from now on.
func (p *Proxy) Swap(t *routing.RouteTable) { p.table.Store(t) }

// Table is the table new requests use.
func (p *Proxy) Table() *routing.RouteTable { return p.table.Load() }

// SetClientBodyTimeout changes how long a client may pause while sending a
// request body (default 60s, as nginx's client_body_timeout).
func (p *Proxy) SetClientBodyTimeout(d time.Duration) { p.clientBodyTimeout = d }

// SetReadHeaderTimeout changes how long a client may take to send its
// request headers (default 10s). It applies to servers made afterwards.
func (p *Proxy) SetReadHeaderTimeout(d time.Duration) { p.readHeaderTimeout = d }

// Close releases idle upstream connections.
func (p *Proxy) Close() { p.pool.close() }

// Server timeouts that keep slow or hostile clients from holding
// resources. Upstream streams (WebSockets, SSE, long polls) are not
// limited: no write timeout on the client side.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Handler serves requests that arrive on one listener. With tunnel set,
// every request counts as coming through the tunnel (the public internet,
// https).
func (p *Proxy) Handler(tunnel bool) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		t := p.table.Load()
		req := &routing.Request{
			Method:     string(ctx.Method()),
			Target:     string(ctx.Request.Header.RequestURI()),
			Host:       string(ctx.Request.Header.Host()),
			Header:     requestHeader(&ctx.Request.Header),
			RemoteAddr: ctx.RemoteAddr().String(),
			Tunnel:     tunnel,
		}
		if a, ok := ctx.LocalAddr().(*net.TCPAddr); ok {
			req.ServerPort = a.Port
		}
		if cl := ctx.Request.Header.ContentLength(); (cl == 0 || cl == -2) && identityCoded(&ctx.Request.Header) {
			// fasthttp accepts "Transfer-Encoding: identity" and ignores the
			// body; nginx answers 501, and so do we, closing the
			// connection so the body is not read as the next request.
			writeJSON(ctx, http.StatusNotImplemented, errorBody{Error: "Not Implemented", Status: http.StatusNotImplemented,
				Message: "Transfer-Encoding identity is not supported; send the body with Content-Length or chunked."})
			ctx.SetConnectionClose()
			return
		}
		p.carryOut(ctx, t, req, t.Resolve(req), true)
	}
}

// requestHeader copies the client's headers into the form the route engine
// reads ($http_*, and the headers the upstream sees). Like nginx's
// ignore_invalid_headers, a header whose name is not an HTTP token is
// dropped rather than passed to the upstream.
func requestHeader(h *fasthttp.RequestHeader) http.Header {
	out := make(http.Header, h.Len())
	h.VisitAll(func(k, v []byte) {
		if !validHeaderName(k) {
			return
		}
		key := textproto.CanonicalMIMEHeaderKey(string(k))
		out[key] = append(out[key], string(v))
	})
	return out
}

// identityCoded reports a Transfer-Encoding header in the raw request of a
// request fasthttp found no body framing for (it drops "identity" while
// parsing, leaving the body to be read as the next request).
func identityCoded(h *fasthttp.RequestHeader) bool {
	const name = "transfer-encoding:"
	raw := h.RawHeaders()
	for i := 0; i+len(name) <= len(raw); i++ {
		if (i == 0 || raw[i-1] == '\n') && bytes.EqualFold(raw[i:i+len(name)], []byte(name)) {
			return true
		}
	}
	return false
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c >= 0x80 || !isTokenChar[c] {
			return false
		}
	}
	return true
}

var isTokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// carryOut performs a decision. errorPages is false while an error page is
// being served, as nginx does not apply error_page recursively.
func (p *Proxy) carryOut(ctx *fasthttp.RequestCtx, t *routing.RouteTable, req *routing.Request, d *routing.Decision, errorPages bool) {
	switch d.Action {
	case routing.ActionProxy:
		p.forward(ctx, t, req, d, errorPages)
	case routing.ActionReserved:
		p.servePage(ctx, req, t, d)
	case routing.ActionNone:
		if d.Matched {
			writeJSONError(ctx, http.StatusNotFound, "Not Found",
				"The location "+d.Location.Spec+" in "+d.Location.File+" has no proxy_pass, return or empty_gif.", d)
			return
		}
		writeJSONError(ctx, http.StatusNotFound, "Not Found", "No route matches "+d.Path+".", d)
	case routing.ActionError:
		switch d.Status {
		case http.StatusBadRequest:
			writeJSONError(ctx, d.Status, "Bad Request", "The request path is malformed or climbs above /.", d)
		case http.StatusRequestEntityTooLarge:
			writeJSONError(ctx, d.Status, "Payload Too Large", "The request body is larger than client_max_body_size of "+d.Location.File+".", d)
			ctx.SetConnectionClose()
		default:
			writeJSONError(ctx, d.Status, http.StatusText(d.Status), "The route file could not handle this request; run `devproxy explain` on the path to see why.", d)
		}
	case routing.ActionReturn, routing.ActionRedirect:
		if d.CloseClient {
			closeConnection(ctx)
			return
		}
		writeDecision(ctx, d)
	}
}

// writeDecision sends an answer decided by the route file.
func writeDecision(ctx *fasthttp.RequestCtx, d *routing.Decision) {
	ctx.SetStatusCode(d.Status)
	for k, v := range d.ResponseHeaders {
		ctx.Response.Header.Set(k, v)
	}
	switch {
	case d.BinaryBody != nil:
		ctx.SetBody(d.BinaryBody)
	case d.Body != "":
		ctx.SetBodyString(d.Body)
	}
}

// closeConnection implements return 444: hang up without an answer.
func closeConnection(ctx *fasthttp.RequestCtx) {
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(net.Conn) {})
}

// NewServer returns the fasthttp server for one listener, with the limits
// that keep slow or hostile clients from holding resources.
func (p *Proxy) NewServer(tunnel bool) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                       p.Handler(tunnel),
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: true,
		DisablePreParseMultipartForm:  true,
		// Bodies stream to the upstream; only the first few kilobytes are
		// read before the handler runs.
		StreamRequestBody:  true,
		MaxRequestBodySize: 64 << 10,
		ReadBufferSize:     maxHeaderBytes,
		ReadTimeout:        p.readHeaderTimeout,
		IdleTimeout:        idleTimeout,
		// The first kilobytes of a body are read before the handler runs;
		// they get client_body_timeout, like every later read.
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if h.ContentLength() != 0 && h.ContentLength() != -2 {
				return fasthttp.RequestConfig{ReadTimeout: p.clientBodyTimeout}
			}
			return fasthttp.RequestConfig{}
		},
		TCPKeepalive:    true,
		CloseOnShutdown: true,
		ErrorHandler:    parseError,
		Logger:          fasthttpLogger{p.log},
	}
}

// parseError answers a request that could not be read: a JSON body with
// the status that fits the problem.
func parseError(ctx *fasthttp.RequestCtx, err error) {
	status := http.StatusBadRequest
	msg := "The request could not be parsed: " + err.Error()
	switch {
	case isTooLarge(err):
		status = http.StatusRequestHeaderFieldsTooLarge
		msg = "The request line or headers are larger than " + strconv.Itoa(maxHeaderBytes>>10) + " KB."
	case errors.Is(err, fasthttp.ErrUnsupportedTransferEncoding):
		status = http.StatusNotImplemented
		msg = "This Transfer-Encoding is not supported; send the body with Content-Length or chunked."
	case isTimeout(err):
		status = http.StatusRequestTimeout
		msg = "The request was not received in time."
	}
	writeJSON(ctx, status, errorBody{Error: http.StatusText(status), Message: msg, Status: status})
	ctx.SetConnectionClose()
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("http server", "msg", fmtSprintf(format, args...))
}
