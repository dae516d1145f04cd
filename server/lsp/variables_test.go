package lsp

import (
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

const viteWorkspace = `
-- apps/vite.conf --
location /app/ {
    set $vite 127.0.0.1:5173;
    proxy_set_header X-Up "${vite}";
    proxy_pass http://$vite;
}
location /other/ { proxy_pass http://$host; }
`

func at(c *client, rel string, line, char uint32) protocol.TextDocumentPositionParams {
	return protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: c.uri(rel)}, Position: protocol.Position{Line: line, Character: char}}
}

// TestRenameVariable: F2 on a use of $vite renames the variable and every
// use in the file (the name only, without $), never the route; bad names
// and built-in variables are refused with a reason.
func TestRenameVariable(t *testing.T) {
	root := workspace(t, viteWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/vite.conf")
	use := at(c, "apps/vite.conf", 3, 25)
	var prep protocol.PrepareRenameResult
	if err := c.call("textDocument/prepareRename", &protocol.PrepareRenameParams{TextDocumentPositionParams: use}, &prep); err != nil {
		t.Fatal(err)
	}
	want := protocol.Range{Start: protocol.Position{Line: 3, Character: 23}, End: protocol.Position{Line: 3, Character: 27}}
	if p, ok := prep.(*protocol.PrepareRenamePlaceholder); !ok || p.Placeholder != "vite" || p.Range != want {
		t.Errorf("prepareRename on $vite: %#v", prep)
	}
	// Inside the block but on no variable: neither a variable nor the route.
	err := c.call("textDocument/prepareRename", &protocol.PrepareRenameParams{TextDocumentPositionParams: at(c, "apps/vite.conf", 3, 6)}, &prep)
	if code(err) != jsonrpc2.InvalidRequest || !strings.Contains(err.Error(), "$variable") {
		t.Errorf("prepareRename on proxy_pass: %v", err)
	}
	err = c.call("textDocument/prepareRename", &protocol.PrepareRenameParams{TextDocumentPositionParams: at(c, "apps/vite.conf", 5, 38)}, &prep)
	if code(err) != jsonrpc2.InvalidRequest || !strings.Contains(err.Error(), "$host is a built-in nginx variable") {
		t.Errorf("prepareRename on $host: %v", err)
	}
	var edit protocol.WorkspaceEdit
	for _, bad := range []struct{ name, says string }{
		{"1x", "letters, digits and _"}, {"$a-b", "letters, digits and _"}, {"host", "$host is a built-in nginx variable"}, {"$URI", "$uri is a built-in"},
	} {
		err := c.call("textDocument/rename", &protocol.RenameParams{TextDocumentPositionParams: use, NewName: bad.name}, &edit)
		if code(err) != jsonrpc2.InvalidParams || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("rename to %q: %v", bad.name, err)
		}
	}
	if err := c.call("textDocument/rename", &protocol.RenameParams{TextDocumentPositionParams: use, NewName: "$vite_port"}, &edit); err != nil {
		t.Fatal(err)
	}
	applyEdit(t, c, edit)
	wantText := `location /app/ {
    set $vite_port 127.0.0.1:5173;
    proxy_set_header X-Up "${vite_port}";
    proxy_pass http://$vite_port;
}
location /other/ { proxy_pass http://$host; }
`
	if got := readFile(t, c, "apps/vite.conf"); got != wantText {
		t.Errorf("after renaming $vite:\n%s\nwant:\n%s", got, wantText)
	}
}

// TestVariableReferencesAndHighlights: references list the uses (and the
// set with includeDeclaration); highlights mark the set Write, uses Read.
func TestVariableReferencesAndHighlights(t *testing.T) {
	root := workspace(t, viteWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/vite.conf")
	for _, decl := range []bool{false, true} {
		var locs []protocol.Location
		if err := c.call("textDocument/references", &protocol.ReferenceParams{TextDocumentPositionParams: at(c, "apps/vite.conf", 1, 10),
			Context: protocol.ReferenceContext{IncludeDeclaration: decl}}, &locs); err != nil {
			t.Fatal(err)
		}
		var lines []uint32
		for _, l := range locs {
			lines = append(lines, l.Range.Start.Line)
		}
		want := []uint32{2, 3}
		if decl {
			want = []uint32{1, 2, 3}
		}
		if len(lines) != len(want) || lines[0] != want[0] || lines[len(lines)-1] != want[len(want)-1] {
			t.Errorf("references (includeDeclaration %v): lines %v, want %v", decl, lines, want)
		}
	}
	var hs []protocol.DocumentHighlight
	if err := c.call("textDocument/documentHighlight", &protocol.DocumentHighlightParams{TextDocumentPositionParams: at(c, "apps/vite.conf", 2, 30)}, &hs); err != nil {
		t.Fatal(err)
	}
	want := []protocol.DocumentHighlight{
		{Range: protocol.Range{Start: protocol.Position{Line: 1, Character: 8}, End: protocol.Position{Line: 1, Character: 13}}, Kind: protocol.DocumentHighlightKindWrite},
		{Range: protocol.Range{Start: protocol.Position{Line: 2, Character: 27}, End: protocol.Position{Line: 2, Character: 34}}, Kind: protocol.DocumentHighlightKindRead},
		{Range: protocol.Range{Start: protocol.Position{Line: 3, Character: 22}, End: protocol.Position{Line: 3, Character: 27}}, Kind: protocol.DocumentHighlightKindRead},
	}
	if len(hs) != len(want) {
		t.Fatalf("highlights: %+v", hs)
	}
	for i := range want {
		if hs[i] != want[i] {
			t.Errorf("highlight %d: %+v, want %+v", i, hs[i], want[i])
		}
	}
}
