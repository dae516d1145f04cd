package routefile

import (
	"strings"
	"unicode/utf8"
)

// Directive is one statement: a name, its arguments, and either a ';' or a
// block. Range runs from the first character of the name to the ';' or the
// closing '}' (or to the last token seen, when the statement is cut short).
type Directive struct {
	Name  Token
	Args  []Token
	Block *Block
	Range Range
}

// Block is the { ... } part of a directive.
type Block struct {
	Open       Range
	Close      Range // zero when the block is never closed
	Closed     bool
	Directives []*Directive
}

// ArgValues returns the unescaped argument strings.
func (d *Directive) ArgValues() []string {
	out := make([]string, len(d.Args))
	for i, a := range d.Args {
		out[i] = a.Value
	}
	return out
}

// HeaderRange covers the name and arguments, without the block.
func (d *Directive) HeaderRange() Range {
	r := Range{Start: d.Name.Range.Start, End: d.Name.Range.End}
	if n := len(d.Args); n > 0 {
		r.End = d.Args[n-1].Range.End
	}
	return r
}

// maxDepth bounds block nesting. Route files need two levels (location and
// its directives); deeper input is reported once and skipped without
// recursion, so 10,000 nested braces cost nothing but a scan.
const maxDepth = 16

// parse builds the statement tree of src, reporting syntax problems to
// diags and recovering so that one file can report many problems.
func parse(src []byte, diags *diagList) (top []*Directive, comments []Range) {
	lx := newLexer(src, diags)

	type frame struct {
		owner   *Directive // nil for the top level and for discarded blocks
		list    *[]*Directive
		discard bool
	}
	stack := []frame{{list: &top}}
	var cur *Directive
	var last Token // last token consumed, for "missing ;" positions
	reportedDepth := false

	finish := func(end Pos) {
		cur.Range.End = end
		f := stack[len(stack)-1]
		if !f.discard {
			*f.list = append(*f.list, cur)
		}
		cur = nil
	}

	for {
		tok := lx.next()
		switch tok.Kind {
		case TokenWord:
			if cur == nil {
				cur = &Directive{Name: tok, Range: Range{Start: tok.Range.Start}}
			} else {
				cur.Args = append(cur.Args, tok)
			}
		case TokenSemicolon:
			if cur == nil {
				diags.add(Error, CodeSyntax, tok.Range, "unexpected ';' with no directive before it")
				break
			}
			finish(tok.Range.End)
		case TokenLBrace:
			d := cur
			if d == nil {
				diags.add(Error, CodeSyntax, tok.Range, "unexpected '{' with no directive before it")
			} else {
				d.Block = &Block{Open: tok.Range}
				finish(tok.Range.End)
			}
			parentDiscarded := stack[len(stack)-1].discard
			if len(stack) > maxDepth {
				if !reportedDepth {
					reportedDepth = true
					diags.add(Error, CodeSyntax, tok.Range, "blocks nested more than %d deep; route files hold location blocks with directives inside", maxDepth)
				}
				parentDiscarded = true
			}
			if d == nil || parentDiscarded {
				stack = append(stack, frame{discard: true})
			} else {
				stack = append(stack, frame{owner: d, list: &d.Block.Directives})
			}
		case TokenRBrace:
			if cur != nil {
				diags.add(Error, CodeSyntax, Range{Start: last.Range.End, End: last.Range.End},
					"missing ';' after %q", directiveText(cur))
				finish(last.Range.End)
			}
			if len(stack) == 1 {
				diags.add(Error, CodeSyntax, tok.Range, "unexpected '}' with no block open")
				break
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.owner != nil {
				f.owner.Block.Close = tok.Range
				f.owner.Block.Closed = true
				f.owner.Range.End = tok.Range.End
			}
		case TokenEOF:
			if cur != nil {
				diags.add(Error, CodeSyntax, Range{Start: last.Range.End, End: last.Range.End},
					"unexpected end of file after %q: expected ';' or '{'", directiveText(cur))
				finish(last.Range.End)
			}
			for i := len(stack) - 1; i >= 1; i-- {
				f := stack[i]
				if f.owner == nil {
					continue
				}
				f.owner.Range.End = tok.Range.End
				diags.add(Error, CodeSyntax, f.owner.Block.Open,
					"unexpected end of file: the '{' of %q on line %d is never closed", directiveText(f.owner), f.owner.Name.Range.Start.Line)
			}
			return top, lx.comments
		}
		last = tok
	}
}

// directiveText renders a directive's name and arguments for messages,
// shortened so that garbage input cannot produce huge messages.
func directiveText(d *Directive) string {
	var b strings.Builder
	b.WriteString(d.Name.Value)
	for _, a := range d.Args {
		b.WriteByte(' ')
		b.WriteString(a.Value)
		if b.Len() > 60 {
			break
		}
	}
	return shorten(b.String(), 60)
}

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
