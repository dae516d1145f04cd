package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Read-only language features. Each reads the request's snapshot; none
// parses or decides anything the engine did not.

func init() {
	requests["textDocument/hover"] = (*Server).hover
	requests["textDocument/codeLens"] = (*Server).codeLens
	requests["textDocument/documentSymbol"] = (*Server).documentSymbol
	requests["textDocument/definition"] = (*Server).definition
	requests["textDocument/completion"] = (*Server).completion
}

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

// before reports whether position a comes before engine position b.
func before(a Position, b routefile.Pos) bool {
	return a.Line+1 < b.Line || (a.Line+1 == b.Line && a.Character+1 < b.Col)
}

func inside(p Position, r routefile.Range) bool {
	return !before(p, r.Start) && before(p, r.End)
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

func decode[T any](params json.RawMessage) (T, error) {
	var p T
	if err := json.Unmarshal(params, &p); err != nil {
		return p, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
	}
	return p, nil
}

// --- hover ---

func (s *Server) hover(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[TextDocumentPositionParams](params)
	if err != nil {
		return nil, err
	}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	l := v.locationAt(p.Position)
	if l == nil {
		return nil, nil
	}
	b := blockOf(snap.table, l)
	var md strings.Builder
	fmt.Fprintf(&md, "**`location %s`** · %s:%d\n\n", l.Label(), v.rel, l.Line())
	fmt.Fprintf(&md, "Takes %s.\n\n", takes(l))
	if b != nil {
		if example, mapped := exampleMapping(snap.table, b); example != "" {
			fmt.Fprintf(&md, "Upstream `%s`: `%s` → `%s`\n\n", b.Upstream, example, mapped)
		} else if b.Upstream != "" {
			fmt.Fprintf(&md, "Upstream `%s`\n\n", b.Upstream)
		}
		if b.Active {
			md.WriteString("Active")
		} else {
			md.WriteString("**Inactive**: " + b.InactiveSentence())
		}
		if b.Conflict != nil {
			fmt.Fprintf(&md, " · route `%s` is claimed by %d files; %s wins (%s)", b.Conflict.Route, len(fileSet(b.Conflict.Claims)), b.Conflict.Winner.Path, b.Conflict.Settlement.Phrase())
		}
		md.WriteString("\n")
	} else if v.file == nil || !v.file.Parsed.OK {
		md.WriteString("This file has errors, so none of its locations route.\n")
	}
	r := lspRange(l.Directive.HeaderRange())
	return Hover{Contents: MarkupContent{Kind: "markdown", Value: md.String()}, Range: &r}, nil
}

func fileSet(bs []*routing.Block) map[string]bool {
	out := map[string]bool{}
	for _, b := range bs {
		out[b.File.Path] = true
	}
	return out
}

// takes says in words which requests a location takes (spec §5).
func takes(l *routefile.Location) string {
	switch l.Modifier {
	case routefile.ModExact:
		return "only the path `" + l.Spec + "`"
	case routefile.ModNoRegex:
		return "every path starting with `" + l.Spec + "` that no longer prefix or exact location takes; regex locations are not checked for them"
	case routefile.ModPrefix:
		return "every path starting with `" + l.Spec + "` that no longer prefix, exact or regex location takes"
	case routefile.ModRegex:
		return "paths matching the regex `" + l.Spec + "`, checked in composed order after exact and `^~` locations"
	case routefile.ModRegexCI:
		return "paths matching the regex `" + l.Spec + "` ignoring case, checked in composed order after exact and `^~` locations"
	}
	return "only requests that error_page sends here"
}

// exampleMapping shows what the upstream receives for a sample request,
// when the block really takes that request.
func exampleMapping(t *routing.RouteTable, b *routing.Block) (string, string) {
	l := b.Loc
	if l.ProxyPass == nil || !(l.Modifier.IsPrefix() || l.Modifier == routefile.ModExact) {
		return "", ""
	}
	path := l.Spec
	if strings.HasSuffix(path, "/") && l.Modifier != routefile.ModExact {
		path += "example"
	}
	example := path + "?x=1"
	d := t.Resolve(&routing.Request{Target: example})
	if d.Block != b || d.Action != routing.ActionProxy {
		return "", ""
	}
	return example, d.UpstreamURI
}

// --- code lens ---

func (s *Server) codeLens(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[struct {
		TextDocument TextDocumentIdentifier `json:"textDocument"`
	}](params)
	if err != nil {
		return nil, err
	}
	v, ok := s.view(snap, p.TextDocument.URI)
	lenses := []CodeLens{}
	if !ok || v.file == nil {
		return lenses, nil
	}
	for _, l := range v.file.Parsed.Locations {
		r := lspRange(l.Directive.HeaderRange())
		b := blockOf(snap.table, l)
		switch {
		case b == nil:
			lenses = append(lenses, CodeLens{Range: r, Command: &Command{Title: "not loaded: the file has errors"}})
			continue
		case !b.Active:
			lenses = append(lenses, CodeLens{Range: r, Command: &Command{Title: "inactive: " + b.InactiveSentence()}})
			continue
		case b.Upstream != "":
			lenses = append(lenses, CodeLens{Range: r, Command: &Command{Title: "→ " + b.Upstream}})
		}
		if u := routeURL(snap.table, l); u != "" {
			lenses = append(lenses, CodeLens{Range: r, Command: &Command{Title: "Open in browser", Command: "devproxy.openRoute", Arguments: []any{u}}})
		}
	}
	return lenses, nil
}

// --- document symbols ---

func (s *Server) documentSymbol(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[struct {
		TextDocument TextDocumentIdentifier `json:"textDocument"`
	}](params)
	if err != nil {
		return nil, err
	}
	syms := []DocumentSymbol{}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return syms, nil
	}
	f := (*routefile.File)(nil)
	if v.file != nil {
		f = v.file.Parsed
	} else if strings.HasSuffix(v.rel, ".conf") {
		f = routefile.Parse(v.rel, []byte(v.text))
	}
	if f == nil {
		return syms, nil
	}
	for _, l := range f.Locations {
		detail := l.Upstream
		if detail == "" && len(l.Script) > 0 && l.Script[0].Return != nil {
			detail = "return " + fmt.Sprint(l.Script[0].Return.Code)
		}
		syms = append(syms, DocumentSymbol{Name: "location " + l.Label(), Detail: detail, Kind: SymbolKindNamespace,
			Range: lspRange(l.Directive.Range), SelectionRange: lspRange(l.SpecRange)})
	}
	return syms, nil
}

// --- definition: $var to its set ---

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

// lineAt returns line n (0-based) of text.
func lineAt(text string, n int) string {
	for i := 0; i < n; i++ {
		j := strings.IndexByte(text, '\n')
		if j < 0 {
			return ""
		}
		text = text[j+1:]
	}
	if j := strings.IndexByte(text, '\n'); j >= 0 {
		text = text[:j]
	}
	return strings.TrimSuffix(text, "\r")
}

// utf16Index converts a UTF-16 character offset on line into a byte index.
func utf16Index(line string, char int) int {
	units := 0
	for i, r := range line {
		if units >= char {
			return i
		}
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
	}
	return len(line)
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

// --- completion ---

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

func (v view) locations() []*routefile.Location {
	if v.file != nil {
		return v.file.Parsed.Locations
	}
	return routefile.Parse(v.rel, []byte(v.text)).Locations
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
