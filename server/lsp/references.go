package lsp

import (
	"context"

	"go.lsp.dev/protocol"
)

// References lists the uses of the $variable under the cursor in its
// file, and its set directives when the client asks for the declaration.
// Routes have no references: a route is claimed, not used.
func (s *Server) References(ctx context.Context, p *protocol.ReferenceParams) ([]protocol.Location, error) {
	out := []protocol.Location{}
	v, ok := s.view(s.snapshotOf(ctx), p.TextDocument.URI)
	if !ok {
		return out, nil
	}
	_, all, ok := v.variableAt(p.Position)
	if !ok {
		return out, nil
	}
	for _, r := range all {
		if r.Set && !p.Context.IncludeDeclaration {
			continue
		}
		out = append(out, protocol.Location{URI: p.TextDocument.URI, Range: lspRange(r.Range)})
	}
	return out, nil
}
