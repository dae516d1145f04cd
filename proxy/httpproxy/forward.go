package httpproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/valyala/fasthttp"
)

// nginx's defaults for the proxy timeouts and client_body_timeout.
const (
	defaultConnectTimeout    = 60 * time.Second
	defaultReadTimeout       = 60 * time.Second
	defaultSendTimeout       = 60 * time.Second
	defaultClientBodyTimeout = 60 * time.Second
)

// smallBody is the largest response body read whole before answering; the
// upstream connection then goes straight back to the pool. Larger bodies,
// and bodies of unknown length, stream.
const smallBody = 64 << 10

var (
	// errReadTimeout marks an upstream that took longer than
	// proxy_read_timeout to answer (or went quiet that long mid-body).
	errReadTimeout = errors.New("upstream read timeout")
	// errSendTimeout marks an upstream that stopped taking the request
	// body for longer than proxy_send_timeout.
	errSendTimeout = errors.New("upstream send timeout")
	// errBodyTooLarge is a request body over client_max_body_size.
	errBodyTooLarge = errors.New("request body too large")
)

// clientBody reads the client's request body for the upstream. Every read
// gets a deadline (nginx's client_body_timeout: a client that stalls
// mid-body must not hold a handler and an upstream connection forever), the
// size is checked against client_max_body_size, and read errors are
// remembered so that a malformed or truncated body is answered as the
// client's fault (400, 408, 413), not the upstream's (502).
type clientBody struct {
	r       io.Reader
	ctx     *fasthttp.RequestCtx
	timeout time.Duration
	max     int64
	n       int64
	err     error
	started bool // a byte was handed to the upstream writer
	eof     bool // the whole body was read
}

// Lingering close (nginx's lingering_close): after answering a request
// whose body the client is still sending, read and discard the rest for a
// while before closing, or the client's TCP stack may see a reset before
// it reads the answer.
const (
	lingerIdle  = 2 * time.Second
	lingerTotal = 30 * time.Second
)

// lingerIfUnread arranges a lingering close when body has bytes left.
func lingerIfUnread(ctx *fasthttp.RequestCtx, body *clientBody) {
	if body == nil || body.eof || body.err != nil {
		return
	}
	ctx.Hijack(func(c net.Conn) {
		end := time.Now().Add(lingerTotal)
		buf := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(buf)
		for time.Now().Before(end) {
			c.SetReadDeadline(time.Now().Add(lingerIdle))
			if _, err := c.Read(*buf); err != nil {
				return
			}
		}
	})
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.timeout > 0 {
		b.ctx.SetReadDeadline(time.Now().Add(b.timeout))
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if n > 0 {
		b.started = true
	}
	if err == io.EOF {
		b.eof = true
	}
	if b.max > 0 && b.n > b.max {
		b.err = errBodyTooLarge
		return 0, b.err
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// timeouts of the matched block, with nginx's defaults.
func timeouts(l *routefile.Location) (connect, read, send time.Duration) {
	connect, read, send = defaultConnectTimeout, defaultReadTimeout, defaultSendTimeout
	if l.ConnectTimeout > 0 {
		connect = l.ConnectTimeout
	}
	if l.ReadTimeout > 0 {
		read = l.ReadTimeout
	}
	if l.SendTimeout > 0 {
		send = l.SendTimeout
	}
	return
}

// forward proxies a request to the upstream the decision names.
func (p *Proxy) forward(ctx *fasthttp.RequestCtx, t *routing.RouteTable, req *routing.Request, d *routing.Decision, errorPages bool) {
	l := d.Block.Loc
	connectTO, readTO, sendTO := timeouts(l)

	// The request body, if any: a known length, or -1 for chunked.
	bodyLen := int64(ctx.Request.Header.ContentLength())
	var body *clientBody
	if bodyLen == -2 {
		bodyLen = 0 // no length and not chunked: no body (RFC 9112 §6.3)
	}
	if bodyLen != 0 {
		var r io.Reader = ctx.RequestBodyStream()
		if r == nil {
			r = bytes.NewReader(ctx.Request.Body())
		}
		body = &clientBody{r: r, ctx: ctx, timeout: p.clientBodyTimeout, max: l.MaxBodySize}
		if l.MaxBodySize > 0 && bodyLen > l.MaxBodySize {
			body.err = errBodyTooLarge
			p.clientBodyError(ctx, d, body)
			return
		}
	}
	upgrade := isWebSocket(req.Header)
	pctx := context.Background()

	var c *upConn
	var rh *fasthttp.ResponseHeader
	var err error
	for attempt := 0; ; attempt++ {
		if upgrade {
			c, err = p.pool.dial(pctx, d.Target.Scheme, d.Target.HostPort(), connectTO)
		} else {
			c, err = p.pool.get(pctx, d.Target.Scheme, d.Target.HostPort(), connectTO)
		}
		if err != nil {
			break
		}
		c.sendTimeout = sendTO
		rh, err = roundTrip(c, d, req.Method, body, bodyLen, readTO)
		if err == nil {
			break
		}
		c.Conn.Close()
		// An idle keep-alive connection the upstream had already closed:
		// send again on a fresh one, if nothing of the body was used up.
		if attempt == 0 && c.reused && retryable(err) && (body == nil || !body.started) {
			continue
		}
		break
	}
	if err != nil {
		if body != nil && body.err != nil {
			p.clientBodyError(ctx, d, body)
			return
		}
		p.upstreamError(ctx, t, req, d, err, errorPages)
		lingerIfUnread(ctx, body)
		return
	}
	defer releaseResponseHeader(rh)
	status := rh.StatusCode()

	if status == http.StatusSwitchingProtocols && upgrade {
		p.switchProtocols(ctx, c, rh, d)
		return
	}
	if l.InterceptErrors && errorPages {
		if page := errorPageFor(l, status); page != nil {
			c.Conn.Close()
			p.errorPage(ctx, t, req, d, status, page)
			lingerIfUnread(ctx, body)
			return
		}
	}

	ctx.SetStatusCode(status)
	copyResponseHeader(&ctx.Response.Header, rh, l, d)
	keepAlive := !rh.ConnectionClose() && !upgrade
	if req.Method == http.MethodHead || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
		if cl := rh.ContentLength(); cl >= 0 && req.Method == http.MethodHead {
			ctx.Response.Header.SetContentLength(cl)
			ctx.Response.SkipBody = true
		}
		p.finish(c, keepAlive)
		return
	}
	rb := newUpstreamBody(c, rh.ContentLength(), readTO, keepAlive, p.pool)
	if strings.HasPrefix(string(rh.ContentType()), "text/event-stream") {
		rb.idle = 0 // [intent] event streams live as long as both sides do
	}
	cl := rh.ContentLength()
	switch {
	case cl >= 0 && cl <= smallBody:
		// Read into the response's own pooled buffer.
		if _, err := io.CopyN(ctx.Response.BodyWriter(), rb, int64(cl)); err != nil {
			rb.Close()
			ctx.Response.Reset()
			p.upstreamError(ctx, t, req, d, err, false)
			return
		}
		rb.Close()
	case cl >= 0 && rb.idle > 0:
		ctx.SetBodyStream(rb, cl)
	default:
		// Unknown length or an event stream: pass every piece on at once.
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			defer rb.Close()
			copyFlushing(w, w, rb)
		})
	}
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// responseHeaders recycles upstream response-header parsers, whose
// buffers would otherwise grow again on every request.
var responseHeaders = sync.Pool{New: func() any { return new(fasthttp.ResponseHeader) }}

func releaseResponseHeader(rh *fasthttp.ResponseHeader) {
	rh.Reset()
	responseHeaders.Put(rh)
}

func (p *Proxy) finish(c *upConn, keepAlive bool) {
	if keepAlive {
		p.pool.put(c)
	} else {
		c.Conn.Close()
	}
}

// roundTrip writes the request on c and reads the response header.
func roundTrip(c *upConn, d *routing.Decision, method string, body *clientBody, bodyLen int64, readTO time.Duration) (*fasthttp.ResponseHeader, error) {
	if err := writeRequest(c, d, method, body, bodyLen); err != nil {
		if isTimeout(err) {
			return nil, errSendTimeout
		}
		return nil, err
	}
	rh := responseHeaders.Get().(*fasthttp.ResponseHeader)
	rh.DisableNormalizing()
	for {
		c.SetReadDeadline(time.Now().Add(readTO))
		if err := rh.Read(c.br); err != nil {
			releaseResponseHeader(rh)
			if isTimeout(err) {
				return nil, errReadTimeout
			}
			return nil, err
		}
		// Interim answers (103 Early Hints and the like) are not passed on;
		// 101 is the upgrade itself.
		if s := rh.StatusCode(); s >= 200 || s == http.StatusSwitchingProtocols {
			return rh, nil
		}
		rh.Reset()
		rh.DisableNormalizing()
	}
}

// writeRequest sends the request line, the headers the decision computed
// and the body, framed with Content-Length or chunked encoding.
func writeRequest(c *upConn, d *routing.Decision, method string, body *clientBody, bodyLen int64) error {
	w := c.bw
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(d.UpstreamURI)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(d.OutHost)
	w.WriteString("\r\n")
	for k, vs := range d.OutHeader {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Expect", "Te", "Host":
			continue
		}
		for _, v := range vs {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	switch {
	case body == nil:
		if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			w.WriteString("Content-Length: 0\r\n")
		}
	case bodyLen >= 0:
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.FormatInt(bodyLen, 10))
		w.WriteString("\r\n")
	default:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	w.WriteString("\r\n")
	if body == nil {
		return w.Flush()
	}
	if bodyLen >= 0 {
		n, err := io.Copy(w, body)
		if err != nil {
			return err
		}
		if n < bodyLen {
			return io.ErrUnexpectedEOF
		}
		return w.Flush()
	}
	cw := httputil.NewChunkedWriter(w)
	if err := copyFlushing(cw, w, body); err != nil {
		return err
	}
	cw.Close()
	w.WriteString("\r\n")
	return w.Flush()
}

// copyFlushing copies src to dst piece by piece, flushing after each, so
// that whatever arrives is passed on at once (streamed bodies, server-sent
// events). It returns nil at the end of src.
func copyFlushing(dst io.Writer, flush interface{ Flush() error }, src io.Reader) error {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	for {
		n, err := src.Read(*buf)
		if n > 0 {
			if _, werr := dst.Write((*buf)[:n]); werr != nil {
				return werr
			}
			if werr := flush.Flush(); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// upstreamBody reads a response body with its framing, applying
// proxy_read_timeout to every pause. At the end of a fully read body the
// connection goes back to the pool.
type upstreamBody struct {
	c         *upConn
	r         io.Reader
	remaining int64 // bytes left of a Content-Length body; -1 otherwise
	chunked   bool
	idle      time.Duration
	keepAlive bool
	pool      *upstreamPool
	done      bool
	err       error
}

func newUpstreamBody(c *upConn, cl int, idle time.Duration, keepAlive bool, pool *upstreamPool) *upstreamBody {
	// A connection serves one request at a time, so it can carry the
	// reader of its current response.
	b := &c.body
	*b = upstreamBody{c: c, idle: idle, keepAlive: keepAlive, pool: pool, remaining: -1}
	switch {
	case cl >= 0:
		b.r = c.br
		b.remaining = int64(cl)
		b.done = cl == 0
	case cl == -1:
		b.r = httputil.NewChunkedReader(c.br)
		b.chunked = true
	default: // until the upstream closes
		b.r = c.br
		b.keepAlive = false
	}
	return b
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if b.idle > 0 {
		b.c.SetReadDeadline(time.Now().Add(b.idle))
	} else {
		b.c.SetReadDeadline(time.Time{})
	}
	if b.remaining >= 0 && int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.r.Read(p)
	if b.remaining >= 0 {
		b.remaining -= int64(n)
		switch {
		case b.remaining == 0:
			b.done = true
			return n, nil
		case err == io.EOF:
			err = io.ErrUnexpectedEOF // the upstream closed before the end
		}
	}
	if err == io.EOF {
		b.done = true
		if b.chunked && !skipTrailers(b.c.br) {
			b.keepAlive = false
		}
	} else if err != nil {
		if isTimeout(err) {
			err = errReadTimeout
		}
		b.err = err
	}
	return n, err
}

// Close gives a fully read connection back to the pool, else closes it.
func (b *upstreamBody) Close() error {
	c := b.c
	if c == nil {
		return nil
	}
	// Let go of the connection before pooling it: once pooled, another
	// request may take it and reuse this very struct (c.body).
	b.c = nil
	if b.done && b.keepAlive {
		b.pool.put(c)
	} else {
		c.Conn.Close()
	}
	return nil
}

// skipTrailers reads the trailer section after the last chunk (nginx does
// not pass trailers on either). It reports whether the framing was sound.
func skipTrailers(br *bufio.Reader) bool {
	for i := 0; i < 64; i++ {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return false
		}
		if len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			return true
		}
	}
	return false
}

// hopByHopResponse are response headers that describe one connection, and
// those nginx sets itself instead of passing the upstream's.
var hopByHopResponse = [][]byte{
	[]byte("Connection"), []byte("Keep-Alive"), []byte("Proxy-Connection"), []byte("Transfer-Encoding"),
	[]byte("Upgrade"), []byte("Te"), []byte("Trailer"), []byte("Content-Length"), []byte("Date"), []byte("Server"),
}

func isHopByHopResponse(name []byte) bool {
	for _, h := range hopByHopResponse {
		if len(h) == len(name) && bytes.EqualFold(h, name) {
			return true
		}
	}
	return false
}

var (
	headerLocation    = []byte("Location")
	headerRefresh     = []byte("Refresh")
	headerContentType = []byte("Content-Type")
)

// copyResponseHeader passes the upstream's response headers to the client
// with proxy_redirect, proxy_hide_header and add_header applied. The
// common case copies bytes without allocating.
func copyResponseHeader(dst *fasthttp.ResponseHeader, rh *fasthttp.ResponseHeader, l *routefile.Location, d *routing.Decision) {
	hidden := connectionTokens(rh)
	rh.VisitAll(func(k, v []byte) {
		if isHopByHopResponse(k) || (hidden != nil && hidden[strings.ToLower(string(k))]) {
			return
		}
		for _, h := range l.HideHeaders {
			if len(h) == len(k) && strings.EqualFold(h, string(k)) {
				return
			}
		}
		switch {
		case bytes.EqualFold(k, headerContentType):
			dst.SetContentTypeBytes(v)
		case bytes.EqualFold(k, headerLocation):
			dst.Add(string(k), d.RewriteLocation(string(v)))
		case bytes.EqualFold(k, headerRefresh):
			dst.Add(string(k), d.RewriteRefresh(string(v)))
		default:
			dst.AddBytesKV(k, v)
		}
	})
	status := rh.StatusCode()
	for _, h := range d.AddHeaders {
		if h.Value != "" && (h.Always || routing.AddHeaderApplies(status)) {
			dst.Add(h.Name, h.Value)
		}
	}
}

// connectionTokens lists the headers the upstream's Connection header names.
func connectionTokens(rh *fasthttp.ResponseHeader) map[string]bool {
	v := rh.Peek("Connection")
	if len(v) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, tok := range strings.Split(string(v), ",") {
		out[strings.ToLower(strings.TrimSpace(tok))] = true
	}
	return out
}

func isWebSocket(h http.Header) bool {
	if !strings.EqualFold(h.Get("Upgrade"), "websocket") {
		return false
	}
	for _, tok := range strings.Split(h.Get("Connection"), ",") {
		if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
			return true
		}
	}
	return false
}

// switchProtocols completes a WebSocket upgrade: the client connection is
// taken over, the upstream's 101 goes to the client, and bytes flow both
// ways until either side closes.
func (p *Proxy) switchProtocols(ctx *fasthttp.RequestCtx, up *upConn, rh *fasthttp.ResponseHeader, d *routing.Decision) {
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	rh.VisitAll(func(k, v []byte) {
		switch strings.ToLower(string(k)) {
		case "content-length", "transfer-encoding", "date", "server":
			return
		}
		head.Write(k)
		head.WriteString(": ")
		head.Write(v)
		head.WriteString("\r\n")
	})
	for _, h := range d.AddHeaders {
		if h.Value != "" && h.Always {
			fmt.Fprintf(&head, "%s: %s\r\n", h.Name, h.Value)
		}
	}
	head.WriteString("\r\n")
	up.SetDeadline(time.Time{})
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(client net.Conn) {
		defer up.Conn.Close()
		if _, err := client.Write(head.Bytes()); err != nil {
			return
		}
		done := make(chan struct{}, 2)
		go func() {
			io.Copy(client, up.br) // what the upstream sends, buffered bytes first
			if cw, ok := client.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			done <- struct{}{}
		}()
		go func() {
			io.Copy(up.Conn, client)
			if cw, ok := up.Conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			done <- struct{}{}
		}()
		<-done
		// One side is finished; give the other a moment to drain, then
		// end both.
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	})
}

func errorPageFor(l *routefile.Location, status int) *routefile.ErrorPage {
	for i := range l.ErrorPages {
		for _, c := range l.ErrorPages[i].Codes {
			if c == status {
				return &l.ErrorPages[i]
			}
		}
	}
	return nil
}

// clientBodyError answers a request whose body could not be read: too
// large (413, with a lingering close, as nginx does), too slow (408,
// client_body_timeout) or malformed (400).
func (p *Proxy) clientBodyError(ctx *fasthttp.RequestCtx, d *routing.Decision, body *clientBody) {
	ctx.Response.Reset()
	err := body.err
	switch {
	case errors.Is(err, errBodyTooLarge):
		writeJSONError(ctx, http.StatusRequestEntityTooLarge, "Payload Too Large",
			"The request body is larger than client_max_body_size of "+d.Location.File+".", d)
		body.err = nil
		lingerIfUnread(ctx, body)
		return
	}
	ctx.SetConnectionClose()
	switch {
	case isTimeout(err):
		writeJSONError(ctx, http.StatusRequestTimeout, "Request Timeout", "The client stopped sending the request body (client_body_timeout).", d)
	default:
		writeJSONError(ctx, http.StatusBadRequest, "Bad Request", "The request body is malformed or shorter than announced: "+err.Error()+".", d)
	}
}

// upstreamError answers for an upstream that could not be reached or did
// not answer in time (spec §7), unless an error_page takes over.
func (p *Proxy) upstreamError(ctx *fasthttp.RequestCtx, t *routing.RouteTable, req *routing.Request, d *routing.Decision, err error, errorPages bool) {
	status := classify(err)
	p.log.Debug("upstream error", "path", d.Path, "upstream", d.Upstream, "status", status, "err", err)
	if page := errorPageFor(d.Block.Loc, status); page != nil && errorPages {
		p.errorPage(ctx, t, req, d, status, page)
		return
	}
	switch status {
	case http.StatusServiceUnavailable:
		writeUnavailable(ctx, d)
	case http.StatusGatewayTimeout:
		msg := "The application did not answer in time (proxy_read_timeout). Check that it is not stuck, or raise the timeout."
		if errors.Is(err, errSendTimeout) {
			msg = "The application stopped reading the request body (proxy_send_timeout). Check that it is not stuck, or raise the timeout."
		}
		writeJSONError(ctx, status, "Gateway Timeout", msg, d)
	default:
		writeJSONError(ctx, status, "Bad Gateway", "The application closed the connection without a valid answer.", d)
	}
}

// classify maps a transport error to nginx's status: no connection at all
// (refused, unknown host, connect timeout) is 503 per spec §7; a read or
// send timeout is 504; anything else the upstream did wrong is 502.
func classify(err error) int {
	if errors.Is(err, errReadTimeout) || errors.Is(err, errSendTimeout) {
		return http.StatusGatewayTimeout
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return http.StatusServiceUnavailable
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

// errorPage runs error_page: a named location or an internal redirect to a
// URI answers instead, with the status error_page asks for.
func (p *Proxy) errorPage(ctx *fasthttp.RequestCtx, t *routing.RouteTable, req *routing.Request, d *routing.Decision, status int, page *routefile.ErrorPage) {
	var nd *routing.Decision
	if strings.HasPrefix(page.Target, "@") {
		nd = t.ResolveNamed(req, d.Block, page.Target)
	} else {
		sub := *req
		sub.Method = http.MethodGet
		sub.Target = page.Target
		nd = t.Resolve(&sub)
	}
	ctx.Response.Reset()
	if nd == nil {
		if status == http.StatusServiceUnavailable {
			writeUnavailable(ctx, d)
		} else {
			writeJSONError(ctx, status, http.StatusText(status), "The upstream answered with an error.", d)
		}
		return
	}
	// recursive_error_pages is off in nginx: the error page's own failures
	// are answered plainly.
	p.carryOut(ctx, t, req, nd, false)
	switch {
	case page.Response > 0:
		ctx.SetStatusCode(page.Response)
	case page.Response == 0:
		ctx.SetStatusCode(status)
	}
}

// isTimeout reports a deadline that passed, whatever type carries it
// (net.Error, os.ErrDeadlineExceeded, fasthttp.ErrTimeout).
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func isTooLarge(err error) bool {
	var sb *fasthttp.ErrSmallBuffer
	return errors.As(err, &sb) || errors.Is(err, fasthttp.ErrSmallReadBuffer)
}

func fmtSprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
