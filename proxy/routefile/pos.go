// Package routefile reads one route file: the nginx-style snippet an app
// (apps/NAME.conf) or the operator (overrides/NAME.conf) contributes.
//
// It tokenizes and parses the accepted subset of nginx syntax, validates the
// directives inside location blocks and turns each block into a Location:
// a plain Go value that the routing package composes and matches. Every token
// keeps its byte offset, 1-based line and UTF-16 column so that diagnostics
// and edits can point at exact characters. Nothing here panics on any input;
// problems are reported as Diagnostics and parsing continues where it can.
package routefile

import (
	"fmt"
	"unicode/utf8"
)

// Pos is a position in a file. Line and Col are 1-based; Col counts UTF-16
// code units (what LSP clients count), so a character outside the Basic
// Multilingual Plane takes two columns. An invalid UTF-8 byte counts as one
// column, like the U+FFFD an editor shows in its place.
type Pos struct {
	Offset int `json:"-"`
	Line   int `json:"line"`
	Col    int `json:"column"`
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Range is a half-open span [Start, End) of a file.
type Range struct {
	Start Pos `json:"start"`
	End   Pos `json:"end"`
}

// Contains reports whether offset lies inside the range (end exclusive).
func (r Range) Contains(offset int) bool {
	return r.Start.Offset <= offset && offset < r.End.Offset
}

// positioner converts byte offsets of one source into Pos values. It walks
// forward from the last position it produced, so callers that ask for
// increasing offsets (the lexer does) pay for each byte once.
type positioner struct {
	src  []byte
	last Pos
}

func newPositioner(src []byte) *positioner {
	return &positioner{src: src, last: Pos{Offset: 0, Line: 1, Col: 1}}
}

func (p *positioner) pos(offset int) Pos {
	if offset < p.last.Offset {
		p.last = Pos{Offset: 0, Line: 1, Col: 1}
	}
	if offset > len(p.src) {
		offset = len(p.src)
	}
	cur := p.last
	for cur.Offset < offset {
		c := p.src[cur.Offset]
		switch {
		case c == '\n':
			cur.Line++
			cur.Col = 1
			cur.Offset++
		case c == '\r':
			// A lone CR ends a line for LSP clients; CRLF ends it at the LF.
			if cur.Offset+1 < len(p.src) && p.src[cur.Offset+1] == '\n' {
				cur.Col++
			} else {
				cur.Line++
				cur.Col = 1
			}
			cur.Offset++
		case c < utf8.RuneSelf:
			cur.Col++
			cur.Offset++
		default:
			r, size := utf8.DecodeRune(p.src[cur.Offset:])
			if r == utf8.RuneError && size == 1 {
				cur.Col++
			} else if r >= 0x10000 {
				cur.Col += 2
			} else {
				cur.Col++
			}
			cur.Offset += size
		}
	}
	p.last = cur
	return cur
}

// PosAt computes the Pos of a byte offset in src. It is linear in offset;
// use it for single look-ups, not in loops.
func PosAt(src []byte, offset int) Pos {
	return newPositioner(src).pos(offset)
}
