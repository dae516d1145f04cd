package lsp

import (
	"context"
	"strings"

	"go.lsp.dev/protocol"
)

// Definition goes from a $variable to the set directive of its block.
func (s *Server) Definition(ctx context.Context, p *protocol.DefinitionParams) (protocol.DefinitionResult, error) {
	snap := s.snapshotOf(ctx)
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	word := wordAt(v.text, p.Position)
	if !strings.HasPrefix(word, "$") || len(word) < 2 {
		return nil, nil
	}
	name := strings.ToLower(strings.Trim(word[1:], "{}"))
	for _, l := range v.locations() {
		if !inside(p.Position, l.Directive.Range) {
			continue
		}
		if d, ok := l.SetDirectives[name]; ok {
			return protocol.LocationSlice{{URI: p.TextDocument.URI, Range: lspRange(d.Range)}}, nil
		}
	}
	return nil, nil
}

// isWordByte reports whether c belongs to a directive name or a
// $variable (with the braces of ${name}).
func isWordByte(c byte) bool {
	return c == '$' || c == '_' || c == '{' || c == '}' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// wordAt returns the $variable or directive word around p.
func wordAt(text string, p protocol.Position) string {
	line := lineAt(text, int(p.Line))
	i := utf16Index(line, int(p.Character))
	start, end := i, i
	for start > 0 && isWordByte(line[start-1]) {
		start--
	}
	for end < len(line) && isWordByte(line[end]) {
		end++
	}
	w := line[start:end]
	if k := strings.LastIndexByte(w[:i-start], '$'); k > 0 {
		w = w[k:] // "$a$b": the variable under the cursor
	}
	return w
}
