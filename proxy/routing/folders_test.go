package routing

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// These tests pin how route folders are read: a folder that cannot be
// read is an error naming it and the reason (never a silent "no route
// files"), and a symbolic link that leads outside the workspace is never
// followed: a warning names the link and where it leads, and nothing of
// what it points at is read.

var base = time.Unix(1_700_000_000, 0)

func diagsFor(tbl *RouteTable, file string) []routefile.Diagnostic {
	var out []routefile.Diagnostic
	for _, d := range tbl.Diagnostics {
		if d.File == file {
			out = append(out, d)
		}
	}
	return out
}

func dumpAll(ds []routefile.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("\n\t" + d.String())
	}
	if b.Len() == 0 {
		return " (none)"
	}
	return b.String()
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// mustRoute checks that the override file keeps serving.
func mustRoute(t *testing.T, tbl *RouteTable, target string) {
	t.Helper()
	if d := tbl.Explain(&Request{Target: target}); d.Action != ActionReturn || d.Status != 204 {
		t.Errorf("%s must keep routing: %s %d", target, d.Action, d.Status)
	}
}

func TestUnreadableRouteFolder(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string, ws **Workspace)
		want  []string // in the message, besides the folder
	}{
		{"a regular file where the folder should be", func(t *testing.T, root string, _ **Workspace) {
			writeFile(t, root, "apps", "not a folder\n", base)
		}, []string{"not a folder"}},
		{"a dangling symbolic link", func(t *testing.T, root string, _ **Workspace) {
			symlink(t, filepath.Join(root, "gone"), filepath.Join(root, "apps"))
		}, []string{"gone", "no such file or directory"}},
		{"a read error", func(t *testing.T, root string, ws **Workspace) {
			writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n", base)
			(*ws).readDir = func(dir string) ([]fs.DirEntry, error) {
				if filepath.Base(dir) == "apps" {
					return nil, &fs.PathError{Op: "open", Path: dir, Err: syscall.EACCES}
				}
				return os.ReadDir(dir)
			}
		}, []string{"permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "overrides/z.conf", "location /z/ { return 204; }\n", base)
			ws, err := NewWorkspace(root)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(t, root, &ws)
			tbl := ws.Load()
			got := diagsFor(tbl, "apps")
			if len(got) != 1 {
				t.Fatalf("want one finding on the folder apps:%s", dumpAll(tbl.Diagnostics))
			}
			d := got[0]
			if d.Severity != routefile.Error || d.Code != routefile.CodeRouteFolder {
				t.Errorf("want a route-folder error: %s", d)
			}
			for _, want := range append(tt.want, "apps") {
				if !strings.Contains(d.Message, want) {
					t.Errorf("the message should say %q: %s", want, d.Message)
				}
			}
			mustRoute(t, tbl, "/z/x")
		})
	}
}

// TestUnreadableRouteFolderPermissions uses real permissions where they
// apply; as root (the usual test container) they do not stop reads, and
// TestUnreadableRouteFolder covers the same path through the seam.
func TestUnreadableRouteFolderPermissions(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n", base)
	writeFile(t, root, "overrides/z.conf", "location /z/ { return 204; }\n", base)
	dir := filepath.Join(root, "apps")
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if _, err := os.ReadDir(dir); err == nil {
		t.Skip("running as root: permissions do not stop reading the folder")
	}
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	got := diagsFor(ws.Table(), "apps")
	if len(got) != 1 || !strings.Contains(got[0].Message, "permission denied") {
		t.Fatalf("want the folder's read error:%s", dumpAll(ws.Table().Diagnostics))
	}
	mustRoute(t, ws.Table(), "/z/x")
}

func TestMissingRouteFolderIsFine(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "overrides/z.conf", "location /z/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.Table().Diagnostics) != 0 {
		t.Errorf("a missing apps folder is optional:%s", dumpAll(ws.Table().Diagnostics))
	}
}

func TestUnreadableFolderReportedOnce(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps", "not a folder\n", base)
	writeFile(t, root, ConfigFile, `{"apps": ["apps/*.conf", "other/*.conf", "apps/x*.conf"]}`, base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := diagsFor(ws.Table(), "apps"); len(got) != 1 {
		t.Errorf("want the folder reported once:%s", dumpAll(got))
	}
}

const secret = "SECRET-CONTENT-4711"

// realTempDir is a temporary folder by its resolved path (the system's
// temporary folder may itself be a link), as the warnings name it.
func realTempDir(t *testing.T) string {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// outsideDir makes a folder outside the workspace whose route file would
// produce diagnostics quoting its content, were it ever parsed.
func outsideDir(t *testing.T) string {
	dir := realTempDir(t)
	writeFile(t, dir, "secret.conf", secret+" {\nlocation /leak/ { return 204; }\n", base)
	writeFile(t, dir, "z.conf", secret+"_directive on;\nlocation /leak2/ { return 204; }\n", base)
	return dir
}

func noSecret(t *testing.T, tbl *RouteTable) {
	t.Helper()
	for _, d := range tbl.Diagnostics {
		if strings.Contains(d.Message, "SECRET") {
			t.Errorf("content from outside the workspace leaked into a diagnostic: %s", d)
		}
		for _, r := range d.Related {
			if strings.Contains(r.Message, "SECRET") {
				t.Errorf("content from outside the workspace leaked into a diagnostic: %s", d)
			}
		}
	}
	for _, target := range []string{"/leak/x", "/leak2/x"} {
		if d := tbl.Explain(&Request{Target: target}); d.Matched {
			t.Errorf("%s is routed by a file outside the workspace", target)
		}
	}
}

func TestSymlinkedRouteFileOutsideWorkspace(t *testing.T) {
	root := t.TempDir()
	out := outsideDir(t)
	writeFile(t, root, "overrides/z.conf", "location /z/ { return 204; }\n", base)
	symlink(t, filepath.Join(out, "secret.conf"), filepath.Join(root, "apps", "ext.conf"))
	// A link that stays inside the workspace keeps working.
	writeFile(t, root, "shared/in.conf", "location /in/ { return 204; }\n", base)
	symlink(t, "../shared/in.conf", filepath.Join(root, "apps", "in.conf"))

	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	check := func(tbl *RouteTable) {
		t.Helper()
		noSecret(t, tbl)
		got := diagsFor(tbl, "apps/ext.conf")
		if len(got) != 1 || got[0].Severity != routefile.Warning || got[0].Code != routefile.CodeOutsideWorkspace {
			t.Fatalf("want one outside-workspace warning on apps/ext.conf:%s", dumpAll(tbl.Diagnostics))
		}
		for _, want := range []string{"apps/ext.conf", out, "skipped"} {
			if !strings.Contains(got[0].Message, want) {
				t.Errorf("the warning should say %q: %s", want, got[0].Message)
			}
		}
		mustRoute(t, tbl, "/z/x")
		mustRoute(t, tbl, "/in/x")
	}
	check(ws.Table())
	check(ws.Reload(filepath.Join(root, "apps", "ext.conf")))
	// An editor's buffer for the link is its content too: still skipped.
	check(ws.SetOverlay("apps/ext.conf", []byte(secret+"_2 {\n")))
}

func TestSymlinkedRouteFolderOutsideWorkspace(t *testing.T) {
	root := t.TempDir()
	out := outsideDir(t)
	writeFile(t, root, "apps/a.conf", "location /z/ { return 204; }\n", base)
	symlink(t, out, filepath.Join(root, "overrides"))
	// A folder link inside the workspace keeps working.
	writeFile(t, root, "real/b.conf", "location /in/ { return 204; }\n", base)
	symlink(t, "real", filepath.Join(root, "more"))
	writeFile(t, root, ConfigFile, `{"apps": ["apps/*.conf", "more/*.conf"]}`, base)

	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.Table()
	noSecret(t, tbl)
	got := diagsFor(tbl, "overrides")
	if len(got) != 1 || got[0].Severity != routefile.Warning || got[0].Code != routefile.CodeOutsideWorkspace {
		t.Fatalf("want one outside-workspace warning on overrides:%s", dumpAll(tbl.Diagnostics))
	}
	for _, want := range []string{"overrides", out, "skipped"} {
		if !strings.Contains(got[0].Message, want) {
			t.Errorf("the warning should say %q: %s", want, got[0].Message)
		}
	}
	for _, f := range tbl.Files {
		if strings.HasPrefix(f.Path, "overrides/") {
			t.Errorf("%s was loaded through a link outside the workspace", f.Path)
		}
	}
	mustRoute(t, tbl, "/z/x")
	mustRoute(t, tbl, "/in/x")
	// A change event for a file under the link is not followed either.
	noSecret(t, ws.Reload(filepath.Join(root, "overrides", "z.conf")))
}

// TestNestedFolderLinkOutsideWorkspace: a link met while expanding a
// wildcard (services/*/routes) is reported on the link itself; a
// configured folder under a link (linked/routes) says it goes through one.
func TestNestedFolderLinkOutsideWorkspace(t *testing.T) {
	root := t.TempDir()
	out := realTempDir(t)
	writeFile(t, out, "routes/secret.conf", secret+" {\n", base)
	writeFile(t, root, "services/a/routes/a.conf", "location /z/ { return 204; }\n", base)
	symlink(t, out, filepath.Join(root, "services", "ext"))
	symlink(t, out, filepath.Join(root, "linked"))
	writeFile(t, root, ConfigFile, `{"apps": ["services/*/routes/*.conf", "linked/routes/*.conf"]}`, base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.Table()
	noSecret(t, tbl)
	for file, how := range map[string]string{"services/ext": "is a symbolic link to " + out, "linked/routes": "leads, through a symbolic link, to " + filepath.Join(out, "routes")} {
		got := diagsFor(tbl, file)
		if len(got) != 1 || got[0].Code != routefile.CodeOutsideWorkspace || !strings.Contains(got[0].Message, how) {
			t.Errorf("want one outside-workspace warning on %s saying %q:%s", file, how, dumpAll(tbl.Diagnostics))
		}
	}
	mustRoute(t, tbl, "/z/x")
}

// TestFolderEventsRescan: a watcher may report a folder deleted or moved
// in as one event for the folder; Reload of that path looks at every
// folder again, so the folder's route files come and go with it.
func TestFolderEventsRescan(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("apps/a.conf", "location /a/ { return 204; }\n")
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "apps")); err != nil {
		t.Fatal(err)
	}
	if tbl := ws.Reload(filepath.Join(root, "apps")); len(tbl.Files) != 0 {
		t.Fatalf("after the apps folder went away: %d files", len(tbl.Files))
	}
	write("staging/b.conf", "location /b/ { return 204; }\n")
	if err := os.Rename(filepath.Join(root, "staging"), filepath.Join(root, "apps")); err != nil {
		t.Fatal(err)
	}
	if tbl := ws.Reload(filepath.Join(root, "apps")); len(tbl.Files) != 1 || tbl.Files[0].Path != "apps/b.conf" {
		t.Fatalf("after a folder was moved in as apps: %d files", len(tbl.Files))
	}
}
