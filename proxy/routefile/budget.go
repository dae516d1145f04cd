package routefile

import (
	"fmt"
	"regexp/syntax"
	"strings"
)

// MaxFileWork is the step budget for checking one file. Tokenizing is
// linear in the file's size, which MaxFileSize bounds; the budget bounds
// the work that is not: compiling regexes (a 10-byte [a-z]{1000} expands
// to a thousand instructions), and walking set variables and values. A
// step is a fraction of a microsecond of work, so a file that runs out has
// cost about a second at most, no more than a file at the size limit made
// of the regex locations real snippets use, which needs under half the
// budget. The budget counts steps, not time, so the verdict is the same on
// every machine and run.
const MaxFileWork = 1 << 21

// workKind is what a file spent its budget on, for the report.
type workKind int

const (
	workRegex  workKind = iota // compiling location and rewrite regexes
	workSets                   // the set variables of a location
	workValues                 // the variables in values
	numWorkKinds
)

// workBudget counts the steps one file has spent.
type workBudget struct {
	spent [numWorkKinds]int64
	total int64
	// largest is the biggest single charge of each kind and where it was
	// made, so the report can point at the line to simplify.
	largest   [numWorkKinds]int64
	largestAt [numWorkKinds]Range
}

// budgetExhausted is the panic value that stops checking a file; Parse
// recovers it and turns the file into one error.
type budgetExhausted struct{}

// charge spends n steps of kind at r, and stops checking the file when the
// budget is gone. The charge comes before the work it pays for, so work
// over the budget is never done.
func (b *builder) charge(kind workKind, r Range, n int64) {
	w := &b.budget
	w.spent[kind] += n
	w.total += n
	if n > w.largest[kind] {
		w.largest[kind], w.largestAt[kind] = n, r
	}
	if w.total > MaxFileWork {
		panic(budgetExhausted{})
	}
}

// tooComplex is the result for a file that ran out of budget: one error
// that names the file and what to simplify, and no locations. The
// statement tree is kept (editors outline it); nothing else is.
func tooComplex(f *File, w *workBudget) *File {
	kind := workRegex
	for k := range w.spent {
		if w.spent[k] > w.spent[kind] {
			kind = workKind(k)
		}
	}
	at := w.largestAt[kind]
	var what, advice string
	switch kind {
	case workRegex:
		what = "compiling its regexes"
		advice = "shorten large repeats such as [a-z]{1000}, or use fewer and simpler regexes"
	case workSets:
		what = "checking its set variables"
		advice = "use fewer set variables, or shorter chains of them"
	default:
		what = "checking the variables in its values"
		advice = "use fewer variables per value"
	}
	msg := fmt.Sprintf("too complex: %s needs more than %d steps to check, most of them %s (the largest on line %d); %s, or split the file",
		f.Path, MaxFileWork, what, at.Start.Line, advice)
	return &File{
		Path: f.Path, Directives: f.Directives, Comments: f.Comments,
		Diagnostics: []Diagnostic{{File: f.Path, Severity: Error, Code: CodeTooComplex, Range: at, Message: msg}},
	}
}

// compileRegex charges the cost of compiling a regex to the budget, then
// compiles it.
func (b *builder) compileRegex(src string, caseless bool, r Range) (*Regex, error) {
	expr := src
	if caseless {
		expr = "(?i)" + src
	}
	b.charge(workRegex, r, regexWork(expr))
	return CompileRegex(src, caseless)
}

// regexBaseWork is what compiling even the smallest regex costs, in steps.
const regexBaseWork = 32

// regexWork estimates, in steps, what compiling expr costs: the size of
// its program once repeats are expanded, weighting loops and groups by
// what they cost to compile and large character classes (\pL, or any
// class under (?i)) by their ranges. The weights come from timing Go's
// regexp.Compile; they need only be right within a small factor. Parsing
// to estimate is linear in the pattern's length; the regexp package
// bounds the size of what it parses.
//
// Only a counted repeat ({n}, {n,m}) makes the program much larger than the
// pattern, so a pattern without '{' is charged by its length and not
// parsed twice.
func regexWork(expr string) int64 {
	byLength := regexBaseWork + 2*int64(len(expr))
	if !strings.Contains(expr, "{") {
		return byLength
	}
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return byLength // CompileRegex reports it
	}
	return max(byLength, regexBaseWork+regexSize(re))
}

// regexSizeCap keeps the estimate from overflowing: anything this large is
// over the budget anyway.
const regexSizeCap = 1 << 40

func regexSize(re *syntax.Regexp) int64 {
	n := int64(1)
	switch re.Op {
	case syntax.OpRepeat:
		count := int64(re.Max)
		if count < 0 {
			count = int64(re.Min) + 1
		}
		sub := regexSize(re.Sub[0])
		if count > 0 && sub > regexSizeCap/count {
			return regexSizeCap
		}
		return min(count*sub+1, regexSizeCap)
	case syntax.OpLiteral:
		n += int64(len(re.Rune))
	case syntax.OpCharClass:
		n += int64(len(re.Rune) / 64)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n += 8
	case syntax.OpCapture:
		n += 4
	case syntax.OpAlternate:
		n += 2 * int64(len(re.Sub))
	}
	for _, s := range re.Sub {
		n = min(n+regexSize(s), regexSizeCap)
	}
	return n
}
