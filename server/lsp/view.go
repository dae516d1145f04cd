package lsp

import (
	"os"
	"path/filepath"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// view is one file of a snapshot, located by URI.
type view struct {
	rel  string
	file *routing.SourceFile // nil when it is not a loaded route file
	text string
}

func (s *Server) view(snap *snapshot, uri string) (view, bool) {
	rel, ok := s.rel(uri)
	if !ok {
		return view{}, false
	}
	v := view{rel: rel, file: snap.table.FileByPath(rel)}
	if text, ok := snap.texts[rel]; ok {
		v.text = text
	} else if b, err := os.ReadFile(filepath.Join(snap.root, filepath.FromSlash(rel))); err == nil {
		v.text = string(b)
	}
	return v, true
}

// readText is the current text of a workspace file: the editor's buffer,
// or the disk.
func (s *Server) readText(snap *snapshot, rel string) (string, bool) {
	if t, ok := snap.texts[rel]; ok {
		return t, true
	}
	b, err := os.ReadFile(filepath.Join(snap.root, filepath.FromSlash(rel)))
	return string(b), err == nil
}

func (v view) locations() []*routefile.Location {
	if v.file != nil {
		return v.file.Parsed.Locations
	}
	return routefile.Parse(v.rel, []byte(v.text)).Locations
}

// locationAt finds the location block that contains p.
func (v view) locationAt(p Position) *routefile.Location {
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
