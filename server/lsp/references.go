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
	for _, r := range s.refsAt(ctx, p.TextDocument.URI, p.Position) {
		if r.Set && !p.Context.IncludeDeclaration {
			continue
		}
		out = append(out, protocol.Location{URI: p.TextDocument.URI, Range: lspRange(r.Range)})
	}
	return out, nil
}
