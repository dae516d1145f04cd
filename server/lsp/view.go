package lsp

import (
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// view is one file of a snapshot as a request sees it: the engine's parse
// when it is a loaded route file, and its current text.
type view struct {
	rel  string
	file *routing.SourceFile // nil when it is not a loaded route file
	text string
}

// view locates a file of the snapshot by URI; false when it is outside
// the workspace.
func (s *Server) view(snap *snapshot, u uri.URI) (view, bool) {
	rel, ok := s.rel(u)
	if !ok {
		return view{}, false
	}
	v := view{rel: rel, file: snap.table.FileByPath(rel)}
	v.text, _ = snap.text(rel)
	return v, true
}

// locations are the file's location blocks: the engine's, or, for a .conf
// file the engine does not load, a parse of the text on its own.
func (v view) locations() []*routefile.Location {
	if v.file != nil {
		return v.file.Parsed.Locations
	}
	return routefile.Parse(v.rel, []byte(v.text)).Locations
}

// locationAt finds the location block of a loaded route file that
// contains p.
func (v view) locationAt(p protocol.Position) *routefile.Location {
	if v.file == nil {
		return nil
	}
	for _, l := range v.file.Parsed.Locations {
		if inside(p, l.Directive.Range) {
			return l
		}
	}
	return nil
}

// blockOf is the composed block of a location; nil when the location does
// not route (its file has errors).
func blockOf(t *routing.RouteTable, l *routefile.Location) *routing.Block {
	for _, b := range t.Blocks {
		if b.Loc == l {
			return b
		}
	}
	return nil
}

// specToken is the token holding the path or regex of a location.
func specToken(l *routefile.Location) routefile.Token {
	args := l.Directive.Args
	return args[len(args)-1]
}
