package routing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

func writeFile(t *testing.T, root, rel, content string, mtime time.Time) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func parsedOf(t *testing.T, tbl *RouteTable, rel string) *routefile.File {
	t.Helper()
	f := tbl.FileByPath(rel)
	if f == nil {
		t.Fatalf("%s is not in the table; files: %v", rel, fileList(tbl.Files))
	}
	return f.Parsed
}

func TestWorkspaceDiscoversRouteFiles(t *testing.T) {
	root := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	writeFile(t, root, "apps/a.conf", "location /a/ { proxy_pass http://127.0.0.1:1; }\n", base)
	writeFile(t, root, "apps/b.conf", "location /b/ { proxy_pass http://127.0.0.1:2; }\n", base.Add(time.Hour))
	writeFile(t, root, "overrides/z.conf", "location /z/ { return 204; }\n", base)
	// Ignored by spec §1: hidden files and names not ending in .conf.
	writeFile(t, root, "apps/.hidden.conf", "garbage {", base)
	writeFile(t, root, "apps/a.conf.backup.123", "garbage {", base)
	writeFile(t, root, "apps/notes.txt", "garbage {", base)

	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	got := fileList(ws.Table().Files)
	// Composed order: overrides by name, then apps newest first.
	if want := "overrides/z.conf, apps/b.conf, apps/a.conf"; got != want {
		t.Fatalf("files = %s, want %s", got, want)
	}
	if n := ws.Table().ErrorCount(); n != 0 {
		t.Fatalf("unexpected errors: %v", ws.Table().Diagnostics)
	}
}

// TestReloadReparsesOnlyTheChangedFile checks the incremental rebuild: the
// parse results of untouched files are reused as they are.
func TestReloadReparsesOnlyTheChangedFile(t *testing.T) {
	root := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	for _, name := range []string{"a", "b", "c"} {
		writeFile(t, root, "apps/"+name+".conf", "location /"+name+"/ { proxy_pass http://127.0.0.1:1/; }\n", base)
	}
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	before := ws.Table()
	aBefore, bBefore := parsedOf(t, before, "apps/a.conf"), parsedOf(t, before, "apps/b.conf")

	writeFile(t, root, "apps/b.conf", "location /b2/ { proxy_pass http://127.0.0.1:2/; }\n", base.Add(time.Minute))
	after := ws.Reload(filepath.Join(root, "apps/b.conf"))

	if parsedOf(t, after, "apps/a.conf") != aBefore {
		t.Error("apps/a.conf was re-parsed although it did not change")
	}
	if parsedOf(t, after, "apps/b.conf") == bBefore {
		t.Error("apps/b.conf was not re-parsed after it changed")
	}
	if b, _ := after.Lookup("/b2/x"); b == nil || b.File.Path != "apps/b.conf" {
		t.Errorf("the new route /b2/ is not served: %v", b)
	}
	if b, _ := after.Lookup("/b/x"); b != nil {
		t.Errorf("the removed route /b/ is still served by %s", b.Label())
	}
	// The old snapshot is immutable: it still routes /b/.
	if b, _ := before.Lookup("/b/x"); b == nil {
		t.Error("the previous table changed under its readers")
	}
	if ws.Table() != after {
		t.Error("Table() does not return the latest snapshot")
	}
}

func TestReloadCreatedAndDeletedFiles(t *testing.T) {
	root := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "apps/new.conf", "location /new/ { return 204; }\n", base)
	tbl := ws.Reload("apps/new.conf")
	if b, _ := tbl.Lookup("/new/"); b == nil {
		t.Fatal("a created file is not picked up by Reload")
	}
	os.Remove(filepath.Join(root, "apps/a.conf"))
	tbl = ws.Reload("apps/a.conf")
	if tbl.FileByPath("apps/a.conf") != nil {
		t.Fatal("a deleted file is still in the table")
	}
	if b, _ := tbl.Lookup("/a/"); b != nil {
		t.Fatal("a deleted file still routes")
	}
	// Paths outside the route folders are ignored.
	tbl2 := ws.Reload("README.md", "apps/x.conf.backup.1")
	if len(tbl2.Files) != 1 {
		t.Fatalf("files = %v", fileList(tbl2.Files))
	}
}

// A file that stops parsing keeps no routes, and the others keep serving.
func TestBrokenFileLosesOnlyItsRoutes(t *testing.T) {
	root := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	writeFile(t, root, "apps/good.conf", "location /good/ { return 204; }\n", base)
	writeFile(t, root, "apps/bad.conf", "location /bad/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "apps/bad.conf", "location /bad/ { return 204;\n", base.Add(time.Second))
	tbl := ws.Reload("apps/bad.conf")
	if b, _ := tbl.Lookup("/bad/"); b != nil {
		t.Error("a file with a syntax error still routes")
	}
	if b, _ := tbl.Lookup("/good/"); b == nil {
		t.Error("a broken file took down another file's routes")
	}
	var found bool
	for _, d := range tbl.Diagnostics {
		if d.File == "apps/bad.conf" && d.Severity == routefile.Error && strings.Contains(d.Message, "never closed") {
			found = true
		}
	}
	if !found {
		t.Errorf("no diagnostic names the unclosed block: %v", tbl.Diagnostics)
	}
}

func TestConfigChangesFolders(t *testing.T) {
	root := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n", base)
	writeFile(t, root, "routes/r.conf", "location /r/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := ws.Table().Lookup("/r/"); b != nil {
		t.Fatal("routes/ is not a route folder by default")
	}
	writeFile(t, root, ConfigFile, `{"apps": ["routes/*.conf"]}`, base)
	tbl := ws.Reload(ConfigFile)
	if b, _ := tbl.Lookup("/r/"); b == nil {
		t.Fatal("devproxy.json apps glob not applied")
	}
	if b, _ := tbl.Lookup("/a/"); b != nil {
		t.Fatal("apps/ still read after devproxy.json replaced it")
	}
	writeFile(t, root, ConfigFile, `{"apps": ["routes/*.conf"], "listen": 8080, "bogus": 1}`, base)
	tbl = ws.Reload(ConfigFile)
	var msgs []string
	for _, d := range tbl.Diagnostics {
		if d.File == ConfigFile {
			msgs = append(msgs, d.Message)
		}
	}
	if all := strings.Join(msgs, "\n"); !strings.Contains(all, `"listen" must be`) || strings.Contains(all, "json:") {
		t.Fatalf("a bad devproxy.json gives no diagnostic naming the setting in words: %v", msgs)
	}
	if b, _ := tbl.Lookup("/r/"); b == nil {
		t.Fatal("a bad listen setting drops the apps setting too")
	}
}

func TestResolutionsPinAndReload(t *testing.T) {
	root := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	writeFile(t, root, "apps/a.conf", "location /api/ { return 200 a; }\n", base)
	writeFile(t, root, "apps/b.conf", "location /api { return 200 b; }\n", base.Add(time.Hour))
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := ws.Table().Lookup("/api/x"); b == nil || b.File.Path != "apps/b.conf" {
		t.Fatalf("newest file should win /api/ before pinning, got %v", b)
	}
	writeFile(t, root, ResolutionsFile, `{"/api/": "a.conf"}`, base)
	tbl := ws.Reload(ResolutionsFile)
	if b, _ := tbl.Lookup("/api/x"); b == nil || b.File.Path != "apps/a.conf" {
		t.Fatalf("pinned winner does not route: %v", b)
	}
	writeFile(t, root, ResolutionsFile, `{"/api/": `, base)
	tbl = ws.Reload(ResolutionsFile)
	var bad bool
	for _, d := range tbl.Diagnostics {
		if d.File == ResolutionsFile && d.Severity == routefile.Error {
			bad = true
		}
	}
	if !bad {
		t.Fatalf("broken resolutions.json gives no error: %v", tbl.Diagnostics)
	}
}

func TestOverlayReplacesDiskContent(t *testing.T) {
	root := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.SetOverlay("apps/a.conf", []byte("location /edited/ { return 204; }\n"))
	if b, _ := tbl.Lookup("/edited/"); b == nil {
		t.Fatal("overlay content not used")
	}
	tbl = ws.ClearOverlay("apps/a.conf")
	if b, _ := tbl.Lookup("/a/"); b == nil {
		t.Fatal("clearing the overlay does not return to the disk content")
	}
}
