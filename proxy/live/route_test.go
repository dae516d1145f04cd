package live

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/join"
)

// proxySite is the real proxy on loopback with local behind its local
// listener.
type proxySite struct {
	addr, tunnelAddr string
}

func startProxy(t *testing.T, local http.Handler) *proxySite {
	t.Helper()
	ready := make(chan httpproxy.ServeInfo, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpproxy.Serve(ctx, httpproxy.ServeOptions{Root: t.TempDir(), Listen: "127.0.0.1:0", TunnelListen: "127.0.0.1:0",
			Local: local, Ready: func(i httpproxy.ServeInfo) { ready <- i }})
	}()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Serve did not stop")
			}
		})
	})
	select {
	case info := <-ready:
		return &proxySite{addr: info.Addr, tunnelAddr: info.TunnelAddr}
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not become ready")
	}
	return nil
}

// counting counts the requests that reach h.
func counting(n *atomic.Int32, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}

// TestRouteByAuthorization: a request with an Authorization header goes
// to join, unless it is an API key's; every other (with an Origin or
// without) to live.
func TestRouteByAuthorization(t *testing.T) {
	stub := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	}
	h := Route(stub("join"), stub("live"))
	for _, tc := range []struct {
		header http.Header
		want   string
	}{
		{http.Header{"Authorization": {"Bearer 0123"}}, "join"},
		{http.Header{"Authorization": {""}}, "join"},
		{http.Header{"Authorization": {"Bearer 0123"}, "Origin": {"http://localhost:1"}}, "join"},
		{http.Header{"Authorization": {"Bearer dvp_abc"}}, "live"}, // an API key (the authenticator checked it)
		{http.Header{"Authorization": {"Bearer dvp_abc", "Bearer 0123"}}, "join"},
		{nil, "live"},
		{http.Header{"Origin": {"http://localhost:1"}}, "live"},
		{http.Header{"Cookie": {"Authorization=Bearer 0123"}}, "live"},
	} {
		r := httptest.NewRequest("GET", Path, nil)
		for k, v := range tc.header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Body.String(); got != tc.want {
			t.Errorf("%v: reached %s, want %s", tc.header, got, tc.want)
		}
	}
}

// TestABrowserNeverBecomesAMember: behind the real proxy, with a real
// join owner and the hub at one path through Route, a member with the
// token joins; a page (Origin set, no token) reaches the hub, where
// devproxy/register is an unknown method; a page that sends the token
// too is refused by the owner. The owner never lists the page.
func TestABrowserNeverBecomesAMember(t *testing.T) {
	tok, err := join.LoadOrCreateToken(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	owner, err := join.NewOwner(join.OwnerConfig{Token: tok,
		Client:  join.Client{PID: os.Getpid(), Kind: join.KindServe, Name: "owner"},
		Folders: []join.FolderReg{{Root: t.TempDir()}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	hub := NewHub(Options{})
	t.Cleanup(hub.Close)
	var toHub atomic.Int32
	p := startProxy(t, Route(owner.Handler(), counting(&toHub, hub.Handler())))

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := join.Join(ctx, p.addr, tok, join.Client{PID: os.Getpid(), Kind: join.KindVSCode, Name: "member"}, []join.FolderReg{{Root: t.TempDir()}})
	if err != nil {
		t.Fatalf("a member with the token: %v", err)
	}
	defer m.Close()
	if toHub.Load() != 0 {
		t.Errorf("the member's request reached the hub")
	}

	page := mustDial(t, p.addr, origin("http://"+p.addr))
	register := map[string]any{
		"client":  map[string]any{"pid": os.Getpid(), "kind": "vscode", "name": "page"},
		"folders": []map[string]string{{"root": t.TempDir()}},
	}
	for i, method := range []string{join.MethodRegister, join.MethodUpdate, join.MethodStop} {
		if code, _, _ := errorOf(t, call(t, page, i, method, register)); code != jsonrpc2.CodeMethodNotFound {
			t.Errorf("a page's %s: code %d, want MethodNotFound from the hub", method, code)
		}
	}
	subscribe(t, page, TopicRoutes)

	withToken := origin("http://" + p.addr)
	withToken.Set("Authorization", "Bearer "+tok)
	if _, resp, err := dialRaw(t, p.addr, withToken); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a page with the token: %v %v, want the owner's 403", resp, err)
	}
	if got := owner.Members().Members; len(got) != 1 || got[0].Name != "member" {
		b, _ := json.Marshal(got)
		t.Errorf("members %s, want only the member", b)
	}
	if toHub.Load() != 1 {
		t.Errorf("%d requests reached the hub, want the page's one", toHub.Load())
	}
}

// TestBehindTheProxy: through the tunnel listener /devproxy/ws is the
// proxy's 403 and never reaches the hub, with or without an Origin; on
// the local listener a page of the proxy's own origin subscribes and
// hears what is published, and so does the Go client.
func TestBehindTheProxy(t *testing.T) {
	hub := NewHub(Options{})
	t.Cleanup(hub.Close)
	var reached atomic.Int32
	p := startProxy(t, counting(&reached, hub.Handler()))

	for _, h := range []http.Header{nil, origin("http://" + p.tunnelAddr), origin("http://" + p.addr)} {
		_, resp, err := dialRaw(t, p.tunnelAddr, h)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("through the tunnel with %v: %v %v", h, resp, err)
		}
		if b := body(resp); !strings.Contains(b, "not served through the tunnel") {
			t.Errorf("through the tunnel: %s, want the proxy's own refusal", b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if c, err := Dial(ctx, p.tunnelAddr, []string{TopicRoutes}, nil); err == nil {
		c.Close()
		t.Error("Dial through the tunnel listener succeeded")
	}
	if reached.Load() != 0 || hub.Clients() != 0 {
		t.Fatalf("the hub was reached through the tunnel: %d requests", reached.Load())
	}

	page := mustDial(t, p.addr, origin("http://"+p.addr))
	subscribe(t, page, TopicHealth)
	notes := make(chan json.RawMessage, 1)
	c, err := Dial(ctx, p.addr, []string{TopicHealth}, func(_ string, params json.RawMessage) { notes <- params })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hub.Publish(TopicHealth, "devproxy/health", map[string]string{"app.localhost": "error"})
	if m := read(t, page); string(m["method"]) != `"devproxy/health"` || string(m["params"]) != `{"app.localhost":"error"}` {
		t.Errorf("the page got %s", show(m))
	}
	select {
	case got := <-notes:
		if string(got) != `{"app.localhost":"error"}` {
			t.Errorf("the client got %s", got)
		}
	case <-time.After(wait):
		t.Error("the client heard nothing")
	}
	if _, resp, err := dialRaw(t, p.addr, origin("http://evil.example")); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("another site through the proxy: %v %v", resp, err)
	}
}
