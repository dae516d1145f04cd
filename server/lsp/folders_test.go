package lsp

import (
	"path/filepath"
	"strings"
	"testing"

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
