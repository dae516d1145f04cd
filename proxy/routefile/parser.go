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
	// breaks are where cur's arguments may hide a missing ';': an argument
	// that starts a later line and is a directive's name (splitMissing).
	var breaks []lineBreak
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
				breaks = breaks[:0]
			} else {
				if tok.Range.Start.Line > last.Range.End.Line && isDirectiveName(tok.Value) {
					breaks = append(breaks, lineBreak{arg: len(cur.Args), end: last.Range.End})
				}
				cur.Args = append(cur.Args, tok)
			}
		case TokenSemicolon:
			if cur == nil {
				diags.add(Error, CodeSyntax, tok.Range, "unexpected ';' with no directive before it")
				break
			}
			if owner := stack[len(stack)-1].owner; owner != nil && owner.Name.Value == "location" {
				done, rest := splitMissing(cur, breaks, diags)
				for _, d := range done {
					cur = d
					finish(d.Range.End)
				}
				cur = rest
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
			if owner := stack[len(stack)-1].owner; cur != nil && owner != nil && owner.Name.Value == "location" {
				done, rest := splitMissing(cur, breaks, diags)
				for _, d := range done {
					cur = d
					finish(d.Range.End)
				}
				cur = rest
			}
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

// lineBreak is an argument of a directive that starts a later line than
// the token before it (end) and is itself a directive's name.
type lineBreak struct {
	arg int
	end Pos
}

// isDirectiveName reports whether name is a directive of a location block,
// ours or one nginx knows.
func isDirectiveName(name string) bool {
	_, ok := implemented[name]
	return ok || knownToNginx[name]
}

// splitMissing finds the ';' a directive inside a location lacks at the
// end of a line: "proxy_pass http://a:1" followed on the next line by
// "proxy_set_header Host x;" reads as one proxy_pass with four arguments.
// When the directive has more arguments than it takes and a line break
// before one of them (a directive's name) leaves it a valid count, it is
// cut there: done are the directives before the missing ';'s, each
// reported once ("missing ';' at the end of proxy_pass"), rest the one the
// terminator ends. The file has an error either way (too many arguments,
// or the missing ';'), so what loads does not change; the findings that
// would follow from the merged statement (the argument count, "no
// proxy_pass") are not made.
func splitMissing(d *Directive, breaks []lineBreak, diags *diagList) (done []*Directive, rest *Directive) {
	rest = d
	consumed := 0 // arguments of d before rest's name
	for _, br := range breaks {
		spec, ok := implemented[rest.Name.Value]
		at := br.arg - consumed
		if !ok || spec.max < 0 || len(rest.Args) <= spec.max {
			break
		}
		if at < spec.min || at > spec.max {
			continue
		}
		head := &Directive{Name: rest.Name, Args: rest.Args[:at:at], Range: Range{Start: rest.Range.Start, End: br.end}}
		diags.add(Error, CodeMissingSemicolon, Range{Start: br.end, End: br.end}, "missing ';' at the end of %s", shorten(head.Name.Value, 40))
		done = append(done, head)
		next := rest.Args[at]
		rest = &Directive{Name: next, Args: rest.Args[at+1:], Range: Range{Start: next.Range.Start}}
		consumed = br.arg + 1
	}
	return done, rest
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
