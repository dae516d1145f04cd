package routing

import (
	"testing"
	"time"
)

func TestBrokenMatch(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/ok.conf", "location /ok/ { return 204; }\n", base)
	writeFile(t, root, "apps/broken.conf", "location /broken/ {\n  proxy_pass http://127.0.0.1:1;\n  bogus on;\n}\nlocation = /exact { return 204; }\nlocation ~ ^/re/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.Served()
	if d := tbl.Resolve(&Request{Target: "/broken/x"}); d.Action != ActionNone || d.Matched {
		t.Fatalf("/broken/x should match nothing, got action %v", d.Action)
	}
	tests := []struct {
		path string
		line int
		ok   bool
	}{
		{"/broken/", 1, true},
		{"/broken/deep/x", 1, true},
		{"/exact", 5, true},
		{"/exact/no", 0, false},
		{"/re/x", 0, false}, // regex locations are not considered
		{"/ok/x", 0, false},
		{"/nothing", 0, false},
	}
	for _, tt := range tests {
		file, line, reason, ok := tbl.BrokenMatch(tt.path)
		if ok != tt.ok || line != tt.line {
			t.Errorf("BrokenMatch(%q) = %q:%d ok=%v, want line %d ok=%v", tt.path, file, line, ok, tt.line, tt.ok)
			continue
		}
		if ok && (file != "apps/broken.conf" || reason == "") {
			t.Errorf("BrokenMatch(%q) = %q, reason %q", tt.path, file, reason)
		}
	}
}

func TestBrokenMatchStaleFile(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n", base)
	ws, err := NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	// The new version adds /b/ but does not parse: /a/ keeps serving, and
	// a request for /b/ is told which file would take it.
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\nlocation /b/ { return 204;\n", base.Add(time.Minute))
	ws.Reload("apps/a.conf")
	tbl := ws.Served()
	if !tbl.FileByPath("apps/a.conf").Stale {
		t.Fatal("a.conf should be stale")
	}
	file, line, reason, ok := tbl.BrokenMatch("/b/x")
	if !ok || file != "apps/a.conf" || line != 2 || reason == "" {
		t.Errorf("BrokenMatch(/b/x) = %q:%d %q %v", file, line, reason, ok)
	}
}
