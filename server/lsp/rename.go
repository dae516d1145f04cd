package lsp

import (
	"context"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Renaming a route moves an app to another path in one edit. What changes
// is the engine's to say (routing.RenameRoute, routing.RenamePin); here
// its replacements become a WorkspaceEdit.

const notARoute = "only a location with a route (such as /api/) can be renamed"

// routeAt finds a location with a route whose header holds p.
func (v view) routeAt(p protocol.Position) *routefile.Location {
	l := v.locationAt(p)
	if l == nil || !l.HasRoute || !inside(p, l.Directive.HeaderRange()) && !inside(p, l.Directive.Range) {
		return nil
	}
	return l
}

func (s *Server) PrepareRename(ctx context.Context, p *protocol.PrepareRenameParams) (protocol.PrepareRenameResult, error) {
	v, ok := s.view(s.snapshotOf(ctx), p.TextDocument.URI)
	if !ok {
		return nil, nil
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
	if !ok || v.file == nil {
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
