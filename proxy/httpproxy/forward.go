package httpproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
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
	upgrade := routing.IsWebSocketUpgrade(req.Header)

	var c *upConn
	var rh *responseHead
	var err error
	var upStart time.Time
	if x.timed() {
		upStart = time.Now()
	}
	for attempt := 0; ; attempt++ {
		if !upgrade { // WebSocket tunnels are never pooled
			c = p.pool.idle(d.Target.Scheme, d.Target.HostPort())
		}
		if c == nil {
			c, err = p.dial(x, d.Target.Scheme, d.Target.HostPort(), connectTO)
		}
		if errors.Is(err, context.Canceled) {
			// The client went away (or shutdown closed its connection)
			// while the upstream was being dialled.
			p.log.Debug("client went away while connecting to the upstream", "path", d.Path, "upstream", d.Upstream)
			x.abort()
			return
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
	if x.timed() {
		// Accumulated: an error_page may proxy to a second upstream.
		x.upstreamTime += time.Since(upStart)
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

// dial connects to the upstream on the request's behalf: the dial ends
// early when the client goes away or shutdown closes its connection, as a
// connect timeout can be long (proxy_connect_timeout, 60 s by default).
func (p *Proxy) dial(x *exchange, scheme, addr string, timeout time.Duration) (*upConn, error) {
	ctx, cancel := context.WithCancel(x.c.ctx)
	defer cancel()
	stop := x.c.cancelWhenGone(cancel)
	c, err := p.pool.dial(ctx, scheme, addr, timeout)
	stop()
	return c, err
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
