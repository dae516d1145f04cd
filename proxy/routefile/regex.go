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
// it, so every error is reported then), but the matcher program is built
// only when the regex is first run, and kept from then on. A compiled Go
// regexp costs about 3 KB; a workspace of 100,000 regex locations, of
// which a request touches only the few whose literal prefix fits its
// path, would otherwise hold 300 MB of programs it never runs. All
// methods are safe for concurrent use.
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
	prog      atomic.Pointer[regexp.Regexp]
}

// CompileRegex checks an nginx regex for devproxy, or explains in plain
// words why it cannot run it. The matcher program itself is built on first
// use (see Regex).
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

// Regexp returns the compiled program, building it on first use. Two
// goroutines may both build it the first time; one result is kept.
func (r *Regex) Regexp() *regexp.Regexp {
	if re := r.prog.Load(); re != nil {
		return re
	}
	re, err := regexp.Compile(regexExpr(r.Source, r.Caseless))
	if err != nil {
		// CompileRegex parsed the same expression without error.
		panic(fmt.Sprintf("routefile: regex %q passed its check but does not compile: %v", r.Source, err))
	}
	if !r.prog.CompareAndSwap(nil, re) {
		return r.prog.Load()
	}
	return re
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

// FindStringSubmatchIndex is regexp's, on the compiled program.
func (r *Regex) FindStringSubmatchIndex(s string) []int {
	return r.Regexp().FindStringSubmatchIndex(s)
}

// FindStringSubmatch is regexp's, on the compiled program.
func (r *Regex) FindStringSubmatch(s string) []string {
	return r.Regexp().FindStringSubmatch(s)
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
	return r.CanMatch(s) && r.Regexp().MatchString(s)
}

// Captures returns the submatches of s ($0..$n) and the named groups, or
// ok=false when s does not match.
func (r *Regex) Captures(s string) (caps []string, named map[string]string, ok bool) {
	if !r.CanMatch(s) {
		return nil, nil, false
	}
	m := r.Regexp().FindStringSubmatch(s)
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
