package httpproxy

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestServeTheCallersWorkspace: given a workspace (the language server's),
// the proxy serves exactly its tables: routes from folders that only the
// editor's settings name, and every table it publishes afterwards.
func TestServeTheCallersWorkspace(t *testing.T) {
	up := echoUpstream(t)
	root := t.TempDir()
	writeRouteFile(t, root, "more/m.conf", fmt.Sprintf("location /m/ { proxy_pass http://%s/; }\n", up))
	ws, err := routing.NewWorkspaceWithDefaults(root, routing.Config{Apps: []string{"more/*.conf"}})
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan ServeInfo, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ServeOptions{Workspace: ws, Listen: "127.0.0.1:0", TunnelListen: "127.0.0.1:0",
			Ready: func(i ServeInfo) { ready <- i }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	info := <-ready
	get := func(path string) int {
		resp, err := http.Get("http://" + info.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/m/x"); s != 200 {
		t.Fatalf("a route from a folder only the editor's settings name: %d, want 200", s)
	}
	// An editor buffer (overlay) is served as soon as the workspace
	// publishes it; so is a table from another goroutine.
	ws.SetOverlay(filepath.Join(root, "more/n.conf"), []byte("location /n/ { return 200 n; }\n"))
	if s := get("/n/x"); s != 200 {
		t.Fatalf("a route the workspace published: %d, want 200", s)
	}
	if info.Proxy.Table() != ws.Table() {
		t.Fatalf("the proxy serves generation %d, the workspace's newest is %d", info.Proxy.Table().Generation, ws.Table().Generation)
	}
}

// TestPublishedTablesEndWithTheNewest publishes tables from two goroutines
// at once (under -race in make test): generations grow, and the proxy and
// the workspace end on the same, newest table.
func TestPublishedTablesEndWithTheNewest(t *testing.T) {
	root := t.TempDir()
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	p := New(ws.Table(), nil)
	defer ws.Subscribe(p.Swap)()
	var mu sync.Mutex
	var seen []uint64
	defer ws.Subscribe(func(t *routing.RouteTable) {
		mu.Lock()
		seen = append(seen, t.Generation)
		mu.Unlock()
	})()
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				ws.SetOverlay(filepath.Join(root, fmt.Sprintf("apps/g%d.conf", g)), fmt.Appendf(nil, "location /g%d/ { return 200 %d; }\n", g, i))
			}
		}()
	}
	wg.Wait()
	if p.Table() != ws.Table() {
		t.Fatalf("the proxy serves generation %d, the newest is %d", p.Table().Generation, ws.Table().Generation)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("generations out of order: %v", seen)
		}
	}
	if len(seen) != 100 || seen[len(seen)-1] != ws.Table().Generation {
		t.Fatalf("saw %d tables ending at %d, want 100 ending at the newest %d", len(seen), seen[len(seen)-1], ws.Table().Generation)
	}
}
