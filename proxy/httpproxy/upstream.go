package httpproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// upstreamPool keeps idle keep-alive connections to upstreams. Requests use
// a connection synchronously on the handler's goroutine: write the request,
// read the response, stream the body, then give the connection back. (Go's
// http.Transport spends two goroutines and several hand-offs per request on
// the same work; on a 2-core machine that was most of the proxy's CPU.)
type upstreamPool struct {
	mu      sync.Mutex
	conns   map[string][]*upConn // idle ones, by origin key, most recently used last
	closed  bool
	maxIdle int
}

// idleTimeout is how long an unused upstream connection is kept.
const upstreamIdleTimeout = 90 * time.Second

// upConn is one connection to an upstream with its buffers.
type upConn struct {
	net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer // writes through sendTimeout deadlines
	key      string
	idleFrom time.Time
	reused   bool
	// sendTimeout is the current request's proxy_send_timeout: every
	// write to the upstream gets this long (the time between two writes).
	sendTimeout time.Duration
	lr          lineReader    // reads response heads from br
	head        responseHead  // the current response's head
	body        upstreamBody  // the reader of the current response body
	chunked     chunkedReader // its chunk decoder, when the body is chunked
	peek        *socketPeek   // looks for bytes the upstream sent while the connection was idle
	rd, wd      lazyDeadline  // read and write deadlines
}

type timedWriter struct{ c *upConn }

func (w timedWriter) Write(p []byte) (int, error) {
	w.c.wd.extend(w.c.Conn, w.c.sendTimeout)
	return w.c.Conn.Write(p)
}

func newUpstreamPool() *upstreamPool {
	return &upstreamPool{conns: map[string][]*upConn{}, maxIdle: 512}
}

// idle returns a pooled connection to the origin that is still good, or
// nil. The socket check runs outside the pool's lock.
func (p *upstreamPool) idle(scheme, addr string) *upConn {
	key := scheme + "://" + addr
	for {
		p.mu.Lock()
		list := p.conns[key]
		if len(list) == 0 {
			p.mu.Unlock()
			return nil
		}
		c := list[len(list)-1]
		p.conns[key] = list[:len(list)-1]
		p.mu.Unlock()
		if time.Since(c.idleFrom) < upstreamIdleTimeout && !unclean(c) {
			c.reused = true
			return c
		}
		c.Conn.Close()
	}
}

// dial opens a new connection (also used for WebSocket upgrades, which are
// never pooled).
func (p *upstreamPool) dial(ctx context.Context, scheme, addr string, connectTimeout time.Duration) (*upConn, error) {
	d := net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if scheme == "https" {
		host := addr
		if h, _, err := net.SplitHostPort(addr); err == nil {
			host = h
		}
		// Dev servers use self-signed certificates; nginx does not verify
		// upstream certificates by default either.
		tc := tls.Client(nc, &tls.Config{ServerName: host, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		tc.SetDeadline(time.Now().Add(connectTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	c := &upConn{Conn: nc, br: bufio.NewReaderSize(nc, 16<<10), key: scheme + "://" + addr}
	c.bw = bufio.NewWriterSize(timedWriter{c}, 16<<10)
	c.lr.br = c.br
	c.wd.write = true
	c.peek = newSocketPeek(nc)
	return c, nil
}

// put returns a connection whose response was read to the end. It is kept
// only if the response ended exactly at a message boundary, with nothing
// left in the read buffer; get checks the socket itself before the
// connection is used again. Otherwise the upstream sent more than it
// announced (bytes past Content-Length, a body after HEAD, 204 or 304, a
// second answer to a split request), and those bytes would be the next
// client's answer; nginx's keepalive module closes such connections too.
func (p *upstreamPool) put(c *upConn) {
	if c.br.Buffered() > 0 {
		c.Conn.Close()
		return
	}
	// No deadline while idle: the socket peek in get must not trip one.
	c.rd.extend(c.Conn, 0)
	c.wd.extend(c.Conn, 0)
	c.idleFrom = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.conns[c.key]) >= p.maxIdle {
		c.Conn.Close()
		return
	}
	p.conns[c.key] = append(p.conns[c.key], c)
}

// CloseIdleConnections closes every pooled connection.
func (p *upstreamPool) CloseIdleConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, list := range p.conns {
		for _, c := range list {
			c.Conn.Close()
		}
		delete(p.conns, k)
	}
}

// close stops pooling.
func (p *upstreamPool) close() {
	p.CloseIdleConnections()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// unclean reports a connection that has bytes buffered or waiting on its
// socket (sent while it was idle), or that the upstream has closed.
func unclean(c *upConn) bool {
	return c.br.Buffered() > 0 || c.peek.pendingOrClosed()
}

// retryable reports whether a failure on a reused connection happened
// before the upstream said anything, so the request can be sent again on a
// fresh connection: the upstream closed an idle keep-alive connection.
func retryable(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		msg := ne.Err.Error()
		return strings.Contains(msg, "reset by peer") || strings.Contains(msg, "broken pipe")
	}
	return false
}
