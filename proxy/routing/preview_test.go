package routing

import "testing"

// TestPreview composes the table with edited and new route files without
// changing the workspace: an overrides file the edit creates wins the
// route, and the current table and its generation stay as they were.
func TestPreview(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /api/ { return 200 a; }\n", base)
	writeFile(t, root, "apps/b.conf", "location /b/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	before := ws.Table()
	p := ws.Preview(map[string][]byte{
		"apps/a.conf":      []byte("location /a/ { return 204; }\n"),
		"overrides/a.conf": []byte("location /api/ { return 200 o; }\n"),
		"notes.txt":        []byte("not a route file"),
	})
	if ws.Table() != before || p.Generation != before.Generation {
		t.Errorf("Preview published a table (generation %d, was %d)", ws.Table().Generation, before.Generation)
	}
	d := p.Resolve(&Request{Target: "/api/x"})
	if d.Block == nil || d.Block.File.Path != "overrides/a.conf" || d.Block.File.Kind != OverrideFile {
		t.Errorf("/api/x in the preview: %+v", d.Block)
	}
	if d := p.Resolve(&Request{Target: "/a/x"}); d.Block == nil || d.Block.File.Path != "apps/a.conf" {
		t.Errorf("/a/x in the preview: %+v", d.Block)
	}
	if p.FileByPath("notes.txt") != nil {
		t.Error("the preview loads a file that is not a route file")
	}
	if d := before.Resolve(&Request{Target: "/api/x"}); d.Block == nil || d.Block.File.Path != "apps/a.conf" {
		t.Errorf("/api/x in the current table: %+v", d.Block)
	}
}
