package routefile_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// These tests pin the route-file contract of spec/route-files.md §2 (syntax
// and directive validation) and §3 (route identity), plus the reserved-path
// and duplicate rules of §4 that a single file can decide on its own.

const testPath = "apps/t.conf"

func parse(src string) *routefile.File {
	return routefile.Parse(testPath, []byte(src))
}

// render prints a statement tree compactly: names bare, argument values
// quoted (after unescaping), blocks in braces.
func render(ds []*routefile.Directive) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(d.Name.Value)
		for _, a := range d.Args {
			b.WriteByte(' ')
			b.WriteString(strconv.Quote(a.Value))
		}
		switch {
		case d.Block == nil:
			b.WriteByte(';')
		case len(d.Block.Directives) == 0:
			b.WriteString(" {}")
		default:
			b.WriteString(" { " + render(d.Block.Directives) + " }")
		}
	}
	return b.String()
}

func withCode(diags []routefile.Diagnostic, code string) []routefile.Diagnostic {
	var out []routefile.Diagnostic
	for _, d := range diags {
		if d.Code == code {
			out = append(out, d)
		}
	}
	return out
}

func dump(diags []routefile.Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString("\n\t" + d.String())
	}
	if b.Len() == 0 {
		return " (none)"
	}
	return b.String()
}

// text is the source a range covers.
func text(src string, r routefile.Range) string {
	if r.Start.Offset < 0 || r.End.Offset > len(src) || r.Start.Offset > r.End.Offset {
		return "<bad range " + r.Start.String() + "-" + r.End.String() + ">"
	}
	return src[r.Start.Offset:r.End.Offset]
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"one-line block", `location = /x { return 204; }`,
			`location "=" "/x" { return "204"; }`},
		{"no spaces around braces and semicolons", "location /x{return 204;}",
			`location "/x" { return "204"; }`},
		{"several statements and lines", "location /a/ {\n\tproxy_pass http://a:1;\n\tproxy_set_header Host $host;\n}\n",
			`location "/a/" { proxy_pass "http://a:1"; proxy_set_header "Host" "$host"; }`},
		{"double quotes with escapes", `location /x { add_header X "a \"b\" \\ c"; }`,
			`location "/x" { add_header "X" "a \"b\" \\ c"; }`},
		{"single quotes with escapes", `location /x { add_header X 'it\'s'; }`,
			`location "/x" { add_header "X" "it's"; }`},
		{"control escapes in quotes", `location /x { return 200 "a\tb\nc"; }`,
			`location "/x" { return "200" "a\tb\nc"; }`},
		{"regex backslashes are kept", `location ~ ^/a\.b/(\d+)$ { return 204; }`,
			`location "~" "^/a\\.b/(\\d+)$" { return "204"; }`},
		{"quotes hold spaces, braces and semicolons", `location /x { return 200 "a; { b } c"; }`,
			`location "/x" { return "200" "a; { b } c"; }`},
		{"empty quoted string", `location /x { proxy_set_header X ""; }`,
			`location "/x" { proxy_set_header "X" ""; }`},
		{"hash inside a word is not a comment", `location /x { return 200 a#b; }`,
			`location "/x" { return "200" "a#b"; }`},
		{"hash inside quotes is not a comment", `location /x { return 200 "# not a comment"; }`,
			`location "/x" { return "200" "# not a comment"; }`},
		{"comment at token start runs to end of line", "location /x { # return 500;\n return 204; }",
			`location "/x" { return "204"; }`},
		{"comment between arguments", "location /x {\n return 200 ok # the text\n ; }",
			`location "/x" { return "200" "ok"; }`},
		{"commented-out block", "# location /old/ { proxy_pass http://old:1; }\nlocation /x { return 204; }",
			`location "/x" { return "204"; }`},
		{"${var} keeps its braces", `location /x { return 200 ${scheme}://${host}/; }`,
			`location "/x" { return "200" "${scheme}://${host}/"; }`},
		{"brace without $ ends a word", `location /x{ return 204; }`,
			`location "/x" { return "204"; }`},
		{"glued = modifier is one token", `location =/x { return 204; }`,
			`location "=/x" { return "204"; }`},
		{"glued ^~ modifier is one token", `location ^~/x { return 204; }`,
			`location "^~/x" { return "204"; }`},
		{"named location", `location @fallback { return 502; }`,
			`location "@fallback" { return "502"; }`},
		{"empty block", `location /x {}`, `location "/x" {}`},
		{"CRLF line ends", "location /x {\r\n  return 204;\r\n}\r\n",
			`location "/x" { return "204"; }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(tt.src)
			if got := render(f.Directives); got != tt.want {
				t.Errorf("tokens of %q:\n got: %s\nwant: %s", tt.src, got, tt.want)
			}
			if syn := withCode(f.Diagnostics, routefile.CodeSyntax); len(syn) > 0 {
				t.Errorf("unexpected syntax errors:%s", dump(syn))
			}
		})
	}
}

func TestCommentsAreRecorded(t *testing.T) {
	src := "# first\nlocation /x { # inline\n return 204; }\n"
	f := parse(src)
	var got []string
	for _, c := range f.Comments {
		got = append(got, text(src, c))
	}
	want := []string{"# first", "# inline"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("comments = %q, want %q", got, want)
	}
}

func TestLocationModifiers(t *testing.T) {
	tests := []struct {
		src      string
		mod      routefile.Modifier
		spec     string
		specText string // the source the spec range covers
	}{
		{`location /x { return 204; }`, routefile.ModPrefix, "/x", "/x"},
		{`location = /x { return 204; }`, routefile.ModExact, "/x", "= /x"},
		{`location =/x { return 204; }`, routefile.ModExact, "/x", "=/x"},
		{`location ^~ /x/ { return 204; }`, routefile.ModNoRegex, "/x/", "^~ /x/"},
		{`location ^~/x/ { return 204; }`, routefile.ModNoRegex, "/x/", "^~/x/"},
		{`location ~ ^/x/ { return 204; }`, routefile.ModRegex, "^/x/", "~ ^/x/"},
		{`location ~^/x/ { return 204; }`, routefile.ModRegex, "^/x/", "~^/x/"},
		{`location ~* ^/x/ { return 204; }`, routefile.ModRegexCI, "^/x/", "~* ^/x/"},
		{`location ~*^/x/ { return 204; }`, routefile.ModRegexCI, "^/x/", "~*^/x/"},
		{`location "~*" "^/x/" { return 204; }`, routefile.ModRegexCI, "^/x/", `"~*" "^/x/"`},
		{`location @fallback { return 502; }`, routefile.ModNamed, "@fallback", "@fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			f := parse(tt.src)
			if len(f.Locations) != 1 {
				t.Fatalf("got %d locations, want 1; diagnostics:%s", len(f.Locations), dump(f.Diagnostics))
			}
			l := f.Locations[0]
			if l.Modifier != tt.mod || l.Spec != tt.spec {
				t.Errorf("modifier, spec = %q, %q; want %q, %q", l.Modifier, l.Spec, tt.mod, tt.spec)
			}
			if got := text(tt.src, l.SpecRange); got != tt.specText {
				t.Errorf("spec range covers %q, want %q", got, tt.specText)
			}
			if !f.OK {
				t.Errorf("file not OK:%s", dump(f.Diagnostics))
			}
		})
	}
}

func TestPositions(t *testing.T) {
	// Line 2 holds a character outside the BMP: it is 4 bytes of UTF-8 and
	// 2 UTF-16 code units, so the columns after it move by 2.
	src := "location /x {\n    add_header X-Emoji \"😀\" always;\n    add_header X-Acc é always;\r\n    return 204;\n}\n"
	f := parse(src)
	if len(f.Diagnostics) != 0 {
		t.Fatalf("unexpected diagnostics:%s", dump(f.Diagnostics))
	}
	loc := f.Directives[0]
	inner := loc.Block.Directives
	if len(inner) != 3 {
		t.Fatalf("got %d directives in the block, want 3: %s", len(inner), render(f.Directives))
	}
	pos := func(off, line, col int) routefile.Pos { return routefile.Pos{Offset: off, Line: line, Col: col} }
	tests := []struct {
		name       string
		tok        routefile.Token
		start, end routefile.Pos
		text       string
	}{
		{"location keyword", loc.Name, pos(0, 1, 1), pos(8, 1, 9), "location"},
		{"location path", loc.Args[0], pos(9, 1, 10), pos(11, 1, 12), "/x"},
		{"add_header", inner[0].Name, pos(18, 2, 5), pos(28, 2, 15), "add_header"},
		// The quoted token covers its quotes: cols 24..27, the emoji is 25-26.
		{"quoted emoji", inner[0].Args[1], pos(37, 2, 24), pos(43, 2, 28), "\"😀\""},
		{"word after the emoji", inner[0].Args[2], pos(44, 2, 29), pos(50, 2, 35), "always"},
		// é is 2 bytes but one UTF-16 unit.
		{"BMP character", inner[1].Args[1], pos(73, 3, 22), pos(75, 3, 23), "é"},
		{"word after BMP character", inner[1].Args[2], pos(76, 3, 24), pos(82, 3, 30), "always"},
		// Line 3 ends in CRLF: line 4 starts after the LF.
		{"after CRLF", inner[2].Name, pos(89, 4, 5), pos(95, 4, 11), "return"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tok.Range.Start != tt.start || tt.tok.Range.End != tt.end {
				t.Errorf("range = %+v-%+v, want %+v-%+v", tt.tok.Range.Start, tt.tok.Range.End, tt.start, tt.end)
			}
			if got := text(src, tt.tok.Range); got != tt.text {
				t.Errorf("range covers %q, want %q", got, tt.text)
			}
			if got := routefile.PosAt([]byte(src), tt.start.Offset); got != tt.start {
				t.Errorf("PosAt(%d) = %+v, want %+v", tt.start.Offset, got, tt.start)
			}
		})
	}
	if r := loc.Range; r.Start != pos(0, 1, 1) || text(src, r) != strings.TrimSuffix(src, "\n") {
		t.Errorf("location directive range covers %q, want the whole block", text(src, r))
	}
}

func TestDiagnosticPositionAfterEmoji(t *testing.T) {
	src := `location /x { add_header A "😀"; bogus; return 204; }`
	f := parse(src)
	ds := withCode(f.Diagnostics, routefile.CodeUnknownDirective)
	if len(ds) != 1 {
		t.Fatalf("want one unknown-directive diagnostic, got:%s", dump(f.Diagnostics))
	}
	r := ds[0].Range
	want := routefile.Range{
		Start: routefile.Pos{Offset: 35, Line: 1, Col: 34},
		End:   routefile.Pos{Offset: 40, Line: 1, Col: 39},
	}
	if r != want {
		t.Errorf("range = %+v, want %+v", r, want)
	}
	if got := text(src, r); got != "bogus" {
		t.Errorf("range covers %q, want \"bogus\"", got)
	}
}

func TestErrorRecovery(t *testing.T) {
	src := `location /a/ {
    proxy_pass http://a:1
}
location /b/ {
    bogus on;
    proxy_pass;
    root /var/www;
    return 204;
}
upstream x { server a:1; }
location /c/ { return 204; }
`
	f := parse(src)
	want := []struct {
		code string
		sev  routefile.Severity
		line int
	}{
		{routefile.CodeSyntax, routefile.Error, 2},           // missing ';'
		{routefile.CodeUnknownDirective, routefile.Error, 5}, // bogus
		{routefile.CodeArguments, routefile.Error, 6},        // proxy_pass;
		{routefile.CodeIgnored, routefile.Warning, 7},        // root
		{routefile.CodeTopLevel, routefile.Warning, 10},      // upstream
	}
	for _, w := range want {
		found := false
		for _, d := range f.Diagnostics {
			if d.Code == w.code && d.Severity == w.sev && d.Range.Start.Line == w.line {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %s %s on line %d; got:%s", w.sev, w.code, w.line, dump(f.Diagnostics))
		}
	}
	if len(f.Locations) != 3 {
		t.Errorf("parsing did not recover: %d locations, want 3", len(f.Locations))
	}
	if f.OK {
		t.Errorf("a file with errors must not be OK")
	}
	if d := withCode(f.Diagnostics, routefile.CodeSyntax); len(d) > 0 && !strings.Contains(d[0].Message, "missing ';'") {
		t.Errorf("syntax message %q should say the ';' is missing", d[0].Message)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		message string // a fragment of the expected message
		text    string // what the range covers
	}{
		{"unterminated double quote", `location /x { return 200 "abc; }`, "unterminated quoted string", `"abc; }`},
		{"unterminated single quote", `location /x { return 200 'abc; }`, "unterminated quoted string", `'abc; }`},
		{"unclosed block", "location /x {\n  return 204;\n", "never closed", "{"},
		{"stray close brace", "location /x { return 204; }\n}", "unexpected '}'", "}"},
		{"stray semicolon", "; location /x { return 204; }", "unexpected ';'", ";"},
		{"missing semicolon at end of file", "location /x { return 204; }\nupstream", "unexpected end of file", ""},
		{"no separator after quote", `location /x { return 200 "a"b; }`, "right after a quoted string", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(tt.src)
			ds := withCode(f.Diagnostics, routefile.CodeSyntax)
			if len(ds) == 0 {
				t.Fatalf("no syntax error; got:%s", dump(f.Diagnostics))
			}
			d := ds[0]
			if d.Severity != routefile.Error {
				t.Errorf("severity = %s, want error", d.Severity)
			}
			if !strings.Contains(d.Message, tt.message) {
				t.Errorf("message %q does not contain %q", d.Message, tt.message)
			}
			if got := text(tt.src, d.Range); got != tt.text {
				t.Errorf("range covers %q, want %q", got, tt.text)
			}
			if f.OK {
				t.Errorf("file with a syntax error is OK")
			}
		})
	}
}

func TestDirectiveValidation(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		code    string
		sev     routefile.Severity
		text    string // what the range covers
		message string // a fragment of the message
	}{
		{"unknown directive", `location /x { proxy_passs http://a:1; }`,
			routefile.CodeUnknownDirective, routefile.Error, "proxy_passs", `did you mean "proxy_pass"`},
		{"unknown directive without suggestion", `location /x { frobnicate; return 204; }`,
			routefile.CodeUnknownDirective, routefile.Error, "frobnicate", `unknown directive "frobnicate"`},
		{"root is accepted but ignored", `location /x { root /var/www; return 204; }`,
			routefile.CodeIgnored, routefile.Warning, "root", "accepted but ignored"},
		{"try_files is accepted but ignored", `location /x { try_files $uri /index.html; return 204; }`,
			routefile.CodeIgnored, routefile.Warning, "try_files", "accepted but ignored"},
		{"proxy_pass without argument", `location /x { proxy_pass; }`,
			routefile.CodeArguments, routefile.Error, "proxy_pass;", "proxy_pass"},
		{"proxy_pass with two arguments", `location /x { proxy_pass http://a:1 http://b:1; }`,
			routefile.CodeArguments, routefile.Error, "proxy_pass http://a:1 http://b:1;", "got 2"},
		{"set with one argument", `location /x { set $a; return 204; }`,
			routefile.CodeArguments, routefile.Error, "set $a;", "set"},
		{"proxy_set_header with one argument", `location /x { proxy_set_header Host; return 204; }`,
			routefile.CodeArguments, routefile.Error, "proxy_set_header Host;", "proxy_set_header"},
		{"return without argument", `location /x { return; }`,
			routefile.CodeArguments, routefile.Error, "return;", "return"},
		{"rewrite with four arguments", `location /x { rewrite ^ /y last extra; return 204; }`,
			routefile.CodeArguments, routefile.Error, "rewrite ^ /y last extra;", "rewrite"},
		{"empty_gif with an argument", `location /x { empty_gif on; }`,
			routefile.CodeArguments, routefile.Error, "empty_gif on;", "empty_gif"},
		{"location with three arguments", `location = /a /b { return 204; }`,
			routefile.CodeArguments, routefile.Error, "location = /a /b", "location"},
		{"nested location", `location /x { location /y { return 204; } return 204; }`,
			routefile.CodeNested, routefile.Error, "location /y", "location"},
		{"nested if", `location /x { if ($http_x) { return 403; } return 204; }`,
			routefile.CodeNested, routefile.Error, "if ($http_x)", "if"},
		{"top-level upstream", "upstream api {\n  server 127.0.0.1:1;\n}\n",
			routefile.CodeTopLevel, routefile.Warning, "upstream api", "not applied"},
		{"top-level map", "map $http_upgrade $connection_upgrade {\n  default upgrade;\n}\n",
			routefile.CodeTopLevel, routefile.Warning, "map $http_upgrade $connection_upgrade", "not applied"},
		{"top-level server", "server {\n  location /x { return 204; }\n}\n",
			routefile.CodeTopLevel, routefile.Warning, "server", "not applied"},
		{"top-level bare set", "set $backend 127.0.0.1:3000;\nlocation /x { return 204; }\n",
			routefile.CodeTopLevel, routefile.Warning, "set $backend 127.0.0.1:3000;", "not applied"},
		{"unknown top-level statement", "frobnicate 1;\n",
			routefile.CodeUnknownDirective, routefile.Error, "frobnicate", "frobnicate"},
		{"invalid modifier", `location ~~ /x { return 204; }`,
			routefile.CodeInvalidValue, routefile.Error, "~~", "modifier"},
		{"bad rewrite flag", `location /x { rewrite ^ /y lst; return 204; }`,
			routefile.CodeInvalidValue, routefile.Error, "lst", "flag"},
		{"proxy_pass without scheme", `location /x { proxy_pass 127.0.0.1:3000; }`,
			routefile.CodeInvalidValue, routefile.Error, "127.0.0.1:3000", "http://"},
		{"proxy_pass URI part in a regex location", `location ~ ^/x/ { proxy_pass http://a:1/y/; }`,
			routefile.CodeInvalidValue, routefile.Error, "http://a:1/y/", "URI part"},
		{"duplicate single directive", `location /x { proxy_pass http://a:1; proxy_pass http://b:1; }`,
			routefile.CodeDuplicate, routefile.Error, "proxy_pass http://b:1;", "duplicate"},
		{"unknown variable", `location /x { proxy_pass http://$nope; }`,
			routefile.CodeVariable, routefile.Error, "http://$nope", "$nope"},
		{"no handler", `location /x { add_header X y; }`,
			routefile.CodeNoHandler, routefile.Warning, "location /x", "no proxy_pass"},
		{"no effect", `location /x { proxy_http_version 1.1; proxy_pass http://a:1; }`,
			routefile.CodeNoEffect, routefile.Hint, "proxy_http_version 1.1;", "no effect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(tt.src)
			ds := withCode(f.Diagnostics, tt.code)
			if len(ds) != 1 {
				t.Fatalf("want exactly one %q diagnostic, got:%s", tt.code, dump(f.Diagnostics))
			}
			d := ds[0]
			if d.Severity != tt.sev {
				t.Errorf("severity = %s, want %s", d.Severity, tt.sev)
			}
			if got := text(tt.src, d.Range); got != tt.text {
				t.Errorf("range covers %q, want %q", got, tt.text)
			}
			if !strings.Contains(d.Message, tt.message) {
				t.Errorf("message %q does not contain %q", d.Message, tt.message)
			}
			if d.File != testPath {
				t.Errorf("file = %q, want %q", d.File, testPath)
			}
			// Errors break the whole file; warnings and hints do not.
			hasErr := false
			for _, o := range f.Diagnostics {
				hasErr = hasErr || o.Severity == routefile.Error
			}
			if f.OK == hasErr {
				t.Errorf("OK = %v with diagnostics:%s", f.OK, dump(f.Diagnostics))
			}
		})
	}
}

func TestTopLevelIsNotApplied(t *testing.T) {
	// A server block's locations are not applied; a warning says so.
	f := parse("server {\n  location /x/ { proxy_pass http://a:1; }\n}\n")
	if len(f.Locations) != 0 {
		t.Errorf("locations inside a top-level server block were applied: %d", len(f.Locations))
	}
	if len(withCode(f.Diagnostics, routefile.CodeTopLevel)) != 1 {
		t.Errorf("want one top-level warning, got:%s", dump(f.Diagnostics))
	}
}

func TestDuplicateBlocks(t *testing.T) {
	tests := []struct {
		name string
		src  string
		dup  bool
	}{
		{"plain twice", "location /x/ { return 204; }\nlocation /x/ { return 204; }", true},
		{"plain and ^~ with the same spec", "location /x/ { return 204; }\nlocation ^~ /x/ { return 204; }", true},
		{"exact twice", "location = /x { return 204; }\nlocation = /x { return 204; }", true},
		{"two identical regexes", "location ~ ^/x/(.*)$ { return 204; }\nlocation ~ ^/x/(.*)$ { return 204; }", true},
		{"two identical caseless regexes", "location ~* \\.js$ { return 204; }\nlocation ~* \\.js$ { return 204; }", true},
		{"named twice", "location @f { return 502; }\nlocation @f { return 503; }", true},
		{"exact next to plain", "location = /x/ { return 204; }\nlocation /x/ { return 204; }", false},
		{"exact next to ^~", "location = /x/ { return 204; }\nlocation ^~ /x/ { return 204; }", false},
		{"same route, different specs", "location /x { return 204; }\nlocation /x/ { return 204; }", false},
		{"different regexes", "location ~ ^/x/ { return 204; }\nlocation ~ ^/y/ { return 204; }", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(tt.src)
			if len(f.Locations) != 2 {
				t.Fatalf("got %d locations, want 2:%s", len(f.Locations), dump(f.Diagnostics))
			}
			ds := withCode(f.Diagnostics, routefile.CodeDuplicate)
			first, second := f.Locations[0], f.Locations[1]
			if !tt.dup {
				if len(ds) != 0 || second.Inactive() || first.Inactive() {
					t.Errorf("unexpected duplicate:%s", dump(f.Diagnostics))
				}
				return
			}
			if len(ds) != 1 {
				t.Fatalf("want one duplicate error, got:%s", dump(f.Diagnostics))
			}
			if ds[0].Severity != routefile.Error || ds[0].Range.Start.Line != 2 {
				t.Errorf("duplicate diagnostic = %s, want an error on line 2", ds[0])
			}
			if second.DuplicateOf != first || !second.Inactive() {
				t.Errorf("second block should be inactive as a duplicate of the first")
			}
			if first.Inactive() {
				t.Errorf("first block must stay active")
			}
		})
	}
}

func TestReservedPaths(t *testing.T) {
	tests := []struct {
		loc      string
		reserved bool
	}{
		{"/devproxy/", true},
		{"/devproxy", true},
		{"/devproxy/api/", true},
		{"^~ /devproxy/", true},
		{"= /devproxy/x", true},
		{"~ ^/devproxy/", true},
		{"/routes.json", true},
		{"= /routes.json", true},
		{"/health.json", true},
		{"/status.json", true},
		{"/health", true},
		{"/health/", true},
		{"= /health", true},
		{"~ ^/health$", true},
		{"/status", true},
		{"/status/", true},
		{"/reports", true},
		{"/reports/", true},
		{"/dashboard", true},
		{"^~ /dashboard/x/", true},
		{"/healthz/", false},
		{"/statusboard/", false},
		{"/reports-app/", false},
		{"/devproxyish/", false},
		{"/api/health", false},
		{"/myapp/status", false},
		{"@health", false},
		// The root is the user's (spec §4, changed).
		{"= /", false},
		{"/", false},
		{"^~ /", false},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			src := "location " + tt.loc + " { return 204; }"
			f := parse(src)
			if len(f.Locations) != 1 {
				t.Fatalf("got %d locations:%s", len(f.Locations), dump(f.Diagnostics))
			}
			ds := withCode(f.Diagnostics, routefile.CodeReserved)
			l := f.Locations[0]
			if !tt.reserved {
				if len(ds) != 0 || l.Reserved {
					t.Errorf("not reserved, but got:%s", dump(ds))
				}
				return
			}
			if len(ds) != 1 || ds[0].Severity != routefile.Error {
				t.Fatalf("want one reserved error, got:%s", dump(f.Diagnostics))
			}
			if !l.Reserved || !l.Inactive() {
				t.Errorf("reserved block must be inactive")
			}
			if !strings.Contains(ds[0].Message, "reserved") {
				t.Errorf("message %q does not say reserved", ds[0].Message)
			}
		})
	}
}

func TestCatchAll(t *testing.T) {
	for _, loc := range []string{"/", "^~ /"} {
		t.Run(loc, func(t *testing.T) {
			f := parse("location " + loc + " { proxy_pass http://a:1; }")
			ds := withCode(f.Diagnostics, routefile.CodeCatchAll)
			if len(ds) != 1 || ds[0].Severity != routefile.Information {
				t.Fatalf("want one catch-all information, got:%s", dump(f.Diagnostics))
			}
			if len(withCode(f.Diagnostics, routefile.CodeReserved)) != 0 || f.Locations[0].Inactive() {
				t.Errorf("a plain catch-all is allowed, not reserved")
			}
			if !f.OK {
				t.Errorf("a catch-all alone must not break the file")
			}
		})
	}
	// = / takes only the root: not a catch-all, and not reserved.
	f := parse("location = / { return 204; }")
	if len(withCode(f.Diagnostics, routefile.CodeCatchAll)) != 0 || len(withCode(f.Diagnostics, routefile.CodeReserved)) != 0 {
		t.Errorf("= / is neither a catch-all nor reserved:%s", dump(f.Diagnostics))
	}
}

func TestUnanchoredRegex(t *testing.T) {
	tests := []struct {
		loc  string
		warn bool
	}{
		{`~ \.php$`, true},
		{`~* \.js$`, true},
		{`~ /app/`, true},
		{`~ ^app/`, true},
		{`~ ^/app/`, false},
		{`~* ^/app/(.*)$`, false},
		{`/app/`, false},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			src := "location " + tt.loc + " { return 204; }"
			f := parse(src)
			ds := withCode(f.Diagnostics, routefile.CodeUnanchoredRegex)
			if !tt.warn {
				if len(ds) != 0 {
					t.Errorf("unexpected warning:%s", dump(ds))
				}
				return
			}
			if len(ds) != 1 || ds[0].Severity != routefile.Warning {
				t.Fatalf("want one unanchored-regex warning, got:%s", dump(f.Diagnostics))
			}
			if got := text(src, ds[0].Range); got != tt.loc {
				t.Errorf("range covers %q, want %q", got, tt.loc)
			}
		})
	}
}

func TestRouteOf(t *testing.T) {
	tests := []struct {
		loc   string // modifier and spec as written after "location"
		route string // "" for no route
	}{
		{"/api", "/api/"},
		{"/api/", "/api/"},
		{"^~ /api/", "/api/"},
		{"^~ /api", "/api/"},
		{"= /api", "/api/"},
		{"= /api/", "/api/"},
		{"= /api/health", "/api/health/"},
		{"/a/b/c", "/a/b/c/"},
		{"~ ^/myapp/?$", "/myapp/"},
		{"~ ^/myapp/_next/(.+)$", ""},
		{`~* \.js$`, ""},
		{"/favicon.ico", ""},
		{"= /favicon.ico", ""},
		{"/storybook/iframe.html", ""},
		{"/", "/"},
		{"= /", "/"},
		{"^~ /", "/"},
		{"/_next", ""},
		{"/_next/", ""},
		{"/__nextjs_font/", ""},
		{"/__nextjs_original-stack-frame", ""},
		{"@fallback", ""},
		// Next.js internals have no route whatever the kind of location.
		{`~ ^/_next/(\w+)$`, ""},
		{`~ ^/__nextjs_font/`, ""},
		// A regex's literal segments get the same route as the prefix with
		// those segments: location /myapp/_next/ is the route /myapp/_next/,
		// so is ~ ^/myapp/_next/([^/]+)$ (the spec's (.+) example has no
		// route because of its '.').
		{`~ ^/myapp/_next/([^/]+)$`, "/myapp/_next/"},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			f := parse("location " + tt.loc + " { return 204; }")
			if len(f.Locations) != 1 {
				t.Fatalf("got %d locations:%s", len(f.Locations), dump(f.Diagnostics))
			}
			l := f.Locations[0]
			route, ok := routefile.RouteOf(l.Modifier, l.Spec)
			if tt.route == "" {
				if ok || route != "" {
					t.Errorf("RouteOf(%q, %q) = %q, %v; want no route", l.Modifier, l.Spec, route, ok)
				}
			} else if !ok || route != tt.route {
				t.Errorf("RouteOf(%q, %q) = %q, %v; want %q", l.Modifier, l.Spec, route, ok, tt.route)
			}
			if l.Route != route || l.HasRoute != ok {
				t.Errorf("Location.Route, HasRoute = %q, %v; RouteOf says %q, %v", l.Route, l.HasRoute, route, ok)
			}
		})
	}
}

func TestParseTemplate(t *testing.T) {
	type part struct {
		lit     string
		v       string
		capture int
	}
	lit := func(s string) part { return part{lit: s, capture: -1} }
	vr := func(s string) part { return part{v: s, capture: -1} }
	cp := func(n int) part { return part{capture: n} }
	tests := []struct {
		in    string
		parts []part
		err   bool
	}{
		{"plain", []part{lit("plain")}, false},
		{"", []part{lit("")}, false},
		{"$1", []part{cp(1)}, false},
		{"/x/$1/$2", []part{lit("/x/"), cp(1), lit("/"), cp(2)}, false},
		{"$12", []part{cp(1), lit("2")}, false},
		{"$0", []part{cp(0)}, false},
		{"$host", []part{vr("host")}, false},
		{"$Host", []part{vr("host")}, false},
		{"http://$u/x", []part{lit("http://"), vr("u"), lit("/x")}, false},
		{"${name}x", []part{vr("name"), lit("x")}, false},
		{"${scheme}://${host}", []part{vr("scheme"), lit("://"), vr("host")}, false},
		{"$http_x_real_ip.", []part{vr("http_x_real_ip"), lit(".")}, false},
		{"a$", nil, true},
		{"$", nil, true},
		{"${unclosed", nil, true},
		{"${}", nil, true},
		{"${a-b}", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			tpl, err := routefile.ParseTemplate(tt.in)
			if tt.err {
				if err == nil {
					t.Errorf("ParseTemplate(%q) succeeded, want an error", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tt.in, err)
			}
			var got []part
			for _, p := range tpl.Parts {
				got = append(got, part{lit: p.Lit, v: p.Var, capture: p.Capture})
			}
			if len(got) != len(tt.parts) {
				t.Fatalf("parts = %+v, want %+v", got, tt.parts)
			}
			for i := range got {
				if got[i] != tt.parts[i] {
					t.Errorf("parts = %+v, want %+v", got, tt.parts)
					break
				}
			}
			if tpl.Raw != tt.in {
				t.Errorf("Raw = %q, want %q", tpl.Raw, tt.in)
			}
		})
	}
}

func TestTemplateEval(t *testing.T) {
	tpl, err := routefile.ParseTemplate("http://${u}/p/$1?h=$host")
	if err != nil {
		t.Fatal(err)
	}
	got := tpl.Eval(func(name string) string {
		return map[string]string{"u": "app:3000", "host": "h.test"}[name]
	}, func(n int) string { return []string{"all", "one"}[n] })
	if want := "http://app:3000/p/one?h=h.test"; got != want {
		t.Errorf("Eval = %q, want %q", got, want)
	}
	if !tpl.HasVars() || !tpl.Captures() {
		t.Errorf("HasVars, Captures = %v, %v; want true, true", tpl.HasVars(), tpl.Captures())
	}
	if vars := strings.Join(tpl.Vars(), ","); vars != "u,host" {
		t.Errorf("Vars = %q, want u,host", vars)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"60", 60 * time.Second, false},
		{"60s", 60 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"1m", time.Minute, false},
		{"2h", 2 * time.Hour, false},
		{"1h 30m", 90 * time.Minute, false},
		{"1d", 24 * time.Hour, false},
		{"1w", 7 * 24 * time.Hour, false},
		{"0", 0, false},
		{"", 0, true},
		{"s", 0, true},
		{"5x", 0, true},
		{"-1", 0, true},
		{"1.5s", 0, true},
		{"abc", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := routefile.ParseDuration(tt.in)
			if tt.err {
				if err == nil {
					t.Errorf("ParseDuration(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"1024", 1024, false},
		{"10k", 10 << 10, false},
		{"10K", 10 << 10, false},
		{"1m", 1 << 20, false},
		{"1M", 1 << 20, false},
		{"2g", 2 << 30, false},
		{"", 0, true},
		{"k", 0, true},
		{"abc", 0, true},
		{"-1", 0, true},
		{"1t", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := routefile.ParseSize(tt.in)
			if tt.err {
				if err == nil {
					t.Errorf("ParseSize(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDirectiveValues(t *testing.T) {
	// The validated Location carries what the directives say.
	src := `location /app/ {
    set $u app:3000;
    proxy_pass http://$u/;
    proxy_set_header Host $host;
    proxy_set_header X-Drop "";
    add_header X-A a always;
    proxy_read_timeout 90s;
    proxy_connect_timeout 5;
    client_max_body_size 10m;
    rewrite ^/app/old/(.*)$ /app/new/$1 last;
    error_page 502 = @down;
    proxy_intercept_errors on;
}
location @down { return 503 "down"; }
`
	f := parse(src)
	if !f.OK {
		t.Fatalf("file not OK:%s", dump(f.Diagnostics))
	}
	l := f.Locations[0]
	if l.ProxyPass == nil || l.ProxyPass.URL.Raw != "http://$u/" || l.ProxyPass.Static != nil {
		t.Errorf("proxy_pass = %+v", l.ProxyPass)
	}
	if l.Sets["u"].Raw != "app:3000" {
		t.Errorf("set $u = %q", l.Sets["u"].Raw)
	}
	if len(l.ProxySetHeaders) != 2 || l.ProxySetHeaders[1].Name != "X-Drop" || l.ProxySetHeaders[1].Value.Raw != "" {
		t.Errorf("proxy_set_header = %+v", l.ProxySetHeaders)
	}
	if len(l.AddHeaders) != 1 || !l.AddHeaders[0].Always {
		t.Errorf("add_header = %+v", l.AddHeaders)
	}
	if l.ReadTimeout != 90*time.Second || l.ConnectTimeout != 5*time.Second {
		t.Errorf("timeouts = %v, %v", l.ReadTimeout, l.ConnectTimeout)
	}
	if l.MaxBodySize != 10<<20 {
		t.Errorf("client_max_body_size = %d", l.MaxBodySize)
	}
	if len(l.Script) != 1 || l.Script[0].Kind != routefile.OpRewrite || l.Script[0].Rewrite.Flag != "last" {
		t.Errorf("script = %+v", l.Script)
	}
	if !l.InterceptErrors || len(l.ErrorPages) != 1 || l.ErrorPages[0].Target != "@down" || l.ErrorPages[0].Response != -1 {
		t.Errorf("error_page = %+v, intercept = %v", l.ErrorPages, l.InterceptErrors)
	}
	static := parse(`location /s/ { proxy_pass https://api.test:8443/v1/; }`).Locations[0].ProxyPass.Static
	if static == nil || static.Scheme != "https" || static.Host != "api.test" || static.Port != 8443 || !static.HasURI || static.URI != "/v1/" {
		t.Errorf("static upstream = %+v", static)
	}
}

func TestAcceptedDirectives(t *testing.T) {
	// Every directive of the spec §2 table loads without errors or
	// warnings in its ordinary forms.
	lines := []string{
		"proxy_pass http://127.0.0.1:3000;",
		"proxy_pass https://api.test/v1/;",
		"set $u app:3000; proxy_pass http://$u;",
		"proxy_set_header Host $host; proxy_pass http://a:1;",
		"proxy_set_header X-Remove \"\"; proxy_pass http://a:1;",
		"proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Fwd $proxy_add_x_forwarded_for; proxy_pass http://a:1;",
		"rewrite ^/x/(.*)$ /y/$1 last;",
		"rewrite ^/x/(.*)$ /y/$1 break; proxy_pass http://a:1;",
		"rewrite ^/x$ /y redirect;",
		"rewrite ^/x$ https://example.com/ permanent;",
		"rewrite ^/x$ /y;",
		"return 204;",
		"return 301 /x/;",
		"return 200 \"ok\";",
		"return https://example.com/;",
		"add_header X-A a; add_header X-B b always; return 204;",
		"proxy_hide_header X-Powered-By; proxy_pass http://a:1;",
		"proxy_redirect off; proxy_pass http://a:1;",
		"proxy_redirect default; proxy_pass http://a:1/;",
		"proxy_redirect http://a:1/ /x/; proxy_pass http://a:1/;",
		"proxy_redirect ~^http://a:1/(.*)$ /x/$1; proxy_pass http://a:1/;",
		"proxy_read_timeout 60s; proxy_send_timeout 1m; proxy_connect_timeout 5; proxy_pass http://a:1;",
		"proxy_buffering off; proxy_request_buffering off; proxy_pass http://a:1;",
		"proxy_intercept_errors on; error_page 502 503 = @down; proxy_pass http://a:1;",
		"empty_gif;",
		"client_max_body_size 10m; proxy_pass http://a:1;",
		"return 200 \"$host $http_host $scheme $remote_addr $proxy_host $uri $request_uri $args $is_args $server_port $http_user_agent\";",
	}
	for _, line := range lines {
		t.Run(line, func(t *testing.T) {
			src := "location /x/ { " + line + " }\nlocation @down { return 503; }\n"
			f := parse(src)
			for _, d := range f.Diagnostics {
				if d.Severity == routefile.Error || d.Severity == routefile.Warning {
					t.Errorf("unexpected %s", d)
				}
			}
			if !f.OK {
				t.Errorf("file not OK")
			}
		})
	}
}

func TestNoEffectHints(t *testing.T) {
	// Directives nginx needs but devproxy does not: a hint that says why.
	for _, line := range []string{
		"proxy_http_version 1.1;",
		"resolver 127.0.0.11;",
		"resolver_timeout 5s;",
		"absolute_redirect off;",
		"port_in_redirect off;",
		"proxy_cache_bypass $http_upgrade;",
	} {
		t.Run(line, func(t *testing.T) {
			src := "location /x/ { " + line + " proxy_pass http://a:1; }"
			f := parse(src)
			ds := withCode(f.Diagnostics, routefile.CodeNoEffect)
			if len(ds) != 1 || ds[0].Severity != routefile.Hint {
				t.Fatalf("want one no-effect hint, got:%s", dump(f.Diagnostics))
			}
			if got := text(src, ds[0].Range); got != line {
				t.Errorf("hint covers %q, want %q", got, line)
			}
			if !strings.Contains(ds[0].Message, "devproxy") || len(ds[0].Message) < 40 {
				t.Errorf("hint %q should explain why", ds[0].Message)
			}
			if !f.OK {
				t.Errorf("file not OK:%s", dump(f.Diagnostics))
			}
		})
	}
}

func TestNginxDiffersHints(t *testing.T) {
	// [intent] where devproxy deliberately differs from nginx, a hint says
	// so, because the nginx export must produce a form nginx runs the same.
	tests := []struct {
		name string
		src  string
		hint bool
	}{
		{"variable host with a URI part", `location /myapp/ { set $u app:3000; proxy_pass http://$u/; }`, true},
		{"variable host with a deeper URI part", `location /myapp/ { set $u app:3000; proxy_pass http://$u/inner/; }`, true},
		{"regex captures in proxy_pass", `location ~ ^/api/(.*)$ { proxy_pass http://u:3000/path/$1; }`, true},
		{"set after rewrite ... break", `location /app/ { rewrite ^/app/(.*)$ /$1 break; set $u app:3000; proxy_pass http://$u; }`, true},
		{"variable host without a URI part", `location /app/ { set $u app:3000; proxy_pass http://$u; }`, false},
		{"set before rewrite ... break", `location /app/ { set $u app:3000; rewrite ^/app/(.*)$ /$1 break; proxy_pass http://$u; }`, false},
		{"literal host with a URI part", `location /app/ { proxy_pass http://app:3000/; }`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(tt.src)
			if !f.OK {
				t.Fatalf("file not OK:%s", dump(f.Diagnostics))
			}
			ds := withCode(f.Diagnostics, routefile.CodeNginxDiffers)
			if !tt.hint {
				if len(ds) != 0 {
					t.Errorf("unexpected:%s", dump(ds))
				}
				return
			}
			if len(ds) != 1 || ds[0].Severity != routefile.Hint || !strings.Contains(ds[0].Message, "nginx") {
				t.Errorf("want one nginx-differs hint, got:%s", dump(f.Diagnostics))
			}
		})
	}
}
