package httpproxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/gorilla/websocket"
)

// named answers with its name, after release is closed when given.
func named(t *testing.T, name string, release <-chan struct{}, started chan<- struct{}) string {
	return upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if started != nil {
			started <- struct{}{}
		}
		if release != nil {
			select {
			case <-release:
			case <-time.After(15 * time.Second):
			}
		}
		io.WriteString(w, name)
	}))
}

func withReloads(ch chan *routing.RouteTable) func(*ServeOptions) {
	return func(o *ServeOptions) {
		o.OnReload = func(t *routing.RouteTable) { ch <- t }
	}
}

// waitReload waits for the reload that makes cond true.
func waitReload(t *testing.T, ch chan *routing.RouteTable, cond func(*routing.RouteTable) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case tbl := <-ch:
			if cond(tbl) {
				return
			}
		case <-deadline:
			t.Fatal("the watcher did not reload the route table")
		}
	}
}

func TestReloadSwapsAtomicallyAndInFlightRequestsFinish(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{}, 1)
	oldUp := named(t, "old", release, started)
	newUp := named(t, "new", nil, nil)
	reloads := make(chan *routing.RouteTable, 16)
	r := startServe(t, map[string]string{"apps/a.conf": fmt.Sprintf("location /a/ { proxy_pass http://%s; }\n", oldUp)}, withReloads(reloads))

	inflight := make(chan string, 1)
	go func() {
		resp, err := r.client.Get(r.addr + "/a/slow")
		if err != nil {
			inflight <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- string(b)
	}()
	<-started // the request is at the old upstream

	writeRouteFile(t, r.root, "apps/a.conf", fmt.Sprintf("location /a/ { proxy_pass http://%s; }\n", newUp))
	waitReload(t, reloads, func(tbl *routing.RouteTable) bool {
		b, _ := tbl.Lookup("/a/x")
		return b != nil && strings.Contains(b.Upstream, newUp)
	})
	if _, body := r.get(t, "/a/x"); body != "new" {
		t.Fatalf("after the reload /a/ goes to %q, want new", body)
	}
	close(release)
	if got := <-inflight; got != "old" {
		t.Fatalf("the in-flight request was answered by %q, want old (the table it started with)", got)
	}
}

// TestBrokenFileKeepsOthersServing: a file that stops parsing takes down
// no other file's routes, and keeps serving its own last good version,
// marked stale in /routes.json, until it is fixed (spec §4).
func TestBrokenFileKeepsOthersServing(t *testing.T) {
	reloads := make(chan *routing.RouteTable, 16)
	r := startServe(t, map[string]string{
		"apps/a.conf": "location /a/ { return 200 a; }\n",
		"apps/b.conf": "location /b/ { return 200 b; }\n",
	}, withReloads(reloads))
	writeRouteFile(t, r.root, "apps/b.conf", "location /b/ { return 200 broken;\n") // unclosed
	waitReload(t, reloads, func(tbl *routing.RouteTable) bool { return tbl.ErrorCount() > 0 })
	if resp, body := r.get(t, "/a/"); resp.StatusCode != 200 || body != "a" {
		t.Errorf("/a/ after b.conf broke: %d %q", resp.StatusCode, body)
	}
	if resp, body := r.get(t, "/b/"); resp.StatusCode != 200 || body != "b" {
		t.Errorf("/b/ from a broken file: %d %q, want its last good version's 200 b", resp.StatusCode, body)
	}
	if _, body := r.get(t, "/routes.json"); !strings.Contains(body, `"path":"apps/b.conf","kind":"app","ok":false,"stale":true,"staleSince":`) {
		t.Errorf("/routes.json does not say apps/b.conf is stale: %s", body)
	}
	if _, body := r.get(t, "/devproxy/"); !strings.Contains(body, "<code>apps/b.conf</code> — serving the last good version from ") {
		t.Errorf("the dashboard does not say apps/b.conf is stale: %s", body)
	}
	// Fixing it brings the route back; deleting a file drops its routes.
	writeRouteFile(t, r.root, "apps/b.conf", "location /b/ { return 200 fixed; }\n")
	waitReload(t, reloads, func(tbl *routing.RouteTable) bool { return tbl.ErrorCount() == 0 })
	if _, body := r.get(t, "/b/"); body != "fixed" {
		t.Errorf("/b/ after the fix: %q", body)
	}
}

func TestWebSocketSurvivesReload(t *testing.T) {
	up := wsEchoUpstream(t, "")
	reloads := make(chan *routing.RouteTable, 16)
	r := startServe(t, map[string]string{"apps/ws.conf": fmt.Sprintf("location /ws/ { proxy_pass http://%s/; }\n", up)}, withReloads(reloads))
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(r.addr, "http")+"/ws/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Remove the route entirely: the open socket keeps its table.
	writeRouteFile(t, r.root, "apps/ws.conf", "# gone\n")
	waitReload(t, reloads, func(tbl *routing.RouteTable) bool { b, _ := tbl.Lookup("/ws/"); return b == nil })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "still here" {
		t.Fatalf("after the reload: %q %v", msg, err)
	}
}
