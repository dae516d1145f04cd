package routefile

import (
	"regexp"
	"strings"
)

// VarRef is one occurrence of a $variable in the directives of a file's
// location blocks, for editors (rename, references, highlights).
type VarRef struct {
	Name string // lower case, without '$' or braces
	// Range covers "$name" or "${name}" as written; NameRange the name
	// alone.
	Range     Range
	NameRange Range
	// Set is true for the first argument of a set directive: the place
	// where the block gives the variable its value.
	Set bool
}

// VariableRefs lists every $variable occurrence in the arguments of the
// directives inside f's blocks, in file order, read from src (the text f
// was parsed from). Captures ($1) are not variables and are left out, and
// so are regexes (a location's spec, rewrite's pattern): their '$' is an
// anchor. It works on the statement tree, so a file with errors still
// lists the occurrences of the blocks that parsed.
func VariableRefs(f *File, src []byte) []VarRef {
	var out []VarRef
	pos := newPositioner(src)
	for _, top := range f.Directives {
		if top.Name.Value != "location" || top.Block == nil {
			continue
		}
		for _, d := range top.Block.Directives {
			for i, arg := range d.Args {
				if d.Name.Value == "rewrite" && i == 0 {
					continue
				}
				out = scanVarRefs(out, src, arg.Range, pos, d.Name.Value == "set" && i == 0)
			}
		}
	}
	return out
}

// scanVarRefs appends the variables written in the source text of one
// token (quotes and escapes included: a variable name holds neither).
func scanVarRefs(out []VarRef, src []byte, r Range, pos *positioner, set bool) []VarRef {
	start, end := r.Start.Offset, min(r.End.Offset, len(src))
	first := len(out)
	for i := start; i < end; i++ {
		if src[i] != '$' || i+1 >= end {
			continue
		}
		j := i + 1
		braced := src[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < end && isVarChar(src[k]) {
			k++
		}
		if k == j || src[j] >= '0' && src[j] <= '9' {
			continue // "$" alone, "$1" (a capture)
		}
		refEnd := k
		if braced {
			if k >= end || src[k] != '}' {
				continue
			}
			refEnd = k + 1
		}
		out = append(out, VarRef{
			Name:      strings.ToLower(string(src[j:k])),
			Range:     Range{Start: pos.pos(i), End: pos.pos(refEnd)},
			NameRange: Range{Start: pos.pos(j), End: pos.pos(k)},
			Set:       set && len(out) == first,
		})
		i = refEnd - 1
	}
	return out
}

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckVariableName says why name (without '$') cannot be the name of a
// variable set in a route file, or returns "" when it can: it must be
// [A-Za-z_][A-Za-z0-9_]* and not a variable nginx provides.
func CheckVariableName(name string) string {
	if !variableName.MatchString(name) {
		return "a variable name is letters, digits and _ and does not start with a digit, such as $vite_port"
	}
	if IsNginxVariable(name) {
		return "$" + strings.ToLower(name) + " is a built-in nginx variable; choose another name"
	}
	return ""
}

// IsNginxVariable reports whether nginx (or devproxy) provides the
// variable name (any case, without '$'): a built-in, a prefix family
// ($http_x, $arg_x, $cookie_x) or one nginx defines by its full name.
func IsNginxVariable(name string) bool {
	name = strings.ToLower(name)
	return IsBuiltinVar(name) || nginxFixedVars[name]
}
