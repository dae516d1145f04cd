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
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Tests for Local handlers: net/http handlers behind the proxy's own
// server for GET /devproxy/ws and /devproxy/api/..., on the local
// listener only.

// localWait bounds every wait in these tests.
const localWait = 5 * time.Second

// localSite is a proxy with a Local handler whose Serve a test can stop.
type localSite struct {
	*running
	calls atomic.Int32 // requests that reached the handler
	stop  func()       // cancels Serve and waits for it to return
}

func startLocal(t *testing.T, h http.HandlerFunc) *localSite {
	t.Helper()
	s := &localSite{}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		h(w, r)
	})
	root := t.TempDir()
	writeRouteFile(t, root, "apps/a.conf", "location /a/ { return 200 a; }\n")
	ready := make(chan ServeInfo, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ServeOptions{Root: root, Listen: "127.0.0.1:0", TunnelListen: "127.0.0.1:0",
			Local: counted, DrainTimeout: 2 * time.Second, Ready: func(i ServeInfo) { ready <- i }})
	}()
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not stop")
		}
	}
	t.Cleanup(s.stop)
	select {
	case info := <-ready:
		s.running = &running{root: root, addr: "http://" + info.Addr, tunnelAddr: "http://" + info.TunnelAddr, proxy: info.Proxy,
			client: &http.Client{Timeout: localWait}}
	case err := <-done:
		t.Fatalf("Serve failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not become ready")
	}
	return s
}

func (s *localSite) hostAddr() string { return strings.TrimPrefix(s.addr, "http://") }

// TestLocalHandlerPlainGet: the handler sees the request as net/http would
// show it, and its answer arrives with a Content-Length.
func TestLocalHandlerPlainGet(t *testing.T) {
	type got struct{ method, path, query, host, header, remote, uri string }
	seenc := make(chan got, 1)
	s := startLocal(t, func(w http.ResponseWriter, r *http.Request) {
		seenc <- got{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("X-Test"), r.RemoteAddr, r.RequestURI}
		w.Header().Set("X-Answer", "yes")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"ok":true}`)
	})
	resp, body := s.do(t, "GET", "/devproxy/api/things/../members?x=1&y=2", nil, map[string]string{"X-Test": "t1"})
	if resp.StatusCode != http.StatusAccepted || body != `{"ok":true}` || resp.Header.Get("X-Answer") != "yes" ||
		resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer: %d %q %v (length %d)", resp.StatusCode, body, resp.Header, resp.ContentLength)
	}
	g := <-seenc
	if g.method != "GET" || g.path != "/devproxy/api/members" || g.query != "x=1&y=2" || g.host != s.hostAddr() ||
		g.header != "t1" || !strings.HasPrefix(g.remote, "127.0.0.1:") || g.uri != "/devproxy/api/things/../members?x=1&y=2" {
		t.Errorf("the handler saw %+v", g)
	}
	// The connection is kept alive: a second request on it is served.
	if resp, _ := s.get(t, "/devproxy/api/again"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("second request: %d", resp.StatusCode)
	}
	// A handler that writes nothing answers 200 with an empty body; what
	// the proxy answers itself is unchanged.
	if resp, body := s.get(t, "/devproxy/api/config"); resp.StatusCode != 200 || !strings.Contains(body, `"apiBasePath"`) {
		t.Errorf("/devproxy/api/config with a Local handler: %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.get(t, "/routes.json"); resp.StatusCode != 200 {
		t.Errorf("/routes.json with a Local handler: %d", resp.StatusCode)
	}
	// A Host the local listener does not serve never reaches the handler
	// (DNS rebinding).
	if resp, _ := s.do(t, "GET", "/devproxy/api/x", nil, map[string]string{"Host": "evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a rebinding Host: %d, want 403", resp.StatusCode)
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("the handler was called %d times, want 2 (config and routes.json are the proxy's, evil.example is refused)", n)
	}
}

// TestLocalHandlerPostBody: a body arrives whole, chunked or not, and one
// over 1 MiB is refused with 413.
func TestLocalHandlerPostBody(t *testing.T) {
	s := startLocal(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			t.Errorf("reading the body: %v", err)
		}
		fmt.Fprintf(w, "%s %d %d %q", r.Method, r.ContentLength, len(b), r.TransferEncoding)
	})
	payload := strings.Repeat("p", 100<<10)
	resp, body := s.do(t, "POST", "/devproxy/api/echo", strings.NewReader(payload), nil)
	if want := fmt.Sprintf("POST %d %d []", len(payload), len(payload)); resp.StatusCode != 200 || body != want {
		t.Errorf("Content-Length body: %d %q, want %q", resp.StatusCode, body, want)
	}
	// io.MultiReader hides the length: net/http sends it chunked.
	resp, body = s.do(t, "PUT", "/devproxy/api/echo", io.MultiReader(strings.NewReader(payload)), nil)
	if want := fmt.Sprintf("PUT -1 %d [\"chunked\"]", len(payload)); resp.StatusCode != 200 || body != want {
		t.Errorf("chunked body: %d %q, want %q", resp.StatusCode, body, want)
	}
	big := strings.Repeat("b", 2<<20)
	calls := s.calls.Load()
	resp, _ = s.do(t, "POST", "/devproxy/api/echo", strings.NewReader(big), nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || s.calls.Load() != calls {
		t.Errorf("a 2 MiB body with Content-Length: %d, handler called %v", resp.StatusCode, s.calls.Load() != calls)
	}
	resp, _ = s.do(t, "POST", "/devproxy/api/echo", io.MultiReader(strings.NewReader(big)), nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB chunked body: %d, want 413", resp.StatusCode)
	}
}

// TestLocalHandlerStreamsWithFlush: each flushed piece reaches the client
// before the handler writes the next.
func TestLocalHandlerStreamsWithFlush(t *testing.T) {
	next := make(chan struct{})
	s := startLocal(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	})
	resp, err := s.client.Get(s.addr + "/devproxy/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" || len(resp.TransferEncoding) == 0 {
		t.Fatalf("stream head: %v %v", resp.Header, resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		br.ReadString('\n')
		next <- struct{}{}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the last event: %q %v", rest, err)
	}
}

// TestLocalHandlerHijack: the handler takes the connection over with the
// bytes the client sent after the head; it may return and keep using it,
// and a shutdown still closes it at once.
func TestLocalHandlerHijack(t *testing.T) {
	hijacked := make(chan net.Conn, 1)
	s := startLocal(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/devproxy/ws" {
			http.NotFound(w, r)
			return
		}
		nc, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrHijacked) {
			t.Errorf("Write after Hijack: %v, want ErrHijacked", err)
		}
		if n := brw.Reader.Buffered(); n != len("early") {
			t.Errorf("%d bytes buffered, want the 5 sent with the head", n)
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		// Echo in the background after the handler returns.
		go func() {
			defer nc.Close()
			line := make([]byte, 5)
			for {
				if _, err := io.ReadFull(brw, line); err != nil {
					return
				}
				nc.Write(bytes.ToUpper(line))
			}
		}()
		hijacked <- nc
	})
	conn, err := net.DialTimeout("tcp", s.hostAddr(), localWait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(localWait))
	fmt.Fprintf(conn, "GET /devproxy/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly", s.hostAddr())
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	<-hijacked
	buf := make([]byte, 5)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "EARLY" {
		t.Fatalf("the early bytes came back as %q %v", buf, err)
	}
	io.WriteString(conn, "later")
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "LATER" {
		t.Fatalf("echo %q %v", buf, err)
	}
	// The handler has returned; the connection is still the server's to
	// close: cancelling Serve ends it at once, not after the drain.
	start := time.Now()
	s.stop()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Serve took %v to stop with a hijacked connection open (drain 2s)", took)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("the hijacked connection is still open after Serve returned")
	}
}

// TestLocalHandlerHeadersCannotSplitTheAnswer: a header value with CR, LF
// or NUL and a name that is not a token are not sent.
func TestLocalHandlerHeadersCannotSplitTheAnswer(t *testing.T) {
	s := startLocal(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Split"] = []string{"a\r\nSet-Cookie: stolen=1"}
		w.Header()["X-Nul"] = []string{"a\x00b"}
		w.Header()["X-Bad\r\nInjected"] = []string{"1"}
		w.Header()["X-Tab"] = []string{"a\tb\x01c"}
		w.Header().Set("X-Fine", "fine")
		io.WriteString(w, "body")
	})
	conn, err := net.DialTimeout("tcp", s.hostAddr(), localWait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(localWait))
	fmt.Fprintf(conn, "GET /devproxy/api/h HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", s.hostAddr())
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, bad := range []string{"Set-Cookie", "stolen", "Injected", "X-Split", "X-Nul", "\x00"} {
		if strings.Contains(head, bad) {
			t.Errorf("the answer's head holds %q:\n%s", bad, head)
		}
	}
	if !strings.Contains(head, "\r\nX-Fine: fine\r\n") || !strings.Contains(head, "\r\nX-Tab: a\tb%01c\r\n") || body != "body" {
		t.Errorf("the answer lost what was fine:\n%q", raw)
	}
}

// TestLocalHandlerContextEnds: the request's context ends when the client
// leaves and when the server shuts down.
func TestLocalHandlerContextEnds(t *testing.T) {
	ended := make(chan string, 2)
	started := make(chan struct{}, 2)
	s := startLocal(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			ended <- r.URL.Path
		case <-time.After(localWait):
		}
	})
	conn, err := net.DialTimeout("tcp", s.hostAddr(), localWait)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /devproxy/api/wait HTTP/1.1\r\nHost: %s\r\n\r\n", s.hostAddr())
	<-started
	conn.Close()
	select {
	case p := <-ended:
		if p != "/devproxy/api/wait" {
			t.Errorf("ended %s", p)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the handler's context did not end when the client left")
	}

	// A body first: the watch starts once it has been read.
	conn, err = net.DialTimeout("tcp", s.hostAddr(), localWait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /devproxy/api/wait HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", s.hostAddr())
	<-started
	start := time.Now()
	go s.stop()
	select {
	case <-ended:
		if took := time.Since(start); took > time.Second {
			t.Errorf("the context ended %v after the shutdown began", took)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the handler's context did not end when the server shut down")
	}
}

// TestLocalHandlerNeverThroughTheTunnel: through the tunnel listener the
// handler's paths answer exactly what they answer without a handler, and
// the handler is never called.
func TestLocalHandlerNeverThroughTheTunnel(t *testing.T) {
	paths := []string{"/devproxy/ws", "/devproxy/api/x", "/devproxy/api/config", "/devproxy/api/../ws", "/devproxy/api/"}
	answers := func(addr string, upgrade bool) map[string]string {
		out := map[string]string{}
		for _, p := range paths {
			conn, err := net.DialTimeout("tcp", addr, localWait)
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(localWait))
			extra := ""
			if upgrade {
				extra = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer x\r\n"
			}
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: example.com\r\n%s\r\n", p, extra)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b, _ := io.ReadAll(resp.Body)
			conn.Close()
			resp.Header.Del("Date")
			out[p] = fmt.Sprintf("%d %v %s", resp.StatusCode, resp.Header, b)
		}
		return out
	}
	plain := startServe(t, map[string]string{"apps/a.conf": "location /a/ { return 200 a; }\n"})
	want := answers(strings.TrimPrefix(plain.tunnelAddr, "http://"), false)
	s := startLocal(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached") })
	for _, upgrade := range []bool{false, true} {
		got := answers(strings.TrimPrefix(s.tunnelAddr, "http://"), upgrade)
		for _, p := range paths {
			if got[p] != want[p] {
				t.Errorf("%s through the tunnel (upgrade %v): %s, want as without a handler: %s", p, upgrade, got[p], want[p])
			}
			if !strings.HasPrefix(got[p], "403 ") {
				t.Errorf("%s through the tunnel: %s, want 403", p, got[p])
			}
		}
	}
	if n := s.calls.Load(); n != 0 {
		t.Errorf("the handler was reached %d times through the tunnel", n)
	}
}

// TestWithoutLocalHandlerNothingChanges: without a handler the paths
// answer as they always did.
func TestWithoutLocalHandlerNothingChanges(t *testing.T) {
	r := startServe(t, map[string]string{"apps/a.conf": "location /a/ { return 200 a; }\n"})
	for _, p := range []string{"/devproxy/ws", "/devproxy/api/x"} {
		resp, body := r.get(t, p)
		if resp.StatusCode != 404 || !strings.Contains(body, "belongs to the proxy") {
			t.Errorf("%s without a Local handler: %d %s", p, resp.StatusCode, body)
		}
	}
	// And with one, POST /devproxy/ws is not the handler's.
	s := startLocal(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached") })
	if resp, body := s.do(t, "POST", "/devproxy/ws", strings.NewReader("x"), nil); resp.StatusCode != 404 || s.calls.Load() != 0 {
		t.Errorf("POST /devproxy/ws: %d %s", resp.StatusCode, body)
	}
}
