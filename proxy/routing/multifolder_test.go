package routing

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// These tests pin the workspace of several folders: one table composed
// from every folder's route files, conflicts across folders found and
// settled by the rules of spec §4, display paths that name the folder,
// and the folder bookkeeping (labels, paths, caches, missing folders).

// twoFolders makes the folders web and shop under a temporary folder,
// with the files given as "folder/rel" -> content; a file's modification
// time is base plus its minutes in mins (0 when not listed).
func twoFolders(t *testing.T, files map[string]string, mins map[string]int) (web, shop string) {
	t.Helper()
	parent := t.TempDir()
	web, shop = filepath.Join(parent, "web"), filepath.Join(parent, "shop")
	for _, dir := range []string{web, shop} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		writeFile(t, parent, name, content, base.Add(time.Duration(mins[name])*time.Minute))
	}
	return web, shop
}

func openFolders(t *testing.T, roots ...string) *Workspace {
	t.Helper()
	ws, err := NewWorkspace(roots[0])
	if err != nil {
		t.Fatal(err)
	}
	specs := make([]FolderSpec, len(roots))
	for i, r := range roots {
		specs[i] = FolderSpec{Root: r, Watched: true}
	}
	ws.SetFolders(specs)
	return ws
}

// findDiag is the first diagnostic on file with code whose message holds
// every one of want.
func findDiag(tbl *RouteTable, file, code string, want ...string) *routefile.Diagnostic {
	for i, d := range tbl.Diagnostics {
		if d.File != file || d.Code != code {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(d.Message, w)
		}
		if ok {
			return &tbl.Diagnostics[i]
		}
	}
	return nil
}

func TestConflictsAcrossFolders(t *testing.T) {
	const (
		webA  = "location /api/ { return 200 web; }\n"
		shopB = "location /api { return 200 shop; }\n"
	)
	tests := []struct {
		name  string
		files map[string]string
		mins  map[string]int
		// The conflict over /api/: its winner, how it was settled, and
		// the pin file that chose it.
		winner   string
		settled  Settlement
		pinnedIn string
		// A diagnostic that must be there: its file, code and words.
		diagFile, diagCode string
		diagWords          []string
		// A resolutions file that must have no warning.
		quiet string
	}{
		{
			name:    "the newest file wins, whichever folder it is in",
			files:   map[string]string{"web/apps/a.conf": webA, "shop/apps/b.conf": shopB},
			mins:    map[string]int{"shop/apps/b.conf": 5},
			winner:  "shop/apps/b.conf",
			settled: SettledByNewest,
			// The losing file names the winner by its display path.
			diagFile: "web/apps/a.conf", diagCode: routefile.CodeConflict,
			diagWords: []string{"shop/apps/b.conf:1:1", "shop/apps/b.conf wins (newest)"},
		},
		{
			name:     "an override in one folder beats a newer app in another",
			files:    map[string]string{"web/apps/a.conf": webA, "shop/overrides/o.conf": shopB},
			mins:     map[string]int{"web/apps/a.conf": 5},
			winner:   "shop/overrides/o.conf",
			settled:  SettledByOverride,
			diagFile: "web/apps/a.conf", diagCode: routefile.CodeConflict,
			diagWords: []string{"shop/overrides/o.conf wins (override)"},
		},
		{
			name: "a pin in the second folder chooses a file of the first by its display path",
			files: map[string]string{"web/apps/a.conf": webA, "shop/apps/b.conf": shopB,
				"shop/" + ResolutionsFile: `{"/api/": "web/apps/a.conf"}`},
			mins:     map[string]int{"shop/apps/b.conf": 5},
			winner:   "web/apps/a.conf",
			settled:  SettledByPin,
			pinnedIn: "shop/" + ResolutionsFile,
			diagFile: "shop/apps/b.conf", diagCode: routefile.CodeConflict,
			diagWords: []string{"web/apps/a.conf wins (pinned in shop/.devproxy/resolutions.json)"},
		},
		{
			name: "a pin names a file of its own folder relative to it",
			files: map[string]string{"web/apps/a.conf": webA, "shop/apps/b.conf": shopB,
				"web/" + ResolutionsFile: `{"/api/": "apps/a.conf"}`},
			mins:     map[string]int{"shop/apps/b.conf": 5},
			winner:   "web/apps/a.conf",
			settled:  SettledByPin,
			pinnedIn: "web/" + ResolutionsFile,
		},
		{
			name: "a pin by bare file name",
			files: map[string]string{"web/apps/a.conf": webA, "shop/apps/b.conf": shopB,
				"shop/" + ResolutionsFile: `{"/api/": "a.conf"}`},
			mins:     map[string]int{"shop/apps/b.conf": 5},
			winner:   "web/apps/a.conf",
			settled:  SettledByPin,
			pinnedIn: "shop/" + ResolutionsFile,
		},
		{
			name: "two folders pin different files: the first folder's pin wins, the other is warned",
			files: map[string]string{"web/apps/a.conf": webA, "shop/apps/b.conf": shopB,
				"web/" + ResolutionsFile:  `{"/api/": "apps/a.conf"}`,
				"shop/" + ResolutionsFile: `{"/api/": "apps/b.conf"}`},
			mins:     map[string]int{"shop/apps/b.conf": 5},
			winner:   "web/apps/a.conf",
			settled:  SettledByPin,
			pinnedIn: "web/" + ResolutionsFile,
			diagFile: "shop/" + ResolutionsFile, diagCode: routefile.CodeResolution,
			diagWords: []string{"/api/", "web/.devproxy/resolutions.json", `"apps/a.conf"`, "wins"},
		},
		{
			name: "two folders pin the same file: no warning",
			files: map[string]string{"web/apps/a.conf": webA, "shop/apps/b.conf": shopB,
				"web/" + ResolutionsFile:  `{"/api/": "apps/a.conf"}`,
				"shop/" + ResolutionsFile: `{"/api/": "web/apps/a.conf"}`},
			mins:     map[string]int{"shop/apps/b.conf": 5},
			winner:   "web/apps/a.conf",
			settled:  SettledByPin,
			pinnedIn: "web/" + ResolutionsFile,
			quiet:    "shop/" + ResolutionsFile,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			web, shop := twoFolders(t, tt.files, tt.mins)
			ws := openFolders(t, web, shop)
			for _, tbl := range []*RouteTable{ws.Table(), ws.Served()} {
				if len(tbl.Conflicts) != 1 {
					t.Fatalf("want one conflict over /api/, got %d:%s", len(tbl.Conflicts), dumpAll(tbl.Diagnostics))
				}
				c := tbl.Conflicts[0]
				if c.Winner.Path != tt.winner || c.Settlement != tt.settled || c.PinnedIn != tt.pinnedIn {
					t.Errorf("winner %s (%s, pinned in %q), want %s (%s, pinned in %q)", c.Winner.Path, c.Settlement, c.PinnedIn, tt.winner, tt.settled, tt.pinnedIn)
				}
				// The winner routes.
				if b, _ := tbl.Lookup("/api/x"); b == nil || b.File.Path != tt.winner {
					t.Errorf("/api/x is routed by %v, want %s", b, tt.winner)
				}
				if tt.diagFile != "" && findDiag(tbl, tt.diagFile, tt.diagCode, tt.diagWords...) == nil {
					t.Errorf("want a %s diagnostic on %s saying %q:%s", tt.diagCode, tt.diagFile, tt.diagWords, dumpAll(tbl.Diagnostics))
				}
				if tt.quiet != "" {
					if ds := diagsFor(tbl, tt.quiet); len(ds) != 0 {
						t.Errorf("want no diagnostic on %s:%s", tt.quiet, dumpAll(ds))
					}
				}
			}
		})
	}
}

func TestFolderLabels(t *testing.T) {
	tests := []struct {
		roots, want []string
	}{
		{[]string{"/a/web"}, []string{"web"}},
		{[]string{"/a/web", "/b/shop"}, []string{"web", "shop"}},
		{[]string{"/a/web", "/b/web", "/c/shop", "/d/web"}, []string{"web", "web~2", "shop", "web~3"}},
	}
	for _, tt := range tests {
		if got := folderLabels(tt.roots); !slices.Equal(got, tt.want) {
			t.Errorf("folderLabels(%v) = %v, want %v", tt.roots, got, tt.want)
		}
	}
}

// TestFoldersWithTheSameName: two folders named web are web and web~2,
// everywhere a path is shown.
func TestFoldersWithTheSameName(t *testing.T) {
	one, two := filepath.Join(t.TempDir(), "web"), filepath.Join(t.TempDir(), "web")
	writeFile(t, one, "apps/a.conf", "location /one/ { return 204; }\n", base)
	writeFile(t, two, "apps/a.conf", "location /two/ { return 204; }\n", base)
	ws := openFolders(t, one, two)
	tbl := ws.Table()
	var labels []string
	for _, f := range tbl.Folders {
		labels = append(labels, f.Label)
	}
	if !slices.Equal(labels, []string{"web", "web~2"}) {
		t.Fatalf("labels %v, want web and web~2", labels)
	}
	for target, file := range map[string]string{"/one/x": "web/apps/a.conf", "/two/x": "web~2/apps/a.conf"} {
		b, _ := tbl.Lookup(target)
		if b == nil || b.File.Path != file || !strings.HasPrefix(file, b.File.Folder+"/") {
			t.Errorf("%s is routed by %v, want %s", target, b, file)
			continue
		}
		if !strings.HasPrefix(b.Label(), file+":1") {
			t.Errorf("the block's label %q does not name %s", b.Label(), file)
		}
	}
	reports := tbl.FileReports()
	if len(reports) != 2 || reports[0].Folder == "" || !strings.HasPrefix(reports[0].Path, reports[0].Folder+"/") {
		t.Errorf("file reports should name their folders: %+v", reports)
	}
}

func TestAbsPathAndDisplayPath(t *testing.T) {
	web, shop := twoFolders(t, map[string]string{"web/apps/a.conf": "location /a/ { return 204; }\n"}, nil)
	nested := filepath.Join(web, "nested")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	tbl := openFolders(t, web, shop, nested).Table()
	tests := []struct {
		display string
		abs     string
	}{
		{"web/apps/a.conf", filepath.Join(web, "apps", "a.conf")},
		{"shop/overrides", filepath.Join(shop, "overrides")},
		{"shop/" + ConfigFile, filepath.Join(shop, ConfigFile)},
		{"web/" + ResolutionsFile, filepath.Join(web, ".devproxy", "resolutions.json")},
		{"shop", shop},
		// A nested folder owns its paths: the longest root wins.
		{"nested/apps/n.conf", filepath.Join(nested, "apps", "n.conf")},
	}
	for _, tt := range tests {
		abs, ok := tbl.AbsPath(tt.display)
		if !ok || abs != tt.abs {
			t.Errorf("AbsPath(%q) = %q, %v; want %q", tt.display, abs, ok, tt.abs)
		}
		display, ok := tbl.DisplayPath(tt.abs)
		if !ok || display != tt.display {
			t.Errorf("DisplayPath(%q) = %q, %v; want %q", tt.abs, display, ok, tt.display)
		}
	}
	for _, display := range []string{"elsewhere/apps/a.conf", "web/../../etc/passwd", "/etc/passwd"} {
		if abs, ok := tbl.AbsPath(display); ok {
			t.Errorf("AbsPath(%q) = %q, want no path", display, abs)
		}
	}
	if display, ok := tbl.DisplayPath(filepath.Join(filepath.Dir(web), "other", "x.conf")); ok {
		t.Errorf("a path outside every folder has the display path %q", display)
	}

	// One folder: display paths are relative to it, as always.
	single, err := NewWorkspace(web)
	if err != nil {
		t.Fatal(err)
	}
	st := single.Table()
	if abs, ok := st.AbsPath("apps/a.conf"); !ok || abs != filepath.Join(web, "apps", "a.conf") {
		t.Errorf("one folder: AbsPath(apps/a.conf) = %q, %v", abs, ok)
	}
	if display, ok := st.DisplayPath(filepath.Join(web, "apps", "a.conf")); !ok || display != "apps/a.conf" {
		t.Errorf("one folder: DisplayPath = %q, %v", display, ok)
	}
	if got := single.Rel(filepath.Join(web, "apps", "a.conf")); got != "apps/a.conf" {
		t.Errorf("one folder: Rel = %q", got)
	}
	if got := st.ResolutionsFileFor("apps/a.conf"); got != ResolutionsFile {
		t.Errorf("one folder: ResolutionsFileFor = %q", got)
	}
}

// TestPathsInTheSecondFolder: Reload, the overlays and IsRouteFile take a
// path of the second folder in either form, absolute or display.
func TestPathsInTheSecondFolder(t *testing.T) {
	for _, form := range []string{"display", "absolute"} {
		t.Run(form, func(t *testing.T) {
			web, shop := twoFolders(t, map[string]string{"web/apps/a.conf": "location /a/ { return 204; }\n"}, nil)
			ws := openFolders(t, web, shop)
			path := func(rel string) string {
				if form == "absolute" {
					return filepath.Join(shop, filepath.FromSlash(rel))
				}
				return "shop/" + rel
			}
			if got := ws.Rel(path("apps/new.conf")); got != "shop/apps/new.conf" {
				t.Errorf("Rel = %q, want shop/apps/new.conf", got)
			}
			if !ws.IsRouteFile(path("apps/new.conf")) || ws.IsRouteFile(path("notes/new.conf")) {
				t.Error("IsRouteFile does not follow the second folder's globs")
			}
			writeFile(t, shop, "apps/new.conf", "location /new/ { return 204; }\n", base)
			tbl := ws.Reload(path("apps/new.conf"))
			f := tbl.FileByPath("shop/apps/new.conf")
			if f == nil || f.Folder != "shop" || f.Abs != filepath.Join(shop, "apps", "new.conf") {
				t.Fatalf("the created file is not in the table as shop/apps/new.conf: %v", fileList(tbl.Files))
			}
			tbl = ws.SetOverlay(path("apps/new.conf"), []byte("location /edited/ { return 204; }\n"))
			if b, _ := tbl.Lookup("/edited/"); b == nil || b.File.Path != "shop/apps/new.conf" {
				t.Errorf("the overlay is not applied: %v", b)
			}
			if b, _ := ws.Served().Lookup("/new/"); b == nil {
				t.Error("the overlay reached the served table")
			}
			if got := ws.Table().ResolutionsFileFor("shop/apps/new.conf"); got != "shop/"+ResolutionsFile {
				t.Errorf("ResolutionsFileFor = %q", got)
			}
			tbl = ws.ClearOverlay(path("apps/new.conf"))
			if b, _ := tbl.Lookup("/new/"); b == nil {
				t.Error("clearing the overlay does not return to the disk content")
			}
			writeFile(t, shop, ResolutionsFile, `{"/new/": "apps/new.conf"}`, base)
			tbl = ws.Reload(path(ResolutionsFile))
			if text := tbl.ResolutionsTextOf("shop/" + ResolutionsFile); string(text) != `{"/new/": "apps/new.conf"}` {
				t.Errorf("ResolutionsTextOf = %q", text)
			}
			if tbl.ResolutionsText != nil || tbl.ResolutionsTextOf("web/"+ResolutionsFile) != nil {
				t.Error("the first folder has no resolutions file")
			}
			os.Remove(filepath.Join(shop, "apps", "new.conf"))
			if tbl := ws.Reload(path("apps/new.conf")); tbl.FileByPath("shop/apps/new.conf") != nil {
				t.Error("a deleted file is still in the table")
			}
		})
	}
}

// TestSetFoldersKeepsCaches: a folder kept by SetFolders keeps its parse
// results (renamed when its display paths change) and its overlays.
func TestSetFoldersKeepsCaches(t *testing.T) {
	web, shop := twoFolders(t, map[string]string{
		"web/apps/a.conf":  "location /a/ { return 204; }\n",
		"shop/apps/b.conf": "location /b/ { return 204; }\n"}, nil)
	third := filepath.Join(t.TempDir(), "third")
	writeFile(t, third, "apps/c.conf", "location /c/ { return 204; }\n", base)
	ws, err := NewWorkspace(web)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetOverlay("apps/o.conf", []byte("location /o/ { return 204; }\n"))
	before := parsedOf(t, ws.Table(), "apps/a.conf")

	// One folder to two: the display paths change, the parse does not.
	tbl := ws.SetFolders([]FolderSpec{{Root: web}, {Root: shop}})
	after := parsedOf(t, tbl, "web/apps/a.conf")
	if after.Locations[0] != before.Locations[0] {
		t.Error("web/apps/a.conf was parsed again when a folder was added")
	}
	if after.Path != "web/apps/a.conf" {
		t.Errorf("the kept parse result is still named %s", after.Path)
	}
	if b, _ := tbl.Lookup("/o/"); b == nil || b.File.Path != "web/apps/o.conf" {
		t.Errorf("the overlay of the kept folder is gone: %v", b)
	}
	shopParsed := parsedOf(t, tbl, "shop/apps/b.conf")

	// Two to three: nothing of the kept folders changes.
	tbl = ws.SetFolders([]FolderSpec{{Root: web}, {Root: shop}, {Root: third}})
	if parsedOf(t, tbl, "web/apps/a.conf") != after || parsedOf(t, tbl, "shop/apps/b.conf") != shopParsed {
		t.Error("a file of a kept folder was parsed again")
	}
	if b, _ := tbl.Lookup("/c/"); b == nil {
		t.Error("the added folder's routes are missing")
	}

	// A folder dropped takes its files and overlays with it.
	tbl = ws.SetFolders([]FolderSpec{{Root: shop}})
	if b, _ := tbl.Lookup("/a/"); b != nil {
		t.Error("a dropped folder still routes")
	}
	if tbl.Root != shop || ws.Root() != shop || tbl.FileByPath("apps/b.conf") == nil {
		t.Errorf("the one folder left is the primary, with plain paths: root %s, files %v", tbl.Root, fileList(tbl.Files))
	}
}

// TestMissingFolder: a folder that does not exist, or is not a folder, is
// an error naming it; the others keep routing.
func TestMissingFolder(t *testing.T) {
	web, _ := twoFolders(t, map[string]string{"web/apps/a.conf": "location /a/ { return 204; }\n"}, nil)
	gone := filepath.Join(filepath.Dir(web), "gone")
	file := filepath.Join(filepath.Dir(web), "file")
	writeFile(t, filepath.Dir(web), "file", "not a folder\n", base)
	ws, err := NewWorkspace(web)
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.SetFolders([]FolderSpec{{Root: web}, {Root: gone}, {Root: file}})
	for label, words := range map[string][]string{"gone": {gone, "does not exist"}, "file": {file, "is not a folder"}} {
		d := findDiag(tbl, label, routefile.CodeRouteFolder, append(words, "workspace folder "+label)...)
		if d == nil || d.Severity != routefile.Error {
			t.Errorf("want an error on the folder %s saying %q:%s", label, words, dumpAll(tbl.Diagnostics))
		}
	}
	mustRoute(t, tbl, "/a/x")
	mustRoute(t, ws.Served(), "/a/x")
	// The folder appears: a Reload of the folder reads it.
	writeFile(t, gone, "apps/g.conf", "location /g/ { return 204; }\n", base)
	tbl = ws.Reload(gone)
	mustRoute(t, tbl, "/g/x")
	if len(diagsFor(tbl, "gone")) != 0 {
		t.Errorf("the folder exists now:%s", dumpAll(diagsFor(tbl, "gone")))
	}
}

// TestFolderDeletedAsAWhole: a watcher may report only the folder that
// went away; Reload of that path drops what the folder held.
func TestFolderDeletedAsAWhole(t *testing.T) {
	tests := []struct {
		name   string
		remove string // folder-relative, removed with os.RemoveAll
		// The route /api/ is claimed by apps/a.conf (older), apps/b.conf
		// (newer) and, in overrides/, by nobody; wantAPI serves it after
		// the removal, "" for nobody.
		wantAPI string
		gone    string // a route that must be gone after the removal
	}{
		{name: "the .devproxy folder drops the pins", remove: ".devproxy", wantAPI: "apps/b.conf"},
		{name: "the overrides folder drops its routes", remove: "overrides", wantAPI: "apps/a.conf", gone: "/ops/x"},
		{name: "the apps folder drops its routes", remove: "apps", wantAPI: "", gone: "/a/x"},
	}
	for _, tt := range tests {
		for _, form := range []string{"absolute", "relative"} {
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				root := t.TempDir()
				writeFile(t, root, "apps/a.conf", "location /api/ { return 200 a; }\nlocation /a/ { return 204; }\n", base)
				writeFile(t, root, "apps/b.conf", "location /api/ { return 200 b; }\n", base.Add(time.Minute))
				writeFile(t, root, "overrides/ops.conf", "location /ops/ { return 204; }\n", base)
				writeFile(t, root, ResolutionsFile, `{"/api/": "apps/a.conf"}`, base)
				ws, err := NewWorkspace(root)
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := ws.Served().Lookup("/api/x"); b == nil || b.File.Path != "apps/a.conf" {
					t.Fatalf("before: /api/ should follow the pin: %v", b)
				}
				if err := os.RemoveAll(filepath.Join(root, tt.remove)); err != nil {
					t.Fatal(err)
				}
				p := tt.remove
				if form == "absolute" {
					p = filepath.Join(root, tt.remove)
				}
				ws.Reload(p)
				for _, tbl := range []*RouteTable{ws.Table(), ws.Served()} {
					got := ""
					if b, _ := tbl.Lookup("/api/x"); b != nil {
						got = b.File.Path
					}
					if got != tt.wantAPI {
						t.Errorf("/api/ is served by %q, want %q", got, tt.wantAPI)
					}
					if tt.gone != "" {
						if b, _ := tbl.Lookup(tt.gone); b != nil {
							t.Errorf("%s still routes to %s", tt.gone, b.Label())
						}
					}
				}
			})
		}
	}
}

// TestRenamedFile: a rename is reported as the old and the new path.
func TestRenamedFile(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	oldPath, newPath := filepath.Join(root, "apps", "a.conf"), filepath.Join(root, "apps", "c.conf")
	if err := os.Rename(oldPath, newPath); err != nil {
		t.Fatal(err)
	}
	tbl := ws.Reload(oldPath, newPath)
	if got := fileList(tbl.Files); got != "apps/c.conf" {
		t.Fatalf("files after the rename: %s", got)
	}
	// Moved out of the route folders: gone.
	if err := os.Rename(newPath, filepath.Join(root, "c.conf")); err != nil {
		t.Fatal(err)
	}
	if tbl := ws.Reload(newPath); len(tbl.Files) != 0 || len(ws.Served().Files) != 0 {
		t.Fatalf("files after moving it away: %s", fileList(tbl.Files))
	}
}

// TestWatchedFolders: Watch watches the folders marked Watched and leaves
// those an editor reports alone.
func TestWatchedFolders(t *testing.T) {
	web, shop := twoFolders(t, map[string]string{
		"web/apps/a.conf":  "location /a/ { return 204; }\n",
		"shop/apps/b.conf": "location /b/ { return 204; }\n"}, nil)
	ws, err := NewWorkspace(web)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetFolders([]FolderSpec{{Root: web, Watched: true}, {Root: shop}})
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	ws.addWatches(fw)
	got := fw.WatchList()
	slices.Sort(got)
	want := []string{web, filepath.Join(web, "apps")}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("watches %v, want %v", got, want)
	}
	if fs := ws.Folders(); len(fs) != 2 || !fs[0].Watched || fs[1].Watched || fs[1].Label != "shop" || fs[1].Root != shop {
		t.Errorf("Folders() = %+v", fs)
	}
}

// TestSettingsPerFolder: each folder's devproxy.json (over its own
// editor settings) decides its route files; the process settings come
// from the primary folder; problems are named by display path.
func TestSettingsPerFolder(t *testing.T) {
	web, shop := twoFolders(t, map[string]string{
		"web/" + ConfigFile:      `{"listen": "127.0.0.1:9001"}`,
		"web/apps/a.conf":        "location /a/ { return 204; }\n",
		"shop/" + ConfigFile:     `{"apps": ["routes/*.conf"], "listen": "127.0.0.1:9002", "bogus": 1}`,
		"shop/apps/ignored.conf": "location /ignored/ { return 204; }\n",
		"shop/routes/r.conf":     "location /r/ { return 204; }\n",
		"shop/more/m.conf":       "location /m/ { return 204; }\n",
	}, nil)
	ws, err := NewWorkspace(web)
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.SetFolders([]FolderSpec{{Root: web}, {Root: shop, Defaults: Config{Overrides: []string{"more/*.conf"}}}})
	mustRoute(t, tbl, "/a/x")
	mustRoute(t, tbl, "/r/x")
	if b, _ := tbl.Lookup("/ignored/x"); b != nil {
		t.Error("shop's devproxy.json replaced apps/, yet shop/apps is read")
	}
	if f := tbl.FileByPath("shop/more/m.conf"); f == nil || f.Kind != OverrideFile {
		t.Errorf("shop's editor settings make more/ its overrides: %v", fileList(tbl.Files))
	}
	if tbl.Config.Listen != "127.0.0.1:9001" {
		t.Errorf("listen = %s, want the primary folder's", tbl.Config.Listen)
	}
	if got := tbl.Folders[1].Config.Apps; !slices.Equal(got, []string{"routes/*.conf"}) {
		t.Errorf("shop's apps = %v", got)
	}
	if findDiag(tbl, "shop/"+ConfigFile, routefile.CodeConfig, `"bogus"`) == nil {
		t.Errorf("want the unknown setting reported on shop/devproxy.json:%s", dumpAll(tbl.Diagnostics))
	}
	// A folder that is a file where a route folder should be is named
	// with its folder's label.
	writeFile(t, shop, "routes2", "not a folder\n", base)
	writeFile(t, shop, ConfigFile, `{"apps": ["routes2/*.conf"]}`, base.Add(time.Minute))
	tbl = ws.Reload(filepath.Join(shop, ConfigFile))
	if findDiag(tbl, "shop/routes2", routefile.CodeRouteFolder, "shop/routes2") == nil {
		t.Errorf("want the route folder shop/routes2 reported:%s", dumpAll(tbl.Diagnostics))
	}
	mustRoute(t, tbl, "/a/x")
}

// TestWatchFollowsSetFolders: a watched folder added while Watch runs is
// watched too.
func TestWatchFollowsSetFolders(t *testing.T) {
	web, shop := twoFolders(t, map[string]string{"web/apps/a.conf": "location /a/ { return 204; }\n"}, nil)
	if err := os.MkdirAll(filepath.Join(shop, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	ws, err := NewWorkspace(web)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tables := make(chan *RouteTable, 64)
	done, err := ws.Watch(ctx, 10*time.Millisecond, func(t *RouteTable) {
		select {
		case tables <- t:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	ws.SetFolders([]FolderSpec{{Root: web, Watched: true}, {Root: shop, Watched: true}})
	// The watch on shop/apps is added by Watch's goroutine: write until a
	// change is seen (each write is a new version, so no event is lost
	// for good).
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		writeFile(t, shop, "apps/c.conf", fmt.Sprintf("location /c/ { return 204; }\n# %d\n", i), base.Add(time.Duration(i)*time.Second))
		select {
		case tbl := <-tables:
			if b, _ := tbl.Lookup("/c/x"); b != nil && b.File.Path == "shop/apps/c.conf" {
				if b, _ := ws.Served().Lookup("/c/x"); b == nil {
					t.Fatal("the served table does not have the new file")
				}
				return
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("a file written in the added folder was never seen")
		}
	}
}

// TestNoFolders: a workspace left without folders is empty, not broken.
func TestNoFolders(t *testing.T) {
	ws, err := NewWorkspace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.SetFolders(nil)
	if len(tbl.Files) != 0 || len(tbl.Folders) != 0 || tbl.Config.Listen != DefaultListen || ws.Root() != "" {
		t.Errorf("an empty workspace: %+v", tbl)
	}
	ws.SetOverlay("apps/a.conf", []byte("location /a/ { return 204; }\n"))
	ws.Reload("apps/a.conf", "/elsewhere/apps/a.conf")
	if ws.IsRouteFile("apps/a.conf") || len(ws.Table().Files) != 0 || ws.Served() == nil {
		t.Error("paths of no folder must change nothing")
	}
}
