package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Code actions are WorkspaceEdits, so an editor can preview them. Titles
// are part of the contract (docs/lsp.md, "Code action titles").

func (s *Server) CodeAction(ctx context.Context, p *protocol.CodeActionParams) ([]protocol.CommandOrCodeAction, error) {
	snap := s.snapshotOf(ctx)
	actions := []protocol.CommandOrCodeAction{}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return actions, nil
	}
	t := snap.table
	doc := p.TextDocument.URI
	version := versionOf(snap, v.rel)
	// forFinding marks the fixes that answer a finding (whether or not
	// the client sent its diagnostic): they must remove one.
	forFinding := map[*protocol.CodeAction]bool{}
	fix := func(a *protocol.CodeAction) *protocol.CodeAction {
		forFinding[a] = true
		return a
	}
	// A file with errors has no blocks in the table, but a missing ';'
	// is fixed where the parser found it.
	for _, d := range v.parsed().Diagnostics {
		if d.Code != routefile.CodeMissingSemicolon || !overlapsLine(p.Range, d.Range) {
			continue
		}
		at := lspPos(d.Range.Start)
		actions = append(actions, fix(&protocol.CodeAction{Title: "Add the missing ';'", Kind: quickFix(), IsPreferred: preferred(true),
			Diagnostics: withCode(p.Context.Diagnostics, routefile.CodeMissingSemicolon),
			Edit:        workspaceEdit(textDocumentEdit(doc, version, protocol.TextEdit{Range: protocol.Range{Start: at, End: at}, NewText: ";"}))}))
	}
	if v.file == nil || !v.file.Parsed.OK {
		return s.checkedFixes(snap, actions, forFinding), nil
	}
	for _, l := range v.file.Parsed.Locations {
		if !overlaps(p.Range, l.Directive.Range) {
			continue
		}
		b := blockOf(t, l)
		related := diagnosticsOn(p.Context.Diagnostics, l)
		if b != nil && b.Conflict != nil {
			if a, ok := s.winAction(snap, b); ok {
				a.Diagnostics = withCode(related, routefile.CodeConflict)
				actions = append(actions, a)
			}
			if !b.Active && b.File.Kind == routing.AppFile {
				a := fix(s.moveToOverrides(snap, v, b))
				a.Diagnostics = withCode(related, routefile.CodeConflict)
				actions = append(actions, a)
			}
		}
		if l.DuplicateOf != nil || (b != nil && b.Inactive == routing.InactiveShadowedByEarlier) {
			actions = append(actions, fix(&protocol.CodeAction{Title: "Remove this duplicate block", Kind: quickFix(), IsPreferred: preferred(true),
				Diagnostics: withCode(related, routefile.CodeDuplicate),
				Edit:        workspaceEdit(textDocumentEdit(doc, version, protocol.TextEdit{Range: blockDeleteRange(v.text, l), NewText: ""}))}))
		}
		if l.Modifier.IsRegex() && !strings.HasPrefix(l.Spec, "^/") {
			a := fix(anchorAction(doc, version, v, l))
			a.Diagnostics = withCode(related, routefile.CodeUnanchoredRegex)
			actions = append(actions, a)
		}
		if b != nil && b.SlashPitfall != nil {
			if a, ok := slashFix(v, doc, version, l, b.SlashPitfall); ok {
				a.Diagnostics = withCode(related, routefile.CodeSlashPitfall)
				fix(a)
				actions = append(actions, a)
			}
		}
		if b != nil && b.WebSocketHost != nil {
			a := fix(webSocketHostFix(v, doc, version, b.WebSocketHost))
			a.Diagnostics = withCode(related, routefile.CodeWebSocketHost)
			actions = append(actions, a)
		}
		if a, ok := redirectCompanion(t, doc, version, v, l); ok {
			actions = append(actions, a)
		}
		// Refactors are offered on the location line only, not on every
		// line of the block (the quick fixes above answer diagnostics,
		// which may sit anywhere in it).
		onHeader := int(p.Range.Start.Line) == l.Line()-1
		if onHeader && l.HasRoute && (l.Modifier.IsPrefix() || l.Modifier == routefile.ModExact) {
			rewrite := protocol.CodeActionKindRefactorRewrite
			actions = append(actions, &protocol.CodeAction{Title: "Rename route " + l.Route + "…", Kind: &rewrite,
				Command: protocol.Command{Title: "Rename route", Command: "devproxy.renameRoute", Arguments: arguments(doc, lspPos(specToken(l).Range.Start))}})
		}
	}
	return s.checkedFixes(snap, actions, forFinding), nil
}

// --- quick fixes checked by the engine ---

// checkedFixes keeps the quick fixes that help: each one's edit is applied
// to its files in memory and the table composed again (Workspace.Preview).
// A fix for findings must leave those files with fewer findings, any other
// fix with no more (compareFindings). One that does not help is returned disabled, saying
// why, to a client that shows disabled actions, and left out for others.
func (s *Server) checkedFixes(snap *snapshot, actions []protocol.CommandOrCodeAction, forFinding map[*protocol.CodeAction]bool) []protocol.CommandOrCodeAction {
	s.mu.Lock()
	ws, showDisabled := s.ws, s.caps.disabledActions
	s.mu.Unlock()
	out := actions[:0]
	for _, ca := range actions {
		a, ok := ca.(*protocol.CodeAction)
		if !ok || a.Edit == nil || a.Kind == nil || *a.Kind != protocol.CodeActionKindQuickFix || ws == nil {
			out = append(out, ca)
			continue
		}
		reason := s.whyNotHelpful(snap, ws, a, forFinding[a])
		switch {
		case reason == "":
			out = append(out, a)
		case showDisabled:
			a.Disabled = protocol.CodeActionDisabled{Reason: reason}
			a.IsPreferred = nil
			out = append(out, a)
		}
	}
	return out
}

// whyNotHelpful says why a quick fix does not help, or "" when it does or
// cannot be checked (an edit of anything but route files).
func (s *Server) whyNotHelpful(snap *snapshot, ws *routing.Workspace, a *protocol.CodeAction, forFinding bool) string {
	texts := map[string][]byte{}
	for _, ch := range a.Edit.DocumentChanges {
		switch ch := ch.(type) {
		case *protocol.CreateFile:
			rel, ok := s.rel(ch.URI)
			if !ok || !strings.HasSuffix(rel, ".conf") {
				return ""
			}
			if _, exists := texts[rel]; !exists {
				text, _ := snap.text(rel)
				texts[rel] = []byte(text)
			}
		case *protocol.TextDocumentEdit:
			rel, ok := s.rel(ch.TextDocument.URI)
			if !ok || !strings.HasSuffix(rel, ".conf") {
				return ""
			}
			text, edited := texts[rel]
			if !edited {
				t, _ := snap.text(rel)
				text = []byte(t)
			}
			var edits []protocol.TextEdit
			for _, e := range ch.Edits {
				te, ok := e.(*protocol.TextEdit)
				if !ok {
					return ""
				}
				edits = append(edits, *te)
			}
			texts[rel] = []byte(editedText(string(text), edits))
		default:
			return ""
		}
	}
	if len(texts) == 0 {
		return ""
	}
	before := findingsIn(snap.table, texts)
	after := findingsIn(ws.Preview(texts), texts)
	if c := compareFindings(after, before); c < 0 || !forFinding && c == 0 {
		return ""
	}
	// Say what the fix would add, or that it removes nothing.
	seen := map[string]int{}
	for _, d := range before {
		seen[d.File+"\x00"+d.Code+"\x00"+d.Message]++
	}
	for _, d := range after {
		key := d.File + "\x00" + d.Code + "\x00" + d.Message
		if seen[key] > 0 {
			seen[key]--
			continue
		}
		return fmt.Sprintf("it would not help: %s would then report: %s", d.File, d.Message)
	}
	return "it would not help: the findings of " + strings.Join(slices.Sorted(maps.Keys(texts)), ", ") + " would stay as they are"
}

// compareFindings orders two lists of findings by how bad they are: by
// their numbers of errors, then of warnings, of information, of hints;
// negative when a is better. A move to overrides that turns a warning into
// the winner's "also claimed by" hint is better.
func compareFindings(a, b []routefile.Diagnostic) int {
	count := func(ds []routefile.Diagnostic) (n [4]int) {
		for _, d := range ds {
			if i := int(d.Severity) - 1; i >= 0 && i < len(n) {
				n[i]++
			}
		}
		return n
	}
	ca, cb := count(a), count(b)
	return slices.Compare(ca[:], cb[:])
}

// findingsIn lists a table's findings for the given files.
func findingsIn(t *routing.RouteTable, files map[string][]byte) []routefile.Diagnostic {
	var out []routefile.Diagnostic
	for _, d := range t.Diagnostics {
		if _, ok := files[d.File]; ok {
			out = append(out, d)
		}
	}
	return out
}

// overlapsLine reports whether an LSP range touches the lines of an
// engine range (a zero-width finding is found from anywhere on its line).
func overlapsLine(r protocol.Range, er routefile.Range) bool {
	return int(r.Start.Line) <= er.End.Line-1 && int(r.End.Line) >= er.Start.Line-1
}

func quickFix() *protocol.CodeActionKind {
	k := protocol.CodeActionKindQuickFix
	return &k
}

// preferred is CodeAction.IsPreferred: set when true, left out when false.
func preferred(yes bool) *bool {
	if !yes {
		return nil
	}
	return &yes
}

func diagnosticsOn(ds []protocol.Diagnostic, l *routefile.Location) []protocol.Diagnostic {
	var out []protocol.Diagnostic
	for _, d := range ds {
		if overlaps(d.Range, l.Directive.Range) {
			out = append(out, d)
		}
	}
	return out
}

func withCode(ds []protocol.Diagnostic, code string) []protocol.Diagnostic {
	var out []protocol.Diagnostic
	for _, d := range ds {
		if diagnosticCode(d) == code {
			out = append(out, d)
		}
	}
	return out
}

// versionOf is the version of the buffer rel's text came from in snap, for
// a TextDocumentEdit; nil (null on the wire) for a file read from disk.
func versionOf(snap *snapshot, rel string) *int32 {
	if v, open := snap.docVersion(rel); open {
		return &v
	}
	return nil
}

func workspaceEdit(changes ...protocol.DocumentChange) *protocol.WorkspaceEdit {
	return &protocol.WorkspaceEdit{DocumentChanges: changes}
}

func textDocumentEdit(doc uri.URI, version *int32, edits ...protocol.TextEdit) *protocol.TextDocumentEdit {
	e := &protocol.TextDocumentEdit{TextDocument: protocol.OptionalVersionedTextDocumentIdentifier{
		TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: doc}, Version: version}}
	for i := range edits {
		e.Edits = append(e.Edits, &edits[i])
	}
	return e
}

// createFile creates a file unless it exists.
func createFile(doc uri.URI) *protocol.CreateFile {
	yes := true
	return &protocol.CreateFile{Kind: "create", URI: doc, Options: &protocol.CreateFileOptions{IgnoreIfExists: &yes}}
}

// --- make this file win ---

// winAction pins the file of b as the winner of its contested route in
// .devproxy/resolutions.json, creating the file when needed. It is not
// offered when an override claims the route (overrides beat any pin).
func (s *Server) winAction(snap *snapshot, b *routing.Block) (*protocol.CodeAction, bool) {
	c := b.Conflict
	for _, o := range c.Claims {
		if o.File.Kind == routing.OverrideFile && o.File != b.File {
			return nil, false
		}
	}
	if c.Winner == b.File && c.Settlement == routing.SettledByPin {
		return nil, false
	}
	// The pin goes in the resolutions file of the file's own folder,
	// naming it relative to that folder.
	resFile := snap.table.ResolutionsFileFor(b.File.Path)
	text, exists := snap.text(resFile)
	pins := map[string]any{}
	if exists {
		json.Unmarshal([]byte(text), &pins) // a broken file is replaced whole
	}
	_, _, own, _ := snap.table.FolderOf(b.File.Path)
	pins[c.Route] = own
	content, err := routing.FormatResolutions(pins)
	if err != nil {
		return nil, false
	}
	return &protocol.CodeAction{Title: fmt.Sprintf("Make %s win %s", b.File.Path, c.Route), Kind: quickFix(),
		IsPreferred: preferred(c.Winner != b.File), Edit: s.resolutionsEdit(snap, resFile, string(content))}, true
}

// resolutionsEdit replaces the text of a folder's .devproxy/resolutions.json
// (rel, a display path) with content, or creates the file.
func (s *Server) resolutionsEdit(snap *snapshot, rel, content string) *protocol.WorkspaceEdit {
	doc := s.uriOf(rel)
	if text, exists := snap.text(rel); exists {
		return workspaceEdit(textDocumentEdit(doc, versionOf(snap, rel), protocol.TextEdit{Range: fullRange(text), NewText: content}))
	}
	return workspaceEdit(createFile(doc), textDocumentEdit(doc, nil, protocol.TextEdit{NewText: content}))
}

// --- move to overrides ---

func (s *Server) moveToOverrides(snap *snapshot, v view, b *routing.Block) *protocol.CodeAction {
	// The overrides folder of the file's own folder.
	folder, prefix, _, _ := snap.table.FolderOf(v.rel)
	dir := "overrides"
	if globs := folder.Config.Overrides; len(globs) > 0 {
		dir = routing.GlobDir(globs[0])
	}
	target := prefix + path.Join(dir, path.Base(v.rel))
	l := b.Loc
	blockText := v.text[l.Directive.Range.Start.Offset:l.Directive.Range.End.Offset]
	del := textDocumentEdit(s.uriOf(v.rel), versionOf(snap, v.rel), protocol.TextEdit{Range: blockDeleteRange(v.text, l), NewText: ""})
	turi := s.uriOf(target)
	insert := fmt.Sprintf("# moved from %s\n%s\n", v.rel, blockText)
	// One workspace edit, in this order: create the target (a no-op when
	// it exists), insert the block there, delete it here. VS Code applies
	// and undoes a workspace edit as a unit, the created file included,
	// so one undo puts the block back.
	var at protocol.Position
	var version *int32
	if existing, ok := snap.text(target); ok {
		at, version = fullRange(existing).End, versionOf(snap, target)
		if existing != "" && !strings.HasSuffix(existing, "\n") {
			insert = "\n" + insert
		}
	}
	changes := []protocol.DocumentChange{createFile(turi),
		textDocumentEdit(turi, version, protocol.TextEdit{Range: protocol.Range{Start: at, End: at}, NewText: insert}), del}
	return &protocol.CodeAction{Title: "Move this block to " + target, Kind: quickFix(), Edit: workspaceEdit(changes...)}
}

// blockDeleteRange covers a location block and, when it sits on lines of
// its own, those whole lines.
func blockDeleteRange(text string, l *routefile.Location) protocol.Range {
	r := lspRange(l.Directive.Range)
	startLine := lineAt(text, int(r.Start.Line))
	if strings.TrimSpace(startLine[:utf16Index(startLine, int(r.Start.Character))]) == "" {
		r.Start.Character = 0
	}
	endLine := lineAt(text, int(r.End.Line))
	if strings.TrimSpace(endLine[utf16Index(endLine, int(r.End.Character)):]) == "" {
		r.End = protocol.Position{Line: r.End.Line + 1}
	}
	return r
}

// --- anchor an unanchored regex ---

func anchorAction(doc uri.URI, version *int32, v view, l *routefile.Location) *protocol.CodeAction {
	app := strings.TrimSuffix(path.Base(v.rel), ".conf")
	spec := l.Spec
	var anchored string
	switch {
	case strings.HasPrefix(spec, "/"):
		anchored = "^" + spec
	case strings.HasPrefix(spec, "^"):
		anchored = "^/" + app + "/" + strings.TrimPrefix(spec[1:], "/")
	default:
		anchored = "^/" + app + "/.*" + spec
	}
	tok := specToken(l)
	newText := anchored
	if len(l.Directive.Args) == 1 { // glued: ~\.js$
		newText = string(l.Modifier) + anchored
	}
	if tok.Quote != 0 {
		newText = string(tok.Quote) + newText + string(tok.Quote)
	}
	return &protocol.CodeAction{Title: "Anchor the regex: " + anchored, Kind: quickFix(), IsPreferred: preferred(true),
		Edit: workspaceEdit(textDocumentEdit(doc, version, protocol.TextEdit{Range: lspRange(tok.Range), NewText: newText}))}
}

// --- the missing-slash redirect companion ---

func redirectCompanion(t *routing.RouteTable, doc uri.URI, version *int32, v view, l *routefile.Location) (*protocol.CodeAction, bool) {
	if !l.Modifier.IsPrefix() || len(l.Spec) < 2 || !strings.HasSuffix(l.Spec, "/") {
		return nil, false
	}
	bare := strings.TrimSuffix(l.Spec, "/")
	for _, b := range t.Blocks {
		if b.Active && (b.Loc.Modifier.IsPrefix() || b.Loc.Modifier == routefile.ModExact) && b.Loc.Spec == bare {
			return nil, false
		}
	}
	r := lspRange(l.Directive.Range)
	line := lineAt(v.text, int(r.Start.Line))
	indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
	at := protocol.Position{Line: r.Start.Line}
	text := fmt.Sprintf("%slocation = %s { return 301 %s; }\n", indent, bare, l.Spec)
	return &protocol.CodeAction{Title: fmt.Sprintf("Add the redirect %s → %s", bare, l.Spec), Kind: quickFix(),
		Edit: workspaceEdit(textDocumentEdit(doc, version, protocol.TextEdit{Range: protocol.Range{Start: at, End: at}, NewText: text}))}, true
}

// --- the slash pitfall ---

// slashFix ends the location's path with a slash, as the engine's
// SlashPitfall says (location /api → location /api/): the prefix and
// proxy_pass's URI then both end in "/", so the upstream gets no double
// slash, and nginx answers /api with a 301 to /api/. It is not offered
// when the file already has a prefix location for the fixed path (the
// fix would make a duplicate).
func slashFix(v view, doc uri.URI, version *int32, l *routefile.Location, p *routing.SlashPitfall) (*protocol.CodeAction, bool) {
	for _, o := range v.file.Parsed.Locations {
		if o != l && o.Modifier.IsPrefix() && o.Spec == p.FixedSpec {
			return nil, false
		}
	}
	// Insert the slash at the end of the spec, inside its quotes if any.
	tok := specToken(l)
	at := lspPos(tok.Range.End)
	if tok.Quote != 0 {
		at.Character--
	}
	return &protocol.CodeAction{Title: fmt.Sprintf("Change the location to %s", p.FixedSpec), Kind: quickFix(), IsPreferred: preferred(true),
		Edit: workspaceEdit(textDocumentEdit(doc, version, protocol.TextEdit{Range: protocol.Range{Start: at, End: at}, NewText: "/"}))}, true
}

// --- the WebSocket Host ---

// webSocketHostFix inserts proxy_set_header Host $http_host; just before
// the directive that makes the block pass WebSocket upgrades (the
// engine's Block.WebSocketHost): on a line of its own with that line's
// indentation when the directive starts its line, else on the same line.
// $http_host rather than $host: it keeps the port, which the browser's
// Origin carries and dev servers compare (docs/dev-servers.md).
func webSocketHostFix(v view, doc uri.URI, version *int32, d *routefile.Directive) *protocol.CodeAction {
	at := lspPos(d.Name.Range.Start)
	line := lineAt(v.text, int(at.Line))
	indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
	text := routing.WebSocketHostFix + " "
	if len(indent) == int(at.Character) {
		text = routing.WebSocketHostFix + "\n" + indent
	}
	return &protocol.CodeAction{Title: "Forward the browser's Host: " + routing.WebSocketHostFix, Kind: quickFix(), IsPreferred: preferred(true),
		Edit: workspaceEdit(textDocumentEdit(doc, version, protocol.TextEdit{Range: protocol.Range{Start: at, End: at}, NewText: text}))}
}
