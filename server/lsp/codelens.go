package lsp

import (
	"context"
	"encoding/json"
)

func init() {
	requests["textDocument/codeLens"] = (*Server).codeLens
}

func (s *Server) codeLens(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[struct {
		TextDocument TextDocumentIdentifier `json:"textDocument"`
	}](params)
	if err != nil {
		return nil, err
	}
	v, ok := s.view(snap, p.TextDocument.URI)
	lenses := []CodeLens{}
	if !ok || v.file == nil {
		return lenses, nil
	}
	for _, l := range v.file.Parsed.Locations {
		r := lspRange(l.Directive.HeaderRange())
		b := blockOf(snap.table, l)
		switch {
		case b == nil:
			lenses = append(lenses, CodeLens{Range: r, Command: &Command{Title: "not loaded: the file has errors"}})
			continue
		case !b.Active:
			lenses = append(lenses, CodeLens{Range: r, Command: &Command{Title: "inactive: " + b.Inactive}})
			continue
		case b.Upstream != "":
			lenses = append(lenses, CodeLens{Range: r, Command: &Command{Title: "→ " + b.Upstream}})
		}
		if u := routeURL(snap.table, l); u != "" {
			lenses = append(lenses, CodeLens{Range: r, Command: &Command{Title: "Open in browser", Command: "devproxy.openRoute", Arguments: []any{u}}})
		}
	}
	return lenses, nil
}
