package httpproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// running is a devproxy serve instance started by a test.
type running struct {
	root       string
	addr       string // http://127.0.0.1:port
	tunnelAddr string
	proxy      *Proxy
	client     *http.Client
}

// startServe writes route files (relative path -> content) into a fresh
// workspace and runs Serve on loopback ports until the test ends.
func startServe(t *testing.T, files map[string]string, opts ...func(*ServeOptions)) *running {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		writeRouteFile(t, root, rel, content)
	}
	ready := make(chan ServeInfo, 1)
	o := ServeOptions{Root: root, Listen: "127.0.0.1:0", TunnelListen: "127.0.0.1:0", Ready: func(i ServeInfo) { ready <- i }}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not stop")
		}
	})
	select {
	case info := <-ready:
		return &running{
			root: root, addr: "http://" + info.Addr, tunnelAddr: "http://" + info.TunnelAddr, proxy: info.Proxy,
			client: &http.Client{
				Timeout:       20 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
		}
	case err := <-done:
		t.Fatalf("Serve failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not become ready")
	}
	return nil
}

func writeRouteFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// get performs a request through the proxy and returns the response with
// its body read.
func (r *running) do(t *testing.T, method, path string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.addr+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, string(b)
}

func (r *running) get(t *testing.T, path string) (*http.Response, string) {
	return r.do(t, http.MethodGet, path, nil, nil)
}

// seen is what the echo upstream received.
type seen struct {
	Method string              `json:"method"`
	URI    string              `json:"uri"`
	Host   string              `json:"host"`
	Header map[string][]string `json:"header"`
	Body   int64               `json:"body"`
}

// echoUpstream answers every request with a JSON description of it.
func echoUpstream(t *testing.T) string {
	t.Helper()
	return upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header, Body: n})
	}))
}

// upstream serves h on a loopback port until the test ends and returns
// "127.0.0.1:port".
func upstream(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func decodeSeen(t *testing.T, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("upstream answer %q: %v", body, err)
	}
	return s
}

// closedPort returns a loopback address that refuses connections for the
// whole test. A closed listener's port could be taken by a parallel test's
// server; instead the port stays bound, without SO_REUSEADDR and without
// listen(2), so the kernel answers every connect with a reset and refuses
// every other bind.
func closedPort(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// wsEchoUpstream echoes every WebSocket message back, after prefix, and
// answers the upgrade with an X-Path header naming the path it saw.
func wsEchoUpstream(t *testing.T, prefix string) string {
	upgrader := websocket.Upgrader{}
	return upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, http.Header{"X-Path": {r.URL.Path}})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, append([]byte(prefix), msg...)); err != nil {
				return
			}
		}
	}))
}
