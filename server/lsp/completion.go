package lsp

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Completion offers directive names at the start of a statement inside a
// location, "location" at the top level, and variables after $.
func (s *Server) Completion(ctx context.Context, p *protocol.CompletionParams) (protocol.CompletionResult, error) {
	snap := s.snapshotOf(ctx)
	list := &protocol.CompletionList{Items: []protocol.CompletionItem{}}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return list, nil
	}
	line := lineAt(v.text, int(p.Position.Line))
	i := utf16Index(line, int(p.Position.Character))
	start := i
	for start > 0 && isWordByte(line[start-1]) {
		start--
	}
	word := line[start:i]
	var here *routefile.Location
	for _, l := range v.locations() {
		if insideBody(p.Position, l) {
			here = l
		}
	}
	if strings.Contains(word, "$") {
		for _, name := range variablesFor(here) {
			list.Items = append(list.Items, protocol.CompletionItem{Label: "$" + name, Kind: protocol.CompletionItemKindVariable,
				InsertText: protocol.NewOptional(name)})
		}
		return list, nil
	}
	// A directive name goes at the start of a statement.
	prefix := strings.TrimSpace(line[:start])
	if prefix != "" && !strings.HasSuffix(prefix, "{") && !strings.HasSuffix(prefix, ";") {
		return list, nil
	}
	if here == nil {
		list.Items = append(list.Items, protocol.CompletionItem{Label: "location", Kind: protocol.CompletionItemKindKeyword,
			Detail: protocol.NewOptional("location [=|^~|~|~*] PATH { ... }")})
		return list, nil
	}
	// Detail is the signature, documentation the one-line description;
	// directives accepted without effect say so and sort last.
	for _, d := range routefile.Directives() {
		item := protocol.CompletionItem{Label: d.Name, Kind: protocol.CompletionItemKindKeyword,
			Detail: protocol.NewOptional(d.Signature), SortText: protocol.NewOptional("0" + d.Name)}
		if d.Nginx != "" {
			item.Documentation = protocol.String(d.Nginx)
		}
		if d.NoEffect != "" {
			item.Detail = protocol.NewOptional(d.Signature + " — accepted, no effect here")
			item.SortText = protocol.NewOptional("1" + d.Name)
			item.Documentation = protocol.String(d.Nginx + ". No effect here: " + d.NoEffect)
		}
		list.Items = append(list.Items, item)
	}
	return list, nil
}

// insideBody reports whether p lies between a block's braces, where
// directives go; an unclosed block runs to the end of its range.
func insideBody(p protocol.Position, l *routefile.Location) bool {
	b := l.Directive.Block
	if b == nil || before(p, b.Open.End) {
		return false
	}
	return !b.Closed || before(p, b.Close.End)
}

// variablesFor lists the variables usable in a block: the built-ins, its
// set variables and named captures (sorted), and $1..$9.
func variablesFor(l *routefile.Location) []string {
	out := routefile.BuiltinVariables()
	if l != nil {
		out = append(out, slices.Sorted(maps.Keys(l.Sets))...)
		out = append(out, slices.Sorted(maps.Keys(l.NamedCaptures))...)
	}
	for i := 1; i <= 9; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}
