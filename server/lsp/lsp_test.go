package lsp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// conflictWorkspace: two apps claim /api/ (b.conf is newer and wins), a
// third file is broken, and a fourth has an unanchored regex.
const conflictWorkspace = `
-- apps/a.conf --
location /api/ {
    proxy_pass http://127.0.0.1:5999/;
}
location /a/ { proxy_pass http://127.0.0.1:5001/; }
-- apps/b.conf --
location /api {
    proxy_pass http://127.0.0.1:5998/;
}
-- apps/broken.conf --
location /x/ { proxy_pas http://x; }
-- apps/js.conf --
location ~ \.js$ { return 204; }
`

func severities(ds []protocol.Diagnostic, code string) []protocol.DiagnosticSeverity {
	var out []protocol.DiagnosticSeverity
	for _, d := range ds {
		if diagnosticCode(d) == code {
			out = append(out, d.Severity)
		}
	}
	return out
}

// messageText is a diagnostic's message; devproxy's are plain strings.
func messageText(d protocol.Diagnostic) string {
	m, _ := d.Message.(protocol.String)
	return string(m)
}

func TestDiagnosticsForEveryFileAtStart(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	c, _ := start(t, root, nil)
	got := c.waitDiagnostics(0, "apps/a.conf", "apps/b.conf", "apps/broken.conf", "apps/js.conf")

	a, b := got["apps/a.conf"].Diagnostics, got["apps/b.conf"].Diagnostics
	if len(severities(a, "conflict")) != 1 || len(severities(b, "conflict")) != 1 {
		t.Fatalf("want the conflict on both sides:\na: %+v\nb: %+v", a, b)
	}
	for _, d := range append(a, b...) {
		if diagnosticCode(d) != "conflict" {
			continue
		}
		if d.Severity != protocol.DiagnosticSeverityWarning || !strings.Contains(messageText(d), "is also claimed by") || len(d.RelatedInformation) != 1 {
			t.Errorf("conflict diagnostic %+v", d)
		}
	}
	// a.conf loses (b.conf is newer): its block is greyed out, and its
	// related information points at b.conf with the reason.
	for _, d := range a {
		if diagnosticCode(d) == "conflict" {
			if tags := d.Tags.Slice(); len(tags) != 1 || tags[0] != protocol.DiagnosticTagUnnecessary {
				t.Errorf("the losing block is not tagged Unnecessary: %+v", d)
			}
			if rel := d.RelatedInformation[0]; rel.Location.URI != c.uri("apps/b.conf") || !strings.Contains(rel.Message, "wins (newest)") {
				t.Errorf("related information %+v", rel)
			}
		}
	}
	if len(severities(got["apps/broken.conf"].Diagnostics, "unknown-directive")) != 1 {
		t.Errorf("broken.conf: %+v", got["apps/broken.conf"].Diagnostics)
	}
	if len(severities(got["apps/js.conf"].Diagnostics, "unanchored-regex")) != 1 {
		t.Errorf("js.conf: %+v", got["apps/js.conf"].Diagnostics)
	}
	// The sets as they went on the wire, by file.
	wire := map[string]json.RawMessage{}
	for rel, p := range got {
		wire[rel] = p.wire
	}
	golden(t, c, "diagnostics-at-start", json.RawMessage(mustJSON(wire)))
}

func TestEditingOneFileUpdatesItsConflictPartners(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf", "apps/b.conf")
	c.open("apps/a.conf")
	from := c.mark()
	c.change("apps/a.conf", 2, "location /a/ { proxy_pass http://127.0.0.1:5001/; }\n")
	got := c.waitDiagnostics(from, "apps/a.conf", "apps/b.conf")
	// b.conf keeps its slash-pitfall warning; its conflict goes.
	if ds := got["apps/b.conf"].Diagnostics; len(severities(ds, "conflict")) != 0 {
		t.Errorf("b.conf still has %+v after a.conf dropped /api/", ds)
	}
	if p := got["apps/a.conf"]; p.Version != protocol.NewOptional[int32](2) || len(p.Diagnostics) != 0 {
		t.Errorf("a.conf: %+v", p)
	}
	// The cleared set is [], never null.
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.messages[from:] {
		if m.method == "textDocument/publishDiagnostics" && strings.Contains(string(m.params), `"diagnostics":null`) {
			t.Errorf("published null: %s", m.params)
		}
	}
}

func TestMakeThisFileWinQuickFix(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf")
	var win *protocol.CodeAction
	actions := codeActionsAt(t, c, "apps/a.conf", protocol.Position{Line: 0, Character: 3})
	for _, a := range actions {
		if a.Title == "Make apps/a.conf win /api/" {
			win = a
		}
	}
	if win == nil || win.Edit == nil {
		t.Fatalf("no \"Make apps/a.conf win /api/\" action in %+v", actions)
	}
	golden(t, c, "codeaction-make-win", win.Edit)

	// Apply it as an editor would, then report the file event: the
	// conflict is resolved and both sides' warnings go.
	applyEdit(t, c, *win.Edit)
	from := c.mark()
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": c.uri(".devproxy/resolutions.json"), "type": 1}}})
	got := c.waitDiagnostics(from, "apps/a.conf", "apps/b.conf")
	for _, rel := range []string{"apps/a.conf", "apps/b.conf"} {
		for _, sev := range severities(got[rel].Diagnostics, "conflict") {
			if sev != protocol.DiagnosticSeverityHint {
				t.Errorf("%s: the pinned conflict still warns: %+v", rel, got[rel].Diagnostics)
			}
		}
	}
	var routes RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &routes); err != nil {
		t.Fatal(err)
	}
	for _, r := range routes.Routes {
		if r.Route != nil && *r.Route == "/api/" && r.Active != (r.File == "apps/a.conf") {
			t.Errorf("after pinning, %s active=%v", r.File, r.Active)
		}
	}
}

// codeActionsAt asks for the code actions at one position of rel.
func codeActionsAt(t *testing.T, c *client, rel string, at protocol.Position) []*protocol.CodeAction {
	t.Helper()
	var answer []protocol.CommandOrCodeAction
	if err := c.call("textDocument/codeAction", &protocol.CodeActionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: c.uri(rel)},
		Range:        protocol.Range{Start: at, End: at},
		Context:      protocol.CodeActionContext{Diagnostics: []protocol.Diagnostic{}},
	}, &answer); err != nil {
		t.Fatal(err)
	}
	var actions []*protocol.CodeAction
	for _, a := range answer {
		ca, ok := a.(*protocol.CodeAction)
		if !ok {
			t.Fatalf("a bare command %+v among the code actions", a)
		}
		actions = append(actions, ca)
	}
	return actions
}

// applyEdit writes a WorkspaceEdit to disk the way an editor applies it
// (creations, then text edits on the current file content).
func applyEdit(t *testing.T, c *client, e protocol.WorkspaceEdit) {
	t.Helper()
	for _, ch := range e.DocumentChanges {
		switch ch := ch.(type) {
		case *protocol.CreateFile:
			p, _ := uriToPath(ch.URI)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if _, err := os.Stat(p); err != nil {
				os.WriteFile(p, nil, 0o644)
			}
		case *protocol.TextDocumentEdit:
			var edits []protocol.TextEdit
			for _, e := range ch.Edits {
				te, ok := e.(*protocol.TextEdit)
				if !ok {
					t.Fatalf("an edit of another kind: %+v", e)
				}
				edits = append(edits, *te)
			}
			p, _ := uriToPath(ch.TextDocument.URI)
			old, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(applyTextEdits(string(old), edits)), 0o644)
		default:
			t.Fatalf("a document change of another kind: %+v", ch)
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// applyTextEdits applies non-overlapping edits, last first.
func applyTextEdits(text string, edits []protocol.TextEdit) string {
	offset := func(p protocol.Position) int {
		lines := strings.SplitAfter(text, "\n")
		line := int(p.Line)
		o := 0
		for i := 0; i < line && i < len(lines); i++ {
			o += len(lines[i])
		}
		if line < len(lines) {
			o += utf16Index(strings.TrimSuffix(lines[line], "\n"), int(p.Character))
		}
		return min(o, len(text))
	}
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		s, end := offset(e.Range.Start), offset(e.Range.End)
		text = text[:s] + e.NewText + text[end:]
	}
	return text
}

// TestRegistersFileWatchers: a client that can register file watchers at
// run time is asked to watch the route files and the two settings files
// (the extension does not watch files itself, so this is where VS Code's
// file events come from); a client that cannot is not asked. Either way,
// the file events the client reports are applied.
func TestRegistersFileWatchers(t *testing.T) {
	for _, dynamic := range []bool{true, false} {
		t.Run(fmt.Sprintf("dynamicRegistration=%v", dynamic), func(t *testing.T) {
			root := workspace(t, conflictWorkspace)
			caps := map[string]any{"workspace": map[string]any{"didChangeWatchedFiles": map[string]any{"dynamicRegistration": dynamic}}}
			c, _ := startSession(t, root, nil, testOptions(), nil, caps)
			c.waitDiagnostics(0, "apps/a.conf", "apps/b.conf")
			// The proxy's status follows the registration (Initialized).
			c.waitFor("devproxy/status", func(ms []message) bool {
				return slices.ContainsFunc(ms, func(m message) bool { return m.method == "devproxy/status" })
			})
			var regs []protocol.Registration
			c.mu.Lock()
			for _, m := range c.messages {
				if m.dir == "<-" && m.method == "client/registerCapability" {
					var p protocol.RegistrationParams
					if err := protocol.Unmarshal(m.params, &p); err != nil {
						t.Error(err)
					}
					regs = append(regs, p.Registrations...)
				}
			}
			c.mu.Unlock()
			if !dynamic {
				if len(regs) != 0 {
					t.Errorf("registered %+v with a client that cannot register at run time", regs)
				}
			} else {
				if len(regs) != 1 || regs[0].Method != "workspace/didChangeWatchedFiles" {
					t.Fatalf("registrations %+v", regs)
				}
				var opts protocol.DidChangeWatchedFilesRegistrationOptions
				if err := protocol.Unmarshal(regs[0].RegisterOptions, &opts); err != nil {
					t.Fatal(err)
				}
				var globs []string
				for _, w := range opts.Watchers {
					p, _ := w.GlobPattern.(protocol.Pattern)
					globs = append(globs, string(p))
				}
				// The route files, the settings files, and the route
				// folders and .devproxy themselves (deleted or renamed as a whole, they
				// may be reported as one event). Every pattern starts with
				// "**/": VS Code matches a string pattern against the
				// absolute path, so a bare "apps" would never match.
				if want := []string{"**/*.conf", "**/devproxy.json", "**/.devproxy/resolutions.json", "**/.devproxy", "**/apps", "**/overrides"}; !slices.Equal(globs, want) {
					t.Errorf("watched %q, want %q", globs, want)
				}
			}
			// a.conf drops /api/ on disk: b.conf's conflict goes.
			if err := os.WriteFile(filepath.Join(root, "apps", "a.conf"), []byte("location /a/ { return 204; }\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			from := c.mark()
			c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": c.uri("apps/a.conf"), "type": 2}}})
			if got := c.waitDiagnostics(from, "apps/b.conf"); len(severities(got["apps/b.conf"].Diagnostics, "conflict")) != 0 {
				t.Errorf("b.conf after a.conf changed on disk: %+v", got["apps/b.conf"].Diagnostics)
			}
			// The whole apps folder goes, reported as one folder event:
			// its files leave the table and their diagnostics are cleared.
			if err := os.RemoveAll(filepath.Join(root, "apps")); err != nil {
				t.Fatal(err)
			}
			from = c.mark()
			c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": c.uri("apps"), "type": 3}}})
			if got := c.waitDiagnostics(from, "apps/js.conf"); len(got["apps/js.conf"].Diagnostics) != 0 {
				t.Errorf("js.conf after its folder was deleted: %+v", got["apps/js.conf"].Diagnostics)
			}
		})
	}
}

// TestAnnouncedMethodsAnswer holds the capabilities to the methods: each
// one initialize announces is answered (with anything but "method not
// found"), and methods it does not announce are not.
func TestAnnouncedMethodsAnswer(t *testing.T) {
	root := workspace(t, "-- apps/web.conf --\nlocation ^~ /web/ { proxy_pass http://127.0.0.1:5173/; }\n")
	c, _ := start(t, root, nil)
	var res protocol.InitializeResult
	c.mu.Lock()
	for _, m := range c.messages {
		if m.dir == "<=" && m.method == "initialize" {
			protocol.Unmarshal(m.params, &res)
		}
	}
	c.mu.Unlock()
	caps := res.Capabilities
	if caps.TextDocumentSync == nil {
		t.Fatal("no initialize result")
	}
	doc := protocol.TextDocumentIdentifier{URI: c.uri("apps/web.conf")}
	at := protocol.TextDocumentPositionParams{TextDocument: doc, Position: protocol.Position{Line: 0, Character: 14}}
	checks := []struct {
		method    string
		announced bool
		params    any
	}{
		{"textDocument/hover", caps.HoverProvider != nil, &protocol.HoverParams{TextDocumentPositionParams: at}},
		{"textDocument/codeLens", caps.CodeLensProvider != nil, &protocol.CodeLensParams{TextDocument: doc}},
		{"textDocument/documentSymbol", caps.DocumentSymbolProvider != nil, &protocol.DocumentSymbolParams{TextDocument: doc}},
		{"textDocument/definition", caps.DefinitionProvider != nil, &protocol.DefinitionParams{TextDocumentPositionParams: at}},
		{"textDocument/completion", caps.CompletionProvider != nil, &protocol.CompletionParams{TextDocumentPositionParams: at}},
		{"textDocument/codeAction", caps.CodeActionProvider != nil, &protocol.CodeActionParams{TextDocument: doc, Context: protocol.CodeActionContext{Diagnostics: []protocol.Diagnostic{}}}},
		{"textDocument/prepareRename", caps.RenameProvider != nil, &protocol.PrepareRenameParams{TextDocumentPositionParams: at}},
		{"textDocument/rename", caps.RenameProvider != nil, &protocol.RenameParams{TextDocumentPositionParams: at, NewName: "/b/"}},
		{"textDocument/references", caps.ReferencesProvider != nil, &protocol.ReferenceParams{TextDocumentPositionParams: at}},
		{"textDocument/documentHighlight", caps.DocumentHighlightProvider != nil, &protocol.DocumentHighlightParams{TextDocumentPositionParams: at}},
		{"textDocument/foldingRange", caps.FoldingRangeProvider != nil, &protocol.FoldingRangeParams{TextDocument: doc}},
		{"workspace/symbol", caps.WorkspaceSymbolProvider != nil, &protocol.WorkspaceSymbolParams{Query: "a"}},
	}
	for _, ch := range checks {
		err := c.call(ch.method, ch.params, nil)
		if answered := code(err) != jsonrpc2.MethodNotFound; answered != ch.announced {
			t.Errorf("%s: announced %v, answered %v (%v)", ch.method, ch.announced, answered, err)
		}
	}
}
