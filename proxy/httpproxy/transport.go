package httpproxy

// The upstream side of a proxied request: writing the request (with the
// guard of guard.go), reading the response head and body with their
// framing and proxy_read_timeout. The pool of connections is upstream.go.

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// maxUpstreamHead bounds an upstream's status line and headers.
const maxUpstreamHead = 64 << 10

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
