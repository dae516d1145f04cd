package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/protocol"
)

// CodeLens puts above each location its upstream, or why it does not
// route, and "Open in browser" (the client command devproxy.openRoute with
// the URL).
func (s *Server) CodeLens(ctx context.Context, p *protocol.CodeLensParams) ([]protocol.CodeLens, error) {
	snap := s.snapshotOf(ctx)
	v, ok := s.view(snap, p.TextDocument.URI)
	lenses := []protocol.CodeLens{}
	if !ok || v.file == nil {
		return lenses, nil
	}
	for _, l := range v.file.Parsed.Locations {
		r := lspRange(l.Directive.HeaderRange())
		b := blockOf(snap.table, l)
		switch {
		case b == nil:
			lenses = append(lenses, protocol.CodeLens{Range: r, Command: protocol.Command{Title: "not loaded: the file has errors"}})
			continue
		case !b.Active:
			lenses = append(lenses, protocol.CodeLens{Range: r, Command: protocol.Command{Title: "inactive: " + b.InactiveSentence()}})
			continue
		case b.Upstream != "":
			lenses = append(lenses, protocol.CodeLens{Range: r, Command: protocol.Command{Title: "→ " + b.Upstream}})
		}
		if u := routeURL(snap.table, l); u != "" {
			lenses = append(lenses, protocol.CodeLens{Range: r, Command: protocol.Command{Title: "Open in browser", Command: "devproxy.openRoute", Arguments: arguments(u)}})
		}
	}
	return lenses, nil
}

// arguments encodes the arguments of a client command (LSPAny is raw
// JSON). They are strings and positions, which always encode.
func arguments(args ...any) []protocol.LSPAny {
	out := make([]protocol.LSPAny, len(args))
	for i, a := range args {
		out[i], _ = json.Marshal(a)
	}
	return out
}
