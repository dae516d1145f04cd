package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

func init() {
	requests["textDocument/documentSymbol"] = (*Server).documentSymbol
}

func (s *Server) documentSymbol(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[struct {
		TextDocument TextDocumentIdentifier `json:"textDocument"`
	}](params)
	if err != nil {
		return nil, err
	}
	syms := []DocumentSymbol{}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return syms, nil
	}
	f := (*routefile.File)(nil)
	if v.file != nil {
		f = v.file.Parsed
	} else if strings.HasSuffix(v.rel, ".conf") {
		f = routefile.Parse(v.rel, []byte(v.text))
	}
	if f == nil {
		return syms, nil
	}
	for _, l := range f.Locations {
		detail := l.Upstream
		if detail == "" && len(l.Script) > 0 && l.Script[0].Return != nil {
			detail = "return " + fmt.Sprint(l.Script[0].Return.Code)
		}
		syms = append(syms, DocumentSymbol{Name: "location " + l.Label(), Detail: detail, Kind: SymbolKindNamespace,
			Range: lspRange(l.Directive.Range), SelectionRange: lspRange(l.SpecRange)})
	}
	return syms, nil
}
