package routefile_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Bad input must never crash or stall the engine: every test here feeds
// something a route file should not contain and checks for a bounded,
// readable report.

func TestBinaryGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260101, 42))
	for i, size := range []int{1, 17, 512, 64 << 10} {
		src := make([]byte, size)
		for j := range src {
			src[j] = byte(rng.Uint32())
		}
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			f := routefile.Parse("apps/garbage.conf", src)
			checkFile(t, src, f)
			if size >= 512 && f.OK {
				t.Errorf("%d random bytes parsed as a valid route file", size)
			}
			if size >= 512 && len(withCode(f.Diagnostics, routefile.CodeEncoding)) != 1 {
				t.Errorf("random bytes should give one encoding warning:%s", dump(f.Diagnostics))
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	const size = 10 << 20
	// A valid-looking file, so that only its size can be the problem.
	line := []byte("location /x/ { proxy_pass http://a:1; }\n")
	src := bytes.Repeat(line, size/len(line)+1)[:size]
	f := routefile.Parse("apps/huge.conf", src)
	if len(f.Diagnostics) != 1 {
		t.Fatalf("want exactly one diagnostic, got %d:%s", len(f.Diagnostics), dump(f.Diagnostics[:min(5, len(f.Diagnostics))]))
	}
	d := f.Diagnostics[0]
	if d.Code != routefile.CodeTooLarge || d.Severity != routefile.Error {
		t.Errorf("diagnostic = %s, want a file-too-large error", d)
	}
	for _, want := range []string{strconv.Itoa(size), strconv.Itoa(routefile.MaxFileSize)} {
		if !strings.Contains(d.Message, want) {
			t.Errorf("message %q should name the size %s and the limit", d.Message, want)
		}
	}
	if d.Range.Start.Line != 1 || d.Range.Start.Col != 1 {
		t.Errorf("range starts at %v, want 1:1", d.Range.Start)
	}
	if f.OK || len(f.Locations) != 0 {
		t.Errorf("an oversized file must contribute nothing (OK=%v, %d locations)", f.OK, len(f.Locations))
	}
	// Just over the limit is too large; at the limit is read.
	if got := routefile.Parse("apps/edge.conf", make([]byte, routefile.MaxFileSize+1)).Diagnostics; len(got) != 1 || got[0].Code != routefile.CodeTooLarge {
		t.Errorf("MaxFileSize+1 bytes:%s", dump(got))
	}
	atLimit := bytes.Repeat([]byte(" "), routefile.MaxFileSize)
	if got := routefile.Parse("apps/edge.conf", atLimit).Diagnostics; len(got) != 0 {
		t.Errorf("MaxFileSize bytes of spaces:%s", dump(got))
	}
}

// TestTooLargeOnDisk reads a 10 MB route file through the workspace loader,
// which reads only a little more than the limit: the message must still
// state the real size (or no size), never a made-up one.
func TestTooLargeOnDisk(t *testing.T) {
	root := t.TempDir()
	const size = 10 << 20
	if err := os.MkdirAll(filepath.Join(root, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "apps", "huge.conf"), bytes.Repeat([]byte("#"), size), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "location /ok/ { proxy_pass http://ok:1; }\n"
	if err := os.WriteFile(filepath.Join(root, "apps", "ok.conf"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.Table()
	var big []routefile.Diagnostic
	for _, d := range tbl.Diagnostics {
		if d.File == "apps/huge.conf" {
			big = append(big, d)
		}
	}
	if len(big) != 1 || big[0].Code != routefile.CodeTooLarge {
		t.Fatalf("apps/huge.conf:%s", dump(big))
	}
	if d := tbl.Explain(&routing.Request{Target: "/ok/x"}); d.Action != routing.ActionProxy {
		t.Errorf("the other file must keep serving: action %q", d.Action)
	}
	if m := regexp.MustCompile(`file is (\d+) bytes`).FindStringSubmatch(big[0].Message); m == nil || m[1] != strconv.Itoa(size) {
		t.Errorf("the message for a %d-byte file says %q; it must give the size on disk", size, big[0].Message)
	}
}

func TestUnterminated(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		message string
	}{
		{"double quote", "location /x {\n  return 200 \"abc;\n}\n", "unterminated quoted string"},
		{"single quote", "location /x {\n  return 200 'abc;\n}\n", "unterminated quoted string"},
		{"quote at end of file", `location /x { return 200 "`, "unterminated quoted string"},
		{"backslash at end of file", `location /x { return 200 a\`, "unexpected end of file"},
		{"brace", "location /x {\n  proxy_pass http://a:1;\n", "never closed"},
		{"two braces", "location /x {\n  location /y {\n", "never closed"},
		{"statement", "location /x { proxy_pass http://a:1", "unexpected end of file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(tt.src)
			f := routefile.Parse(testPath, src)
			checkFile(t, src, f)
			found := false
			for _, d := range f.Diagnostics {
				if d.Severity == routefile.Error && strings.Contains(d.Message, tt.message) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error saying %q:%s", tt.message, dump(f.Diagnostics))
			}
			if f.OK {
				t.Errorf("an unterminated file must not be OK")
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	const depth = 10000
	tests := []struct {
		name string
		src  string
	}{
		{"bare braces", strings.Repeat("{", depth)},
		{"nested locations", strings.Repeat("location /a {\n", depth)},
		{"balanced", strings.Repeat("location /a {", depth) + strings.Repeat("}", depth)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(tt.src)
			f := routefile.Parse(testPath, src)
			checkFile(t, src, f)
			if f.OK {
				t.Fatalf("deeply nested input must not be OK")
			}
			found := false
			for _, d := range f.Diagnostics {
				if d.Severity == routefile.Error && strings.Contains(strings.ToLower(d.Message), "nested") {
					found = true
				}
			}
			if !found {
				t.Errorf("no error message mentions the nesting:%s", dump(f.Diagnostics))
			}
			// Composition and matching of such a file must not recurse
			// either.
			tbl := routing.Compose(routing.Config{}, []*routing.SourceFile{{Path: testPath, Parsed: f}}, nil)
			if d := tbl.Explain(&routing.Request{Target: "/a/b"}); d.Matched {
				t.Errorf("a broken file must not route: %+v", d.Location)
			}
		})
	}
}

func TestInvalidUTF8(t *testing.T) {
	src := []byte("location /x {\n  return 200 \"caf\xe9\";\n}\n")
	f := routefile.Parse(testPath, src)
	checkFile(t, src, f)
	ds := withCode(f.Diagnostics, routefile.CodeEncoding)
	if len(ds) != 1 {
		t.Fatalf("want one encoding warning, got:%s", dump(f.Diagnostics))
	}
	d := ds[0]
	if d.Severity != routefile.Warning {
		t.Errorf("severity = %s, want warning", d.Severity)
	}
	off := bytes.IndexByte(src, 0xe9)
	if d.Range.Start.Offset != off || d.Range.Start.Line != 2 || d.Range.End.Offset != off+1 {
		t.Errorf("range = %+v, want the byte at offset %d on line 2", d.Range, off)
	}
	if !strings.Contains(d.Message, "UTF-8") {
		t.Errorf("message %q should say UTF-8", d.Message)
	}
	// nginx does not care about the encoding: the block still works.
	if !f.OK || len(f.Locations) != 1 {
		t.Errorf("a file with an encoding warning must still load (OK=%v)", f.OK)
	}
}

func TestCatastrophicBacktrackingRegex(t *testing.T) {
	src := "location ~ ^/(a+)+$ { return 200 \"all a\"; }\nlocation ~ ^/(x|x)*y$ { return 200 \"x\"; }\n"
	f := routefile.Parse(testPath, []byte(src))
	if !f.OK {
		t.Fatalf("the regexes are valid RE2:%s", dump(f.Diagnostics))
	}
	tbl := routing.Compose(routing.Config{}, []*routing.SourceFile{{Path: testPath, Parsed: f}}, nil)
	// Under a backtracking engine these requests take exponential time.
	// The point is that Explain returns, with the right answer.
	long := strings.Repeat("a", 50000)
	tests := []struct {
		target  string
		matched bool
	}{
		{"/" + long, true},
		{"/" + long + "b", false},
		{"/" + strings.Repeat("x", 50000), false},
		{"/" + strings.Repeat("x", 50000) + "y", true},
	}
	for _, tt := range tests {
		d := tbl.Explain(&routing.Request{Target: tt.target})
		if d.Matched != tt.matched {
			t.Errorf("request of %d bytes: matched = %v, want %v (action %s)", len(tt.target), d.Matched, tt.matched, d.Action)
		}
	}
}

func TestPCREOnlyRegex(t *testing.T) {
	tests := []struct {
		name    string
		loc     string
		message string
	}{
		{"lookahead", `location ~ ^/(?=app)app/ { return 204; }`, "lookaround"},
		{"negative lookahead", `location ~ ^/(?!admin) { return 204; }`, "lookaround"},
		{"lookbehind", `location ~ ^/(?<=/)x$ { return 204; }`, "lookaround"},
		{"negative lookbehind", `location ~ ^/(?<!y)x$ { return 204; }`, "lookaround"},
		{"atomic group", `location ~ ^/(?>a+)b { return 204; }`, "PCRE"},
		{"backreference", `location ~ ^/(a)\1$ { return 204; }`, "backreference"},
		{"possessive", `location ~ ^/a++$ { return 204; }`, "possessive"},
		{"in a rewrite", `location /x/ { rewrite ^/x/(?=y) /z/ last; return 204; }`, "lookaround"},
		{"plainly invalid", `location ~ ^/(unclosed$ { return 204; }`, "regex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := routefile.Parse(testPath, []byte(tt.loc))
			ds := withCode(f.Diagnostics, routefile.CodeRegex)
			if len(ds) != 1 {
				t.Fatalf("want one regex error, got:%s", dump(f.Diagnostics))
			}
			if ds[0].Severity != routefile.Error {
				t.Errorf("severity = %s, want error", ds[0].Severity)
			}
			if f.OK {
				t.Errorf("a file with an unusable regex must not be OK")
			}
			if !strings.Contains(ds[0].Message, tt.message) {
				t.Errorf("message %q should mention %q", ds[0].Message, tt.message)
			}
		})
	}
}

func TestDiagnosticCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("location /x {\n")
	for i := range 150 {
		b.WriteString("    bogus_" + strconv.Itoa(i) + " on;\n")
	}
	b.WriteString("}\n")
	src := []byte(b.String())
	f := routefile.Parse(testPath, src)
	checkFile(t, src, f)
	if len(f.Diagnostics) != 101 {
		t.Fatalf("got %d diagnostics, want 100 and one too-many-problems", len(f.Diagnostics))
	}
	if n := len(withCode(f.Diagnostics, routefile.CodeTooMany)); n != 1 {
		t.Errorf("got %d too-many-problems diagnostics, want 1", n)
	}
	last := f.Diagnostics[100]
	if last.Code != routefile.CodeTooMany || !strings.Contains(last.Message, "100") {
		t.Errorf("last diagnostic = %s, want too-many-problems naming the cap", last)
	}
	if n := len(withCode(f.Diagnostics, routefile.CodeUnknownDirective)); n != 100 {
		t.Errorf("got %d unknown-directive diagnostics before the cap, want 100", n)
	}
}

// TestLargeValidFile guards against quadratic behaviour on large valid input
// without measuring time: a file at the size limit must parse completely.
func TestLargeValidFile(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < routefile.MaxFileSize-200; i++ {
		b.WriteString("location /app" + strconv.Itoa(i) + "/ { proxy_pass http://a:1/; }\n")
	}
	src := []byte(b.String())
	f := routefile.Parse(testPath, src)
	if !f.OK || len(f.Diagnostics) != 0 {
		t.Fatalf("large valid file:%s", dump(f.Diagnostics[:min(5, len(f.Diagnostics))]))
	}
	tbl := routing.Compose(routing.Config{}, []*routing.SourceFile{{Path: testPath, ModTime: time.Unix(0, 0), Parsed: f}}, nil)
	last := len(f.Locations) - 1
	d := tbl.Explain(&routing.Request{Target: "/app" + strconv.Itoa(last) + "/x"})
	if d.Action != routing.ActionProxy || d.UpstreamURI != "/x" {
		t.Errorf("last location: action %s, upstream_uri %q", d.Action, d.UpstreamURI)
	}
}
