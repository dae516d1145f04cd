package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

func init() {
	requests["textDocument/completion"] = (*Server).completion
}

func (s *Server) completion(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[TextDocumentPositionParams](params)
	if err != nil {
		return nil, err
	}
	list := CompletionList{Items: []CompletionItem{}}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return list, nil
	}
	line := lineAt(v.text, p.Position.Line)
	i := utf16Index(line, p.Position.Character)
	start := i
	for start > 0 && isWordByte(line[start-1]) {
		start--
	}
	word := line[start:i]
	locs := v.locations()
	var here *routefile.Location
	for _, l := range locs {
		if insideBody(p.Position, l) {
			here = l
		}
	}
	if k := strings.LastIndexByte(word, '$'); k >= 0 {
		for _, name := range variablesFor(here) {
			list.Items = append(list.Items, CompletionItem{Label: "$" + name, Kind: CompletionKindVariable, InsertText: name})
		}
		return list, nil
	}
	// A directive name goes at the start of a statement.
	prefix := strings.TrimSpace(line[:start])
	if prefix != "" && !strings.HasSuffix(prefix, "{") && !strings.HasSuffix(prefix, ";") {
		return list, nil
	}
	if here == nil {
		list.Items = append(list.Items, CompletionItem{Label: "location", Kind: CompletionKindKeyword, Detail: "location [=|^~|~|~*] PATH { ... }"})
		return list, nil
	}
	for _, d := range routefile.Directives() {
		detail := d.Args
		if d.NoEffect != "" {
			detail += " · no effect in devproxy"
		}
		list.Items = append(list.Items, CompletionItem{Label: d.Name, Kind: CompletionKindKeyword, Detail: detail})
	}
	return list, nil
}

// insideBody reports whether p lies between a block's braces, where
// directives go; an unclosed block runs to the end of its range.
func insideBody(p Position, l *routefile.Location) bool {
	b := l.Directive.Block
	if b == nil || before(p, b.Open.End) {
		return false
	}
	return !b.Closed || before(p, b.Close.End)
}

// variablesFor lists the variables usable in a block: the built-ins, its
// set variables, its named captures and $1..$9.
func variablesFor(l *routefile.Location) []string {
	var out []string
	for _, name := range routefile.BuiltinVariables() {
		out = append(out, name)
	}
	if l != nil {
		for name := range l.Sets {
			out = append(out, name)
		}
		for name := range l.NamedCaptures {
			out = append(out, name)
		}
	}
	for i := 1; i <= 9; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}
