package httpproxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestPrefixStripRewriteAndReturn(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{
		"apps/web.conf": fmt.Sprintf(`
location = /web { return 301 /web/; }
location ^~ /web/ { proxy_pass http://%s/; }
`, up),
		"apps/api.conf": fmt.Sprintf(`
location /api/ {
    rewrite ^/api/(.*)$ /$1 break;
    set $api %s;
    proxy_pass http://$api;
}
location = /ping { return 200 "pong $arg_x"; }
location = /gone { return 204; }
`, up),
	})

	resp, body := r.get(t, "/web/a/b?x=1")
	if resp.StatusCode != 200 {
		t.Fatalf("prefix strip: status %d %s", resp.StatusCode, body)
	}
	if s := decodeSeen(t, body); s.URI != "/a/b?x=1" {
		t.Errorf("prefix strip: upstream got %q, want /a/b?x=1", s.URI)
	} else if got := s.Header["X-Forwarded-Prefix"]; len(got) != 1 || got[0] != "/web" {
		t.Errorf("X-Forwarded-Prefix = %v, want /web", got)
	}

	_, body = r.get(t, "/api/users?page=2")
	if s := decodeSeen(t, body); s.URI != "/users?page=2" {
		t.Errorf("rewrite: upstream got %q, want /users?page=2", s.URI)
	}

	resp, body = r.get(t, "/ping?x=7")
	if resp.StatusCode != 200 || body != "pong 7" {
		t.Errorf("return: %d %q", resp.StatusCode, body)
	}
	resp, _ = r.get(t, "/gone")
	if resp.StatusCode != 204 {
		t.Errorf("return 204: got %d", resp.StatusCode)
	}
	resp, _ = r.get(t, "/web")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/web/" {
		t.Errorf("return 301: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRedirects(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{"apps/a.conf": fmt.Sprintf(`
location /myapp/ { proxy_pass http://%s/; }
location /old/ { rewrite ^/old/(.*)$ /new/$1 permanent; }
location /tmp/ { rewrite ^ https://example.com/x redirect; }
location = /elsewhere { return 302 https://example.com/; }
`, up)})
	for _, c := range []struct {
		path, location string
		status         int
	}{
		{"/myapp?x=1", "/myapp/?x=1", 301}, // relative, never http://host:port/...
		{"/old/a?b=1", "/new/a?b=1", 301},
		{"/tmp/z", "https://example.com/x", 302},
		{"/elsewhere", "https://example.com/", 302},
	} {
		resp, _ := r.get(t, c.path)
		if resp.StatusCode != c.status || resp.Header.Get("Location") != c.location {
			t.Errorf("GET %s: %d Location %q, want %d %q", c.path, resp.StatusCode, resp.Header.Get("Location"), c.status, c.location)
		}
	}
}

func TestHeaderRules(t *testing.T) {
	hits := make(chan struct{}, 1)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Secret", "hide me")
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
		select {
		case hits <- struct{}{}:
		default:
		}
		json.NewEncoder(w).Encode(seen{URI: r.RequestURI, Host: r.Host, Header: r.Header})
	}))
	r := startServe(t, map[string]string{"apps/h.conf": fmt.Sprintf(`
location /h/ {
    proxy_set_header Host $host;
    proxy_set_header X-Custom "v=$arg_v";
    proxy_set_header User-Agent "";
    proxy_hide_header X-Secret;
    add_header X-Only-Ok yes;
    add_header X-Always yes always;
    proxy_pass http://%s/;
}
`, up), "devproxy.json": `{"allowedHosts": ["myhost"]}`})
	resp, body := r.do(t, "GET", "/h/x?v=3", nil, map[string]string{"Host": "myhost:8080", "User-Agent": "test-agent", "X-Forwarded-For": "10.0.0.1"})
	s := decodeSeen(t, body)
	if s.Host != "myhost" {
		t.Errorf("Host = %q, want myhost (nginx's $host is the client's host without the port)", s.Host)
	}
	if got := s.Header["X-Custom"]; len(got) != 1 || got[0] != "v=3" {
		t.Errorf("X-Custom = %v", got)
	}
	if _, ok := s.Header["User-Agent"]; ok {
		t.Errorf("User-Agent should be removed by an empty proxy_set_header, got %v", s.Header["User-Agent"])
	}
	if got := s.Header["X-Forwarded-For"]; len(got) != 1 || got[0] != "10.0.0.1, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %v", got)
	}
	if got := s.Header["X-Forwarded-Proto"]; len(got) != 1 || got[0] != "http" {
		t.Errorf("X-Forwarded-Proto = %v", got)
	}
	if resp.Header.Get("X-Secret") != "" {
		t.Error("proxy_hide_header did not hide X-Secret")
	}
	if resp.Header.Get("X-Only-Ok") != "yes" || resp.Header.Get("X-Always") != "yes" {
		t.Errorf("add_header on 200: %v", resp.Header)
	}
	resp, _ = r.get(t, "/h/missing")
	if resp.StatusCode != 404 || resp.Header.Get("X-Only-Ok") != "" || resp.Header.Get("X-Always") != "yes" {
		t.Errorf("add_header on 404: status %d, X-Only-Ok %q (want none), X-Always %q", resp.StatusCode, resp.Header.Get("X-Only-Ok"), resp.Header.Get("X-Always"))
	}
}

func TestHostOfProxyHost(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{"apps/a.conf": fmt.Sprintf("location /a/ { proxy_pass http://%s; }\n", up)})
	_, body := r.get(t, "/a/x")
	if s := decodeSeen(t, body); s.Host != up {
		t.Errorf("default Host = %q, want the upstream's %q (nginx's $proxy_host)", s.Host, up)
	}
}

func TestWebSocketThroughProxy(t *testing.T) {
	up := wsEchoUpstream(t, "echo:")
	// No Upgrade/Connection lines: devproxy passes WebSockets anyway.
	r := startServe(t, map[string]string{"apps/ws.conf": fmt.Sprintf("location /app/ { proxy_pass http://%s/; }\n", up)})
	wsURL := "ws" + strings.TrimPrefix(r.addr, "http") + "/app/_hmr"
	c, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial through the proxy: %v (resp %v)", err, resp)
	}
	defer c.Close()
	if got := resp.Header.Get("X-Path"); got != "/_hmr" {
		t.Errorf("upstream saw path %q, want /_hmr", got)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("hello %d", i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, got, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "echo:"+msg {
			t.Fatalf("got %q", got)
		}
	}
}

// TestServerSentEventsArriveOneByOne proves flushing: the upstream sends
// the second event only after the client has received the first.
func TestServerSentEventsArriveOneByOne(t *testing.T) {
	next := make(chan struct{})
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second):
				return
			}
		}
	}))
	r := startServe(t, map[string]string{"apps/sse.conf": fmt.Sprintf("location /events/ { proxy_pass http://%s/; }\n", up)})
	resp, err := r.client.Get(r.addr + "/events/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := 1; i <= 3; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := fmt.Sprintf("data: event %d\n", i); line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
		br.ReadString('\n') // the blank line ending the event
		next <- struct{}{}  // only now may the upstream send the next one
	}
}

// TestLargeUploadStreams proves the request body is streamed: the upstream
// must see the first megabyte before the client sends the rest.
func TestLargeUploadStreams(t *testing.T) {
	const total = 32 << 20
	gotFirst := make(chan struct{})
	result := make(chan int64, 1)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<20)
		n, err := io.ReadFull(r.Body, buf)
		if err != nil {
			result <- int64(n)
			return
		}
		close(gotFirst)
		rest, _ := io.Copy(io.Discard, r.Body)
		result <- int64(n) + rest
		w.WriteHeader(201)
	}))
	r := startServe(t, map[string]string{"apps/up.conf": fmt.Sprintf("location /upload/ { proxy_pass http://%s/; }\n", up)})
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		pw.Write(chunk)
		select {
		case <-gotFirst:
		case <-time.After(15 * time.Second):
			pw.CloseWithError(fmt.Errorf("the upstream never saw the first megabyte: the proxy buffers uploads"))
			return
		}
		for sent := len(chunk); sent < total; sent += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", r.addr+"/upload/file", pr)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := <-result; n != total {
		t.Fatalf("upstream received %d bytes, want %d", n, total)
	}
}

func TestUpstreamDownIs503(t *testing.T) {
	r := startServe(t, map[string]string{"apps/down.conf": fmt.Sprintf("location /down/ { proxy_pass http://%s/; }\nlocation /nohost/ { proxy_pass http://no-such-host.invalid:3000/; }\n", closedPort(t))})
	for _, path := range []string{"/down/x", "/nohost/x"} {
		resp, body := r.get(t, path)
		if resp.StatusCode != 503 {
			t.Fatalf("%s: status %d, want 503", path, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache, no-store, must-revalidate" {
			t.Errorf("Cache-Control %q", cc)
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatal(err)
		}
		if e["error"] != "Service Unavailable" || e["status"] != float64(503) ||
			e["message"] != "The requested application is not currently running. Please start the service and try again." {
			t.Errorf("%s: body %s", path, body)
		}
	}
}

func TestUpstreamTimeoutIs504(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	r := startServe(t, map[string]string{"apps/slow.conf": fmt.Sprintf("location /slow/ { proxy_read_timeout 300ms; proxy_pass http://%s/; }\n", up)})
	resp, body := r.get(t, "/slow/x")
	if resp.StatusCode != 504 || !strings.Contains(body, `"status":504`) {
		t.Fatalf("status %d body %s, want 504 JSON", resp.StatusCode, body)
	}
}

func TestErrorPageInterceptsUpstreamErrors(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			http.Error(w, "upstream broke", http.StatusBadGateway)
			return
		}
		http.Error(w, "upstream 500", http.StatusInternalServerError)
	}))
	r := startServe(t, map[string]string{"apps/e.conf": fmt.Sprintf(`
location /e/ {
    proxy_intercept_errors on;
    error_page 502 503 504 = @fallback;
    proxy_pass http://%s/;
}
location /down/ {
    error_page 503 = @fallback;
    proxy_pass http://%s/;
}
location @fallback { return 503 '{"fallback":true}'; }
`, up, closedPort(t))})
	resp, body := r.get(t, "/e/boom")
	if resp.StatusCode != 503 || body != `{"fallback":true}` {
		t.Errorf("intercepted 502: %d %q", resp.StatusCode, body)
	}
	resp, body = r.get(t, "/e/other")
	if resp.StatusCode != 500 || !strings.Contains(body, "upstream 500") {
		t.Errorf("500 not in error_page must pass through: %d %q", resp.StatusCode, body)
	}
	resp, body = r.get(t, "/down/x")
	if resp.StatusCode != 503 || body != `{"fallback":true}` {
		t.Errorf("error_page for the proxy's own 503: %d %q", resp.StatusCode, body)
	}
}

func TestUnmatchedIs404JSON(t *testing.T) {
	r := startServe(t, map[string]string{"apps/a.conf": "location /a/ { return 204; }\n"})
	resp, body := r.get(t, "/nothing/here")
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"/nothing/here"`) {
		t.Fatalf("%d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestBodyLimitEmptyGifAndProxyRedirect(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, "http://"+r.Host+"/next", http.StatusFound)
	}))
	r := startServe(t, map[string]string{"apps/a.conf": fmt.Sprintf(`
location /small/ { client_max_body_size 10; proxy_pass http://%s/; }
location /app/ { proxy_pass http://%s/; }
location = /pixel.gif { empty_gif; }
`, up, up)})
	resp, _ := r.do(t, "POST", "/small/x", strings.NewReader(strings.Repeat("y", 100)), nil)
	if resp.StatusCode != 413 {
		t.Errorf("body over client_max_body_size: %d, want 413", resp.StatusCode)
	}
	resp, body := r.get(t, "/pixel.gif")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" || !strings.HasPrefix(body, "GIF89a") {
		t.Errorf("empty_gif: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, _ = r.get(t, "/app/start")
	if loc := resp.Header.Get("Location"); loc != "/app/next" {
		t.Errorf("proxy_redirect default: Location %q, want /app/next", loc)
	}
}

func TestTunnelListener(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{"apps/a.conf": fmt.Sprintf("location /a/ { proxy_set_header X-Scheme $scheme; proxy_pass http://%s/; }\n", up)})
	resp, err := r.client.Get(r.tunnelAddr + "/a/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := decodeSeen(t, string(body))
	if got := s.Header["X-Forwarded-Proto"]; len(got) != 1 || got[0] != "https" {
		t.Errorf("through the tunnel X-Forwarded-Proto = %v, want https", got)
	}
	if got := s.Header["X-Scheme"]; len(got) != 1 || got[0] != "https" {
		t.Errorf("through the tunnel $scheme = %v, want https", got)
	}
	for _, page := range []string{"/routes.json", "/", "/devproxy/api/config"} {
		resp, err := r.client.Get(r.tunnelAddr + page)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("%s through the tunnel: %d, want 403", page, resp.StatusCode)
		}
	}
}

func TestOwnPages(t *testing.T) {
	r := startServe(t, map[string]string{
		"apps/a.conf": "location /api/ { return 200 a; }\n",
		"apps/b.conf": "location /api { return 200 b; }\nlocation /b/ { return 204; }\n",
	})
	resp, body := r.get(t, "/devproxy/api/config")
	if resp.StatusCode != 200 || !strings.Contains(body, `"apiBasePath":"/devproxy/api"`) || !strings.Contains(body, `"version"`) {
		t.Errorf("/devproxy/api/config: %d %s", resp.StatusCode, body)
	}
	resp, body = r.get(t, "/routes.json")
	var doc RoutesDocument
	if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/routes.json: %d %v", resp.StatusCode, err)
	}
	if len(doc.Conflicts) != 1 || doc.Conflicts[0].Route != "/api/" || len(doc.Routes) != 3 {
		t.Errorf("/routes.json: %+v", doc)
	}
	resp, body = r.get(t, "/")
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/b/"`) || !strings.Contains(body, "apps/b.conf") {
		t.Errorf("landing page: %d %s", resp.StatusCode, body)
	}
}

// TestRootAndDashboard (spec §4, changed): the dashboard is always at
// /devproxy/ and at / while no route claims it; an app that claims / gets
// it, absolute-form requests included; the old page paths lead to
// /devproxy/.
func TestRootAndDashboard(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{"apps/a.conf": "location /a/ { return 200 a; }\n"})
	for _, path := range []string{"/", "/devproxy/"} {
		resp, body := r.get(t, path)
		if resp.StatusCode != 200 || !strings.Contains(body, "Dev Tunnel Proxy") || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s without a root route: %d %.60q, want the dashboard", path, resp.StatusCode, body)
		}
	}
	for _, path := range []string{"/devproxy", "/status", "/dashboard", "/health", "/reports", "/dashboard/"} {
		resp, _ := r.get(t, path)
		if resp.StatusCode != 301 || resp.Header.Get("Location") != "/devproxy/" {
			t.Errorf("GET %s: %d Location %q, want 301 to /devproxy/", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	writeRouteFile(t, r.root, "apps/main.conf", fmt.Sprintf("location / { proxy_pass http://%s; }\n", up))
	waitFor(t, func() bool { resp, _ := r.get(t, "/"); return resp.Header.Get("Content-Type") == "application/json" })
	for _, target := range []string{"/", "/?q=1", "http://localhost/", "http://localhost"} {
		status, body := rawGet(t, r.addr, target)
		if status != 200 || !strings.Contains(body, `"uri":"/`) {
			t.Errorf("GET %s with location / in apps/main.conf: %d %.80q, want the app's answer", target, status, body)
		}
	}
	resp, body := r.get(t, "/devproxy/")
	if resp.StatusCode != 200 || !strings.Contains(body, "apps/main.conf") {
		t.Errorf("GET /devproxy/ with a root route: %d %.60q, want the dashboard", resp.StatusCode, body)
	}
}

// waitFor polls cond (a reload to land) for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the change never took effect")
		}
	}
}

// TestUpstreamNotReadingBodyIs504 covers proxy_send_timeout: an upstream
// that stops taking the request body.
func TestUpstreamNotReadingBodyIs504(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never reads the body
		case <-release:
		case <-r.Context().Done():
		}
	}))
	r := startServe(t, map[string]string{"apps/s.conf": fmt.Sprintf("location /s/ { proxy_send_timeout 300ms; proxy_read_timeout 30s; proxy_pass http://%s/; }\n", up)})
	body := io.LimitReader(zeros{}, 256<<20) // far more than socket buffers hold
	resp, text := r.do(t, "POST", "/s/x", body, nil)
	if resp.StatusCode != 504 || !strings.Contains(text, "proxy_send_timeout") {
		t.Fatalf("status %d body %s, want 504 naming proxy_send_timeout", resp.StatusCode, text)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// unacceptingListener is a loopback listener that never accepts, with a
// backlog of one: once the queue is full, the kernel drops further SYNs and
// a connect hangs until its timeout.
func unacceptingListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the accept queue.
	for i := 0; i < 4; i++ {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return addr
}

func TestConnectTimeoutIs503(t *testing.T) {
	addr := unacceptingListener(t)
	r := startServe(t, map[string]string{"apps/c.conf": fmt.Sprintf("location /c/ { proxy_connect_timeout 300ms; proxy_pass http://%s/; }\n", addr)})
	start := time.Now()
	resp, body := r.get(t, "/c/x")
	if resp.StatusCode != 503 || !strings.Contains(body, "not currently running") {
		t.Fatalf("status %d body %s, want the 503 JSON", resp.StatusCode, body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered after %v; proxy_connect_timeout is 300ms", took)
	}
}

func TestProxyRedirectRules(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://internal.example:9000"+r.URL.Path)
		w.WriteHeader(http.StatusFound)
	}))
	r := startServe(t, map[string]string{"apps/r.conf": fmt.Sprintf(`
location /from-to/ { proxy_redirect http://internal.example:9000/ /from-to/; proxy_pass http://%s/; }
location /regex/ { proxy_redirect ~^http://internal\.example:\d+/(.*)$ /regex/$1; proxy_pass http://%s/; }
location /off/ { proxy_redirect off; proxy_pass http://%s/; }
`, up, up, up)})
	for path, want := range map[string]string{
		"/from-to/a": "/from-to/a",
		"/regex/b":   "/regex/b",
		"/off/c":     "http://internal.example:9000/c",
	} {
		resp, _ := r.get(t, path)
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("GET %s: Location %q, want %q", path, got, want)
		}
	}
}

// TestExpectContinue: a client that asks for "100 Continue" gets it once
// the body is wanted (a proxied request), and never after the final
// answer when the body is not wanted (a return).
func TestExpectContinue(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{"apps/e.conf": fmt.Sprintf("location /up/ { proxy_pass http://%s/; }\nlocation /ret/ { return 200 done; }\n", up)})
	addr := strings.TrimPrefix(r.addr, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	fmt.Fprint(c, "POST /up/x HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("waiting for 100 Continue: %q %v", line, err)
	}
	br.ReadString('\n') // the empty line after it
	fmt.Fprint(c, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if s := decodeSeen(t, string(b)); s.Body != 5 {
		t.Errorf("the upstream read %d bytes, want 5", s.Body)
	}

	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c2, "POST /ret/x HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	rest, _ := io.ReadAll(c2)
	if !strings.HasPrefix(string(rest), "HTTP/1.1 200") || strings.Contains(string(rest), "100 Continue") {
		t.Errorf("a return with an unwanted body answered %q", rest)
	}
}
