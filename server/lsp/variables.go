package lsp

import (
	"context"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// A $variable's occurrences, for rename, references and highlights. The
// engine lists them (routefile.VariableRefs); a variable is one name in
// one file: set gives it a value per block, but nginx declares a set
// variable for the whole configuration, so a rename follows every use.

// variableRefs lists the occurrences of every variable in the file.
func (v view) variableRefs() []routefile.VarRef {
	return routefile.VariableRefs(v.parsed(), []byte(v.text))
}

// parsed is the engine's parse of the file when it loaded the text the
// view has, else a parse of that text on its own.
func (v view) parsed() *routefile.File {
	if v.file != nil && v.file.Text != nil {
		return v.file.Parsed
	}
	return routefile.Parse(v.rel, []byte(v.text))
}

// directiveAt finds the directive inside a location block whose name
// holds p.
func (v view) directiveAt(p protocol.Position) *routefile.Directive {
	for _, top := range v.parsed().Directives {
		if top.Block == nil || !inside(p, top.Range) {
			continue
		}
		for _, d := range top.Block.Directives {
			if inside(p, d.Name.Range) || lspPos(d.Name.Range.End) == p {
				return d
			}
		}
	}
	return nil
}

// variableAt finds the variable occurrence at p (the cursor may sit just
// after it) and returns it with every occurrence of the same name.
func (v view) variableAt(p protocol.Position) (at routefile.VarRef, all []routefile.VarRef, ok bool) {
	refs := v.variableRefs()
	for _, r := range refs {
		if inside(p, r.Range) || lspPos(r.Range.End) == p {
			at, ok = r, true
			break
		}
	}
	if !ok {
		return at, nil, false
	}
	for _, r := range refs {
		if r.Name == at.Name {
			all = append(all, r)
		}
	}
	return at, all, true
}

// refsAt is every occurrence of the $variable under the cursor in its
// file; none when the cursor is on no variable.
func (s *Server) refsAt(ctx context.Context, u uri.URI, pos protocol.Position) []routefile.VarRef {
	v, ok := s.view(s.snapshotOf(ctx), u)
	if !ok {
		return nil
	}
	_, all, ok := v.variableAt(pos)
	if !ok {
		return nil
	}
	return all
}
