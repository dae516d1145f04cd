package lsp

import (
	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// A $variable's occurrences, for rename, references and highlights. The
// engine lists them (routefile.VariableRefs); a variable is one name in
// one file: set gives it a value per block, but nginx declares a set
// variable for the whole configuration, so a rename follows every use.

// variableRefs lists the occurrences of every variable in the file.
func (v view) variableRefs() []routefile.VarRef {
	var parsed *routefile.File
	if v.file != nil && v.file.Text != nil {
		parsed = v.file.Parsed
	} else {
		parsed = routefile.Parse(v.rel, []byte(v.text))
	}
	return routefile.VariableRefs(parsed, []byte(v.text))
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
