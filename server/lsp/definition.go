package lsp

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

func init() {
	requests["textDocument/definition"] = (*Server).definition
}

func (s *Server) definition(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[TextDocumentPositionParams](params)
	if err != nil {
		return nil, err
	}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	word := wordAt(v.text, p.Position)
	if !strings.HasPrefix(word, "$") || len(word) < 2 {
		return nil, nil
	}
	name := strings.ToLower(strings.Trim(word[1:], "{}"))
	f := v.file
	var locs []*routefile.Location
	if f != nil {
		locs = f.Parsed.Locations
	} else {
		locs = routefile.Parse(v.rel, []byte(v.text)).Locations
	}
	for _, l := range locs {
		if !inside(p.Position, l.Directive.Range) {
			continue
		}
		if d, ok := l.SetDirectives[name]; ok {
			return []Location{{URI: p.TextDocument.URI, Range: lspRange(d.Range)}}, nil
		}
	}
	return nil, nil
}

func isWordByte(c byte) bool {
	return c == '$' || c == '_' || c == '{' || c == '}' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// wordAt returns the $variable or directive word around p.
func wordAt(text string, p Position) string {
	line := lineAt(text, p.Line)
	i := utf16Index(line, p.Character)
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
