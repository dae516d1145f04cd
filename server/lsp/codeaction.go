package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Code actions are WorkspaceEdits, so an editor can preview them. Titles
// are part of the contract (docs/lsp.md, "Code action titles").

func init() {
	requests["textDocument/codeAction"] = (*Server).codeAction
}

func (s *Server) codeAction(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[CodeActionParams](params)
	if err != nil {
		return nil, err
	}
	actions := []CodeAction{}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok || v.file == nil || !v.file.Parsed.OK {
		return actions, nil
	}
	t := snap.table
	uri := p.TextDocument.URI
	for _, l := range v.file.Parsed.Locations {
		if !overlaps(p.Range, l.Directive.Range) {
			continue
		}
		b := blockOf(t, l)
		related := diagnosticsOn(p.Context.Diagnostics, l)
		if b != nil && b.Conflict != nil {
			if a, ok := s.winAction(snap, v, b); ok {
				a.Diagnostics = withCode(related, routefile.CodeConflict)
				actions = append(actions, a)
			}
			if !b.Active && b.File.Kind == routing.AppFile {
				if a, ok := s.moveToOverrides(snap, v, b); ok {
					a.Diagnostics = withCode(related, routefile.CodeConflict)
					actions = append(actions, a)
				}
			}
		}
		if l.DuplicateOf != nil || (b != nil && !b.Active && b.Conflict == nil && strings.Contains(b.Inactive, "comes first")) {
			actions = append(actions, CodeAction{Title: "Remove this duplicate block", Kind: "quickfix", IsPreferred: true,
				Diagnostics: withCode(related, routefile.CodeDuplicate),
				Edit:        s.edit(textEdit(uri, s.docVersion(v.rel), TextEdit{Range: blockDeleteRange(v.text, l), NewText: ""}))})
		}
		if l.Modifier.IsRegex() && !strings.HasPrefix(l.Spec, "^/") {
			if a, ok := anchorAction(uri, s.docVersion(v.rel), v, l); ok {
				a.Diagnostics = withCode(related, routefile.CodeUnanchoredRegex)
				actions = append(actions, a)
			}
		}
		if a, ok := redirectCompanion(t, uri, s.docVersion(v.rel), v, l); ok {
			actions = append(actions, a)
		}
		if l.HasRoute && (l.Modifier.IsPrefix() || l.Modifier == routefile.ModExact) {
			pos := lspPos(specToken(l).Range.Start)
			actions = append(actions, CodeAction{Title: "Rename route " + l.Route + "…", Kind: "refactor.rewrite",
				Command: &Command{Title: "Rename route", Command: "devproxy.renameRoute", Arguments: []any{uri, pos}}})
		}
	}
	return actions, nil
}

func diagnosticsOn(ds []Diagnostic, l *routefile.Location) []Diagnostic {
	var out []Diagnostic
	for _, d := range ds {
		if overlaps(d.Range, l.Directive.Range) {
			out = append(out, d)
		}
	}
	return out
}

func withCode(ds []Diagnostic, code string) []Diagnostic {
	var out []Diagnostic
	for _, d := range ds {
		if d.Code == code {
			out = append(out, d)
		}
	}
	return out
}

func (s *Server) edit(changes ...any) *WorkspaceEdit { return &WorkspaceEdit{DocumentChanges: changes} }

func textEdit(uri string, version *int, edits ...TextEdit) TextDocumentEdit {
	return TextDocumentEdit{TextDocument: VersionedTextDocumentIdentifier{URI: uri, Version: version}, Edits: edits}
}

// --- make this file win ---

// winAction pins the viewed file as the winner of a contested route in
// .devproxy/resolutions.json, creating the file when needed. It is not
// offered when an override claims the route (overrides beat any pin).
func (s *Server) winAction(snap *snapshot, v view, b *routing.Block) (CodeAction, bool) {
	c := b.Conflict
	for _, o := range c.Claims {
		if o.File.Kind == routing.OverrideFile && o.File != b.File {
			return CodeAction{}, false
		}
	}
	if c.Winner == b.File && strings.HasPrefix(c.Why, "pinned") {
		return CodeAction{}, false
	}
	text, exists := s.readText(snap, routing.ResolutionsFile)
	pins := map[string]any{}
	if exists {
		json.Unmarshal([]byte(text), &pins) // a broken file is replaced whole
	}
	pins[c.Route] = b.File.Path
	content, err := routing.FormatResolutions(pins)
	if err != nil {
		return CodeAction{}, false
	}
	return CodeAction{Title: fmt.Sprintf("Make %s win %s", b.File.Path, c.Route), Kind: "quickfix", IsPreferred: c.Winner != b.File,
		Edit: s.resolutionsEdit(snap, string(content))}, true
}

// resolutionsEdit replaces the text of .devproxy/resolutions.json with
// content, or creates the file.
func (s *Server) resolutionsEdit(snap *snapshot, content string) *WorkspaceEdit {
	rel := routing.ResolutionsFile
	uri := s.uriOf(rel)
	if text, exists := s.readText(snap, rel); exists {
		return s.edit(textEdit(uri, s.docVersion(rel), TextEdit{Range: fullRange(text), NewText: content}))
	}
	return s.edit(
		CreateFile{Kind: "create", URI: uri, Options: &CreateFileOptions{IgnoreIfExists: true}},
		textEdit(uri, nil, TextEdit{Range: Range{}, NewText: content}),
	)
}

// --- move to overrides ---

func (s *Server) moveToOverrides(snap *snapshot, v view, b *routing.Block) (CodeAction, bool) {
	dir := "overrides"
	if globs := snap.table.Config.Overrides; len(globs) > 0 {
		dir = routing.GlobDir(globs[0])
	}
	target := path.Join(dir, path.Base(v.rel))
	l := b.Loc
	blockText := v.text[l.Directive.Range.Start.Offset:l.Directive.Range.End.Offset]
	uri := s.uriOf(v.rel)
	del := textEdit(uri, s.docVersion(v.rel), TextEdit{Range: blockDeleteRange(v.text, l), NewText: ""})
	turi := s.uriOf(target)
	insert := fmt.Sprintf("# moved from %s\n%s\n", v.rel, blockText)
	var changes []any
	if existing, ok := s.readText(snap, target); ok {
		at := fullRange(existing).End
		if existing != "" && !strings.HasSuffix(existing, "\n") {
			insert = "\n" + insert
		}
		changes = []any{del, textEdit(turi, s.docVersion(target), TextEdit{Range: Range{Start: at, End: at}, NewText: insert})}
	} else {
		changes = []any{del, CreateFile{Kind: "create", URI: turi, Options: &CreateFileOptions{IgnoreIfExists: true}},
			textEdit(turi, nil, TextEdit{Range: Range{}, NewText: insert})}
	}
	return CodeAction{Title: "Move this block to " + target, Kind: "quickfix", Edit: s.edit(changes...)}, true
}

// blockDeleteRange covers a location block and, when it sits on lines of
// its own, those whole lines.
func blockDeleteRange(text string, l *routefile.Location) Range {
	r := lspRange(l.Directive.Range)
	startLine := lineAt(text, r.Start.Line)
	if strings.TrimSpace(startLine[:utf16Index(startLine, r.Start.Character)]) == "" {
		r.Start.Character = 0
	}
	endLine := lineAt(text, r.End.Line)
	if strings.TrimSpace(endLine[utf16Index(endLine, r.End.Character):]) == "" {
		r.End = Position{Line: r.End.Line + 1}
	}
	return r
}

// --- anchor an unanchored regex ---

func anchorAction(uri string, version *int, v view, l *routefile.Location) (CodeAction, bool) {
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
	return CodeAction{Title: "Anchor the regex: " + anchored, Kind: "quickfix", IsPreferred: true,
		Edit: &WorkspaceEdit{DocumentChanges: []any{textEdit(uri, version, TextEdit{Range: lspRange(tok.Range), NewText: newText})}}}, true
}

// --- the missing-slash redirect companion ---

func redirectCompanion(t *routing.RouteTable, uri string, version *int, v view, l *routefile.Location) (CodeAction, bool) {
	if !l.Modifier.IsPrefix() || len(l.Spec) < 2 || !strings.HasSuffix(l.Spec, "/") {
		return CodeAction{}, false
	}
	bare := strings.TrimSuffix(l.Spec, "/")
	for _, b := range t.Blocks {
		if b.Active && (b.Loc.Modifier.IsPrefix() || b.Loc.Modifier == routefile.ModExact) && b.Loc.Spec == bare {
			return CodeAction{}, false
		}
	}
	r := lspRange(l.Directive.Range)
	line := lineAt(v.text, r.Start.Line)
	indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
	at := Position{Line: r.Start.Line}
	text := fmt.Sprintf("%slocation = %s { return 301 %s; }\n", indent, bare, l.Spec)
	return CodeAction{Title: fmt.Sprintf("Add the redirect %s → %s", bare, l.Spec), Kind: "quickfix",
		Edit: &WorkspaceEdit{DocumentChanges: []any{textEdit(uri, version, TextEdit{Range: Range{Start: at, End: at}, NewText: text})}}}, true
}
