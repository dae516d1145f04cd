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
// files").

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
