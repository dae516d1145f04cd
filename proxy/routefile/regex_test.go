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
			if got.String() != src {
				t.Errorf("%.40q: String %q", src, got.String())
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
	progs := make([]*program, 8)
	for i := range progs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			caps, named, ok := re.Captures("/APP7/a/b")
			if !ok || caps[0] != "/APP7/a/b" || named["rest"] != "a/b" {
				t.Errorf("Captures = %q %v %v", caps, named, ok)
			}
			progs[i] = re.program()
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

// regexInputs are texts to run the regexes of regexCorpus and
// prefixRegexes on: paths in several cases, with and without the prefix,
// word characters around the prefix's end, newlines and non-ASCII text.
var regexInputs = []string{
	"", "/", "/app", "/app/", "/app/x", "/APP/x/y.csv", "/App/api/r.XLSX", "/app/api/r.csv", "/app/_next/a/b",
	"/api/v1/users/42", "/api/v1/users/x", "/static/app1/a.PNG", "/static/app1/a.jpeg", "/a", "/ab", "/abc", "/aB",
	"/aa", "/a/b", "/a-b/1", "/x-y/42", "/é/x", "/É/x", "/k", "/K", "/\u212a/", "/s", "/\u017f", "/a\nb", "/a\n/x",
	"/app/\n", "/wordx", "/word x", "/app7/x", "/APP7/X", "/a.b/c", "/a(b)/c", "/\xff/x", "/\ufffd/x", "/p/ab", "/p/abbb",
	"/p/ac", "/x/y/z", "/a{2}/", "/aa/", "/straße/x", "/STRASSE/x", "/user/42/x", "/user/4a",
}

// prefixRegexes exercise restAfterPrefix: prefixes it can cut from the
// program and the cases where it must keep the whole program.
var prefixRegexes = []string{
	`^/app/(?<rest>.*)$`, `^/app/api/.+\.(csv|xlsx)$`, `^/app/_next/(.+)$`, `^/api/v1/users/(\d+)$`,
	`^/static/app1/.+\.(png|jpe?g|svg)$`, `^/a\bx`, `^/a\b`, `^/a\B`, `^/a(?m)^b`, `(?m)^/a/$`, `^/a/^x`, `^/a/\Ax`,
	`^/a|^/b`, `^/app/a|^/app/b`, `^[/]app/(.*)`, `^\/app\/(.*)`, `^/\Qa.b\E/(.*)`, `^/a\.b/(.*)`, `^/k(?i)x/`,
	`^/a(?i:B)c`, `^/straße/(.*)`, `^/é/(.+)`, `^/a{2}/`, `^/ab*`, `^/p/ab+`, `^/p/a(b)`, `^/user/(\d+)(?:/|$)`,
	`^/a(?-i)b`, `^/a(?s:.)`, `^/a(?U)b+`, `^/app`, `^/a\x2Fb`, `^/a[b]c/(.*)`, `^/(?:app)/(.*)`, `^/ap{0}p`,
	`^/a\pLb`, `^/\x{e9}/(.+)`, `^/\ufffd`, `^/word\b`, `^/\/x`, `^/a(?m:$)`, `^/a$`, `^/a\z`,
}

// A Regex must find what the whole regexp finds on every text CanMatch
// lets through (and nothing elsewhere), whether or not its program leaves
// the prefix out.
func TestRegexAgreesWithWholeRegexp(t *testing.T) {
	stripped := 0
	for _, src := range append(append([]string(nil), prefixRegexes...), regexCorpus...) {
		for _, caseless := range []bool{false, true} {
			re, err := CompileRegex(src, caseless)
			if err != nil {
				continue
			}
			if re.program().skip > 0 {
				stripped++
			}
			for _, s := range regexInputs {
				checkRegexAgrees(t, re, s)
			}
		}
	}
	if stripped == 0 {
		t.Fatal("no program left its prefix out")
	}
}

func checkRegexAgrees(t *testing.T, re *Regex, s string) {
	t.Helper()
	whole := regexp.MustCompile(regexExpr(re.Source, re.Caseless))
	var want []int
	if re.CanMatch(s) {
		want = whole.FindStringSubmatchIndex(s)
	}
	if got := re.FindStringSubmatchIndex(s); !slices.Equal(got, want) {
		t.Fatalf("%q (caseless %v, skip %d) on %q: FindStringSubmatchIndex %v, want %v", re.Source, re.Caseless, re.program().skip, s, got, want)
	}
	if got := re.MatchString(s); got != (want != nil) {
		t.Fatalf("%q (caseless %v) on %q: MatchString %v, want %v", re.Source, re.Caseless, s, got, want != nil)
	}
	caps, _, ok := re.Captures(s)
	if ok != (want != nil) {
		t.Fatalf("%q on %q: Captures ok %v", re.Source, s, ok)
	}
	for i := range caps {
		w := ""
		if want[2*i] >= 0 {
			w = s[want[2*i]:want[2*i+1]]
		}
		if caps[i] != w {
			t.Fatalf("%q on %q: capture %d is %q, want %q", re.Source, s, i, caps[i], w)
		}
	}
}

func FuzzRegexAgreesWithWholeRegexp(f *testing.F) {
	for i, src := range prefixRegexes {
		f.Add(src, i%2 == 0, regexInputs[i%len(regexInputs)])
	}
	f.Fuzz(func(t *testing.T, src string, caseless bool, s string) {
		if len(src) > 200 {
			return
		}
		re, err := CompileRegex(src, caseless)
		if err != nil {
			return
		}
		checkRegexAgrees(t, re, s)
		if re.Prefix != "" {
			checkRegexAgrees(t, re, re.Prefix+s) // get past CanMatch
		}
	})
}
