package httpproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
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

// maxUpstreamHead bounds an upstream's status line and headers.
const maxUpstreamHead = 64 << 10

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
	x         *exchange
	chunked   *chunkedReader // nil for a Content-Length body
	left      int64          // bytes of a Content-Length body still to read
	timeout   time.Duration
	max       int64
	n         int64
	err       error
	started   bool // a byte was handed to the upstream writer
	eof       bool // the whole body was read
	continued bool // "100 Continue" was sent, or was not asked for
}

func newClientBody(x *exchange, timeout time.Duration) *clientBody {
	b := &clientBody{x: x, timeout: timeout, left: x.req.ContentLength, continued: !x.req.Expect100}
	if x.req.Chunked {
		b.chunked = newChunkedReader(x.c.br)
		b.left = -1
	}
	return b
}

// length is the body's size, or -1 for a chunked body.
func (b *clientBody) length() int64 {
	if b.chunked != nil {
		return -1
	}
	return b.x.req.ContentLength
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	c := b.x.c
	if !b.continued {
		// The client waits for this before sending the body (RFC 9110
		// §10.1.1); send it only once someone reads the body.
		b.continued = true
		c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := c.bw.Flush(); err != nil {
			b.err = err
			return 0, err
		}
	}
	c.rd.extend(c.nc, b.timeout)
	var n int
	var err error
	if b.chunked != nil {
		n, err = b.chunked.Read(p)
	} else {
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
		n, err = c.br.Read(p)
		b.left -= int64(n)
		switch {
		case b.left == 0:
			b.eof, err = true, nil
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
	}
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
func (p *Proxy) forward(x *exchange, t *routing.RouteTable, req *routing.Request, d *routing.Decision, errorPages bool) {
	l := d.Block.Loc
	connectTO, readTO, sendTO := timeouts(l)

	body := x.body
	bodyLen := int64(0)
	if body != nil {
		bodyLen = body.length()
		body.max = l.MaxBodySize
		if l.MaxBodySize > 0 && bodyLen > l.MaxBodySize {
			body.err = errBodyTooLarge
			p.clientBodyError(x, d, body)
			return
		}
	}
	upgrade := isWebSocket(req.Header)
	pctx := context.Background()

	var c *upConn
	var rh *responseHead
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
		x.c.upstream.Store(c)
		c.sendTimeout = sendTO
		rh, err = roundTrip(c, d, req.Method, body, bodyLen, readTO)
		if err == nil {
			break
		}
		var unsafe *unsafeRequestError
		if errors.As(err, &unsafe) {
			p.pool.put(c) // nothing was written on it
			x.c.upstream.Store(nil)
			p.refuseUnsafe(x, d, unsafe)
			return
		}
		c.Conn.Close()
		x.c.upstream.Store(nil)
		// An idle keep-alive connection the upstream had already closed:
		// send again on a fresh one, if nothing of the body was used up.
		if attempt == 0 && c.reused && retryable(err) && (body == nil || !body.started) {
			continue
		}
		break
	}
	if err != nil {
		if body != nil && body.err != nil {
			p.clientBodyError(x, d, body)
			return
		}
		p.upstreamError(x, t, req, d, err, errorPages)
		return
	}
	defer x.c.upstream.Store(nil)
	status := rh.Status

	if status == http.StatusSwitchingProtocols {
		if upgrade {
			p.switchProtocols(x, c, rh, d)
			return
		}
		c.Conn.Close()
		p.upstreamError(x, t, req, d, &errBadUpstream{"101 Switching Protocols to a request that asked for no upgrade"}, errorPages)
		return
	}
	if l.InterceptErrors && errorPages {
		if page := errorPageFor(l, status); page != nil {
			c.Conn.Close()
			p.errorPage(x, t, req, d, status, page)
			return
		}
	}

	fields := responseFields(rh, l, d)
	keepAlive := !rh.Close && !upgrade
	if req.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified {
		// No body follows, whatever the headers say. An upstream that
		// sends one anyway leaves bytes on the connection, and the pool
		// refuses it (upstreamPool.put).
		x.writeHead(status, rh.Reason, fields, headLength(req.Method, status, rh.ContentLength))
		p.finish(c, keepAlive)
		return
	}
	rb := newUpstreamBody(c, rh, readTO, keepAlive, p.pool)
	if strings.HasPrefix(rh.get("Content-Type"), "text/event-stream") {
		rb.idle = 0 // [intent] event streams live as long as both sides do
		x.c.state.Store(stateStream)
	}
	if cl := rh.ContentLength; cl >= 0 && cl <= smallBody {
		// Read into a pooled buffer, answer with the connection already
		// back in the pool.
		buf := smallBodies.Get().(*bytes.Buffer)
		defer smallBodies.Put(buf)
		buf.Reset()
		if _, err := io.CopyN(buf, rb, cl); err != nil {
			rb.Close()
			p.upstreamError(x, t, req, d, err, false)
			return
		}
		// rh belongs to the connection: read it before the pool may hand
		// the connection to another request.
		reason := rh.Reason
		rb.Close()
		x.writeHead(status, reason, fields, cl)
		x.Write(buf.Bytes())
		return
	}
	x.writeHead(status, rh.Reason, fields, rh.ContentLength)
	err = copyFlushing(x, x, rb)
	rb.Close()
	if err != nil {
		// The answer is cut short: close the client's connection before
		// its end (no last chunk, or fewer bytes than Content-Length), as
		// nginx does, so that no browser or cache keeps half a script.
		x.abort()
		if x.err != nil {
			p.log.Debug("client went away mid-answer", "path", d.Path, "err", x.err)
		} else {
			p.log.Warn("the upstream's answer ended early; the client's connection is closed before the end of the body",
				"path", d.Path, "upstream", d.Upstream, "err", err)
		}
	}
}

// headLength is the Content-Length to announce for an answer without a
// body: the upstream's, for HEAD and 304 (it describes the body a GET
// would get), else none.
func headLength(method string, status int, cl int64) int64 {
	if method == http.MethodHead || status == http.StatusNotModified {
		return cl
	}
	return -1
}

var (
	copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	smallBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

func (p *Proxy) finish(c *upConn, keepAlive bool) {
	if keepAlive {
		p.pool.put(c)
	} else {
		c.Conn.Close()
	}
}

// roundTrip writes the request on c and reads the response head.
func roundTrip(c *upConn, d *routing.Decision, method string, body *clientBody, bodyLen int64, readTO time.Duration) (*responseHead, error) {
	if err := writeRequest(c, d, method, body, bodyLen); err != nil {
		if isTimeout(err) {
			return nil, errSendTimeout
		}
		return nil, err
	}
	rh := &c.head
	for {
		c.rd.extend(c.Conn, readTO)
		c.lr.budget = maxUpstreamHead
		if err := readResponseHead(&c.lr, rh); err != nil {
			if isTimeout(err) {
				return nil, errReadTimeout
			}
			if err == errHeadTooLarge {
				return nil, &errBadUpstream{"headers larger than 64 KB"}
			}
			return nil, err
		}
		// Interim answers (100 Continue, 103 Early Hints) are not passed
		// on; 101 is the upgrade itself.
		if s := rh.Status; s >= 200 || s == http.StatusSwitchingProtocols {
			return rh, nil
		}
	}
}

// unsafeRequestError is an upstream request devproxy refuses to write: its
// request line or a header would carry a byte that ends or splits it.
type unsafeRequestError struct {
	status int    // 400 when the client's path brought the byte, 500 when the route file did
	what   string // where: "the request target", "header X-Path"
	char   byte
}

func (e *unsafeRequestError) Error() string {
	return fmt.Sprintf("refusing to send %s with the byte %q to the upstream", e.what, e.char)
}

// guardRequest is the last check before bytes leave for the upstream: no
// control character or space in the request target, no CR, LF or NUL in a
// header value, header names that are tokens. Whatever produced the value
// (a variable holding the decoded path, a capture, a route file's quoted
// "\r\n"), it can never split the request, so no second answer can wait in
// a pooled connection for the next client.
func guardRequest(d *routing.Decision, method string) error {
	blame := func(what string, c byte) error {
		status := http.StatusInternalServerError
		if strings.IndexByte(d.Path, c) >= 0 {
			status = http.StatusBadRequest
		}
		return &unsafeRequestError{status: status, what: what, char: c}
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; c <= ' ' || c >= 0x7f {
			return blame("the method", c)
		}
	}
	uri := d.UpstreamURI
	if uri == "" {
		return blame("an empty request target", ' ')
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c == 0x7f {
			return blame("the request target", c)
		}
	}
	if c, bad := unsafeValueByte(d.OutHost, true); bad {
		return blame("the Host header", c)
	}
	for k, vs := range d.OutHeader {
		if !validHeaderName(k) {
			return &unsafeRequestError{status: http.StatusInternalServerError, what: "a header name", char: ' '}
		}
		for _, v := range vs {
			if c, bad := unsafeValueByte(v, false); bad {
				return blame("header "+k, c)
			}
		}
	}
	return nil
}

// unsafeValueByte finds CR, LF or NUL in a header value (and, for Host,
// any control character or space).
func unsafeValueByte(v string, host bool) (byte, bool) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' || c == 0 || host && (c <= ' ' || c == 0x7f) {
			return c, true
		}
	}
	return 0, false
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 0x80 || !isTokenChar[c] {
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

// refuseUnsafe answers a request guardRequest refused.
func (p *Proxy) refuseUnsafe(x *exchange, d *routing.Decision, e *unsafeRequestError) {
	x.keepAlive = false
	if e.status == http.StatusBadRequest {
		p.log.Warn("refused a request whose path would split the upstream request", "path_bytes", len(d.Path), "location", locationOf(d), "why", e.Error())
		writeJSONError(x, e.status, "Bad Request",
			"The request path holds a control character that "+locationOf(d)+" would put into the upstream request ("+e.what+").", d)
		return
	}
	p.log.Error("a route file produced an upstream request that cannot be sent", "location", locationOf(d), "why", e.Error())
	writeJSONError(x, e.status, "Internal Server Error",
		"The route file "+locationOf(d)+" produces an upstream request that cannot be sent ("+e.what+" holds a control character). Fix that value.", d)
}

func locationOf(d *routing.Decision) string {
	if d.Location == nil {
		return "the route file"
	}
	return d.Location.File + ":" + strconv.Itoa(d.Location.Line)
}

// writeRequest sends the request line, the headers the decision computed
// and the body, framed with Content-Length or chunked encoding.
func writeRequest(c *upConn, d *routing.Decision, method string, body *clientBody, bodyLen int64) error {
	if err := guardRequest(d, method); err != nil {
		return err
	}
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
	cw := chunkedWriter{w}
	if err := copyFlushing(cw, w, body); err != nil {
		return err
	}
	cw.Close()
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
// connection goes back to the pool (which checks that nothing follows).
type upstreamBody struct {
	c          *upConn
	chunked    *chunkedReader // nil unless the body is chunked
	remaining  int64          // bytes left of a Content-Length body; -1 otherwise
	untilClose bool           // no length: the body ends when the upstream closes
	idle       time.Duration
	keepAlive  bool
	pool       *upstreamPool
	done       bool
	err        error
}

func newUpstreamBody(c *upConn, rh *responseHead, idle time.Duration, keepAlive bool, pool *upstreamPool) *upstreamBody {
	// A connection serves one request at a time, so it can carry the
	// reader of its current response.
	b := &c.body
	*b = upstreamBody{c: c, idle: idle, keepAlive: keepAlive, pool: pool, remaining: -1}
	switch {
	case rh.Chunked:
		c.chunked = chunkedReader{br: c.br}
		b.chunked = &c.chunked
	case rh.ContentLength >= 0:
		b.remaining = rh.ContentLength
		b.done = rh.ContentLength == 0
	default:
		b.untilClose = true
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
	b.c.rd.extend(b.c.Conn, b.idle)
	var n int
	var err error
	switch {
	case b.chunked != nil:
		n, err = b.chunked.Read(p)
		if err == io.EOF {
			b.done = true
		}
	case b.remaining >= 0:
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.c.br.Read(p)
		b.remaining -= int64(n)
		switch {
		case b.remaining == 0:
			b.done = true
			return n, nil
		case err == io.EOF:
			err = io.ErrUnexpectedEOF // the upstream closed before the end
		}
	default:
		n, err = b.c.br.Read(p)
		if err == io.EOF {
			b.done = true
		}
	}
	if err != nil && err != io.EOF {
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
	if b.done && b.keepAlive && b.err == nil {
		b.pool.put(c)
	} else {
		c.Conn.Close()
	}
	return nil
}

// hopByHopResponse are response headers that describe one connection, and
// those nginx sets itself instead of passing the upstream's.
var hopByHopResponse = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding",
	"Upgrade", "Te", "Trailer", "Content-Length", "Date", "Server",
}

func isHopByHopResponse(name string) bool {
	for _, h := range hopByHopResponse {
		if asciiEqualFold(h, name) {
			return true
		}
	}
	return false
}

// responseFields are the headers the client gets: the upstream's, with
// proxy_redirect, proxy_hide_header and add_header applied, names as the
// upstream and the route file wrote them.
func responseFields(rh *responseHead, l *routefile.Location, d *routing.Decision) []headerField {
	hidden := connectionTokens(rh.get("Connection"))
	out := make([]headerField, 0, len(rh.Fields)+len(d.AddHeaders))
	for _, f := range rh.Fields {
		k := f.Name
		if isHopByHopResponse(k) || (hidden != nil && hidden[strings.ToLower(k)]) {
			continue
		}
		if hiddenByRoute(l, k) {
			continue
		}
		switch {
		case asciiEqualFold(k, "Location"):
			f.Value = d.RewriteLocation(f.Value)
		case asciiEqualFold(k, "Refresh"):
			f.Value = d.RewriteRefresh(f.Value)
		}
		out = append(out, f)
	}
	for _, h := range d.AddHeaders {
		if h.Value != "" && (h.Always || routing.AddHeaderApplies(rh.Status)) {
			out = append(out, headerField{h.Name, h.Value})
		}
	}
	return out
}

func hiddenByRoute(l *routefile.Location, name string) bool {
	for _, h := range l.HideHeaders {
		if len(h) == len(name) && strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// connectionTokens lists the headers a Connection header names.
func connectionTokens(v string) map[string]bool {
	if v == "" {
		return nil
	}
	out := map[string]bool{}
	for _, tok := range strings.Split(v, ",") {
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
// ways until either side closes. Shutdown closes both connections.
func (p *Proxy) switchProtocols(x *exchange, up *upConn, rh *responseHead, d *routing.Decision) {
	c := x.c
	x.hijacked = true
	c.state.Store(stateHijacked)
	w := c.bw
	w.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	for _, f := range rh.Fields {
		switch strings.ToLower(f.Name) {
		case "content-length", "transfer-encoding", "date", "server":
			continue
		}
		w.WriteString(f.Name)
		w.WriteString(": ")
		writeSafe(w, f.Value)
		w.WriteString("\r\n")
	}
	for _, h := range d.AddHeaders {
		if h.Value != "" && h.Always {
			w.WriteString(h.Name)
			w.WriteString(": ")
			writeSafe(w, h.Value)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("\r\n")
	defer c.nc.Close()
	defer up.Conn.Close()
	if err := w.Flush(); err != nil {
		return
	}
	// From here on the tunnel has no deadlines: the flush above set the
	// client's send timeout, and a WebSocket may be quiet for hours.
	up.rd.extend(up.Conn, 0)
	up.wd.extend(up.Conn, 0)
	c.rd.extend(c.nc, 0)
	c.wd.extend(c.nc, 0)
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(c.nc, up.br) // what the upstream sends, buffered bytes first
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(up.Conn, c.br) // what the client sends, buffered bytes first
		if cw, ok := up.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	// One side is finished; give the other a moment to drain, then end
	// both, and wait for the copy that is left: the client's buffers go
	// back to a pool when this returns.
	select {
	case <-done:
		return
	case <-time.After(5 * time.Second):
	}
	c.nc.Close()
	up.Conn.Close()
	<-done
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
func (p *Proxy) clientBodyError(x *exchange, d *routing.Decision, body *clientBody) {
	err := body.err
	x.keepAlive = false
	switch {
	case errors.Is(err, errBodyTooLarge):
		writeJSONError(x, http.StatusRequestEntityTooLarge, "Payload Too Large",
			"The request body is larger than client_max_body_size of "+d.Location.File+".", d)
		body.err = nil // the rest is read and dropped (lingering close)
	case isTimeout(err):
		writeJSONError(x, http.StatusRequestTimeout, "Request Timeout", "The client stopped sending the request body (client_body_timeout).", d)
	default:
		writeJSONError(x, http.StatusBadRequest, "Bad Request", "The request body is malformed or shorter than announced.", d)
	}
}

// upstreamError answers for an upstream that could not be reached or did
// not answer in time (spec §7), unless an error_page takes over.
func (p *Proxy) upstreamError(x *exchange, t *routing.RouteTable, req *routing.Request, d *routing.Decision, err error, errorPages bool) {
	status := classify(err)
	p.log.Debug("upstream error", "path", d.Path, "upstream", d.Upstream, "status", status, "err", err)
	if page := errorPageFor(d.Block.Loc, status); page != nil && errorPages {
		p.errorPage(x, t, req, d, status, page)
		return
	}
	switch status {
	case http.StatusServiceUnavailable:
		writeUnavailable(x, d)
	case http.StatusGatewayTimeout:
		msg := "The application did not answer in time (proxy_read_timeout). Check that it is not stuck, or raise the timeout."
		if errors.Is(err, errSendTimeout) {
			msg = "The application stopped reading the request body (proxy_send_timeout). Check that it is not stuck, or raise the timeout."
		}
		writeJSONError(x, status, "Gateway Timeout", msg, d)
	default:
		writeJSONError(x, status, "Bad Gateway", "The application closed the connection without a valid answer.", d)
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
func (p *Proxy) errorPage(x *exchange, t *routing.RouteTable, req *routing.Request, d *routing.Decision, status int, page *routefile.ErrorPage) {
	var nd *routing.Decision
	if strings.HasPrefix(page.Target, "@") {
		nd = t.ResolveNamed(req, d.Block, page.Target)
	} else {
		sub := *req
		sub.Method = http.MethodGet
		sub.Target = page.Target
		nd = t.Resolve(&sub)
	}
	if nd == nil {
		if status == http.StatusServiceUnavailable {
			writeUnavailable(x, d)
		} else {
			writeJSONError(x, status, http.StatusText(status), "The upstream answered with an error.", d)
		}
		return
	}
	// The status error_page asks for replaces the page's own ("=" alone
	// keeps it).
	switch {
	case page.Response > 0:
		x.statusOverride = page.Response
	case page.Response == 0:
		x.statusOverride = status
	}
	// recursive_error_pages is off in nginx: the error page's own failures
	// are answered plainly.
	p.carryOut(x, t, req, nd, false)
}

// isTimeout reports a deadline that passed, whatever type carries it
// (net.Error, os.ErrDeadlineExceeded).
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}
