package lsp

import (
	"net/url"
	"path/filepath"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Positions, ranges and URIs: the one place where the engine's positions
// (1-based lines, 1-based UTF-16 columns, byte offsets; see
// proxy/routefile/pos.go) and workspace-relative paths meet LSP's (0-based
// lines and UTF-16 characters, file URIs).

func lspPos(p routefile.Pos) Position {
	return Position{Line: max(p.Line-1, 0), Character: max(p.Col-1, 0)}
}

func lspRange(r routefile.Range) Range { return Range{Start: lspPos(r.Start), End: lspPos(r.End)} }

// before reports whether position a comes before engine position b.
func before(a Position, b routefile.Pos) bool {
	return a.Line+1 < b.Line || (a.Line+1 == b.Line && a.Character+1 < b.Col)
}

func inside(p Position, r routefile.Range) bool {
	return !before(p, r.Start) && before(p, r.End)
}

// overlaps reports whether an LSP range touches an engine range.
func overlaps(r Range, er routefile.Range) bool {
	return !before(r.End, er.Start) && before(r.Start, er.End) || inside(r.Start, er)
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

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// fullRange covers a whole text.
func fullRange(text string) Range {
	lines := strings.Count(text, "\n")
	last := text[strings.LastIndexByte(text, '\n')+1:]
	return Range{End: Position{Line: lines, Character: utf16Len(last)}}
}

// uriToPath turns a file URI into an absolute path.
func uriToPath(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return "", false
	}
	return filepath.FromSlash(u.Path), true
}

// pathToURI turns an absolute path into a file URI.
func pathToURI(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

// rel turns a URI into a root-relative path with forward slashes, or
// false when it is outside the workspace.
func (s *Server) rel(uri string) (string, bool) {
	p, ok := uriToPath(uri)
	if !ok {
		return "", false
	}
	r, err := filepath.Rel(s.root, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

func (s *Server) uriOf(rel string) string {
	return pathToURI(filepath.Join(s.root, filepath.FromSlash(rel)))
}
