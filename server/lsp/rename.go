package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Renaming a route moves an app to another path in one edit. What changes
// is the engine's to say (routing.RenameRoute, routing.RenamePin); here
// its replacements become a WorkspaceEdit.

func init() {
	requests["textDocument/prepareRename"] = (*Server).prepareRename
	requests["textDocument/rename"] = (*Server).rename
}

// routeAt finds a location with a route whose header holds p.
func (v view) routeAt(p Position) *routefile.Location {
	l := v.locationAt(p)
	if l == nil || !l.HasRoute || !inside(p, l.Directive.HeaderRange()) && !inside(p, l.Directive.Range) {
		return nil
	}
	return l
}

func (s *Server) prepareRename(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[TextDocumentPositionParams](params)
	if err != nil {
		return nil, err
	}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	l := v.routeAt(p.Position)
	if l == nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "only a location with a route (such as /api/) can be renamed")
	}
	return PrepareRenameResult{Range: lspRange(specToken(l).Range), Placeholder: l.Route}, nil
}

func (s *Server) rename(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[RenameParams](params)
	if err != nil {
		return nil, err
	}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok || v.file == nil {
		return nil, nil
	}
	l := v.routeAt(p.Position)
	if l == nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "only a location with a route (such as /api/) can be renamed")
	}
	r, err := routing.RenameRoute(v.file.Parsed, v.text, l.Route, p.NewName)
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
	}
	edits := make([]TextEdit, len(r.Edits))
	for i, e := range r.Edits {
		edits[i] = TextEdit{Range: lspRange(e.Range), NewText: e.NewText}
	}
	changes := []any{textEdit(p.TextDocument.URI, s.docVersion(v.rel), edits...)}
	if text, exists := s.readText(snap, routing.ResolutionsFile); exists {
		if content, pinned := routing.RenamePin([]byte(text), r.Route, r.NewRoute); pinned {
			changes = append(changes, s.resolutionsEdit(snap, string(content)).DocumentChanges...)
		}
	}
	return WorkspaceEdit{DocumentChanges: changes}, nil
}
