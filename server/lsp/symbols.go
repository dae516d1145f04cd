package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// DocumentSymbol lists the locations of a file, with their upstream (or
// the status they return) as the detail.
func (s *Server) DocumentSymbol(ctx context.Context, p *protocol.DocumentSymbolParams) (protocol.DocumentSymbolResult, error) {
	snap := s.snapshotOf(ctx)
	syms := protocol.DocumentSymbolSlice{}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return syms, nil
	}
	var f *routefile.File
	if v.file != nil {
		f = v.file.Parsed
	} else if strings.HasSuffix(v.rel, ".conf") {
		f = routefile.Parse(v.rel, []byte(v.text))
	}
	if f == nil {
		return syms, nil
	}
	for _, l := range f.Locations {
		sym := protocol.DocumentSymbol{Name: "location " + l.Label(), Kind: protocol.SymbolKindNamespace,
			Range: lspRange(l.Directive.Range), SelectionRange: lspRange(l.SpecRange)}
		detail := l.Upstream
		if detail == "" && len(l.Script) > 0 && l.Script[0].Return != nil {
			detail = "return " + fmt.Sprint(l.Script[0].Return.Code)
		}
		if detail != "" {
			sym.Detail = &detail
		}
		syms = append(syms, sym)
	}
	return syms, nil
}
