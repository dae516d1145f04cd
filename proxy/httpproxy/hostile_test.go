package httpproxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests play hostile or broken clients against a running Serve over
// raw TCP. Whatever a client sends, it must get a 4xx or a closed
// connection within a bounded time — never a hang, never a 5xx written by
// devproxy (the upstreams here never answer 5xx), never a panic — and the
// proxy must go on serving everyone else.

// hostileWait bounds every wait for an answer or a close.
const hostileWait = 5 * time.Second

// serverLog records what the proxy and its http.Servers log, so a test can
// assert that no handler panicked (net/http logs "http: panic serving ...").
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *serverLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *serverLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}

func (l *serverLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *serverLog) WithGroup(string) slog.Handler      { return l }

// assertNoPanic fails the test if any handler panicked so far.
func (l *serverLog) assertNoPanic(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, "panic") {
			t.Errorf("the proxy panicked: %s", line)
		}
	}
}

func withLog(l *serverLog) func(*ServeOptions) {
	return func(o *ServeOptions) { o.Log = slog.New(l) }
}

func withReadHeaderTimeout(d time.Duration) func(*ServeOptions) {
	return func(o *ServeOptions) { o.ReadHeaderTimeout = d }
}

// hostileSite is the workspace of the hostile tests: an answer from the
// route file, a proxied echo, and upstreams that report when a streamed
// body ends.
type hostileSite struct {
	*running
	log *serverLog
	// uploadStarted receives when the upload upstream starts reading a
	// body, uploadEnded how much it read and why it stopped.
	uploadStarted chan struct{}
	uploadEnded   chan uploadResult
	// downloadEnded receives why the download upstream stopped writing.
	downloadEnded chan error
}

type uploadResult struct {
	n   int64
	err error
}

func startHostileSite(t *testing.T, opts ...func(*ServeOptions)) *hostileSite {
	t.Helper()
	s := &hostileSite{
		log:           &serverLog{},
		uploadStarted: make(chan struct{}, 16),
		uploadEnded:   make(chan uploadResult, 16),
		downloadEnded: make(chan error, 16),
	}
	echo := echoUpstream(t)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.uploadStarted <- struct{}{}
		n, err := io.Copy(io.Discard, r.Body)
		s.uploadEnded <- uploadResult{n, err}
	}))
	down := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		// Stream until the write fails; a proxy that keeps reading for a
		// client that is gone would let this run for its full 20s.
		for stop := time.Now().Add(20 * time.Second); time.Now().Before(stop); {
			if _, err := w.Write(chunk); err != nil {
				s.downloadEnded <- err
				return
			}
		}
		s.downloadEnded <- nil
	}))
	site := fmt.Sprintf(`
location = /ok { return 200 ok; }
location /echo/ { proxy_pass http://%s/; }
location /upload/ { proxy_pass http://%s/; }
location /download/ { proxy_pass http://%s/; }
location /slowbody/ { proxy_read_timeout 1s; proxy_pass http://%s/; }
`, echo, up, down, echo)
	s.running = startServe(t, map[string]string{"apps/site.conf": site}, append([]func(*ServeOptions){withLog(s.log)}, opts...)...)
	t.Cleanup(func() { s.log.assertNoPanic(t) })
	return s
}

// hostAddr is the proxy's host:port for net.Dial.
func (s *hostileSite) hostAddr() string { return strings.TrimPrefix(s.addr, "http://") }

// assertServes checks that ordinary clients are still served correctly: an
// answer from the route file and a proxied request.
func (s *hostileSite) assertServes(t *testing.T) {
	t.Helper()
	// A fresh client each time: the point is that the proxy accepts and
	// serves new connections, not that some pooled one survived.
	c := &http.Client{Timeout: hostileWait, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/ok", "/echo/after?x=1"} {
		resp, err := c.Get(s.addr + path)
		if err != nil {
			t.Fatalf("after the hostile client, GET %s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("after the hostile client, GET %s: %d %q %v", path, resp.StatusCode, b, err)
		}
		switch path {
		case "/ok":
			if string(b) != "ok" {
				t.Fatalf("after the hostile client, GET /ok answered %q", b)
			}
		default:
			if seen := decodeSeen(t, string(b)); seen.URI != "/after?x=1" {
				t.Fatalf("after the hostile client, the echo upstream got %q, want /after?x=1", seen.URI)
			}
		}
	}
	s.log.assertNoPanic(t)
}

// rawReply is what a hand-written request got back.
type rawReply struct {
	status int // 0: the connection closed without an answer
	header http.Header
	body   string
	err    error // why no answer was read (EOF, reset)
}

func (r rawReply) String() string {
	if r.status == 0 {
		return fmt.Sprintf("closed (%v)", r.err)
	}
	return fmt.Sprintf("%d %q", r.status, r.body)
}

// dialProxy opens a raw connection to the proxy.
func (s *hostileSite) dialProxy(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.hostAddr(), hostileWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// sendRaw writes payload on a fresh connection and reads one answer. With
// closeWrite the client half-closes after writing: it sends nothing more
// but still listens.
func (s *hostileSite) sendRaw(t *testing.T, payload string, closeWrite bool) rawReply {
	t.Helper()
	conn := s.dialProxy(t)
	defer conn.Close()
	wrote := make(chan struct{})
	go func() {
		// The proxy may stop reading (and reset the connection) long
		// before a huge payload is written; the error is expected.
		defer close(wrote)
		conn.SetWriteDeadline(time.Now().Add(hostileWait))
		if _, err := io.WriteString(conn, payload); err == nil && closeWrite {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	rr := readReply(t, bufio.NewReader(conn), conn)
	conn.Close()
	<-wrote
	return rr
}

// readReply reads one response, failing the test when the proxy neither
// answers nor closes within hostileWait.
func readReply(t *testing.T, br *bufio.Reader, conn net.Conn) rawReply {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(hostileWait))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if isTimeout(err) {
			t.Fatalf("the proxy neither answered nor closed the connection within %v", hostileWait)
		}
		return rawReply{err: err}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil && isTimeout(err) {
		t.Fatalf("%d: the body did not end within %v", resp.StatusCode, hostileWait)
	}
	return rawReply{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// assertRejected wants a 4xx or a closed connection.
func assertRejected(t *testing.T, what string, r rawReply) {
	t.Helper()
	if r.status != 0 && (r.status < 400 || r.status > 499) {
		t.Errorf("%s: got %v, want a 4xx or a closed connection", what, r)
	}
}

func TestHostileRequestLinesAndHeaders(t *testing.T) {
	s := startHostileSite(t, withReadHeaderTimeout(300*time.Millisecond))
	longTarget := "/" + strings.Repeat("a", 1<<20+10)
	bigHeaders := strings.Repeat("X-Filler: "+strings.Repeat("f", 990)+"\r\n", 200) // 200 KB
	for _, c := range []struct{ name, payload string }{
		{"garbage bytes", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"},
		{"random text", "hello there proxy\r\n\r\n"},
		{"missing HTTP version", "GET /ok\r\nHost: localhost\r\n\r\n"},
		{"bogus HTTP version", "GET /ok HTTP/1.x\r\nHost: localhost\r\n\r\n"},
		{"invalid method characters", "G(E)T /ok HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"method with a slash", "GE/T /ok HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"spaces in the target", "GET /ok and more HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"control character in the target", "GET /o\x01k HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"NUL in the target", "GET /echo/\x00 HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"DEL in the target", "GET /echo/\x7f HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"control character in a header value", "GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\x01b\r\n\r\n"},
		{"bare LF and CR", "GET /ok HTTP/1.1\rHost: localhost\r\r\r"},
		{"request line over 1 MB", "GET " + longTarget + " HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"200 KB of headers", "GET /ok HTTP/1.1\r\nHost: localhost\r\n" + bigHeaders + "\r\n"},
		{"one 100 KB header", "GET /echo/ HTTP/1.1\r\nHost: localhost\r\nX-Big: " + strings.Repeat("b", 100<<10) + "\r\n\r\n"},
		{"header line without a colon", "GET /ok HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n"},
		{"two Host headers", "GET /ok HTTP/1.1\r\nHost: localhost\r\nHost: y\r\n\r\n"},
		{"invalid Host", "GET /ok HTTP/1.1\r\nHost: a b\r\n\r\n"},
		{"HTTP/1.1 without Host", "GET /ok HTTP/1.1\r\n\r\n"},
		{"CONNECT to an upstream", "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n"},
		{"asterisk target", "GET * HTTP/1.1\r\nHost: localhost\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.sendRaw(t, c.payload, false)
			t.Logf("%s: %v", c.name, r)
			assertRejected(t, c.name, r)
			s.assertServes(t)
		})
	}
}

// TestHostileInvalidHeaderName: a header name that is not a token is either
// rejected or, as nginx's ignore_invalid_headers does, dropped; it must
// never reach the upstream.
func TestHostileInvalidHeaderName(t *testing.T) {
	s := startHostileSite(t)
	r := s.sendRaw(t, "GET /echo/h HTTP/1.1\r\nHost: localhost\r\nBad Name: v\r\nGood: yes\r\n\r\n", false)
	if r.status == 200 {
		seen := decodeSeen(t, r.body)
		for name := range seen.Header {
			if strings.Contains(name, " ") {
				t.Errorf("the upstream got the invalid header %q", name)
			}
		}
		if seen.Header["Good"] == nil {
			t.Errorf("a valid header next to the invalid one was lost: %v", seen.Header)
		}
	} else {
		assertRejected(t, "header name with a space", r)
	}
	s.assertServes(t)
}

func TestHostilePathClimbing(t *testing.T) {
	s := startHostileSite(t)
	for _, target := range []string{
		"/../etc/passwd",
		"/echo/../../etc/passwd",
		"/%2e%2e/etc/passwd",
		"/echo/..%2f..%2fetc/passwd",
		"/./../etc/passwd",
	} {
		t.Run(target, func(t *testing.T) {
			r := s.sendRaw(t, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
			if r.status != http.StatusBadRequest {
				t.Fatalf("GET %s: %v, want 400 from devproxy", target, r)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("GET %s: Content-Type %q, want application/json", target, ct)
			}
			if !strings.Contains(r.body, `"status":400`) || !strings.Contains(r.body, `"error":"Bad Request"`) {
				t.Errorf("GET %s: body %q is not devproxy's JSON error", target, r.body)
			}
			s.assertServes(t)
		})
	}
}

func TestHostileRequestForms(t *testing.T) {
	s := startHostileSite(t)
	echoAddr := ""
	if b, ok := s.proxy.Table().Lookup("/echo/"); ok != 0 {
		echoAddr = strings.TrimPrefix(b.Upstream, "http://")
	}

	t.Run("HTTP/1.0 without Host", func(t *testing.T) {
		// HTTP/1.0 does not require Host: nginx serves it, so do we.
		r := s.sendRaw(t, "GET /ok HTTP/1.0\r\n\r\n", false)
		if r.status != 200 || r.body != "ok" {
			t.Errorf("HTTP/1.0 GET /ok: %v, want 200 ok", r)
		}
		r = s.sendRaw(t, "GET /echo/h10 HTTP/1.0\r\n\r\n", false)
		if r.status != 200 {
			t.Fatalf("HTTP/1.0 GET /echo/h10: %v, want 200", r)
		}
		if seen := decodeSeen(t, r.body); seen.URI != "/h10" || (echoAddr != "" && seen.Host != echoAddr) {
			t.Errorf("HTTP/1.0 proxied: upstream got URI %q Host %q, want /h10 and %q", seen.URI, seen.Host, echoAddr)
		}
		s.assertServes(t)
	})

	t.Run("absolute-form target", func(t *testing.T) {
		// RFC 9112 §3.2.2: a server accepts the absolute form; it routes
		// by the path and must never fetch the named host itself (that
		// would make devproxy an open forward proxy).
		r := s.sendRaw(t, "GET http://localhost/ok HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
		if r.status != 0 && r.status != 200 && (r.status < 400 || r.status > 499) {
			t.Fatalf("GET http://localhost/ok: %v, want 200 ok or a 4xx", r)
		}
		if r.status == 200 && r.body != "ok" {
			t.Errorf("GET http://localhost/ok: %v, want the answer of /ok", r)
		}
		// A host that is not the echo upstream: a route by path still
		// reaches the echo upstream, with the path only.
		r = s.sendRaw(t, "GET http://elsewhere.invalid/echo/abs?q=1 HTTP/1.1\r\nHost: elsewhere.invalid\r\n\r\n", false)
		if r.status == 200 {
			if seen := decodeSeen(t, r.body); seen.URI != "/abs?q=1" {
				t.Errorf("absolute-form proxied: upstream got %q, want /abs?q=1", seen.URI)
			}
		} else if r.status != 0 && (r.status < 400 || r.status > 499) {
			t.Errorf("absolute-form proxied: %v, want 200 or a 4xx", r)
		}
		// A path with no route is devproxy's 404, not a connection to the
		// host in the target (which would be a 503 here).
		dead := closedPort(t)
		r = s.sendRaw(t, "GET http://"+dead+"/nothing HTTP/1.1\r\nHost: "+dead+"\r\n\r\n", false)
		if r.status != 404 {
			t.Errorf("GET http://%s/nothing: %v, want devproxy's 404 (never a forward to that host)", dead, r)
		}
		r = s.sendRaw(t, "GET http://localhost/../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
		if r.status != 400 {
			t.Errorf("absolute-form climbing above /: %v, want 400", r)
		}
		s.assertServes(t)
	})
}

func TestHostileBodies(t *testing.T) {
	s := startHostileSite(t, func(o *ServeOptions) { o.ClientBodyTimeout = time.Second })
	const post = "POST /echo/body HTTP/1.1\r\nHost: localhost\r\n"
	for _, c := range []struct {
		name, payload string
		closeWrite    bool
	}{
		{"chunk size not hex", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", false},
		{"chunk without CRLF after the data", post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", false},
		{"chunk size overflow", post + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", false},
		{"negative chunk size", post + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", false},
		{"chunked body cut short", post + "Transfer-Encoding: chunked\r\n\r\n100\r\nhello", true},
		{"Content-Length larger than the body", post + "Content-Length: 100\r\n\r\nonly ten b", true},
		{"two different Content-Lengths", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false},
		{"negative Content-Length", post + "Content-Length: -1\r\n\r\n", false},
		{"Content-Length not a number", post + "Content-Length: ten\r\n\r\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.sendRaw(t, c.payload, c.closeWrite)
			t.Logf("%s: %v", c.name, r)
			s.assertServes(t)
			if r.status == http.StatusBadGateway {
				t.Errorf("%s: 502 blames the upstream for the client's body: %v", c.name, r)
			}
			if r.status == http.StatusOK {
				t.Errorf("%s: 200 for a body the upstream never got whole: %v", c.name, r)
			}
			assertRejected(t, c.name, r)
		})
	}

	t.Run("body stalls", func(t *testing.T) {
		// The client sends its headers and part of the body, then goes
		// quiet without closing. Like nginx after client_body_timeout
		// (1s here), devproxy must answer 408 and let go.
		conn := s.dialProxy(t)
		io.WriteString(conn, "POST /slowbody/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nten bytes!")
		conn.SetReadDeadline(time.Now().Add(hostileWait))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		s.assertServes(t)
		switch {
		case isTimeout(err):
			t.Fatalf("a client that stalls mid-body got no answer within %v: it holds a handler and an upstream request", hostileWait)
		case err != nil:
			t.Fatalf("a client that stalls mid-body: %v, want a 408", err)
		case resp.StatusCode != http.StatusRequestTimeout:
			t.Errorf("a client that stalls mid-body: %d, want 408 (client_body_timeout)", resp.StatusCode)
		}
	})

	t.Run("unknown transfer coding", func(t *testing.T) {
		// RFC 9112 §6.1 asks for 501 here, and nginx answers 501 too: the
		// one 5xx a client's own request may earn.
		r := s.sendRaw(t, post+"Transfer-Encoding: identity\r\n\r\nhello", false)
		if r.status != 0 && r.status != http.StatusNotImplemented && (r.status < 400 || r.status > 499) {
			t.Errorf("Transfer-Encoding: identity: %v, want 501, a 4xx or a closed connection", r)
		}
		s.assertServes(t)
	})

	t.Run("obsolete line folding", func(t *testing.T) {
		// RFC 9112 §5.2: reject it, or replace the fold with a space
		// before forwarding; never pass the raw fold to the upstream.
		r := s.sendRaw(t, "GET /echo/fold HTTP/1.1\r\nHost: localhost\r\nX-Fold: a\r\n  b\r\n\r\n", false)
		if r.status == 200 {
			if got := decodeSeen(t, r.body).Header["X-Fold"]; len(got) != 1 || strings.ContainsAny(got[0], "\r\n") {
				t.Errorf("the upstream got X-Fold %q, want one unfolded line", got)
			}
		} else {
			assertRejected(t, "obsolete line folding", r)
		}
		s.assertServes(t)
	})

	t.Run("Content-Length and Transfer-Encoding", func(t *testing.T) {
		// RFC 9112 §6.3: chunked wins and Content-Length must not reach
		// the upstream (request smuggling). Rejecting it is fine too. The
		// bytes after the empty chunked body are the client's next
		// request, never part of the first.
		conn := s.dialProxy(t)
		io.WriteString(conn, post+"Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /ok HTTP/1.1\r\nHost: localhost\r\n\r\n")
		br := bufio.NewReader(conn)
		r := readReply(t, br, conn)
		switch {
		case r.status == 200:
			seen := decodeSeen(t, r.body)
			if seen.Body != 0 {
				t.Errorf("the upstream read a %d-byte body, want the empty chunked one", seen.Body)
			}
			if cl := seen.Header["Content-Length"]; len(cl) > 0 && cl[0] != "0" {
				t.Errorf("the upstream got Content-Length %v, want it removed", cl)
			}
			// RFC 9112 §6.3 lets a server close the connection after
			// answering such a request instead of serving what follows.
			if next := readReply(t, br, conn); next.status != 0 && (next.status != 200 || next.body != "ok") {
				t.Errorf("the pipelined request after the chunked body: %v, want 200 ok or a closed connection", next)
			}
		default:
			assertRejected(t, "Content-Length and Transfer-Encoding", r)
		}
		s.assertServes(t)
	})
}

// knownBodyBug recognises the answers of two known proxy bugs for a request
// body the client broke, so the suite reports them without failing; once
// they are fixed the cases are checked like the others.
func TestHostileDisconnects(t *testing.T) {
	s := startHostileSite(t)

	t.Run("mid-upload", func(t *testing.T) {
		conn := s.dialProxy(t)
		fmt.Fprintf(conn, "POST /upload/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n", 64<<20)
		conn.SetWriteDeadline(time.Now().Add(hostileWait))
		if _, err := conn.Write(bytes.Repeat([]byte("u"), 1<<20)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.uploadStarted:
		case <-time.After(hostileWait):
			t.Fatal("the upload never reached the upstream")
		}
		conn.Close()
		select {
		case res := <-s.uploadEnded:
			if res.err == nil || res.n >= 64<<20 {
				t.Errorf("the upstream read %d bytes and err %v, want the body cut short", res.n, res.err)
			}
		case <-time.After(hostileWait):
			t.Fatal("the upstream kept waiting for the body of a client that is gone")
		}
		s.assertServes(t)
	})

	t.Run("mid-download", func(t *testing.T) {
		conn := s.dialProxy(t)
		io.WriteString(conn, "GET /download/big HTTP/1.1\r\nHost: localhost\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(hostileWait))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("download: %d", resp.StatusCode)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		select {
		case err := <-s.downloadEnded:
			if err == nil {
				t.Error("the upstream streamed for 20s: the proxy kept reading for a client that is gone")
			}
		case <-time.After(hostileWait):
			t.Fatal("the upstream kept streaming to a client that is gone")
		}
		s.assertServes(t)
	})

	t.Run("disconnect before the body", func(t *testing.T) {
		// devproxy may start the upstream request before any body byte
		// arrives, or wait for the first ones; either way the upstream must
		// not be left waiting for a client that is gone.
		conn := s.dialProxy(t)
		io.WriteString(conn, "POST /upload/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n")
		conn.Close()
		select {
		case <-s.uploadStarted:
		case <-time.After(time.Second):
			s.assertServes(t) // it never reached the upstream
			return
		}
		select {
		case res := <-s.uploadEnded:
			if res.err == nil {
				t.Errorf("the upstream read %d bytes and no error, want the body cut short", res.n)
			}
		case <-time.After(hostileWait):
			t.Fatal("the upstream kept waiting for the body of a client that is gone")
		}
		s.assertServes(t)
	})
}

func TestHostileSlowloris(t *testing.T) {
	const headerTimeout = 300 * time.Millisecond
	s := startHostileSite(t, withReadHeaderTimeout(headerTimeout))
	conn := s.dialProxy(t)
	// About 9 s of headers at one byte every 100 ms: far longer than the
	// header timeout.
	req := "GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + strings.Repeat("s", 60) + "\r\n\r\n"
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		for n < len(req) {
			if _, err := conn.Write([]byte{req[n]}); err != nil {
				return
			}
			n++
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond): // the deliberate pacing
			}
		}
	}()
	closed := make(chan error, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(hostileWait))
		_, err := io.Copy(io.Discard, conn)
		closed <- err
	}()

	// While the slow client dribbles, others are served promptly.
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		s.assertServes(t)
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("a normal client waited %v while a slowloris client was connected", d)
		}
	}

	select {
	case err := <-closed:
		took := time.Since(start)
		if isTimeout(err) {
			t.Fatalf("the slowloris connection was still open after %v (ReadHeaderTimeout %v)", took, headerTimeout)
		}
		if took > 3*time.Second {
			t.Errorf("the slowloris connection was closed after %v, want about the ReadHeaderTimeout %v", took, headerTimeout)
		}
		t.Logf("slowloris connection closed after %v (%v)", took.Round(time.Millisecond), err)
	case <-time.After(hostileWait + time.Second):
		t.Fatal("the slowloris connection was never closed")
	}
	conn.Close()
	if n := <-sent; n >= len(req) {
		t.Errorf("the slow client sent its whole request (%d bytes) before being cut off", n)
	}
	s.assertServes(t)
}

func TestHostileIdleConnections(t *testing.T) {
	// The default header timeout (10s): the idle connections stay open for
	// the whole test.
	s := startHostileSite(t)
	const idle = 200
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < idle; i++ {
		c, err := net.DialTimeout("tcp", s.hostAddr(), hostileWait)
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		conns = append(conns, c)
		// Half of them start a request and stop mid-headers.
		if i%2 == 1 {
			io.WriteString(c, "GET /ok HTTP/1.1\r\n")
		}
	}
	t0 := time.Now()
	s.assertServes(t)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("with %d idle connections open, normal requests took %v", idle, d)
	}
	// The half-started requests can still finish: the proxy is holding
	// them, not wedged.
	for i := 1; i < idle; i += 40 {
		io.WriteString(conns[i], "Host: localhost\r\n\r\n")
		if r := readReply(t, bufio.NewReader(conns[i]), conns[i]); r.status != 200 || r.body != "ok" {
			t.Errorf("idle connection %d finishing its request: %v", i, r)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	s.assertServes(t)
}

// TestClientThatStopsReadingIsLetGo is nginx's send_timeout: a client
// that stops reading a large answer is disconnected once a write has
// waited that long, and the upstream stops streaming for it. A stream
// that merely pauses between events (SSE) is not cut: each write gets the
// timeout anew.
func TestClientThatStopsReadingIsLetGo(t *testing.T) {
	s := startHostileSite(t, func(o *ServeOptions) { o.SendTimeout = 300 * time.Millisecond })
	conn := s.dialProxy(t)
	io.WriteString(conn, "GET /download/big HTTP/1.1\r\nHost: localhost\r\n\r\n")
	// Never read.
	select {
	case err := <-s.downloadEnded:
		if err == nil {
			t.Error("the upstream streamed for its full 20s to a client that reads nothing")
		}
	case <-time.After(hostileWait):
		t.Fatal("the proxy kept writing to a client that stopped reading (send_timeout)")
	}
	s.assertServes(t)

	events := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(700 * time.Millisecond) // longer than the send timeout
		}
	}))
	writeRouteFile(t, s.root, "apps/sse.conf", fmt.Sprintf("location /sse/ { proxy_pass http://%s/; }\n", events))
	deadline := time.Now().Add(hostileWait)
	for {
		resp, err := http.Get(s.addr + "/sse/x")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 404 && time.Now().Before(deadline) {
			resp.Body.Close()
			time.Sleep(50 * time.Millisecond) // the reload has not happened yet
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "data: 1\n\ndata: 2\n\ndata: 3\n\n" {
			t.Fatalf("an event stream with pauses longer than the send timeout: %q, %v", b, err)
		}
		break
	}
}

// TestClientGoneCancelsTheDial: a client that leaves while devproxy is
// still connecting to a slow upstream (proxy_connect_timeout of 30 s)
// ends the dial, instead of holding it for the whole timeout.
func TestClientGoneCancelsTheDial(t *testing.T) {
	addr := unacceptingListener(t)
	log := &serverLog{}
	r := startServe(t, map[string]string{"apps/c.conf": fmt.Sprintf("location /c/ { proxy_connect_timeout 30s; proxy_pass http://%s/; }\n", addr)}, withLog(log))
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /c/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
	time.Sleep(200 * time.Millisecond) // the dial is under way
	conn.Close()
	for deadline := time.Now().Add(hostileWait); ; time.Sleep(20 * time.Millisecond) {
		log.mu.Lock()
		gone := strings.Contains(strings.Join(log.lines, "\n"), "client went away while connecting")
		log.mu.Unlock()
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dial went on after the client left (proxy_connect_timeout 30s)")
		}
	}
}
