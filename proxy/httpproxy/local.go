package httpproxy

// Local handlers: the host (devproxy serve, the language server) can put
// a net/http handler behind the proxy's own server for a few paths of its
// own: GET /devproxy/ws, /health.json and /devproxy/metrics, and what the
// proxy does not answer itself under /devproxy/api/. They are served on the local listener only; through the
// tunnel these paths are refused as every other page of the proxy is.
//
// The adapter turns the exchange into an *http.Request (the body read
// through clientBody, with its timeout and a size limit) and gives the
// handler an http.ResponseWriter that writes through exchange.writeHead,
// so the header guard applies to whatever the handler sets. It supports
// http.Flusher and http.Hijacker; a hijacked connection stays the
// server's to close at shutdown, as a proxied WebSocket does.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// localMaxBodySize bounds a request body for a Local handler. No route
// file sets client_max_body_size for the proxy's own paths, so this is
// nginx's default.
const localMaxBodySize = 1 << 20

// localBufferSize is how much of an answer is held back before its head
// is sent: an answer that fits is sent with a Content-Length, as net/http
// does.
const localBufferSize = 4 << 10

// SetLocalHandler installs h for requests on the local listener for
// GET /devproxy/ws, /health.json and /devproxy/metrics, and for paths under /devproxy/api/ the proxy does not
// answer itself; nil removes it. Through the tunnel listener h is never
// reached.
func (p *Proxy) SetLocalHandler(h http.Handler) {
	if h == nil {
		p.local.Store(nil)
		return
	}
	p.local.Store(&h)
}

// TunnelContextKey marks the context of a request a Local handler gets
// through the tunnel listener (SetTunnelGate); a client cannot set it.
type tunnelContextKey struct{}

// ThroughTunnel reports whether a Local handler's request came through
// the tunnel listener.
func ThroughTunnel(ctx context.Context) bool {
	v, _ := ctx.Value(tunnelContextKey{}).(bool)
	return v
}

// TunnelGate decides whether a request through the tunnel may reach one
// of the proxy's own pages that the proxy renders itself (the dashboard,
// /routes.json): it returns true, or answers the refusal (401, 403) on w
// and returns false. Its request's context is marked (ThroughTunnel).
type TunnelGate func(w http.ResponseWriter, r *http.Request) bool

// SetTunnelGate opens the proxy's own paths to the tunnel listener: the
// Local handler's (which must authenticate tunnel requests itself: their
// context says ThroughTunnel) and, past gate, the pages the proxy renders
// itself. Without a gate (nil), every one of them answers 403 through the
// tunnel.
func (p *Proxy) SetTunnelGate(gate TunnelGate) {
	if gate == nil {
		p.tunnelGate.Store(nil)
		return
	}
	p.tunnelGate.Store(&gate)
}

// tunnelAllowed runs the gate for a page the proxy renders itself; false
// when it answered the refusal (or there is no gate: then 403).
func (p *Proxy) tunnelAllowed(x *exchange, path string, header http.Header) bool {
	g := p.tunnelGate.Load()
	if g == nil {
		writeError(x, http.StatusForbidden, "Forbidden",
			"The proxy's own pages are not served through the tunnel; open them on the local address.", nil)
		return false
	}
	allowed := false
	p.serveLocalWith(x, path, header, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed = (*g)(w, r)
	}), func(w *localWriter) bool { return !allowed })
	return allowed
}

// localHandler is the handler for a request to one of the proxy's own
// paths, or nil when the proxy answers it itself.
func (p *Proxy) localHandler(method, path string) http.Handler {
	h := p.local.Load()
	if h == nil {
		return nil
	}
	switch {
	case (path == "/devproxy/ws" || path == "/health.json" || path == "/devproxy/metrics") && method == http.MethodGet:
		return *h
	case path == "/devproxy/signin" || path == "/devproxy/signin.js":
		return *h
	case strings.HasPrefix(path, "/devproxy/api/") && path != "/devproxy/api/config":
		return *h
	}
	return nil
}

// serveLocal hands a request to a Local handler. path is the normalised
// path the request was routed by.
func (p *Proxy) serveLocal(x *exchange, path string, header http.Header, tunnel bool, h http.Handler) {
	p.serveLocalWith(x, path, header, tunnel, h, nil)
}

// serveLocalWith is serveLocal; complete, when set, says whether the
// answer is to be completed (a gate that let the request through wrote
// nothing: the proxy then answers it itself).
func (p *Proxy) serveLocalWith(x *exchange, path string, header http.Header, tunnel bool, h http.Handler, complete func(*localWriter) bool) {
	head := x.req
	if head.ContentLength > localMaxBodySize {
		writeError(x, http.StatusRequestEntityTooLarge, "Payload Too Large",
			"The request body is larger than the proxy's own API accepts (1 MiB).", nil)
		return
	}
	ctx, cancel := context.WithCancel(x.c.ctx)
	defer cancel()
	stopOnShutdown := context.AfterFunc(x.c.srv.down, cancel)
	defer stopOnShutdown()

	if tunnel {
		ctx = context.WithValue(ctx, tunnelContextKey{}, true)
	}
	w := &localWriter{p: p, x: x, path: path, header: http.Header{}, cancel: cancel}
	r := w.request(header)
	r = r.WithContext(ctx)
	if x.body == nil {
		w.watchClient() // nothing to read: see at once if the client leaves
	}
	h.ServeHTTP(w, r)
	if complete != nil && !complete(w) {
		w.endWatch()
		return
	}
	w.finish()
}

// request builds the *http.Request a handler sees.
func (w *localWriter) request(header http.Header) *http.Request {
	head := w.x.req
	u := &url.URL{Path: w.path}
	if i := strings.IndexByte(head.Target, '?'); i >= 0 {
		u.RawQuery = head.Target[i+1:]
	}
	header = header.Clone()
	delete(header, "Host")
	host := head.HostHeader
	if host == "" {
		host = head.Host
	}
	r := &http.Request{
		Method:     head.Method,
		URL:        u,
		Proto:      "HTTP/" + strconv.Itoa(head.Major) + "." + strconv.Itoa(head.Minor),
		ProtoMajor: head.Major,
		ProtoMinor: head.Minor,
		Header:     header,
		Host:       host,
		RemoteAddr: w.x.c.remote,
		RequestURI: head.Target,
		Close:      !head.KeepAlive,
		Body:       http.NoBody,
	}
	if b := w.x.body; b != nil {
		b.max = localMaxBodySize
		r.Body = &localBody{w: w, b: b}
		r.ContentLength = b.length()
		if head.Chunked {
			r.TransferEncoding = []string{"chunked"}
		}
	}
	return r
}

// localWriter is the http.ResponseWriter of a Local handler.
type localWriter struct {
	p      *Proxy
	x      *exchange
	path   string
	cancel context.CancelFunc
	header http.Header

	status    int         // 0 until WriteHeader
	sent      http.Header // the headers as they were at WriteHeader
	committed bool        // the head went to the exchange
	held      []byte      // body bytes written before the head was sent
	hijacked  bool
	finished  atomic.Bool // ServeHTTP returned: the body is closed

	watchMu   sync.Mutex
	stopWatch func() // ends the watch for a client that leaves; nil when none
}

var (
	_ http.Flusher  = (*localWriter)(nil)
	_ http.Hijacker = (*localWriter)(nil)
)

func (w *localWriter) Header() http.Header { return w.header }

// WriteHeader records the status and a copy of the headers; they are sent
// with the first flush, or once the body outgrows localBufferSize, or when
// the handler returns. Informational statuses (1xx) are not sent: the
// proxy writes 100 Continue itself, and 101 needs a Hijack.
func (w *localWriter) WriteHeader(code int) {
	if w.hijacked || w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic("httpproxy: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 {
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *localWriter) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if !w.committed {
		w.held = append(w.held, p...)
		if len(w.held) > localBufferSize {
			if err := w.commit(false); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	}
	return w.x.Write(p)
}

// Flush sends the head and what was written so far. A handler that
// flushes is streaming: like an event stream, a shutdown closes it at
// once rather than waiting for it to end.
func (w *localWriter) Flush() { w.FlushError() }

// FlushError is Flush with its error, for http.ResponseController.
func (w *localWriter) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		if err := w.commit(false); err != nil {
			return err
		}
	}
	w.x.c.state.Store(stateStream)
	return w.x.Flush()
}

// commit sends the head and the body bytes held back. With final set the
// handler has returned, so the whole body is known.
func (w *localWriter) commit(final bool) error {
	w.committed = true
	x := w.x
	h := w.sent
	if _, ok := h["Content-Type"]; !ok && len(w.held) > 0 && bodyAllowed(w.status) {
		h["Content-Type"] = []string{http.DetectContentType(w.held)}
	}
	length := int64(-1)
	fields := make([]headerField, 0, len(h))
	for _, name := range slices.Sorted(maps.Keys(h)) {
		values := h[name]
		if !validHeaderName(name) {
			w.p.log.Warn("a local handler set a header whose name is not a token; it is not sent", "path", w.path)
			continue
		}
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if len(values) == 1 {
				if n, ok := parseContentLength(strings.TrimSpace(values[0])); ok {
					length = n
				}
			}
			continue
		case asciiEqualFold(name, "Connection"):
			for _, v := range values {
				if containsFold(v, "close") {
					x.keepAlive = false
				}
			}
			continue
		case isHopByHopResponse(name):
			continue // framing, Date and the like are the server's
		}
		for _, v := range values {
			// The guard of guard.go: a value with CR, LF or NUL could
			// split the answer, so it is not sent at all (writeHead
			// escapes any other control character).
			if _, bad := unsafeValueByte(v, false); bad {
				w.p.log.Warn("a local handler set a header value with CR, LF or NUL; it is not sent", "header", name, "path", w.path)
				continue
			}
			fields = append(fields, headerField{name, v})
		}
	}
	if final && length < 0 {
		length = int64(len(w.held))
	}
	if !bodyAllowed(w.status) {
		length = -1
	}
	x.writeHead(w.status, "", fields, length)
	held := w.held
	w.held = nil
	if len(held) > 0 {
		if _, err := x.Write(held); err != nil {
			return err
		}
	}
	return nil
}

// bodyAllowed reports whether an answer with this status may carry a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// finish completes the answer after ServeHTTP returns.
func (w *localWriter) finish() {
	w.endWatch()
	w.finished.Store(true)
	if w.hijacked {
		return
	}
	if b := w.x.body; b != nil && b.err != nil && !w.committed {
		localBodyError(w.x, b)
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
	}
}

// localBodyError answers a request whose body could not be read.
func localBodyError(x *exchange, b *clientBody) {
	x.keepAlive = false
	switch {
	case errors.Is(b.err, errBodyTooLarge):
		writeError(x, http.StatusRequestEntityTooLarge, "Payload Too Large", "The request body is larger than the proxy's own API accepts (1 MiB).", nil)
		b.err = nil // the rest is read and dropped (lingering close)
	case isTimeout(b.err):
		writeError(x, http.StatusRequestTimeout, "Request Timeout", "The client stopped sending the request body (client_body_timeout).", nil)
	default:
		writeError(x, http.StatusBadRequest, "Bad Request", "The request body is malformed or shorter than announced.", nil)
	}
}

// watchClient cancels the request's context if the client closes its
// connection. It runs only while nobody else reads from the client: from
// the start when there is no body, after the body's end otherwise.
func (w *localWriter) watchClient() {
	w.watchMu.Lock()
	defer w.watchMu.Unlock()
	if w.stopWatch != nil || w.hijacked || w.finished.Load() {
		return
	}
	w.stopWatch = w.x.c.cancelWhenGone(w.cancel)
}

func (w *localWriter) endWatch() {
	w.watchMu.Lock()
	defer w.watchMu.Unlock()
	if w.stopWatch != nil {
		w.stopWatch()
		w.stopWatch = nil
	}
}

// Hijack hands the client's connection to the handler (a WebSocket
// upgrade). The reader it returns holds the bytes the client sent past
// the request head. The server still counts the connection: a shutdown
// closes it at once, as it closes proxied WebSockets.
func (w *localWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.committed {
		return nil, nil, errors.New("httpproxy: Hijack after the answer began")
	}
	w.endWatch()
	w.watchMu.Lock()
	w.hijacked = true
	w.watchMu.Unlock()
	x, c := w.x, w.x.c
	x.hijacked = true
	c.state.Store(stateHijacked)
	if err := c.bw.Flush(); err != nil { // a 100 Continue, if any
		return nil, nil, err
	}
	c.nc.SetDeadline(time.Time{})
	c.rd.at, c.wd.at = time.Time{}, time.Time{}
	// The connection's buffers go back to a pool when its goroutine ends;
	// the handler gets its own, with the bytes already read.
	early, _ := c.br.Peek(c.br.Buffered())
	early = bytes.Clone(early)
	hc := &hijackedConn{Conn: c.nc, c: c}
	c.refs.Add(1)
	c.hijacked.Store(hc)
	if c.srv.isClosing() {
		hc.Close() // a shutdown began: whatever it closed, this is closed too
	}
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(early), hc), max(clientBufferSize, len(early)))
	br.Peek(len(early)) // buffered as net/http's would be, without waiting on the socket
	return hc, bufio.NewReadWriter(br, bufio.NewWriterSize(hc, clientBufferSize)), nil
}

// hijackedConn is a client connection a Local handler took over. Closing
// it lets the server forget the connection.
type hijackedConn struct {
	net.Conn
	c    *clientConn
	once sync.Once
}

func (h *hijackedConn) Close() error {
	err := h.Conn.Close()
	h.once.Do(h.c.release)
	return err
}

// localBody is the request body a Local handler reads.
type localBody struct {
	w *localWriter
	b *clientBody
}

func (lb *localBody) Read(p []byte) (int, error) {
	if lb.w.finished.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	if lb.w.hijacked {
		return 0, http.ErrHijacked
	}
	n, err := lb.b.Read(p)
	if err == io.EOF {
		lb.w.watchClient()
	}
	if errors.Is(err, errBodyTooLarge) {
		err = &http.MaxBytesError{Limit: localMaxBodySize}
	}
	return n, err
}

func (lb *localBody) Close() error { return nil }
