package httpproxy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestServeTheCallersWorkspace: given a workspace (the language server's),
// the proxy serves exactly its served tables: the files on disk, under the
// editor's settings (routes from folders that only the editor's settings
// name), never an editor's unsaved buffer, and every served table it
// publishes afterwards.
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
	// An editor buffer (overlay) is the editor's alone: the proxy serves
	// what is on disk.
	ws.SetOverlay(filepath.Join(root, "more/n.conf"), []byte("location /n/ { return 200 n; }\n"))
	if b, _ := ws.Table().Lookup("/n/x"); b == nil {
		t.Fatal("the editor's table does not show the buffer")
	}
	if s := get("/n/x"); s != 404 {
		t.Fatalf("an unsaved buffer is served: %d, want 404", s)
	}
	// Saved, it is served as soon as the workspace publishes it; so is a
	// table from another goroutine.
	writeRouteFile(t, root, "more/n.conf", "location /n/ { return 200 n; }\n")
	ws.Reload(filepath.Join(root, "more/n.conf"))
	if s := get("/n/x"); s != 200 {
		t.Fatalf("a saved route the workspace published: %d, want 200", s)
	}
	if info.Proxy.Table() != ws.Served() {
		t.Fatalf("the proxy serves generation %d, the workspace's newest served table is %d", info.Proxy.Table().Generation, ws.Served().Generation)
	}
}

// TestPublishedTablesEndWithTheNewest publishes served tables from two
// goroutines at once (under -race in make test): generations grow, and the
// proxy and the workspace end on the same, newest table.
func TestPublishedTablesEndWithTheNewest(t *testing.T) {
	root := t.TempDir()
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	p := New(ws.Served(), nil)
	defer ws.SubscribeServed(p.Swap)()
	var mu sync.Mutex
	var seen []uint64
	defer ws.SubscribeServed(func(t *routing.RouteTable) {
		mu.Lock()
		seen = append(seen, t.Generation)
		mu.Unlock()
	})()
	if err := os.MkdirAll(filepath.Join(root, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g := range 2 {
		wg.Go(func() {
			name := filepath.Join(root, fmt.Sprintf("apps/g%d.conf", g))
			for i := range 50 {
				// Every version differs in size, so each Reload reads a
				// change and publishes a served table.
				if err := os.WriteFile(name, fmt.Appendf(nil, "location /g%d/ { return 200 %d; }\n%s", g, i, strings.Repeat("#", i)), 0o644); err != nil {
					errs <- err
					return
				}
				ws.Reload(name)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p.Table() != ws.Served() {
		t.Fatalf("the proxy serves generation %d, the newest is %d", p.Table().Generation, ws.Served().Generation)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("generations out of order: %v", seen)
		}
	}
	if len(seen) != 100 || seen[len(seen)-1] != ws.Served().Generation {
		t.Fatalf("saw %d tables ending at %d, want 100 ending at the newest %d", len(seen), seen[len(seen)-1], ws.Served().Generation)
	}
}
