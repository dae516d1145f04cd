package lsp

import (
	"strings"
	"testing"

	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestMoveToOverridesIsOneEdit: the move is one workspace edit with
// documentChanges in the order create (ignoreIfExists), insert, delete, so
// one undo in VS Code restores both files; an existing overrides file is
// appended to.
func TestMoveToOverridesIsOneEdit(t *testing.T) {
	root := workspace(t, `
-- apps/a.conf --
location /api/ { proxy_pass http://127.0.0.1:5999/; }
location /a/ { return 204; }
-- apps/b.conf --
location /api/ { proxy_pass http://127.0.0.1:5998/; }
-- overrides/a.conf --
location /x/ { return 204; }`)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf", "apps/b.conf")
	move := findAction(t, codeActions(t, c, "apps/a.conf", 0), "Move this block to overrides/a.conf")
	ch := move.Edit.DocumentChanges
	if len(ch) != 3 || move.Edit.Changes != nil {
		t.Fatalf("the move: %+v", move.Edit)
	}
	create, ok := ch[0].(*protocol.CreateFile)
	if !ok || create.URI != c.uri("overrides/a.conf") || create.Options == nil || create.Options.IgnoreIfExists == nil || !*create.Options.IgnoreIfExists {
		t.Errorf("first change: %+v, want a CreateFile of overrides/a.conf with ignoreIfExists", ch[0])
	}
	insert, ok := ch[1].(*protocol.TextDocumentEdit)
	if !ok || insert.TextDocument.URI != c.uri("overrides/a.conf") || len(insert.Edits) != 1 {
		t.Fatalf("second change: %+v, want the insertion into overrides/a.conf", ch[1])
	}
	if e := insert.Edits[0].(*protocol.TextEdit); e.Range.Start != (protocol.Position{Line: 1}) || e.NewText != "# moved from apps/a.conf\nlocation /api/ { proxy_pass http://127.0.0.1:5999/; }\n" {
		t.Errorf("the insertion: %+v", e)
	}
	del, ok := ch[2].(*protocol.TextDocumentEdit)
	if !ok || del.TextDocument.URI != c.uri("apps/a.conf") {
		t.Fatalf("third change: %+v, want the deletion from apps/a.conf", ch[2])
	}
	if e := del.Edits[0].(*protocol.TextEdit); e.NewText != "" || e.Range.End != (protocol.Position{Line: 1}) {
		t.Errorf("the deletion: %+v", e)
	}
	applyEdit(t, c, *move.Edit)
	if got := readFile(t, c, "overrides/a.conf"); !strings.HasPrefix(got, "location /x/ { return 204; }\n# moved from apps/a.conf\nlocation /api/") {
		t.Errorf("overrides/a.conf after the move:\n%s", got)
	}
	if got := readFile(t, c, "apps/a.conf"); got != "location /a/ { return 204; }\n" {
		t.Errorf("apps/a.conf after the move:\n%s", got)
	}
}

// TestRefactorsOnTheLocationLine: "Rename route" is offered on the line
// of the location, not on the lines of its block.
func TestRefactorsOnTheLocationLine(t *testing.T) {
	root := workspace(t, `
-- apps/a.conf --
location /a/ {
    proxy_set_header X-A 1;
    proxy_pass http://127.0.0.1:5999/;
}
`)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf")
	findAction(t, codeActions(t, c, "apps/a.conf", 0), "Rename route /a/…")
	for line := uint32(1); line <= 3; line++ {
		for _, a := range codeActions(t, c, "apps/a.conf", line) {
			if a.Kind != nil && strings.HasPrefix(string(*a.Kind), "refactor") {
				t.Errorf("line %d offers the refactor %q", line, a.Title)
			}
		}
	}
}

// disabledCaps is a client that shows disabled code actions (VS Code).
var disabledCaps = map[string]any{
	"workspace": map[string]any{"workspaceEdit": map[string]any{"documentChanges": true}},
	"textDocument": map[string]any{"codeAction": map[string]any{"disabledSupport": true,
		"codeActionLiteralSupport": map[string]any{"codeActionKind": map[string]any{"valueSet": []string{"quickfix", "refactor"}}}}},
}

func startWithCaps(t *testing.T, archive string, caps map[string]any) *client {
	t.Helper()
	c, _ := startSession(t, workspace(t, archive), nil, testOptions(), nil, caps)
	return c
}

// TestQuickFixesCheckedByTheEngine: a quick fix is applied in memory and
// the table composed again; one that leaves its files with as many
// findings (or more) comes disabled, saying why, or not at all for a
// client that cannot show disabled actions. The two cases of issue 14:
// the redirect companion added to a file that loses its route loses too,
// and anchoring a regex under ^~ /web/ makes a regex that never matches.
func TestQuickFixesCheckedByTheEngine(t *testing.T) {
	const losing = `
-- overrides/o.conf --
location /api/ { return 200 o; }
-- apps/a.conf --
location /api/ { proxy_pass http://127.0.0.1:5999/; }
`
	const shadowed = `
-- apps/web.conf --
location ^~ /web/ { proxy_pass http://127.0.0.1:5173/; }
location ~ /web/x { return 204; }
`
	cases := []struct {
		archive, file string
		line          uint32
		title, reason string
	}{
		{losing, "apps/a.conf", 0, "Add the redirect /api → /api/", "/api/ is also claimed by overrides/o.conf"},
		{shadowed, "apps/web.conf", 1, "Anchor the regex: ^/web/x", "can never match"},
	}
	for _, tc := range cases {
		c := startWithCaps(t, tc.archive, disabledCaps)
		c.waitDiagnostics(0, tc.file)
		a := findAction(t, codeActions(t, c, tc.file, tc.line), tc.title)
		if a.Disabled.Reason == "" || !strings.Contains(a.Disabled.Reason, tc.reason) || a.IsPreferred != nil {
			t.Errorf("%s: disabled %q, preferred %v; want disabled saying %q", tc.title, a.Disabled.Reason, a.IsPreferred, tc.reason)
		}
		c.stop()
		// A client without disabledSupport does not get it.
		c = startWithCaps(t, tc.archive, nil)
		c.waitDiagnostics(0, tc.file)
		for _, a := range codeActions(t, c, tc.file, tc.line) {
			if a.Title == tc.title {
				t.Errorf("%s offered to a client that cannot show it disabled: %+v", tc.title, a)
			}
		}
		c.stop()
	}
	// The same fixes where they help are offered, enabled.
	c := startWithCaps(t, `
-- apps/a.conf --
location /api/ { proxy_pass http://127.0.0.1:5999/; }
location ~ /a/x { return 204; }
`, disabledCaps)
	c.waitDiagnostics(0, "apps/a.conf")
	if a := findAction(t, codeActions(t, c, "apps/a.conf", 0), "Add the redirect /api → /api/"); a.Disabled.Reason != "" {
		t.Errorf("the redirect where it helps: disabled %q", a.Disabled.Reason)
	}
	if a := findAction(t, codeActions(t, c, "apps/a.conf", 1), "Anchor the regex: ^/a/x"); a.Disabled.Reason != "" {
		t.Errorf("anchoring where it helps: disabled %q", a.Disabled.Reason)
	}
}

// TestMissingSemicolonFix: a proxy_pass without its ';' before the next
// line's directive is one error at the end of the line, not an argument
// count and "no proxy_pass"; the quick fix inserts the ';', and the file,
// which does not route while it has the error, routes after it.
func TestMissingSemicolonFix(t *testing.T) {
	c := startWithCaps(t, `
-- apps/a.conf --
location /a/ {
    proxy_pass http://127.0.0.1:5999
    proxy_set_header Host x;
}
`, disabledCaps)
	got := c.waitDiagnostics(0, "apps/a.conf")["apps/a.conf"].Diagnostics
	if len(got) != 1 || diagnosticCode(got[0]) != "missing-semicolon" || string(got[0].Message.(protocol.String)) != "missing ';' at the end of proxy_pass" ||
		got[0].Range.Start != (protocol.Position{Line: 1, Character: 36}) {
		t.Fatalf("diagnostics: %+v", got)
	}
	var d routing.Decision
	c.call("devproxy/explain", ExplainParams{URL: "/a/x"}, &d)
	if d.Matched {
		t.Errorf("a file with an error routes: %+v", d)
	}
	a := findAction(t, codeActions(t, c, "apps/a.conf", 1), "Add the missing ';'")
	if a.Disabled.Reason != "" {
		t.Fatalf("the fix is disabled: %s", a.Disabled.Reason)
	}
	applyEdit(t, c, *a.Edit)
	if ds := reload(t, c, "apps/a.conf")["apps/a.conf"].Diagnostics; len(ds) != 0 {
		t.Errorf("after the fix: %+v", ds)
	}
	c.call("devproxy/explain", ExplainParams{URL: "/a/x"}, &d)
	if d.Upstream != "http://127.0.0.1:5999" {
		t.Errorf("after the fix /a/x goes to %+v", d)
	}
}
