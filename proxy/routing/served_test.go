package routing

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// These tests pin the two tables of a workspace: the editor's (Table),
// with unsaved buffers, and the proxy's (Served), from the disk only, in
// which a file that stopped parsing keeps serving its last good version
// (spec §4, stale).

// upstreamOf is where the table sends /a/x: the proxy_pass origin, or ""
// when nothing matches.
func upstreamOf(tbl *RouteTable) string {
	d := tbl.Resolve(&Request{Target: "/a/x"})
	if d.Action != ActionProxy {
		return ""
	}
	return d.Upstream
}

func TestStaleServing(t *testing.T) {
	const (
		v1     = "location /a/ { proxy_pass http://127.0.0.1:1; }\n"
		v2     = "location /a/ { proxy_pass http://127.0.0.1:2; }\n"
		broken = "location /a/ { proxy_pass http://127.0.0.1:3;\n"
	)
	type step struct {
		content string // "" deletes the file
		// served is where the served table sends /a/x; stale whether the
		// file is marked stale, and since which version (1-based step).
		served string
		stale  bool
		since  int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a broken save keeps serving the last good version until it is fixed", []step{
			{content: v1, served: "http://127.0.0.1:1"},
			{content: broken, served: "http://127.0.0.1:1", stale: true, since: 1},
			{content: broken + "# still\n", served: "http://127.0.0.1:1", stale: true, since: 1},
			{content: v2, served: "http://127.0.0.1:2"},
		}},
		{"the last good version is the latest one that parsed", []step{
			{content: v1, served: "http://127.0.0.1:1"},
			{content: v2, served: "http://127.0.0.1:2"},
			{content: broken, served: "http://127.0.0.1:2", stale: true, since: 2},
		}},
		{"a file that never parsed contributes nothing", []step{
			{content: broken, served: ""},
			{content: broken + "# still\n", served: ""},
		}},
		{"a deleted file is dropped, not stale", []step{
			{content: v1, served: "http://127.0.0.1:1"},
			{content: broken, served: "http://127.0.0.1:1", stale: true, since: 1},
			{content: "", served: ""},
			{content: broken, served: ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "apps/keep.conf", "location /keep/ { return 204; }\n", base)
			ws, err := NewWorkspace(root)
			if err != nil {
				t.Fatal(err)
			}
			mtime := func(i int) time.Time { return base.Add(time.Duration(i+1) * time.Minute) }
			for i, st := range tt.steps {
				if st.content == "" {
					os.Remove(filepath.Join(root, "apps", "a.conf"))
				} else {
					writeFile(t, root, "apps/a.conf", st.content, mtime(i))
				}
				editor := ws.Reload(filepath.Join(root, "apps", "a.conf"))
				served := ws.Served()
				if got := upstreamOf(served); got != st.served {
					t.Fatalf("step %d: the served table sends /a/x to %q, want %q", i+1, got, st.served)
				}
				mustRoute(t, served, "/keep/x")
				// The editor's table is the file as it is.
				wantEditor := ""
				if st.content != "" && !strings.Contains(st.content, ":3;") {
					wantEditor = st.served
				}
				if got := upstreamOf(editor); got != wantEditor {
					t.Fatalf("step %d: the editor's table sends /a/x to %q, want %q", i+1, got, wantEditor)
				}
				for _, tbl := range []*RouteTable{editor, served} {
					f := tbl.FileByPath("apps/a.conf")
					warning := findDiag(tbl, "apps/a.conf", routefile.CodeStale)
					if !st.stale {
						if f != nil && (f.Stale || !f.GoodSince.IsZero()) || warning != nil {
							t.Fatalf("step %d: not stale, yet marked: %+v%s", i+1, f, dumpAll(tbl.Diagnostics))
						}
						continue
					}
					since := mtime(st.since - 1)
					if f == nil || !f.Stale || !f.GoodSince.Equal(since) {
						t.Fatalf("step %d: want apps/a.conf stale since %v: %+v", i+1, since, f)
					}
					want := "serving the last good version from " + since.Local().Format("15:04:05") + " until the errors are fixed"
					if warning == nil || warning.Message != want || warning.Severity != routefile.Warning || warning.Range.Start.Line != 1 {
						t.Fatalf("step %d: want the warning %q at line 1:%s", i+1, want, dumpAll(tbl.Diagnostics))
					}
					// Both tables show the file's current errors.
					if findDiag(tbl, "apps/a.conf", routefile.CodeSyntax, "never closed") == nil {
						t.Fatalf("step %d: the current errors are missing:%s", i+1, dumpAll(tbl.Diagnostics))
					}
					r := tbl.FileReports()
					for _, fr := range r {
						if fr.Path == "apps/a.conf" && (!fr.Stale || fr.OK || fr.StaleSince != since.UTC().Format(time.RFC3339)) {
							t.Fatalf("step %d: the report says %+v", i+1, fr)
						}
					}
				}
			}
		})
	}
}

// TestStaleFileInAReport: /routes.json's files say stale and since when.
func TestStaleFileInAReport(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "apps/a.conf", "location /a/ {\n", base.Add(time.Minute))
	ws.Reload("apps/a.conf")
	b, err := json.Marshal(ws.Served().FileReports())
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"path":"apps/a.conf","kind":"app","ok":false,"stale":true,"staleSince":"` + base.UTC().Format(time.RFC3339) + `"}]`
	if string(b) != want {
		t.Errorf("report %s\nwant   %s", b, want)
	}
}

func TestUnsaved(t *testing.T) {
	const disk = "location /a/ { return 204; }\n"
	tests := []struct {
		name    string
		path    string
		overlay string
		unsaved bool
	}{
		{"a buffer that differs from the disk", "apps/a.conf", "location /a/ { return 200; }\n", true},
		{"a buffer the same as the disk", "apps/a.conf", disk, false},
		{"a buffer of a file not on disk", "apps/new.conf", disk, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "apps/a.conf", disk, base)
			ws, err := NewWorkspace(root)
			if err != nil {
				t.Fatal(err)
			}
			tbl := ws.SetOverlay(tt.path, []byte(tt.overlay))
			f := tbl.FileByPath(tt.path)
			if f == nil || !f.Open || f.Unsaved != tt.unsaved {
				t.Fatalf("want Open and Unsaved=%v: %+v", tt.unsaved, f)
			}
			for _, fr := range tbl.FileReports() {
				if fr.Path == tt.path && fr.Unsaved != tt.unsaved {
					t.Errorf("the report says unsaved=%v", fr.Unsaved)
				}
			}
			// Saved: the buffer is the disk's content.
			writeFile(t, root, tt.path, tt.overlay, base.Add(time.Minute))
			if f := ws.Reload(tt.path).FileByPath(tt.path); f == nil || f.Unsaved {
				t.Errorf("after the save the file is still unsaved: %+v", f)
			}
			if f := ws.Served().FileByPath(tt.path); f == nil || f.Unsaved || f.Open {
				t.Errorf("the served table reads the disk: %+v", f)
			}
		})
	}
}

// TestServedTableFromDiskOnly: overlays (route files, devproxy.json,
// resolutions) change the editor's table only, and publish no served
// table; a change on disk publishes both. The editor's settings apply to
// both.
func TestServedTableFromDiskOnly(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "more/m.conf", "location /m/ { return 204; }\n", base)
	writeFile(t, root, "apps/a.conf", "location /api/ { return 200 a; }\n", base)
	writeFile(t, root, "apps/b.conf", "location /api/ { return 200 b; }\n", base.Add(time.Minute))
	ws, err := NewWorkspaceWithDefaults(root, Config{Apps: []string{"apps/*.conf", "more/*.conf"}})
	if err != nil {
		t.Fatal(err)
	}
	var served []*RouteTable
	defer ws.SubscribeServed(func(t *RouteTable) { served = append(served, t) })()
	first := ws.Served()
	mustRoute(t, first, "/m/x") // the editor's settings apply
	gen := ws.Table().Generation

	overlays := []struct{ path, text string }{
		{"apps/a.conf", "location /edited/ { return 204; }\n"},
		{ConfigFile, `{"apps": ["apps/*.conf"]}`},
		{ResolutionsFile, `{"/api/": "a.conf"}`},
	}
	for _, o := range overlays {
		ws.SetOverlay(o.path, []byte(o.text))
	}
	tbl := ws.Table()
	if tbl.Generation != gen+uint64(len(overlays)) {
		t.Errorf("the editor's table has generation %d, want %d", tbl.Generation, gen+uint64(len(overlays)))
	}
	if b, _ := tbl.Lookup("/edited/"); b == nil {
		t.Error("the editor's table does not read the buffer")
	}
	if b, _ := tbl.Lookup("/m/x"); b != nil {
		t.Error("the editor's table does not read the unsaved devproxy.json")
	}
	if len(served) != 0 || ws.Served() != first {
		t.Fatalf("overlays published %d served tables", len(served))
	}
	if b, _ := first.Lookup("/api/x"); b == nil || b.File.Path != "apps/b.conf" {
		t.Errorf("the served table follows an unsaved pin: %v", b)
	}

	// A Reload that finds nothing changed on disk publishes no served
	// table either; a change does.
	ws.Reload("apps/b.conf")
	if len(served) != 0 {
		t.Fatalf("an unchanged file published a served table")
	}
	writeFile(t, root, "apps/b.conf", "location /b/ { return 204; }\n", base.Add(2*time.Minute))
	ws.Reload("apps/b.conf")
	if len(served) != 1 || served[0] != ws.Served() || served[0].Generation != first.Generation+1 {
		t.Fatalf("a change on disk: %d served tables", len(served))
	}
	mustRoute(t, ws.Served(), "/b/x")
	if b, _ := ws.Served().Lookup("/edited/"); b != nil {
		t.Error("a buffer reached the served table")
	}
	// Dropping an overlay whose file did not change publishes no served
	// table.
	ws.ClearOverlay("apps/a.conf")
	if len(served) != 1 {
		t.Errorf("clearing an overlay published a served table")
	}
}
