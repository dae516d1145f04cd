package lsp

import (
	"context"

	"go.lsp.dev/protocol"
)

// DocumentHighlight marks every occurrence of the $variable under the
// cursor: Write where set gives it a value, Read where it is used.
func (s *Server) DocumentHighlight(ctx context.Context, p *protocol.DocumentHighlightParams) ([]protocol.DocumentHighlight, error) {
	out := []protocol.DocumentHighlight{}
	v, ok := s.view(s.snapshotOf(ctx), p.TextDocument.URI)
	if !ok {
		return out, nil
	}
	_, all, ok := v.variableAt(p.Position)
	if !ok {
		return out, nil
	}
	for _, r := range all {
		kind := protocol.DocumentHighlightKindRead
		if r.Set {
			kind = protocol.DocumentHighlightKindWrite
		}
		out = append(out, protocol.DocumentHighlight{Range: lspRange(r.Range), Kind: kind})
	}
	return out, nil
}
