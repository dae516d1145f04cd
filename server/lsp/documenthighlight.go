package lsp

import (
	"context"

	"go.lsp.dev/protocol"
)

// DocumentHighlight marks every occurrence of the $variable under the
// cursor: Write where set gives it a value, Read where it is used.
func (s *Server) DocumentHighlight(ctx context.Context, p *protocol.DocumentHighlightParams) ([]protocol.DocumentHighlight, error) {
	out := []protocol.DocumentHighlight{}
	for _, r := range s.refsAt(ctx, p.TextDocument.URI, p.Position) {
		kind := protocol.DocumentHighlightKindRead
		if r.Set {
			kind = protocol.DocumentHighlightKindWrite
		}
		out = append(out, protocol.DocumentHighlight{Range: lspRange(r.Range), Kind: kind})
	}
	return out, nil
}
