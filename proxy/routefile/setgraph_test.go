package routefile_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// hangGuard runs fn and fails the test if it has not returned after a
// generous time. It guards against hangs only; it is not a performance
// assertion (the work it wraps takes milliseconds).
func hangGuard(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not finish within 20s: the work is not bounded", what)
	}
}

// doublingChain is n set lines where each variable is its successor twice:
// set $v0 $v1$v1; ... The number of paths through it doubles at every line.
// last is the value of the final variable.
func doublingChain(n int, last string) string {
	var b strings.Builder
	b.WriteString("location /p/ {\n")
	for i := 0; i < n-1; i++ {
		fmt.Fprintf(&b, "    set $v%d $v%d$v%d;\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "    set $v%d %s;\n", n-1, last)
	b.WriteString("    proxy_set_header X-V $v0;\n    proxy_pass http://127.0.0.1:1;\n}\n")
	return b.String()
}

func cycleDiags(diags []routefile.Diagnostic) []routefile.Diagnostic {
	var out []routefile.Diagnostic
	for _, d := range diags {
		if strings.Contains(d.Message, "in terms of itself") {
			out = append(out, d)
		}
	}
	return out
}

// TestSetCycleCheckIsLinear: 40 doubling set lines used to make the cycle
// check walk 2^40 paths, so `devproxy check` never finished. The check
// must visit each variable once, and report a cycle at the end of the
// chain exactly once.
func TestSetCycleCheckIsLinear(t *testing.T) {
	tests := []struct {
		name, last string
		cycle      string // the expected message, "" for none
	}{
		{"no cycle", "x", ""},
		{"cycle back to the start", "$v0", "$v0 is defined in terms of itself: $v0 -> $v1 -> ... -> $v39 -> $v0"},
		{"self cycle at the end", "a$v39", "$v39 is defined in terms of itself: $v39 -> $v39"},
		{"cycle through the end", "$v38", "$v38 is defined in terms of itself: $v38 -> $v39 -> $v38"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := doublingChain(40, tt.last)
			var f *routefile.File
			hangGuard(t, "parsing 40 doubling set lines", func() { f = parse(src) })
			got := cycleDiags(f.Diagnostics)
			if tt.cycle == "" {
				if len(got) != 0 {
					t.Fatalf("no cycle, but:%s", dump(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want the cycle reported once, got:%s", dump(got))
			}
			if got[0].Message != tt.cycle {
				t.Errorf("message:\n got %q\nwant %q", got[0].Message, tt.cycle)
			}
			if got[0].Severity != routefile.Error || got[0].Code != routefile.CodeVariable {
				t.Errorf("want a variable error, got %s", got[0])
			}
			if f.OK {
				t.Error("a file with a set cycle must not load")
			}
		})
	}
}

// TestSetCycleReportedOnce pins what a cycle report says and where it
// points: once per cycle, on the set that starts it, naming the path.
func TestSetCycleReportedOnce(t *testing.T) {
	tests := []struct {
		name string
		sets string
		want []string // "line: message"
	}{
		{"two", "set $a $b; set $b $a;", []string{"1: $a is defined in terms of itself: $a -> $b -> $a"}},
		{"self", "set $a x$a;", []string{"1: $a is defined in terms of itself: $a -> $a"}},
		{"three, written backwards", "set $c $a;\nset $b $c;\nset $a $b;", []string{"3: $a is defined in terms of itself: $a -> $b -> $c -> $a"}},
		{"repeated reference", "set $a $b$b$b; set $b $a$a;", []string{"1: $a is defined in terms of itself: $a -> $b -> $a"}},
		{"a set that only reaches a cycle is not part of it", "set $x $a; set $a $b; set $b $a;", []string{"1: $a is defined in terms of itself: $a -> $b -> $a"}},
		{"two cycles", "set $a $b; set $b $a;\nset $c $d; set $d $c;", []string{
			"1: $a is defined in terms of itself: $a -> $b -> $a",
			"2: $c is defined in terms of itself: $c -> $d -> $c",
		}},
		{"no cycle: a diamond", "set $a $b$c; set $b $d; set $c $d; set $d x;", nil},
		{"no cycle: a built-in of the same shape", "set $a $host$host;", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "location /p/ {\n" + tt.sets + "\nproxy_pass http://127.0.0.1:1;\n}\n"
			f := parse(src)
			var got []string
			for _, d := range cycleDiags(f.Diagnostics) {
				got = append(got, fmt.Sprintf("%d: %s", d.Range.Start.Line-1, d.Message))
				if txt := text(src, d.Range); !strings.HasPrefix(txt, "set $") || !strings.HasSuffix(txt, ";") {
					t.Errorf("range should cover the set directive, covers %q", txt)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestSetExpansionBound: check refuses a set graph whose values expand
// beyond what a request may evaluate (routefile.MaxValueLen bytes of text,
// routefile.MaxValueCopies request values), so such a file never loads. The
// error sits on the set where the bound is crossed, not on every set built
// from it.
func TestSetExpansionBound(t *testing.T) {
	header := func(v string) string {
		return "location ~ ^/p/(.*)$ {\n" + v + "\nproxy_pass http://127.0.0.1:1;\n}\n"
	}
	tests := []struct {
		name string
		src  string
		want []string // "set-or-value: message fragment"
	}{
		{"40 doubling sets of text", doublingChain(40, "x"), []string{
			"set $v22 $v23$v23;: $v22 expands to 131072 bytes of text",
		}},
		{"40 doubling sets of a request value", doublingChain(40, "$host"), []string{
			"set $v29 $v30$v30;: $v29 expands to 1024 request values",
		}},
		{"15 doubling sets stay under the bound", doublingChain(15, "x"), nil},
		{"a literal over the limit", header("set $a " + strings.Repeat("a", 40000) + ";\nset $b $a$a;"), []string{
			"set $b $a$a;: $b expands to 80000 bytes of text",
		}},
		{"a header that multiplies a set", header("set $a " + strings.Repeat("$1", 40) + ";\nproxy_set_header X " + strings.Repeat("$a", 30) + ";"), []string{
			strings.Repeat("$a", 30) + ": this value expands to 1200 request values",
		}},
		{"many references under the bound", header("set $a " + strings.Repeat("$1", 40) + ";\nproxy_set_header X " + strings.Repeat("$a", 25) + ";"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *routefile.File
			hangGuard(t, "parsing", func() { f = parse(tt.src) })
			var got []string
			for _, d := range f.Diagnostics {
				if strings.Contains(d.Message, "expands to") {
					if d.Severity != routefile.Error || d.Code != routefile.CodeVariable {
						t.Errorf("want a variable error: %s", d)
					}
					got = append(got, text(tt.src, d.Range)+": "+d.Message)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d expansion errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("got  %q\nwant %q...", got[i], tt.want[i])
				}
			}
			if len(tt.want) > 0 && f.OK {
				t.Error("the file must not load")
			}
		})
	}
}

// TestValueWithManyRequestValues: a value that names request values more
// than routefile.MaxValueCopies times is refused even without set
// variables: each can be as long as a request header.
func TestValueWithManyRequestValues(t *testing.T) {
	src := "location /p/ { proxy_set_header X " + strings.Repeat("$http_cookie", 1001) + "; proxy_pass http://127.0.0.1:1; }\n"
	f := parse(src)
	got := withCode(f.Diagnostics, routefile.CodeVariable)
	if len(got) != 1 || !strings.Contains(got[0].Message, "this value expands to 1001 request values") || f.OK {
		t.Fatalf("want one error on the value:%s", dump(f.Diagnostics))
	}
	src = "location /p/ { proxy_set_header X " + strings.Repeat("$http_cookie", 1000) + "; proxy_pass http://127.0.0.1:1; }\n"
	if f := parse(src); !f.OK {
		t.Fatalf("1000 request values are within the bound:%s", dump(f.Diagnostics))
	}
}
