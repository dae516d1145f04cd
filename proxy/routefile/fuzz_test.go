package routefile_test

import (
	"reflect"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// fuzzSeeds are realistic snippets (and near misses) that start the
// fuzzer in interesting places. More seeds live in testdata/fuzz/FuzzParse.
var fuzzSeeds = []string{
	"",
	"location /api/ {\n    proxy_pass http://127.0.0.1:5174/;\n}\n",
	"location = /web { return 301 /web/; }\nlocation ^~ /web/ {\n    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection \"upgrade\";\n    proxy_pass http://127.0.0.1:5173/;\n}\n",
	"location /api/ {\n    set $api 127.0.0.1:5174;\n    rewrite ^/api/(.*)$ /$1 break;\n    proxy_pass http://$api;\n}\n",
	"location ~ ^/myapp/_next/(?<rest>.+)$ { proxy_pass http://next:3000/_next/$rest; }",
	"location ~* \\.(js|css)$ { add_header Cache-Control \"no-store\" always; proxy_pass http://a:1; }",
	"location @fallback { return 503 '{\"error\":\"down\"}'; }\nlocation /x/ { proxy_intercept_errors on; error_page 502 503 = @fallback; proxy_pass http://x:1; }",
	"upstream api { server 127.0.0.1:1; }\nmap $a $b { default 1; }\nset $x 1;\n",
	"location /a/ { location /b/ { return 204; } if ($host) { return 403; } }",
	"location /x { return 200 \"unterminated; }",
	"location /x { return 200 'a\\'b\\\\'; # comment\n}",
	"location =/x{return 204;}location ^~/y/{empty_gif;}",
	"location /😀/ { add_header X \"é😀\" always; return 204; }\r\n",
	"location /x { return 200 \"\xff\xfe\"; }",
	"{{{{{{{{{{{{{{{{{{{{",
	"}}};;;",
	"location ~ ^(a+)+$ { return 204; }\nlocation ~ (?=x) { return 204; }\nlocation ~ ^/(a)\\1$ { return 204; }",
	"location /x { rewrite ^/x/(.*)$ http://h/$1? permanent; proxy_redirect ~^http://[^/]+/(.*)$ /$1; }",
	"location /x { proxy_pass http://${u}/; set $u ${host}:3000; proxy_read_timeout 1h 30m; client_max_body_size 10m; }",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		first := routefile.Parse("apps/fuzz.conf", src)
		checkFile(t, src, first)
		second := routefile.Parse("apps/fuzz.conf", src)
		if !reflect.DeepEqual(first.Diagnostics, second.Diagnostics) {
			t.Fatalf("Parse is not deterministic:\nfirst:%s\nsecond:%s", dump(first.Diagnostics), dump(second.Diagnostics))
		}
		if len(first.Locations) != len(second.Locations) || first.OK != second.OK {
			t.Fatalf("Parse is not deterministic: %d/%d locations, OK %v/%v",
				len(first.Locations), len(second.Locations), first.OK, second.OK)
		}
		// Whatever loads must also compose and route without panicking:
		// the proxy runs these same values for every request.
		if first.OK {
			tbl := routing.Compose(routing.Config{}, []*routing.SourceFile{{Path: "apps/fuzz.conf", Parsed: first}}, nil)
			for _, target := range fuzzTargets {
				d := tbl.Explain(&routing.Request{Target: target})
				if d.Action == "" {
					t.Fatalf("%s: the decision has no action", target)
				}
			}
		}
	})
}

var fuzzTargets = []string{"/", "/x", "/x/", "/api/users?id=1", "/a/../b/%2e%2e/c", "/myapp", "/web/index.html", "/%41%2F..", "//a//b?x=1&y"}

// checkFile verifies the invariants every parse result keeps, whatever the
// input: each diagnostic and token range lies inside the file, is ordered,
// and its line and column agree with its byte offset; the report is capped.
func checkFile(t *testing.T, src []byte, f *routefile.File) {
	t.Helper()
	if len(f.Diagnostics) > 101 {
		t.Fatalf("%d diagnostics; the cap is 100 plus one too-many-problems", len(f.Diagnostics))
	}
	hasErr := false
	for _, d := range f.Diagnostics {
		checkRange(t, src, d.Range, "diagnostic "+d.String())
		for _, r := range d.Related {
			checkRange(t, src, r.Range, "related of "+d.String())
		}
		if d.Severity < routefile.Error || d.Severity > routefile.Hint {
			t.Fatalf("diagnostic %s has severity %d", d, d.Severity)
		}
		if d.Code == "" || d.Message == "" {
			t.Fatalf("diagnostic without code or message: %+v", d)
		}
		hasErr = hasErr || d.Severity == routefile.Error
	}
	if len(src) > routefile.MaxFileSize {
		return // not tokenized at all
	}
	var walk func(ds []*routefile.Directive)
	walk = func(ds []*routefile.Directive) {
		for _, d := range ds {
			checkRange(t, src, d.Name.Range, "directive name")
			checkRange(t, src, d.Range, "directive")
			for _, a := range d.Args {
				checkRange(t, src, a.Range, "argument")
			}
			if d.Block != nil {
				walk(d.Block.Directives)
			}
		}
	}
	walk(f.Directives)
	for _, c := range f.Comments {
		checkRange(t, src, c, "comment")
	}
	for _, l := range f.Locations {
		checkRange(t, src, l.SpecRange, "location spec")
	}
	// A file whose only errors come from duplicates or reserved paths still
	// loads its other blocks; any other error must fail the file.
	if f.OK && hasErr {
		for _, d := range f.Diagnostics {
			if d.Severity == routefile.Error && d.Code != routefile.CodeDuplicate &&
				d.Code != routefile.CodeReserved && d.Code != routefile.CodeTooMany {
				t.Fatalf("file is OK despite error %s", d)
			}
		}
	}
}

func checkRange(t *testing.T, src []byte, r routefile.Range, what string) {
	t.Helper()
	s, e := r.Start, r.End
	if s.Offset < 0 || e.Offset > len(src) || s.Offset > e.Offset {
		t.Fatalf("%s: range offsets %d..%d outside [0,%d] or reversed", what, s.Offset, e.Offset, len(src))
	}
	if s.Line < 1 || s.Col < 1 || e.Line < 1 || e.Col < 1 {
		t.Fatalf("%s: range %v-%v has a line or column below 1", what, s, e)
	}
	if e.Line < s.Line || (e.Line == s.Line && e.Col < s.Col) {
		t.Fatalf("%s: range %v-%v ends before it starts", what, s, e)
	}
	if len(src) > routefile.MaxFileSize {
		return
	}
	if got := routefile.PosAt(src, s.Offset); got != s {
		t.Fatalf("%s: start %+v, but offset %d is at %+v", what, s, s.Offset, got)
	}
	if got := routefile.PosAt(src, e.Offset); got != e {
		t.Fatalf("%s: end %+v, but offset %d is at %+v", what, e, e.Offset, got)
	}
}
