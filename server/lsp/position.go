package lsp

import (
	"slices"
	"strings"
	"unicode/utf16"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Positions, ranges and URIs: the one place where the engine's positions
// (1-based lines, 1-based UTF-16 columns, byte offsets; see
// proxy/routefile/pos.go) and workspace-relative paths meet LSP's (0-based
// lines and UTF-16 characters, file URIs).

// lspPos converts an engine position.
func lspPos(p routefile.Pos) protocol.Position {
	return protocol.Position{Line: uint32(max(p.Line-1, 0)), Character: uint32(max(p.Col-1, 0))}
}

func lspRange(r routefile.Range) protocol.Range {
	return protocol.Range{Start: lspPos(r.Start), End: lspPos(r.End)}
}

// before reports whether position a comes before engine position b.
func before(a protocol.Position, b routefile.Pos) bool {
	line, char := int(a.Line)+1, int(a.Character)+1
	return line < b.Line || (line == b.Line && char < b.Col)
}

// inside reports whether p lies in the engine range r (end exclusive).
func inside(p protocol.Position, r routefile.Range) bool {
	return !before(p, r.Start) && before(p, r.End)
}

// overlaps reports whether an LSP range touches an engine range.
func overlaps(r protocol.Range, er routefile.Range) bool {
	return !before(r.End, er.Start) && before(r.Start, er.End) || inside(r.Start, er)
}

// lineAt returns line n (0-based) of text, without its line break.
func lineAt(text string, n int) string {
	for range n {
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
		units += utf16.RuneLen(r)
	}
	return len(line)
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// fullRange covers a whole text.
func fullRange(text string) protocol.Range {
	lines := strings.Count(text, "\n")
	last := text[strings.LastIndexByte(text, '\n')+1:]
	return protocol.Range{End: protocol.Position{Line: uint32(lines), Character: uint32(utf16Len(last))}}
}

// uriToPath turns a file URI into an absolute path.
func uriToPath(u uri.URI) (string, bool) {
	if !u.IsFile() {
		return "", false
	}
	return u.FsPath(), true
}

// pathToURI turns an absolute path into a file URI, encoded as VS Code
// encodes it.
func pathToURI(p string) uri.URI { return uri.File(p) }

// offsetOf converts an LSP position in text into a byte offset (clamped
// to the line's end and the text's).
func offsetOf(text string, p protocol.Position) int {
	o := 0
	for range p.Line {
		j := strings.IndexByte(text[o:], '\n')
		if j < 0 {
			return len(text)
		}
		o += j + 1
	}
	line := text[o:]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return o + utf16Index(strings.TrimSuffix(line, "\r"), int(p.Character))
}

// editedText applies non-overlapping text edits to text, as an editor
// does: each range refers to the text before any edit.
func editedText(text string, edits []protocol.TextEdit) string {
	type span struct {
		start, end int
		newText    string
	}
	spans := make([]span, len(edits))
	for i, e := range edits {
		spans[i] = span{offsetOf(text, e.Range.Start), offsetOf(text, e.Range.End), e.NewText}
	}
	slices.SortStableFunc(spans, func(a, b span) int { return b.start - a.start })
	for _, sp := range spans {
		if sp.end < sp.start {
			sp.end = sp.start
		}
		text = text[:sp.start] + sp.newText + text[sp.end:]
	}
	return text
}
