package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// A multi-root workspace: every folder's route files are composed into one
// table, so a route claimed in two folders is a conflict shown on both
// files, and every editor feature works in the second folder too.
func TestMultiRootWorkspace(t *testing.T) {
	parent := workspace(t, `
-- web/apps/web.conf --
location /web/ { proxy_pass http://127.0.0.1:5173/; }
location /api/ { proxy_pass http://127.0.0.1:4000/; }
-- shop/apps/shop.conf --
location /shop/ { proxy_pass http://127.0.0.1:3000/; }
location /api/ { proxy_pass http://127.0.0.1:3001/; }
`)
	web, shop := filepath.Join(parent, "web"), filepath.Join(parent, "shop")
	c, _ := startFolders(t, parent, []string{web, shop}, nil, testOptions(), nil, nil)

	got := c.waitDiagnostics(0, "web/apps/web.conf", "shop/apps/shop.conf")
	for _, rel := range []string{"web/apps/web.conf", "shop/apps/shop.conf"} {
		found := false
		for _, d := range got[rel].Diagnostics {
			m, _ := d.Message.(protocol.String)
			if diagnosticCode(d) == "conflict" && strings.Contains(string(m), "/api/") {
				found = true
				if len(d.RelatedInformation) == 0 {
					t.Errorf("%s: the conflict links no other file", rel)
				}
			}
		}
		if !found {
			t.Errorf("%s: no cross-folder conflict on /api/: %+v", rel, got[rel].Diagnostics)
		}
	}

	var routes RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &routes); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range routes.Files {
		files[f.Path] = string(f.URI)
	}
	if files["shop/apps/shop.conf"] != string(c.uri("shop/apps/shop.conf")) {
		t.Errorf("routes' files carry their folder: %v", files)
	}

	// Hover in the second folder.
	c.open("shop/apps/shop.conf")
	var hover protocol.Hover
	if err := c.call("textDocument/hover", map[string]any{
		"textDocument": map[string]any{"uri": c.uri("shop/apps/shop.conf")},
		"position":     map[string]any{"line": 0, "character": 12},
	}, &hover); err != nil {
		t.Fatal(err)
	}
	if md, ok := hover.Contents.(*protocol.MarkupContent); !ok || !strings.Contains(md.Value, "/shop/") {
		t.Errorf("hover in the second folder: %+v", hover.Contents)
	}

	// Code actions in the second folder: its pin goes in its own
	// resolutions file, naming the file relative to that folder.
	win := findAction(t, codeActions(t, c, "shop/apps/shop.conf", 1), "Make shop/apps/shop.conf win /api/")
	var created, pin string
	for _, ch := range win.Edit.DocumentChanges {
		switch e := ch.(type) {
		case *protocol.CreateFile:
			created = string(e.URI)
		case *protocol.TextDocumentEdit:
			for _, te := range e.Edits {
				if x, ok := te.(*protocol.TextEdit); ok {
					pin += x.NewText
				}
			}
		}
	}
	if created != string(c.uri("shop/.devproxy/resolutions.json")) || !strings.Contains(pin, `"/api/": "apps/shop.conf"`) {
		t.Errorf("the pin of the second folder: created %s, text %q", created, pin)
	}

	// The second folder leaves the workspace: its file's diagnostics are
	// cleared and the first folder's conflict is gone.
	from := c.mark()
	c.notify("workspace/didChangeWorkspaceFolders", map[string]any{"event": map[string]any{
		"added": []any{}, "removed": []any{map[string]any{"uri": pathToURI(shop), "name": "shop"}},
	}})
	c.waitFor("the second folder's diagnostics cleared and the conflict gone", func(ms []message) bool {
		got := latestDiagnostics(ms, from)
		s, ok1 := got[string(c.uri("shop/apps/shop.conf"))]
		w, ok2 := got[string(c.uri("web/apps/web.conf"))]
		return ok1 && ok2 && len(s.Diagnostics) == 0 && len(w.Diagnostics) == 0
	})
}

// The editor's buffer drives diagnostics and the proxy serves the disk:
// hover and devproxy/routes say when they differ (unsaved), and when the
// saved file no longer parses and the proxy serves its last good version
// (stale).
func TestUnsavedAndStale(t *testing.T) {
	root := workspace(t, "-- apps/a.conf --\nlocation /a/ { return 204; }\n")
	c, _ := start(t, root, nil)
	c.open("apps/a.conf")
	hover := func() string {
		var h protocol.Hover
		if err := c.call("textDocument/hover", map[string]any{
			"textDocument": map[string]any{"uri": c.uri("apps/a.conf")},
			"position":     map[string]any{"line": 0, "character": 10},
		}, &h); err != nil {
			t.Fatal(err)
		}
		md, _ := h.Contents.(*protocol.MarkupContent)
		if md == nil {
			return ""
		}
		return md.Value
	}
	fileInfo := func() RouteFileInfo {
		var routes RoutesResult
		if err := c.call("devproxy/routes", map[string]any{}, &routes); err != nil {
			t.Fatal(err)
		}
		for _, f := range routes.Files {
			if f.Path == "apps/a.conf" {
				return f
			}
		}
		t.Fatalf("apps/a.conf not in %+v", routes.Files)
		return RouteFileInfo{}
	}
	if h := hover(); strings.Contains(h, "unsaved") || fileInfo().Unsaved {
		t.Errorf("a buffer equal to the disk is unsaved: %q", h)
	}
	c.change("apps/a.conf", 2, "location /a/ { return 204; }\n# more\n")
	if h := hover(); !strings.Contains(h, "unsaved: the proxy still serves the saved version") || !fileInfo().Unsaved {
		t.Errorf("an edited buffer: hover %q, file %+v", h, fileInfo())
	}

	// Saved broken: the proxy keeps the last good version, and says so.
	broken := "location /a/ { return 204; \n"
	from := c.mark()
	if err := os.WriteFile(filepath.Join(root, "apps", "a.conf"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	c.change("apps/a.conf", 3, broken)
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": c.uri("apps/a.conf")}})
	c.waitFor("the stale warning", func(ms []message) bool {
		p, ok := latestDiagnostics(ms, from)[string(c.uri("apps/a.conf"))]
		if !ok {
			return false
		}
		for _, d := range p.Diagnostics {
			m, _ := d.Message.(protocol.String)
			if diagnosticCode(d) == "stale" && strings.Contains(string(m), "serving the last good version from") {
				return true
			}
		}
		return false
	})
	if f := fileInfo(); !f.Stale || f.StaleSince == "" {
		t.Errorf("the saved broken file is not stale in devproxy/routes: %+v", f)
	}
}

// Deleting a route folder as a whole (rm -rf overrides/) is one event for
// the folder; its routes leave the table.
func TestRouteFolderDeleted(t *testing.T) {
	root := workspace(t, `
-- apps/a.conf --
location /api/ { return 200 a; }
-- overrides/o.conf --
location /api/ { return 200 o; }
location /admin/ { return 200 admin; }
`)
	c, _ := start(t, root, nil)
	routesOf := func() []string {
		var routes RoutesResult
		if err := c.call("devproxy/routes", map[string]any{}, &routes); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range routes.Routes {
			out = append(out, r.File+" "+r.Spec)
		}
		return out
	}
	if got := routesOf(); len(got) != 3 {
		t.Fatalf("routes before: %v", got)
	}
	if err := os.RemoveAll(filepath.Join(root, "overrides")); err != nil {
		t.Fatal(err)
	}
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": c.uri("overrides"), "type": 3}}})
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := routesOf()
		if len(got) == 1 && got[0] == "apps/a.conf /api/" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("routes after rm -rf overrides/: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
