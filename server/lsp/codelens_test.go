package lsp

import (
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// lensTitles is the titles of the code lenses of rel, one string.
func lensTitles(t *testing.T, c *client, rel string) string {
	t.Helper()
	var lenses []protocol.CodeLens
	if err := c.call("textDocument/codeLens", &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: c.uri(rel)}}, &lenses); err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, l := range lenses {
		titles = append(titles, l.Command.Title)
	}
	return strings.Join(titles, " | ")
}

// refreshes counts the workspace/codeLens/refresh requests received since
// message from.
func refreshes(ms []message, from int) int {
	n := 0
	for _, m := range ms[from:] {
		if m.dir == "<-" && m.method == "workspace/codeLens/refresh" {
			n++
		}
	}
	return n
}

var lensRefreshCaps = map[string]any{"workspace": map[string]any{
	"codeLens": map[string]any{"refreshSupport": true}, "workspaceEdit": map[string]any{"documentChanges": true},
}}

// The code lens above a location says whether it is active, which a pin
// in another file changes: after the "make this file win" quick fix, a
// client that supports it is told to ask for the lenses again, and the
// lenses it then gets say the new state.
func TestCodeLensRefreshAfterThePinQuickFix(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	c, _ := startSession(t, root, nil, Options{Version: "test", Debounce: 20 * time.Millisecond, DisableProxy: true}, nil, lensRefreshCaps)
	c.waitDiagnostics(0, "apps/a.conf")
	if got := lensTitles(t, c, "apps/a.conf"); !strings.Contains(got, "inactive") {
		t.Fatalf("before the pin, a.conf's lenses are %q; want its /api/ inactive", got)
	}
	var win *protocol.CodeAction
	for _, a := range codeActionsAt(t, c, "apps/a.conf", protocol.Position{Line: 0, Character: 3}) {
		if a.Title == "Make apps/a.conf win /api/" {
			win = a
		}
	}
	if win == nil || win.Edit == nil {
		t.Fatal("no \"Make apps/a.conf win /api/\" action")
	}
	applyEdit(t, c, *win.Edit)
	from := c.mark()
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": c.uri(".devproxy/resolutions.json"), "type": 1}}})
	c.waitFor("workspace/codeLens/refresh", func(ms []message) bool { return refreshes(ms, from) > 0 })
	if got := lensTitles(t, c, "apps/a.conf"); strings.Contains(got, "inactive") || !strings.Contains(got, "→ http://127.0.0.1:5999") {
		t.Errorf("after the pin, a.conf's lenses are %q", got)
	}
	if got := lensTitles(t, c, "apps/b.conf"); !strings.Contains(got, "inactive") {
		t.Errorf("after the pin, b.conf's lenses are %q; want its /api inactive", got)
	}
}

// A burst of buffer edits sends one refresh, after the last.
func TestCodeLensRefreshCoalescesABurst(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	debounce := 300 * time.Millisecond
	c, _ := startSession(t, root, nil, Options{Version: "test", Debounce: debounce, DisableProxy: true}, nil, lensRefreshCaps)
	c.waitDiagnostics(0, "apps/a.conf")
	c.open("apps/b.conf")
	from := c.mark()
	start := time.Now()
	for v := int32(2); v <= 5; v++ {
		c.change("apps/b.conf", v, strings.Repeat("\n", int(v))+"location /other/ { proxy_pass http://127.0.0.1:5998; }\n")
	}
	if elapsed := time.Since(start); elapsed > debounce/2 {
		t.Skipf("the edits took %v, longer than the debounce allows to check coalescing", elapsed)
	}
	c.waitFor("workspace/codeLens/refresh", func(ms []message) bool { return refreshes(ms, from) > 0 })
	time.Sleep(2 * debounce)
	c.mu.Lock()
	n := refreshes(c.messages, from)
	c.mu.Unlock()
	if n != 1 {
		t.Errorf("%d refreshes for one burst of edits, want 1", n)
	}
	// b.conf no longer claims /api: a.conf's /api/ is active.
	if got := lensTitles(t, c, "apps/a.conf"); strings.Contains(got, "inactive") {
		t.Errorf("after the edits, a.conf's lenses are %q", got)
	}
}

// A client that did not announce refreshSupport is never sent the request.
func TestNoCodeLensRefreshWithoutSupport(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf")
	c.open("apps/b.conf")
	from := c.mark()
	c.change("apps/b.conf", 2, "location /other/ { proxy_pass http://127.0.0.1:5998; }\n")
	c.waitDiagnostics(from, "apps/a.conf", "apps/b.conf")
	time.Sleep(200 * time.Millisecond) // ten debounces
	c.mu.Lock()
	n := refreshes(c.messages, 0)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d workspace/codeLens/refresh requests sent to a client without refreshSupport", n)
	}
	if got := lensTitles(t, c, "apps/a.conf"); strings.Contains(got, "inactive") {
		t.Errorf("after the edit, a.conf's lenses are %q", got)
	}
}

// Issue 14: the lens of a file follows a quick fix applied to another
// file's unsaved buffer. b.conf wins /api/ over a.conf; renaming b.conf's
// route in its open buffer (the edit VS Code applies there, unsaved)
// changes the table, the server asks for the lenses again, and a.conf's
// lens, in a file nobody touched, says it is active.
func TestCodeLensRefreshAfterAnEditOfTheOtherBuffer(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	c, _ := startSession(t, root, nil, Options{Version: "test", Debounce: 20 * time.Millisecond, DisableProxy: true}, nil, lensRefreshCaps)
	c.waitDiagnostics(0, "apps/a.conf")
	if got := lensTitles(t, c, "apps/a.conf"); !strings.Contains(got, "inactive") {
		t.Fatalf("before the edit, a.conf's lenses are %q; want its /api/ inactive", got)
	}
	c.open("apps/b.conf")
	var edit protocol.WorkspaceEdit
	if err := c.call("textDocument/rename", &protocol.RenameParams{TextDocumentPositionParams: at(c, "apps/b.conf", 0, 10), NewName: "/bapi/"}, &edit); err != nil {
		t.Fatal(err)
	}
	text := readFile(t, c, "apps/b.conf")
	for _, ch := range edit.DocumentChanges {
		if e, ok := ch.(*protocol.TextDocumentEdit); ok && e.TextDocument.URI == c.uri("apps/b.conf") {
			var edits []protocol.TextEdit
			for _, te := range e.Edits {
				edits = append(edits, *te.(*protocol.TextEdit))
			}
			text = applyTextEdits(text, edits)
		}
	}
	from := c.mark()
	c.change("apps/b.conf", 2, text)
	c.waitFor("workspace/codeLens/refresh", func(ms []message) bool { return refreshes(ms, from) > 0 })
	if got := lensTitles(t, c, "apps/a.conf"); strings.Contains(got, "inactive") || !strings.Contains(got, "→ http://127.0.0.1:5999") {
		t.Errorf("after b.conf's edit, a.conf's lenses are %q", got)
	}
}
