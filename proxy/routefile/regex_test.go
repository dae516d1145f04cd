package routefile

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// regexCorpus holds valid and invalid regexes, including the limits Go
// enforces (repeat counts, program size, nesting depth).
var regexCorpus = []string{
	`^/app/(?<rest>.*)$`, `^/app/api/.+\.(csv|xlsx)$`, `\.(js|css)$`, `^/(a|b)/(\d+)$`, `^/x{2,5}$`,
	`(?i)^/K/`, `^/\Qa.b\E/(.*)`, `^/a(?P<n>b)(?<m>c)`, `(?m)^/x$`, `\bword\b`, `^/é/(.+)`, ``,
	`^/(unclosed$`, `(?=x)`, `(?<=x)y`, `(?<!x)y`, `^/(a)\1$`, `a++`, `a**`, `\Z`, `[z-a]`, `(?P<>x)`,
	`x{1001}`, `x{1000}`, `(x{1000}){1000}`, `((((x{100}){100}){100}){100})`, `(?i)` + strings.Repeat("[a-z]{500}", 50),
	strings.Repeat("(", 1001) + strings.Repeat(")", 1001), strings.Repeat("(", 999) + strings.Repeat(")", 999),
	strings.Repeat("a|", 5000) + "a", `\p{Greek}+`, `\pX`, `[[:word:]]+`, `[[:nope:]]`, `(?U)a+`, `(?s).`,
}

// CompileRegex only parses; it must accept exactly what regexp.Compile
// accepts, so that no error is left for the first request to find.
func TestCompileRegexAgreesWithRegexpCompile(t *testing.T) {
	for _, src := range regexCorpus {
		for _, caseless := range []bool{false, true} {
			expr := src
			if caseless {
				expr = "(?i)" + src
			}
			want, wantErr := regexp.Compile(expr)
			got, err := CompileRegex(src, caseless)
			if (err != nil) != (wantErr != nil) {
				t.Errorf("CompileRegex(%.40q, %v) error %v, regexp.Compile error %v", src, caseless, err, wantErr)
				continue
			}
			if err != nil {
				continue
			}
			if got.NumSubexp() != want.NumSubexp() || !slices.Equal(got.SubexpNames(), want.SubexpNames()) {
				t.Errorf("%.40q: groups %d %q, regexp has %d %q", src, got.NumSubexp(), got.SubexpNames(), want.NumSubexp(), want.SubexpNames())
			}
			if got.prog.Load() != nil {
				t.Errorf("%.40q: compiled before first use", src)
			}
			if got.Regexp().String() != want.String() || got.String() != src {
				t.Errorf("%.40q: compiled %q, String %q", src, got.Regexp().String(), got.String())
			}
		}
	}
}

// The program is built once, on first use, even when many goroutines ask
// at the same time (run with -race), and matches like regexp's.
func TestRegexCompilesOnceOnFirstUse(t *testing.T) {
	re, err := CompileRegex(`^/app7/(?<rest>.*)$`, true)
	if err != nil {
		t.Fatal(err)
	}
	if re.MatchString("/other/x") || re.prog.Load() != nil {
		t.Fatal("a path outside the literal prefix must not build the program")
	}
	var wg sync.WaitGroup
	progs := make([]*regexp.Regexp, 8)
	for i := range progs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			caps, named, ok := re.Captures("/APP7/a/b")
			if !ok || caps[0] != "/APP7/a/b" || named["rest"] != "a/b" {
				t.Errorf("Captures = %q %v %v", caps, named, ok)
			}
			progs[i] = re.Regexp()
		}()
	}
	wg.Wait()
	for _, p := range progs {
		if p != progs[0] {
			t.Fatal("goroutines got different programs")
		}
	}
	if m := re.FindStringSubmatchIndex("/app7/x"); !slices.Equal(m, []int{0, 7, 6, 7}) {
		t.Errorf("FindStringSubmatchIndex = %v", m)
	}
}
