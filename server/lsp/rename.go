package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Renaming a route moves an app to another path in one edit. What changes
// is the engine's to say (routing.RenameRoute, routing.RenamePin); here
// its replacements become a WorkspaceEdit. F2 on a $variable renames the
// variable instead, in its whole file; a route is renamed only from the
// path of its location, so F2 inside a block never moves the app.

const notARoute = "put the cursor on a $variable, or on the path of a location with a route (such as /api/), to rename it"

// routeAt finds a location with a route whose path token holds p (the
// cursor may sit just after it).
func (v view) routeAt(p protocol.Position) *routefile.Location {
	l := v.locationAt(p)
	if l == nil || !l.HasRoute {
		return nil
	}
	if tok := specToken(l); !inside(p, tok.Range) && lspPos(tok.Range.End) != p {
		return nil
	}
	return l
}

// builtinRename refuses to rename a variable nginx provides.
func builtinRename(name string) error {
	return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "$"+name+" is a built-in nginx variable and cannot be renamed; only variables that set gives a value can")
}

// renameVariable replaces the name of every occurrence of ref's variable
// in the file. newName may start with $; it must be a name set can give a
// value to and not be used in the file already.
func renameVariable(v view, doc uri.URI, version *int32, ref routefile.VarRef, all []routefile.VarRef, newName string) (*protocol.WorkspaceEdit, error) {
	if routefile.IsNginxVariable(ref.Name) {
		return nil, builtinRename(ref.Name)
	}
	name := strings.TrimPrefix(newName, "$")
	if why := routefile.CheckVariableName(name); why != "" {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cannot rename $%s to %q: %s", ref.Name, newName, why))
	}
	if strings.ToLower(name) != ref.Name {
		for _, r := range v.variableRefs() {
			if r.Name == strings.ToLower(name) {
				return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("cannot rename $%s to $%s: %s already uses $%s (line %d)", ref.Name, name, v.rel, r.Name, r.Range.Start.Line))
			}
		}
	}
	edits := make([]protocol.TextEdit, len(all))
	for i, r := range all {
		edits[i] = protocol.TextEdit{Range: lspRange(r.NameRange), NewText: name}
	}
	return workspaceEdit(textDocumentEdit(doc, version, edits...)), nil
}

func (s *Server) PrepareRename(ctx context.Context, p *protocol.PrepareRenameParams) (protocol.PrepareRenameResult, error) {
	v, ok := s.view(s.snapshotOf(ctx), p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	// The name without its $ (and braces): VS Code selects the range, and
	// what the user types replaces exactly that.
	if ref, _, ok := v.variableAt(p.Position); ok {
		if routefile.IsNginxVariable(ref.Name) {
			return nil, builtinRename(ref.Name)
		}
		name := v.text[ref.NameRange.Start.Offset:ref.NameRange.End.Offset]
		return &protocol.PrepareRenamePlaceholder{Range: lspRange(ref.NameRange), Placeholder: name}, nil
	}
	l := v.routeAt(p.Position)
	if l == nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, notARoute)
	}
	return &protocol.PrepareRenamePlaceholder{Range: lspRange(specToken(l).Range), Placeholder: l.Route}, nil
}

func (s *Server) Rename(ctx context.Context, p *protocol.RenameParams) (*protocol.WorkspaceEdit, error) {
	snap := s.snapshotOf(ctx)
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	if ref, all, ok := v.variableAt(p.Position); ok {
		return renameVariable(v, p.TextDocument.URI, versionOf(snap, v.rel), ref, all, p.NewName)
	}
	if v.file == nil {
		return nil, nil
	}
	l := v.routeAt(p.Position)
	if l == nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, notARoute)
	}
	r, err := routing.RenameRoute(v.file.Parsed, v.text, l.Route, p.NewName)
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
	}
	edits := make([]protocol.TextEdit, len(r.Edits))
	for i, e := range r.Edits {
		edits[i] = protocol.TextEdit{Range: lspRange(e.Range), NewText: e.NewText}
	}
	edit := workspaceEdit(textDocumentEdit(p.TextDocument.URI, versionOf(snap, v.rel), edits...))
	// A pin of the route, in any folder, follows it.
	for _, f := range snap.table.Folders {
		resFile := snap.table.ResolutionsFileFor(f.Label + "/" + routing.ResolutionsFile)
		if len(snap.table.Folders) == 1 {
			resFile = routing.ResolutionsFile
		}
		if text, exists := snap.text(resFile); exists {
			if content, pinned := routing.RenamePin([]byte(text), r.Route, r.NewRoute); pinned {
				edit.DocumentChanges = append(edit.DocumentChanges, s.resolutionsEdit(snap, resFile, string(content)).DocumentChanges...)
			}
		}
	}
	return edit, nil
}
