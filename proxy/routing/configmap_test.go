package routing

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeConfigMap lays out files as the kubelet mounts a ConfigMap volume
// (its AtomicWriter): the files in a timestamped folder, ..data a symbolic
// link to it, and each top-level entry a link through ..data. An update
// writes a new folder and swaps ..data with a rename, then removes the old
// folder: no file is ever half written, and no event names a route file.
func writeConfigMap(t *testing.T, root, stamp string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(root, stamp)
	for rel, text := range files {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(root, "..data"))
	tmp := filepath.Join(root, "..data_tmp")
	os.Remove(tmp)
	if err := os.Symlink(stamp, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "..data")); err != nil {
		t.Fatal(err)
	}
	for rel := range files {
		top := filepath.Join(root, firstElem(rel))
		if _, err := os.Lstat(top); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", firstElem(rel)), top); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" && old != stamp {
		os.RemoveAll(filepath.Join(root, old))
	}
}

func firstElem(rel string) string {
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' {
			return rel[:i]
		}
	}
	return rel
}

// TestWatchFollowsAConfigMapUpdate: the route files of a ConfigMap volume
// (a cluster's devproxy) reload when the ConfigMap is edited, without a
// restart.
func TestWatchFollowsAConfigMapUpdate(t *testing.T) {
	root := t.TempDir()
	writeConfigMap(t, root, "..2026_01", map[string]string{"apps/web.conf": "location /web/ { proxy_pass http://web-1:80; }\n"})
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	upstream := func() string {
		for _, b := range ws.Served().Blocks {
			return b.Upstream
		}
		return ""
	}
	if got := upstream(); got != "http://web-1:80" {
		t.Fatalf("before: %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := ws.Watch(ctx, 10*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"http://web-2:80", "http://web-3:80"} {
		writeConfigMap(t, root, "..2026_0"+string(rune('2'+i)), map[string]string{"apps/web.conf": "location /web/ { proxy_pass " + want + "; }\n"})
		deadline := time.Now().Add(5 * time.Second)
		for upstream() != want {
			if time.Now().After(deadline) {
				t.Fatalf("update %d: the served upstream is still %q", i+1, upstream())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
