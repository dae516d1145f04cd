package routing

import (
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Errors teach the fix (issue 10): findings about the workspace's JSON
// files say what to write instead.

// resolutionsDiags are the diagnostics on the resolutions file.
func resolutionsDiags(tbl *RouteTable) []routefile.Diagnostic {
	var out []routefile.Diagnostic
	for _, d := range tbl.Diagnostics {
		if d.File == ResolutionsFile {
			out = append(out, d)
		}
	}
	return out
}

func TestPinWithoutRouteSuggestsTheSlash(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name, pins string
		want       string // the message of the one diagnostic
	}{
		{"slash missing", `{"/api": "a.conf"}`, "no route file claims /api; this pin has no effect; did you mean /api/?"},
		{"nothing close", `{"/shop/": "a.conf"}`, "no route file claims /shop/; this pin has no effect"},
		{"slash missing, nothing close", `{"/shop": "a.conf"}`, "no route file claims /shop; this pin has no effect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "apps/a.conf", "location /api/ { return 200 a; }\n", base)
			writeFile(t, root, ResolutionsFile, tt.pins, base)
			ws, err := NewWorkspace(root)
			if err != nil {
				t.Fatal(err)
			}
			ds := resolutionsDiags(ws.Table())
			if len(ds) != 1 || ds[0].Message != tt.want || ds[0].Severity != routefile.Hint {
				t.Errorf("diagnostics on %s = %v, want one hint %q", ResolutionsFile, ds, tt.want)
			}
		})
	}
}

func TestEmptyResolutionsFileMeansNoPins(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	for _, text := range []string{"", " \n\t\r\n"} {
		root := t.TempDir()
		writeFile(t, root, "apps/a.conf", "location /api/ { return 200 a; }\n", base)
		writeFile(t, root, "apps/b.conf", "location /api/ { return 200 b; }\n", base.Add(time.Hour))
		writeFile(t, root, ResolutionsFile, text, base)
		ws, err := NewWorkspace(root)
		if err != nil {
			t.Fatal(err)
		}
		tbl := ws.Table()
		if ds := resolutionsDiags(tbl); len(ds) != 0 {
			t.Errorf("resolutions file %q: diagnostics %v, want none", text, ds)
		}
		if len(tbl.Conflicts) != 1 || tbl.Conflicts[0].Settlement != SettledByNewest {
			t.Errorf("resolutions file %q: conflicts %+v, want /api/ settled by age", text, tbl.Conflicts)
		}
		// The overlay (an editor buffer) follows the same rule.
		tbl = ws.SetOverlay(ResolutionsFile, []byte(text))
		if ds := resolutionsDiags(tbl); len(ds) != 0 {
			t.Errorf("resolutions overlay %q: diagnostics %v, want none", text, ds)
		}
	}
}
