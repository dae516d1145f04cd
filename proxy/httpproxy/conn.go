package httpproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Server is devproxy's HTTP/1.x server for one listener: one goroutine per
// client connection, requests read with nginx's parser rules (http1.go),
// answers written with explicit framing, and every connection tracked so
// that shutdown can drain them and then close whatever is left.
type Server struct {
	p      *Proxy
	tunnel bool

	mu        sync.Mutex
	conns     map[*clientConn]struct{}
	listeners map[net.Listener]struct{}
	closing   atomic.Bool // set under mu, so that no connection joins wg after Shutdown waits
	wg        sync.WaitGroup
	// down ends when Shutdown begins: the contexts of requests given to a
	// Local handler derive from it, so that a handler waiting for events
	// stops at once instead of holding the drain.
	down     context.Context
	stopDown context.CancelFunc
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("httpproxy: server closed")

// Client-side limits: slow or hostile clients must not hold resources.
const (
	readHeaderTimeout = 10 * time.Second  // the whole request head (slowloris)
	idleTimeout       = 120 * time.Second // a kept-alive connection waiting for its next request
	maxHeaderBytes    = 64 << 10          // request line and headers together
	// defaultSendTimeout is nginx's send_timeout: how long one write to a
	// client may block. A client that stops reading is let go; a stream
	// with traffic (SSE) is never cut, since each write starts a new wait.
	defaultClientSendTimeout = 60 * time.Second
	clientBufferSize         = 8 << 10
)

// NewServer returns the server for one listener. With tunnel set, every
// request counts as coming through the tunnel (the public internet, https).
func (p *Proxy) NewServer(tunnel bool) *Server {
	s := &Server{p: p, tunnel: tunnel, conns: map[*clientConn]struct{}{}, listeners: map[net.Listener]struct{}{}}
	s.down, s.stopDown = context.WithCancel(context.Background())
	return s
}

// Serve accepts connections on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	// The accept loop counts as a connection of its own, so that one
	// accepted as a shutdown begins is still served (newConn).
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		s.wg.Done()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if isTemporaryAccept(err) {
				// Out of file descriptors and the like: back off, as
				// net/http does, instead of spinning.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.p.log.Warn("accept failed; retrying", "err", err, "in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		go s.newConn(nc).serve()
	}
}

func isTemporaryAccept(err error) bool {
	var te interface{ Temporary() bool }
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &te) && te.Temporary()
}

func (s *Server) isClosing() bool { return s.closing.Load() }

func (s *Server) newConn(nc net.Conn) *clientConn {
	// A connection accepted as a shutdown began (a hand-over of the
	// port) is served too: its client sent its request to a listening
	// port. The accept loop's count keeps the shutdown waiting for it.
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &clientConn{srv: s, nc: nc, remote: nc.RemoteAddr().String(), accepted: time.Now()}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wd.write = true
	if a, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		c.localPort = a.Port
	}
	c.sendTimeout = s.p.sendTimeout
	c.refs.Store(1) // the connection's goroutine
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

// release drops one holder of c: its goroutine, or the handler that
// hijacked it. The server forgets c when neither is left, so that a
// shutdown waits for (and closes) a hijacked connection its handler has
// returned from.
func (c *clientConn) release() {
	if c.refs.Add(-1) == 0 {
		c.srv.forget(c)
	}
}

func (s *Server) forget(c *clientConn) {
	c.cancel()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Shutdown stops accepting, closes idle connections, lets requests in
// flight finish until ctx ends, then closes every connection that is left
// (WebSockets and streams included) and the upstream connections they
// use. It returns once every connection goroutine has ended, or with the
// list of those that did not within a second of being closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopDown()
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	all := make(chan struct{})
	go func() { s.wg.Wait(); close(all) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			s.closeAll()
			select {
			case <-all:
				return nil
			case <-time.After(time.Second):
				return &stuckConnsError{conns: s.describeConns()}
			}
		case <-tick.C:
		}
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.Shutdown(ctx)
}

// closeIdle closes the connections a shutdown need not wait for: those
// between requests, and those carrying a WebSocket or an event stream,
// which never end by themselves (their clients reconnect).
func (s *Server) closeIdle() {
	s.closeConns(func(c *clientConn) bool {
		switch c.state.Load() {
		case stateActive:
			return false
		case stateNew:
			return time.Since(c.accepted) > newGrace // a preconnect that never asks
		}
		return true
	})
}

// newGrace is how long a shutdown waits for the first request of a
// connection accepted just before it.
const newGrace = time.Second

// closeAll closes every connection.
func (s *Server) closeAll() { s.closeConns(func(*clientConn) bool { return true }) }

// closeConns closes by force the connections which says to close. They
// are closed outside the lock: closing a hijacked connection makes the
// server forget it.
func (s *Server) closeConns(which func(*clientConn) bool) {
	s.mu.Lock()
	var victims []*clientConn
	for c := range s.conns {
		if which(c) {
			victims = append(victims, c)
		}
	}
	s.mu.Unlock()
	for _, c := range victims {
		c.forceClose()
	}
}

// describeConns describes the connections still open, for shutdown logs.
func (s *Server) describeConns() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for c := range s.conns {
		out = append(out, c.describe())
	}
	return out
}

// stuckConnsError names the connections that did not end after being
// closed at the end of a shutdown.
type stuckConnsError struct{ conns []string }

func (e *stuckConnsError) Error() string {
	return strconv.Itoa(len(e.conns)) + " client connections did not end after being closed: " + joinMax(e.conns, 5)
}

func joinMax(s []string, n int) string {
	out := ""
	for i, v := range s {
		if i == n {
			return out + ", ..."
		}
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

// Connection states, for shutdown.
const (
	stateIdle   int32 = iota // between requests: safe to close
	stateActive              // reading or answering a request
	// stateNew: accepted, its first request not read yet. A client sends
	// that request right after connecting, so a shutdown (a hand-over
	// of the port) waits newGrace for it rather than drop it unanswered.
	stateNew
	stateHijacked // a WebSocket tunnel or a lingering close
	stateStream   // answering with an event stream (SSE)
)

// clientConn is one client connection.
type clientConn struct {
	srv         *Server
	nc          net.Conn
	br          *bufio.Reader
	bw          *bufio.Writer
	lr          lineReader
	head        requestHead
	state       atomic.Int32
	sendTimeout time.Duration
	// upstream is the upstream connection the current request uses, so
	// that a forced shutdown can close it too (a handler may be blocked
	// reading from it).
	upstream atomic.Pointer[upConn]
	path     atomic.Pointer[string] // the current request's path, for logs
	rd, wd   lazyDeadline           // read and write deadlines
	// ctx ends when the connection is closed by force (shutdown); work
	// done for its requests (upstream dials) derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	// remote and localPort describe the connection for every request on
	// it ($remote_addr, $server_port).
	remote    string
	localPort int
	accepted  time.Time // when it was accepted (stateNew's grace)
	x         exchange  // the current request; one at a time per connection
	// refs counts what holds the connection open: its goroutine, and a
	// Local handler's hijacked connection (hijacked, once handed over).
	refs     atomic.Int32
	hijacked atomic.Pointer[hijackedConn]
}

var (
	clientReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, clientBufferSize) }}
	clientWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, clientBufferSize) }}
)

// deadlineWriter gives every write to the client its own send timeout.
type deadlineWriter struct{ c *clientConn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.c.wd.extend(w.c.nc, w.c.sendTimeout)
	return w.c.nc.Write(p)
}

// lazyDeadline keeps a per-operation deadline (now plus a timeout) on one
// direction of a connection, but skips the update while the deadline in
// force is less than an eighth of the timeout old: each update costs a
// timer change, and a proxied request does several reads and writes. An
// operation then gets between 7/8 of its timeout and all of it.
type lazyDeadline struct {
	at    time.Time // the deadline in force; zero for none
	write bool
}

// extend makes the deadline about d from now; d <= 0 removes it.
func (l *lazyDeadline) extend(c net.Conn, d time.Duration) {
	var want time.Time
	if d > 0 {
		want = time.Now().Add(d)
		if !l.at.IsZero() && !want.Before(l.at) && want.Sub(l.at) <= d/8 {
			return
		}
	} else if l.at.IsZero() {
		return
	}
	if l.write {
		c.SetWriteDeadline(want)
	} else {
		c.SetReadDeadline(want)
	}
	l.at = want
}

func (c *clientConn) forceClose() {
	c.cancel()
	if hc := c.hijacked.Load(); hc != nil {
		hc.Close() // the handler that took it over is done with it too
	}
	c.nc.Close()
	if up := c.upstream.Load(); up != nil {
		up.Conn.Close()
	}
}

// cancelWhenGone watches the client while the request waits on something
// that does not read from it (a dial): if the client closes its connection,
// cancel runs. The returned stop ends the watch before anyone else reads.
// A client with bytes already buffered (a pipelined request, a body) is
// plainly there, and is not watched.
func (c *clientConn) cancelWhenGone(cancel context.CancelFunc) (stop func()) {
	if c.br.Buffered() > 0 {
		return func() {}
	}
	c.rd.extend(c.nc, 0) // the head's deadline must not end the watch
	var stopping atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.br.Peek(1); err != nil && !stopping.Load() {
			cancel()
		}
	}()
	return func() {
		stopping.Store(true)
		past := time.Unix(1, 0)
		c.nc.SetReadDeadline(past) // wakes the Peek
		<-done
		c.rd.at = past // the next read sets its own deadline
	}
}

func (c *clientConn) describe() string {
	s := [...]string{"idle", "active", "websocket or lingering", "event stream"}[c.state.Load()] + " " + c.remote
	if p := c.path.Load(); p != nil {
		s += " " + *p
	}
	return s
}

func (c *clientConn) serve() {
	defer c.release()
	defer func() {
		if v := recover(); v != nil {
			c.srv.p.log.Error("panic serving a request; the connection is closed", "panic", v, "remote", c.nc.RemoteAddr().String())
		}
	}()
	c.br = clientReaders.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	c.bw = clientWriters.Get().(*bufio.Writer)
	c.bw.Reset(deadlineWriter{c})
	defer func() {
		if c.state.Load() != stateHijacked {
			c.nc.Close()
		}
		c.br.Reset(nil)
		clientReaders.Put(c.br)
		c.bw.Reset(nil)
		clientWriters.Put(c.bw)
	}()
	c.lr.br = c.br
	for first := true; ; first = false {
		if first {
			c.state.Store(stateNew)
		} else {
			c.state.Store(stateIdle)
			if c.srv.isClosing() {
				return
			}
		}
		if c.br.Buffered() == 0 {
			// Waiting for the next request: the idle timeout. A pipelined
			// request already buffered needs no wait. A new connection
			// during a shutdown gets newGrace for its first request.
			wait := idleTimeout
			if first && c.srv.isClosing() {
				wait = max(newGrace-time.Since(c.accepted), 0)
			}
			c.rd.extend(c.nc, wait)
			if _, err := c.br.Peek(1); err != nil {
				return // the client closed, or stayed idle too long
			}
		}
		c.state.Store(stateActive)
		if c.srv.isClosing() && !first {
			return // shutdown began while the first byte arrived
		}
		c.rd.extend(c.nc, c.srv.p.readHeaderTimeout)
		c.lr.budget = maxHeaderBytes
		err := readRequestHead(&c.lr, &c.head)
		if err != nil {
			c.answerBadHead(err)
			return
		}
		// The header deadline stays until something else reads: a body
		// read sets client_body_timeout, the next request the idle one.
		x := &c.x
		*x = exchange{c: c, req: &c.head, method: c.head.Method}
		x.keepAlive = c.head.KeepAlive
		logging := c.srv.p.accessLog != nil
		if logging {
			x.start = time.Now()
		}
		c.srv.p.serveExchange(x, c.srv.tunnel)
		c.path.Store(nil)
		keep := !x.hijacked && x.complete()
		if logging {
			// After the answer reached the client, so the log costs the
			// client no time.
			c.srv.p.logExchange(x)
		}
		if !keep {
			return
		}
	}
}

// answerBadHead answers a request that could not be read and closes the
// connection: after a malformed request, nothing more on it can be
// trusted (nginx closes too).
func (c *clientConn) answerBadHead(err error) {
	var we *wireError
	switch {
	case errors.As(err, &we):
	case isTimeout(err):
		we = errHeadTimeout
	default:
		return // the client closed or reset the connection mid-head
	}
	x := &exchange{c: c, req: &c.head, method: http.MethodGet}
	x.keepAlive = false
	writeJSON(x, we.status, ErrorBody{Error: http.StatusText(we.status), Message: we.msg, Status: we.status})
	x.Flush()
	c.srv.p.log.Debug("request refused", "remote", c.nc.RemoteAddr().String(), "status", we.status, "why", we.msg)
}

// exchange is one request and its answer on a client connection. The
// answer is written with explicit framing: Content-Length when the size
// is known, chunked for HTTP/1.1 clients otherwise, and for HTTP/1.0
// clients (who do not know chunked encoding) the body runs until the
// connection closes.
type exchange struct {
	c      *clientConn
	req    *requestHead
	method string
	body   *clientBody // the request body, when there is one

	keepAlive bool // the connection may serve another request afterwards
	hijacked  bool // the connection was handed over (WebSocket)
	// statusOverride replaces the status of the answer about to be
	// written (error_page ... =CODE).
	statusOverride int

	// debugLocation: the answer carries LocationHeader (wantsLocation).
	debugLocation bool

	wroteHead bool
	status    int
	chunked   bool
	remaining int64 // bytes of a Content-Length body still to write; -1 otherwise
	noBody    bool  // HEAD, 1xx, 204, 304
	err       error // a write to the client failed
	aborted   bool
	sent      int64 // body bytes written, for the access log

	// For the access log: when the request's head was read, the first
	// decision taken for it, and why its upstream failed. start is zero
	// when no hook is set, and then nothing below is measured.
	start, end     time.Time
	decision       *routing.Decision
	upstreamReason string
	// upstreamTime is the time spent on upstreams (dial to response head,
	// or to the failure); firstByte the time from start to the response
	// head written.
	upstreamTime, firstByte time.Duration
}

// timed reports whether the access log measures this exchange.
func (x *exchange) timed() bool { return !x.start.IsZero() }

// headWritten notes when the response head went to the client.
func (x *exchange) headWritten() {
	if x.timed() {
		x.firstByte = time.Since(x.start)
	}
}

// writeHead sends the status line and headers. contentLength is the body's
// size, or -1 when it is not known in advance.
func (x *exchange) writeHead(status int, reason string, fields []headerField, contentLength int64) {
	if x.wroteHead {
		return
	}
	x.wroteHead = true
	x.headWritten()
	if x.statusOverride > 0 {
		status, reason = x.statusOverride, ""
	}
	x.status = status
	x.noBody = x.method == http.MethodHead || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified
	w := x.c.bw
	w.WriteString("HTTP/1.1 ")
	w.WriteString(strconv.Itoa(status))
	w.WriteByte(' ')
	if reason == "" {
		reason = http.StatusText(status)
	}
	writeSafe(w, reason)
	w.WriteString("\r\nDate: ")
	w.WriteString(httpDate())
	w.WriteString("\r\n")
	for _, f := range fields {
		w.WriteString(f.Name)
		w.WriteString(": ")
		writeSafe(w, f.Value)
		w.WriteString("\r\n")
	}
	if x.debugLocation {
		w.WriteString(LocationHeader + ": ")
		writeSafe(w, locationValue(x.decision))
		w.WriteString("\r\n")
	}
	x.remaining = -1
	switch {
	case status < 200 || status == http.StatusNoContent:
		// No body and no length, by definition.
	case contentLength >= 0:
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.FormatInt(contentLength, 10))
		w.WriteString("\r\n")
		if !x.noBody {
			x.remaining = contentLength
		}
	case x.noBody:
	case x.req.atLeast11():
		w.WriteString("Transfer-Encoding: chunked\r\n")
		x.chunked = true
	default:
		// An HTTP/1.0 client: the end of the body is the end of the
		// connection.
		x.keepAlive = false
	}
	if !x.keepAlive {
		w.WriteString("Connection: close\r\n")
	} else if !x.req.atLeast11() {
		w.WriteString("Connection: keep-alive\r\n")
	}
	w.WriteString("\r\n")
}

// writeSafe writes a header value, percent-escaping any control character
// other than tab: whatever produced the value (an add_header with $uri, a
// capture in a redirect), it can never split the response.
func writeSafe(w *bufio.Writer, v string) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			w.WriteString(escape(v, headerEscapes))
			return
		}
	}
	w.WriteString(v)
}

// headerEscapes marks the bytes writeSafe escapes.
var headerEscapes = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t'
	}
	t[0x7f] = true
	return
}()

// escape percent-encodes the bytes marked in table.
func escape(s string, table [256]bool) string {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if table[c] {
			out = append(out, '%', hex[c>>4], hex[c&15])
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// Write sends body bytes with the framing writeHead chose. Bytes beyond a
// Content-Length are an error, never sent.
func (x *exchange) Write(p []byte) (int, error) {
	if x.err != nil {
		return 0, x.err
	}
	if x.noBody || len(p) == 0 {
		return len(p), nil
	}
	if x.remaining >= 0 && int64(len(p)) > x.remaining {
		x.err = errors.New("response body longer than its Content-Length")
		return 0, x.err
	}
	var err error
	if x.chunked {
		_, err = chunkedWriter{x.c.bw}.Write(p)
	} else {
		_, err = x.c.bw.Write(p)
	}
	if err != nil {
		x.err = err
		return 0, err
	}
	if x.remaining >= 0 {
		x.remaining -= int64(len(p))
	}
	x.sent += int64(len(p))
	return len(p), nil
}

// Flush pushes what was written to the client.
func (x *exchange) Flush() error {
	if x.err != nil {
		return x.err
	}
	if err := x.c.bw.Flush(); err != nil {
		x.err = err
	}
	return x.err
}

// respond sends a complete answer with a body of known size.
func (x *exchange) respond(status int, fields []headerField, body []byte) {
	x.writeHead(status, "", fields, int64(len(body)))
	x.Write(body)
}

// abort ends the answer without completing it: the client sees a
// connection closed before the end of the body (a short Content-Length,
// or no last chunk), never a complete answer with half a body.
func (x *exchange) abort() {
	x.aborted = true
	x.keepAlive = false
}

// complete ends the exchange: the last chunk, a flush, and the request
// body's leftovers. It reports whether the connection can serve another
// request.
func (x *exchange) complete() bool {
	if !x.wroteHead && !x.aborted {
		x.writeHead(http.StatusInternalServerError, "", nil, 0)
	}
	if x.aborted {
		x.c.bw.Flush()
		return false
	}
	if x.remaining > 0 {
		// Fewer bytes than announced: the client must not take it as
		// whole.
		x.c.bw.Flush()
		return false
	}
	if x.chunked && x.err == nil {
		if err := (chunkedWriter{x.c.bw}).Close(); err != nil {
			x.err = err
		}
	}
	if x.Flush() != nil {
		return false
	}
	if x.timed() {
		x.end = time.Now() // a lingering close is not the request's time
	}
	if !x.drainBody() {
		return false
	}
	return x.keepAlive && !x.c.srv.isClosing()
}

// maxDrain is how much of an unread request body is read and dropped to
// keep the connection; larger leftovers get a lingering close instead.
const maxDrain = 256 << 10

// drainBody reads what is left of the request body. It reports whether
// the connection can be reused.
func (x *exchange) drainBody() bool {
	b := x.body
	if b == nil || b.eof {
		return true
	}
	if b.err != nil || !b.continued {
		// A read failed, or the client still waits for "100 Continue"
		// and will send its body only after it (it never comes now).
		return false
	}
	if x.keepAlive {
		b.max, b.timeout = 0, 2*time.Second
		if n, err := io.Copy(io.Discard, io.LimitReader(b, maxDrain+1)); err == nil && n <= maxDrain && b.eof {
			return true
		}
	}
	x.lingerClose()
	return false
}

// Lingering close (nginx's lingering_close): after answering a request
// whose body the client is still sending, read and discard the rest for a
// while before closing, or the client's TCP stack may see a reset before
// it reads the answer.
const (
	lingerIdle  = 2 * time.Second
	lingerTotal = 30 * time.Second
)

func (x *exchange) lingerClose() {
	c := x.c
	c.state.Store(stateHijacked) // shutdown may close it at any time
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	end := time.Now().Add(lingerTotal)
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	for time.Now().Before(end) {
		c.rd.extend(c.nc, lingerIdle)
		if _, err := c.br.Read(*buf); err != nil {
			break
		}
	}
	c.nc.Close()
}

// The Date header, rendered once a second.
var dateCache atomic.Pointer[dateValue]

type dateValue struct {
	sec int64
	s   string
}

func httpDate() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &dateValue{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}
