package routefile

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// Regex is a location, rewrite or proxy_redirect regex. nginx uses PCRE;
// devproxy uses Go's RE2, which runs in time linear in the input, so no
// regex in a route file can stall the proxy. The PCRE features RE2 lacks
// (lookaround, backreferences, possessive and atomic groups) are reported
// as errors.
//
// A Regex is checked completely when the file is read (CompileRegex parses
// it, so every error is reported then), but its program is built only when
// the regex first runs, and kept from then on. A compiled Go regexp costs
// about 3 KB; a workspace of 100,000 regex locations, of which a request
// runs only the few whose literal prefix fits its path, would otherwise
// hold 300 MB of programs it never runs. Where it can, the program leaves
// out the anchor and literal prefix, which CanMatch has already compared,
// and runs on the rest of the text (see restAfterPrefix): that halves the
// program of a typical ^/app/... regex. All methods are safe for
// concurrent use.
type Regex struct {
	Source   string // as written in the file
	Caseless bool   // ~* location
	// Anchored means every match starts at the beginning of the URI, so
	// Prefix (possibly empty) must be a prefix of any matching URI. The
	// matcher uses it to skip most regexes without running them. With
	// PrefixFold the prefix is compared ignoring ASCII case (~*, (?i)).
	Anchored   bool
	PrefixFold bool
	Prefix     string

	numSubexp int      // capture groups, as regexp.NumSubexp counts them
	names     []string // regexp.SubexpNames; nil when no group has a name
	prog      atomic.Pointer[program]
}

// program is a compiled Regex. With skip > 0 it matches the text after
// the first skip bytes (the literal prefix), anchored there.
type program struct {
	re   *regexp.Regexp
	skip int
}

// CompileRegex checks an nginx regex for devproxy, or explains in plain
// words why it cannot run it. The program itself is built on first use
// (see Regex).
func CompileRegex(src string, caseless bool) (*Regex, error) {
	// regexp.Compile fails only where syntax.Parse does (syntax.Compile
	// returns no errors), so parsing alone finds every error it would.
	parsed, err := syntax.Parse(regexExpr(src, caseless), syntax.Perl)
	if err != nil {
		return nil, explainRegexError(src, err)
	}
	r := &Regex{Source: src, Caseless: caseless, numSubexp: parsed.MaxCap()}
	if names := parsed.CapNames(); slices.ContainsFunc(names, func(n string) bool { return n != "" }) {
		r.names = names
	}
	r.Anchored, r.Prefix, r.PrefixFold = literalPrefix(parsed)
	return r, nil
}

// regexExpr is the expression Go compiles for an nginx regex.
func regexExpr(src string, caseless bool) string {
	if caseless {
		return "(?i)" + src
	}
	return src
}

// program returns the compiled program, building it on first use. Two
// goroutines may both build it the first time; one result is kept.
func (r *Regex) program() *program {
	if p := r.prog.Load(); p != nil {
		return p
	}
	p := r.compile()
	if !r.prog.CompareAndSwap(nil, p) {
		return r.prog.Load()
	}
	return p
}

func (r *Regex) compile() *program {
	if rest, ok := r.restAfterPrefix(); ok {
		if re, err := regexp.Compile(regexExpr(`\A`+rest, r.Caseless)); err == nil {
			return &program{re: re, skip: len(r.Prefix)}
		}
	}
	re, err := regexp.Compile(regexExpr(r.Source, r.Caseless))
	if err != nil {
		// CompileRegex parsed the same expression without error.
		panic(fmt.Sprintf("routefile: regex %q passed its check but does not compile: %v", r.Source, err))
	}
	return &program{re: re}
}

// restAfterPrefix returns the source text after "^" and the literal
// prefix, when that text, anchored with \A and run on the text after the
// prefix, finds exactly the matches the whole regex finds on every text
// CanMatch lets through. That holds when
//
//   - the prefix is whole literal nodes of the syntax tree, all compared
//     with the case rule CanMatch uses (so CanMatch has checked exactly
//     what they would);
//   - nothing after the prefix looks back at the text before it (^ and
//     \A, (?m)^, \b, \B), since the shortened program cannot see it;
//   - the source spells the prefix plainly (characters as themselves or
//     as escaped punctuation), so that cutting the source after it leaves
//     the rest of the expression; the rest is parsed again and must give
//     exactly the tree that followed the prefix, captures and flags
//     included.
//
// Anything else keeps the whole program, which is always correct.
func (r *Regex) restAfterPrefix() (string, bool) {
	if !r.Anchored || r.Prefix == "" || !strings.HasPrefix(r.Source, "^") {
		return "", false
	}
	full, err := syntax.Parse(regexExpr(r.Source, r.Caseless), syntax.Perl)
	if err != nil || full.Op != syntax.OpConcat || len(full.Sub) == 0 || full.Sub[0].Op != syntax.OpBeginText {
		return "", false
	}
	tail := full.Sub[1:]
	n := 0
	for n < len(r.Prefix) && len(tail) > 0 && tail[0].Op == syntax.OpLiteral {
		if (tail[0].Flags&syntax.FoldCase != 0) != r.PrefixFold {
			return "", false
		}
		for _, c := range tail[0].Rune {
			n += utf8.RuneLen(c)
		}
		tail = tail[1:]
	}
	if n != len(r.Prefix) || len(tail) == 0 || slices.ContainsFunc(tail, looksBehind) {
		return "", false
	}
	end, ok := prefixEnd(r.Source, r.Prefix, r.PrefixFold)
	if !ok {
		return "", false
	}
	rest := r.Source[end:]
	got, err := syntax.Parse(regexExpr(`\A`+rest, r.Caseless), syntax.Perl)
	want := &syntax.Regexp{Op: syntax.OpConcat, Sub: append([]*syntax.Regexp{{Op: syntax.OpBeginText}}, tail...)}
	if err != nil || !got.Equal(want) {
		return "", false
	}
	return rest, true
}

// looksBehind reports whether re holds an assertion about the text before
// the position where it is tried.
func looksBehind(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	return slices.ContainsFunc(re.Sub, looksBehind)
}

// prefixEnd is the offset in src ("^" and then the prefix) where the
// prefix ends, when each of its bytes is written as itself (ignoring ASCII
// case with fold) or as an escaped ASCII punctuation character.
func prefixEnd(src, prefix string, fold bool) (int, bool) {
	i := 1 // after '^'
	for j := 0; j < len(prefix); j++ {
		if i < len(src) && src[i] == '\\' && i+1 < len(src) && isASCIIPunct(src[i+1]) {
			i++
		}
		if i >= len(src) {
			return 0, false
		}
		c, want := src[i], prefix[j]
		if c != want && !(fold && asciiLower(c) == asciiLower(want)) {
			return 0, false
		}
		i++
	}
	return i, true
}

func isASCIIPunct(c byte) bool {
	return c < utf8.RuneSelf && c > ' ' && c != 0x7f && !('0' <= c && c <= '9' || 'a' <= asciiLower(c) && asciiLower(c) <= 'z')
}

func asciiLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// NumSubexp is the number of capture groups, without compiling.
func (r *Regex) NumSubexp() int { return r.numSubexp }

// SubexpNames lists the capture group names like regexp's SubexpNames
// (index 0 is the whole match, "" for unnamed groups), without compiling.
// The slice must not be modified.
func (r *Regex) SubexpNames() []string {
	if r.names != nil {
		return r.names
	}
	return make([]string, r.numSubexp+1)
}

// String is the regex as written in the file.
func (r *Regex) String() string { return r.Source }

// FindStringSubmatchIndex is regexp's (the leftmost match and its groups
// as byte offsets in s), after CanMatch.
func (r *Regex) FindStringSubmatchIndex(s string) []int {
	if !r.CanMatch(s) {
		return nil
	}
	p := r.program()
	m := p.re.FindStringSubmatchIndex(s[p.skip:])
	if m == nil || p.skip == 0 {
		return m
	}
	for i, v := range m {
		if v >= 0 {
			m[i] = v + p.skip
		}
	}
	m[0] = 0
	return m
}

// FindStringSubmatch is regexp's (the leftmost match and its groups),
// after CanMatch.
func (r *Regex) FindStringSubmatch(s string) []string {
	if !r.CanMatch(s) {
		return nil
	}
	p := r.program()
	m := p.re.FindStringSubmatch(s[p.skip:])
	if m != nil && p.skip > 0 {
		m[0] = s[:p.skip+len(m[0])]
	}
	return m
}

// literalPrefix reads from the syntax tree whether a regex is anchored at
// the start of the text and which literal text follows the anchor:
// ^/app/api/.+\.(csv|xlsx)$ is anchored with prefix "/app/api/". (The
// regexp package's own LiteralPrefix gives up on many such patterns.)
// Anything unusual (alternations at the top, anchors inside groups) is
// reported as not anchored, which only disables the shortcut.
func literalPrefix(re *syntax.Regexp) (anchored bool, prefix string, fold bool) {
	var subs []*syntax.Regexp
	switch re.Op {
	case syntax.OpBeginText:
		return true, "", false
	case syntax.OpConcat:
		subs = re.Sub
	default:
		return false, "", false
	}
	if len(subs) == 0 || subs[0].Op != syntax.OpBeginText {
		return false, "", false
	}
	var b strings.Builder
	for _, s := range subs[1:] {
		if s.Op != syntax.OpLiteral {
			break
		}
		folded := s.Flags&syntax.FoldCase != 0
		for _, c := range s.Rune {
			if folded && c >= utf8.RuneSelf {
				// Unicode case folding can change byte lengths; stop here.
				return true, b.String(), fold
			}
			fold = fold || folded
			b.WriteRune(c)
		}
	}
	return true, b.String(), fold
}

// CanMatch is the cheap test before running the regex: false means s
// cannot match.
func (r *Regex) CanMatch(s string) bool {
	if !r.Anchored {
		return true
	}
	if r.PrefixFold {
		return len(s) >= len(r.Prefix) && strings.EqualFold(s[:len(r.Prefix)], r.Prefix)
	}
	return strings.HasPrefix(s, r.Prefix)
}

// MatchString reports whether s matches, with the literal-prefix shortcut.
func (r *Regex) MatchString(s string) bool {
	if !r.CanMatch(s) {
		return false
	}
	p := r.program()
	return p.re.MatchString(s[p.skip:])
}

// Captures returns the submatches of s ($0..$n) and the named groups, or
// ok=false when s does not match.
func (r *Regex) Captures(s string) (caps []string, named map[string]string, ok bool) {
	m := r.FindStringSubmatch(s)
	if m == nil {
		return nil, nil, false
	}
	for i, name := range r.names {
		if name != "" && i < len(m) {
			if named == nil {
				named = make(map[string]string)
			}
			named[strings.ToLower(name)] = m[i]
		}
	}
	return m, named, true
}

func explainRegexError(src string, err error) error {
	var se *syntax.Error
	if e, ok := err.(*syntax.Error); ok {
		se = e
	}
	if se == nil {
		return fmt.Errorf("invalid regex %s: %v", quote(src), err)
	}
	// Go reads "(?<" as the start of a named group, so lookbehind shows up
	// as a bad group name; say what it really is.
	if strings.Contains(src, "(?<=") || strings.Contains(src, "(?<!") {
		return fmt.Errorf("regex %s uses lookbehind, a PCRE lookaround feature that devproxy's linear-time regex engine does not support; write it without", quote(src))
	}
	switch se.Code {
	case syntax.ErrInvalidPerlOp:
		return fmt.Errorf("regex %s uses %s, a PCRE feature (lookaround, atomic group or similar) that devproxy's linear-time regex engine does not support; write it without", quote(src), se.Expr)
	case syntax.ErrInvalidEscape:
		if len(se.Expr) == 2 && se.Expr[1] >= '1' && se.Expr[1] <= '9' {
			return fmt.Errorf("regex %s uses the backreference %s, which devproxy's linear-time regex engine does not support", quote(src), se.Expr)
		}
		return fmt.Errorf("regex %s has an escape %s that devproxy's regex engine does not know", quote(src), se.Expr)
	case syntax.ErrInvalidRepeatOp:
		return fmt.Errorf("regex %s has a possessive or doubled quantifier %s, which devproxy's regex engine does not support", quote(src), se.Expr)
	case syntax.ErrLarge, syntax.ErrInvalidRepeatSize:
		return fmt.Errorf("regex %s repeats too much (%s); keep counted repetitions under 1000", quote(src), se.Expr)
	}
	return fmt.Errorf("invalid regex %s: %s: %s", src, se.Code, se.Expr)
}
