package lsp

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestSnapshotsEndWithTheNewest publishes snapshots from two goroutines at
// once, as the read loop and the settings goroutine do (under -race in
// make test): whatever the interleaving, the server ends on the
// workspace's newest table, and a snapshot's version is its table's
// generation.
func TestSnapshotsEndWithTheNewest(t *testing.T) {
	root := t.TempDir()
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{})
	s.ws = ws
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				rel := fmt.Sprintf("apps/g%d.conf", g)
				table := ws.SetOverlayVersion(filepath.Join(root, rel), fmt.Appendf(nil, "location /g%d/ { return 200 %d; }\n", g, i), int32(i))
				// Widen the window between building a table and
				// publishing it, where the other goroutine may publish
				// a newer one.
				time.Sleep(time.Duration(i%7) * 10 * time.Microsecond)
				s.setTable(table)
			}
		}()
	}
	wg.Wait()
	// An older table that arrives last does not replace a newer one.
	older := ws.SetOverlay(filepath.Join(root, "apps/late.conf"), []byte("location /late/ { return 204; }\n"))
	newest := ws.Load()
	s.setTable(newest)
	s.setTable(older)
	snap := s.snap.Load()
	if snap.table != ws.Table() || snap.table != newest {
		t.Fatalf("the server's snapshot has generation %d, the workspace's newest is %d", snap.table.Generation, ws.Table().Generation)
	}
	if snap.version != int64(snap.table.Generation) {
		t.Errorf("snapshot version %d, table generation %d", snap.version, snap.table.Generation)
	}
	// The snapshot's texts and versions are the ones its table was built
	// from.
	for g := range 2 {
		rel := fmt.Sprintf("apps/g%d.conf", g)
		text, ok := snap.text(rel)
		v, open := snap.docVersion(rel)
		if !ok || !open || v != 99 || text != fmt.Sprintf("location /g%d/ { return 200 99; }\n", g) {
			t.Errorf("%s: text %q (%v), version %d (%v), want the last buffer, version 99", rel, text, ok, v, open)
		}
	}
}
