package routing_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// These tests follow spec/route-files.md §4 (composition and conflicts),
// §5 (matching a request) and §6 (what the upstream receives), one table
// per rule, on in-memory files composed with routing.Compose.

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// src makes an in-memory route file; its kind follows its folder.
func src(path string, mod time.Time, text string) *routing.SourceFile {
	kind := routing.AppFile
	if strings.HasPrefix(path, "overrides/") {
		kind = routing.OverrideFile
	}
	return &routing.SourceFile{Path: path, Kind: kind, ModTime: mod, Size: int64(len(text)),
		Parsed: routefile.Parse(path, []byte(text))}
}

func compose(files ...*routing.SourceFile) *routing.RouteTable {
	return routing.Compose(routing.Config{}, files, nil)
}

// one composes a single app file.
func one(text string) *routing.RouteTable {
	return compose(src("apps/t.conf", t0, text))
}

func get(tbl *routing.RouteTable, target string) *routing.Decision {
	return tbl.Explain(&routing.Request{Target: target})
}

func dumpDiags(ds []routefile.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("\n\t" + d.String())
	}
	if b.Len() == 0 {
		return " (none)"
	}
	return b.String()
}

func describe(d *routing.Decision) string {
	loc := "-"
	if d.Location != nil {
		loc = fmt.Sprintf("%s:%d %s %s", d.Location.File, d.Location.Line, d.Location.Modifier, d.Location.Spec)
	}
	return fmt.Sprintf("action=%s status=%d path=%q location=[%s] body=%q Location=%q upstream=%q upstream_uri=%q\n\ttrace: %s",
		d.Action, d.Status, d.Path, loc, d.Body, d.ResponseHeaders["Location"], d.Upstream, d.UpstreamURI, strings.Join(d.Trace, " | "))
}

// want is the expected Decision; empty fields are not checked, except
// that action and status always are.
type want struct {
	action   string
	status   int
	spec     string // the handling location's spec; "-" for no location
	file     string // the handling location's file
	body     string
	location string // the Location response header
	upstream string
	uri      string // upstream_uri
	path     string // the normalised path
}

func (w want) check(t *testing.T, d *routing.Decision) {
	t.Helper()
	bad := func(what string, got, want any) {
		t.Helper()
		t.Errorf("%s = %v, want %v\n\t%s", what, got, want, describe(d))
	}
	if d.Action != w.action {
		bad("action", d.Action, w.action)
	}
	if d.Status != w.status {
		bad("status", d.Status, w.status)
	}
	switch {
	case w.spec == "-":
		if d.Location != nil || d.Matched {
			bad("location", d.Location, "none")
		}
	case w.spec != "":
		if d.Location == nil || d.Location.Spec != w.spec || !d.Matched {
			bad("location spec", d.Location, w.spec)
		}
	}
	if w.file != "" && (d.Location == nil || d.Location.File != w.file) {
		bad("location file", d.Location, w.file)
	}
	if w.body != "" && d.Body != w.body {
		bad("body", d.Body, w.body)
	}
	if w.location != "" && d.ResponseHeaders["Location"] != w.location {
		bad("Location header", d.ResponseHeaders["Location"], w.location)
	}
	if w.upstream != "" && d.Upstream != w.upstream {
		bad("upstream", d.Upstream, w.upstream)
	}
	if w.uri != "" && d.UpstreamURI != w.uri {
		bad("upstream_uri", d.UpstreamURI, w.uri)
	}
	if w.path != "" && d.Path != w.path {
		bad("path", d.Path, w.path)
	}
}

func mustLoad(t *testing.T, tbl *routing.RouteTable) {
	t.Helper()
	for _, f := range tbl.Files {
		if !f.Parsed.OK {
			t.Fatalf("%s does not load:%s", f.Path, dumpDiags(f.Parsed.Diagnostics))
		}
	}
}

// --- §4 composition -----------------------------------------------------

func TestComposedOrder(t *testing.T) {
	block := "location ~ ^/r/.* { return 204; }\n"
	tbl := compose(
		src("apps/old.conf", t0, block),
		src("overrides/z.conf", t0, block),
		src("apps/b.conf", t0.Add(time.Hour), block),
		src("apps/new.conf", t0.Add(2*time.Hour), block),
		src("overrides/a.conf", t0.Add(5*time.Hour), block),
		src("apps/a.conf", t0.Add(time.Hour), block),
	)
	var got []string
	for _, f := range tbl.Files {
		got = append(got, f.Path)
	}
	want := []string{"overrides/a.conf", "overrides/z.conf", "apps/new.conf", "apps/a.conf", "apps/b.conf", "apps/old.conf"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("composed order:\n got %v\nwant %v", got, want)
	}
	for i := 1; i < len(tbl.Blocks); i++ {
		if tbl.Blocks[i-1].Order >= tbl.Blocks[i].Order {
			t.Errorf("blocks are not in composed order")
		}
	}
}

func TestRegexOrderAcrossFiles(t *testing.T) {
	tests := []struct {
		name  string
		files []*routing.SourceFile
		want  string // the file whose regex answers /r/x
	}{
		{"newest app first", []*routing.SourceFile{
			src("apps/old.conf", t0, `location ~ ^/r/.* { return 200 "old"; }`),
			src("apps/new.conf", t0.Add(time.Hour), `location ~ ^/r/x.* { return 200 "new"; }`),
		}, "apps/new.conf"},
		{"tie by name", []*routing.SourceFile{
			src("apps/b.conf", t0, `location ~ ^/r/.* { return 200 "b"; }`),
			src("apps/a.conf", t0, `location ~ ^/r/x.* { return 200 "a"; }`),
		}, "apps/a.conf"},
		{"override before newer app", []*routing.SourceFile{
			src("apps/new.conf", t0.Add(time.Hour), `location ~ ^/r/x.* { return 200 "app"; }`),
			src("overrides/o.conf", t0, `location ~ ^/r/.* { return 200 "override"; }`),
		}, "overrides/o.conf"},
		{"file order inside a file", []*routing.SourceFile{
			src("apps/a.conf", t0, "location ~ ^/r/.* { return 200 \"first\"; }\nlocation ~ ^/r/x.* { return 200 \"second\"; }"),
		}, "apps/a.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := compose(tt.files...)
			mustLoad(t, tbl)
			d := get(tbl, "/r/x")
			want{action: routing.ActionReturn, status: 200, file: tt.want}.check(t, d)
			if tt.name == "file order inside a file" && d.Body != "first" {
				t.Errorf("body = %q, want the first regex of the file", d.Body)
			}
		})
	}
}

// claim is a file that claims /api/ (twice: a prefix and an exact block,
// both route /api/) and serves one route of its own.
func claim(path string, mod time.Time) *routing.SourceFile {
	name := strings.TrimSuffix(path[strings.LastIndexByte(path, '/')+1:], ".conf")
	return src(path, mod, fmt.Sprintf("location /api/ { proxy_pass http://%[1]s:1; }\n"+
		"location = /api { return 200 \"%[1]s-exact\"; }\n"+
		"location /%[1]s-only/ { return 200 \"%[1]s-only\"; }\n", name))
}

func TestConflicts(t *testing.T) {
	tests := []struct {
		name   string
		files  []*routing.SourceFile
		res    routing.Resolutions
		winner string
		why    routing.Settlement
	}{
		{"newest wins", []*routing.SourceFile{
			claim("apps/a.conf", t0), claim("apps/b.conf", t0.Add(time.Hour)),
		}, nil, "apps/b.conf", routing.SettledByNewest},
		{"newest wins whatever the name", []*routing.SourceFile{
			claim("apps/a.conf", t0.Add(time.Hour)), claim("apps/b.conf", t0),
		}, nil, "apps/a.conf", routing.SettledByNewest},
		{"same age: first by path", []*routing.SourceFile{
			claim("apps/b.conf", t0), claim("apps/a.conf", t0),
		}, nil, "apps/a.conf", routing.SettledBySameAgeFirstByPath},
		{"override beats a newer app", []*routing.SourceFile{
			claim("apps/a.conf", t0.Add(time.Hour)), claim("overrides/o.conf", t0),
		}, nil, "overrides/o.conf", routing.SettledByOverride},
		{"override beats a pinned app", []*routing.SourceFile{
			claim("apps/a.conf", t0.Add(time.Hour)), claim("overrides/o.conf", t0),
		}, routing.Resolutions{"/api/": "apps/a.conf"}, "overrides/o.conf", routing.SettledByOverride},
		{"pinned beats newest", []*routing.SourceFile{
			claim("apps/a.conf", t0.Add(time.Hour)), claim("apps/b.conf", t0),
		}, routing.Resolutions{"/api/": "apps/b.conf"}, "apps/b.conf", routing.SettledByPin},
		{"pinned by bare file name", []*routing.SourceFile{
			claim("apps/a.conf", t0.Add(time.Hour)), claim("apps/b.conf", t0),
		}, routing.Resolutions{"/api/": "b.conf"}, "apps/b.conf", routing.SettledByPin},
		{"pin to a file that does not claim falls back to newest", []*routing.SourceFile{
			claim("apps/a.conf", t0.Add(time.Hour)), claim("apps/b.conf", t0),
		}, routing.Resolutions{"/api/": "apps/zzz.conf"}, "apps/a.conf", routing.SettledByNewest},
		{"two overrides: newest override", []*routing.SourceFile{
			claim("overrides/x.conf", t0), claim("overrides/y.conf", t0.Add(time.Hour)), claim("apps/a.conf", t0.Add(2*time.Hour)),
		}, nil, "overrides/y.conf", routing.SettledByNewest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := routing.Compose(routing.Config{}, tt.files, tt.res)
			mustLoad(t, tbl)
			wname := strings.TrimSuffix(tt.winner[strings.LastIndexByte(tt.winner, '/')+1:], ".conf")

			// The winner really routes: its prefix and its exact block.
			want{action: routing.ActionProxy, status: 200, spec: "/api/", file: tt.winner,
				upstream: "http://" + wname + ":1"}.check(t, get(tbl, "/api/users?id=1"))
			want{action: routing.ActionReturn, status: 200, spec: "/api", file: tt.winner,
				body: wname + "-exact"}.check(t, get(tbl, "/api"))

			if len(tbl.Conflicts) != 1 {
				t.Fatalf("got %d conflicts, want 1", len(tbl.Conflicts))
			}
			c := tbl.Conflicts[0]
			if c.Route != "/api/" || c.Winner.Path != tt.winner || c.Settlement != tt.why {
				t.Errorf("conflict = %s won by %s (%s); want /api/ won by %s (%s)", c.Route, c.Winner.Path, c.Settlement, tt.winner, tt.why)
			}
			for _, f := range tt.files {
				name := strings.TrimSuffix(f.Path[strings.LastIndexByte(f.Path, '/')+1:], ".conf")
				// Every file keeps its uncontested route.
				want{action: routing.ActionReturn, status: 200, file: f.Path, body: name + "-only"}.check(t, get(tbl, "/"+name+"-only/x"))
				for _, b := range tbl.Blocks {
					if b.File != f || !b.Loc.HasRoute || b.Loc.Route != "/api/" {
						continue
					}
					if b.Active != (f.Path == tt.winner) {
						t.Errorf("%s: active = %v, want %v (%s)", b.Label(), b.Active, f.Path == tt.winner, b.InactiveSentence())
					}
				}
				// Both sides hear about the conflict, on each claiming block.
				var ds []routefile.Diagnostic
				for _, d := range tbl.Diagnostics {
					if d.File == f.Path && d.Code == routefile.CodeConflict {
						ds = append(ds, d)
					}
				}
				if len(ds) != 2 {
					t.Errorf("%s: want 2 conflict warnings, got:%s", f.Path, dumpDiags(ds))
				}
				var others []string
				for _, o := range tbl.Files {
					if o != f {
						others = append(others, o.Path+":1:1")
					}
				}
				// A conflict someone resolved (override, pin) is a hint; one
				// decided by file age alone is a warning on both sides.
				wantSeverity := routefile.Warning
				if tt.why == routing.SettledByOverride || tt.why == routing.SettledByPin {
					wantSeverity = routefile.Hint
				}
				for _, d := range ds {
					if d.Severity != wantSeverity {
						t.Errorf("conflict severity = %s, want %s (%s)", d.Severity, wantSeverity, tt.why)
					}
					prefix := "/api/ is also claimed by " + strings.Join(others, " and ") + "; " + tt.winner + " wins ("
					// A word the English of each settlement must contain.
					word := map[routing.Settlement]string{routing.SettledByNewest: "newest", routing.SettledBySameAgeFirstByPath: "path",
						routing.SettledByOverride: "override", routing.SettledByPin: "pinned"}[tt.why]
					if !strings.HasPrefix(d.Message, prefix) || !strings.Contains(d.Message[len(prefix):], word) {
						t.Errorf("conflict message %q, want %q...%s)", d.Message, prefix, word)
					}
					// A conflict decided by age says how to settle it; a
					// chosen one has nothing left to do.
					const advice = "; pin it (quick fix, or .devproxy/resolutions.json) or move it to overrides/"
					if got := strings.HasSuffix(d.Message, advice); got == (wantSeverity == routefile.Hint) {
						t.Errorf("conflict message %q (%s): ends with the advice %v, want %v", d.Message, tt.why, got, !got)
					}
				}
			}
		})
	}
}

func TestConflictMessageExample(t *testing.T) {
	// The example of the brief, literally.
	tbl := compose(
		src("apps/a.conf", t0, "location /api/ { proxy_pass http://a:1; }\n"),
		src("apps/b.conf", t0.Add(time.Minute), "location /api { proxy_pass http://b:1; }\n"),
	)
	var msgs []string
	for _, d := range tbl.Diagnostics {
		if d.File == "apps/a.conf" && d.Code == routefile.CodeConflict {
			msgs = append(msgs, d.Message)
		}
	}
	wantMsg := "/api/ is also claimed by apps/b.conf:1:1; apps/b.conf wins (newest); pin it (quick fix, or .devproxy/resolutions.json) or move it to overrides/"
	if len(msgs) != 1 || msgs[0] != wantMsg {
		t.Errorf("conflict message on apps/a.conf = %q, want %q", msgs, wantMsg)
	}
	// /api and /api/ are the same route: b's /api takes /api/x.
	want{action: routing.ActionProxy, status: 200, file: "apps/b.conf", upstream: "http://b:1"}.check(t, get(tbl, "/api/x"))
}

func TestConflictRouteSpellings(t *testing.T) {
	// Different spellings of one route are one conflict (spec §3).
	tests := []struct{ a, b string }{
		{"location /api", "location ^~ /api/"},
		{"location = /api", "location /api/"},
		{"location ~ ^/api/?$", "location /api/"},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			tbl := compose(
				src("apps/a.conf", t0, tt.a+" { return 200 \"a\"; }\n"),
				src("apps/b.conf", t0.Add(time.Hour), tt.b+" { return 200 \"b\"; }\n"),
			)
			if len(tbl.Conflicts) != 1 || tbl.Conflicts[0].Route != "/api/" || tbl.Conflicts[0].Winner.Path != "apps/b.conf" {
				t.Fatalf("want one /api/ conflict won by apps/b.conf, got %+v", tbl.Conflicts)
			}
			for _, b := range tbl.Blocks {
				if b.File.Path == "apps/a.conf" && b.Active {
					t.Errorf("losing block %s is active", b.Label())
				}
			}
			for _, target := range []string{"/api", "/api/"} {
				if d := get(tbl, target); d.Matched && d.Location.File != "apps/b.conf" {
					t.Errorf("%s is answered by the loser: %s", target, describe(d))
				}
			}
		})
	}
}

func TestNoConflictInsideOneFile(t *testing.T) {
	tbl := one("location /api { return 200 \"short\"; }\nlocation /api/ { return 200 \"long\"; }\n")
	if len(tbl.Conflicts) != 0 {
		t.Errorf("one file may spell a route twice: %+v", tbl.Conflicts)
	}
}

func TestBrokenFileContributesNothing(t *testing.T) {
	bad := src("apps/bad.conf", t0.Add(time.Hour), "location /api/ { proxy_pass http://bad:1; }\nlocation /bad/ { proxy_pass http://bad:1; }\nlocation /x/ { bogus; }\n")
	good := src("apps/good.conf", t0, "location /api/ { proxy_pass http://good:1; }\n")
	tbl := compose(bad, good)
	if bad.Parsed.OK {
		t.Fatalf("apps/bad.conf should have an error")
	}
	want{action: routing.ActionProxy, status: 200, file: "apps/good.conf", upstream: "http://good:1"}.check(t, get(tbl, "/api/x"))
	want{action: routing.ActionNone, status: 404, spec: "-"}.check(t, get(tbl, "/bad/x"))
	if len(tbl.Conflicts) != 0 {
		t.Errorf("a broken file must not take part in conflicts: %+v", tbl.Conflicts)
	}
	for _, b := range tbl.Blocks {
		if b.File == bad {
			t.Errorf("broken file contributes block %s", b.Label())
		}
	}
	// Its diagnostics are still reported.
	found := false
	for _, d := range tbl.Diagnostics {
		found = found || (d.File == "apps/bad.conf" && d.Code == routefile.CodeUnknownDirective)
	}
	if !found {
		t.Errorf("the broken file's error is missing:%s", dumpDiags(tbl.Diagnostics))
	}
}

func TestShadowing(t *testing.T) {
	tests := []struct {
		name   string
		files  []*routing.SourceFile
		victim string // the file that gets the information, "" for none
		other  string // the file it must name
	}{
		{"longer ^~ in another file", []*routing.SourceFile{
			src("apps/a.conf", t0, "location /app/ { proxy_pass http://a:1; }\n"),
			src("apps/b.conf", t0, "location ^~ /app/static/ { proxy_pass http://b:1; }\n"),
		}, "apps/a.conf", "apps/b.conf"},
		{"regex in another file", []*routing.SourceFile{
			src("apps/a.conf", t0, "location /app/ { proxy_pass http://a:1; }\n"),
			src("apps/b.conf", t0, "location ~ ^/app/api/(.*)$ { proxy_pass http://b:1; }\n"),
		}, "apps/a.conf", "apps/b.conf"},
		{"same file", []*routing.SourceFile{
			src("apps/a.conf", t0, "location /app/ { proxy_pass http://a:1; }\nlocation ^~ /app/static/ { proxy_pass http://b:1; }\n"),
		}, "", ""},
		{"shorter ^~ does not shadow", []*routing.SourceFile{
			src("apps/a.conf", t0, "location /app/static/ { proxy_pass http://a:1; }\n"),
			src("apps/b.conf", t0, "location ^~ /app/ { proxy_pass http://b:1; }\n"),
		}, "", ""},
		{"unrelated paths", []*routing.SourceFile{
			src("apps/a.conf", t0, "location /app/ { proxy_pass http://a:1; }\n"),
			src("apps/b.conf", t0, "location ^~ /other/x/ { proxy_pass http://b:1; }\n"),
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := compose(tt.files...)
			mustLoad(t, tbl)
			var ds []routefile.Diagnostic
			for _, d := range tbl.Diagnostics {
				if d.Code == routefile.CodeShadowed {
					ds = append(ds, d)
				}
			}
			if tt.victim == "" {
				if len(ds) != 0 {
					t.Errorf("unexpected shadowing:%s", dumpDiags(ds))
				}
				return
			}
			if len(ds) != 1 {
				t.Fatalf("want one shadowed diagnostic, got:%s", dumpDiags(tbl.Diagnostics))
			}
			d := ds[0]
			if d.File != tt.victim || d.Severity != routefile.Information || !strings.Contains(d.Message, tt.other) {
				t.Errorf("shadowed = %s; want information on %s naming %s", d, tt.victim, tt.other)
			}
		})
	}
}

// --- §5 matching ----------------------------------------------------------

func TestMatching(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		target string
		want   want
	}{
		// 1. normalisation
		{"dot-dot", `location /b/ { return 200 "b"; }`, "/a/../b/c",
			want{action: "return", status: 200, body: "b", path: "/b/c"}},
		{"dot", `location /b/ { return 200 "b"; }`, "/./b/./c",
			want{action: "return", status: 200, body: "b", path: "/b/c"}},
		{"double slashes", `location /b/ { return 200 "b"; }`, "//b//c",
			want{action: "return", status: 200, body: "b", path: "/b/c"}},
		{"encoded slash", `location /b/ { return 200 "b"; }`, "/b%2Fc",
			want{action: "return", status: 200, body: "b", path: "/b/c"}},
		{"encoded dot-dot", `location /b/ { return 200 "b"; }`, "/a/%2E%2E/b/x",
			want{action: "return", status: 200, body: "b", path: "/b/x"}},
		{"encoded lower-case dot-dot", `location /b/ { return 200 "b"; }`, "/a/%2e%2e/b/x",
			want{action: "return", status: 200, body: "b", path: "/b/x"}},
		{"percent-decoding", `location "/a b/" { return 200 "space"; }`, "/a%20b/x",
			want{action: "return", status: 200, body: "space", path: "/a b/x"}},
		{"query is not part of the path", `location = /q { return 200 "q"; }`, "/q?a=/x",
			want{action: "return", status: 200, body: "q", path: "/q"}},
		{"climbing above /", `location / { return 200 "root"; }`, "/..",
			want{action: "error", status: 400, spec: "-"}},
		{"climbing above / later", `location / { return 200 "root"; }`, "/a/../../b",
			want{action: "error", status: 400, spec: "-"}},
		{"climbing with encoded dots", `location / { return 200 "root"; }`, "/%2E%2E/b",
			want{action: "error", status: 400, spec: "-"}},
		{"climbing with encoded slash", `location / { return 200 "root"; }`, "/a/..%2F..%2Fetc",
			want{action: "error", status: 400, spec: "-"}},

		// 2. exact wins at once
		{"exact beats ^~ and regex", "location = /x { return 200 \"exact\"; }\nlocation ^~ /x { return 200 \"prefix\"; }\nlocation ~ ^/x$ { return 200 \"regex\"; }", "/x",
			want{action: "return", status: 200, spec: "/x", body: "exact"}},
		{"exact beats an earlier regex", "location ~ ^/x$ { return 200 \"regex\"; }\nlocation = /x { return 200 \"exact\"; }", "/x",
			want{action: "return", status: 200, body: "exact"}},
		{"exact needs the whole path", "location = /x { return 200 \"exact\"; }\nlocation /x { return 200 \"prefix\"; }", "/x/y",
			want{action: "return", status: 200, body: "prefix"}},

		// 3. longest prefix; ^~ stops the regex search
		{"longest prefix", "location /a/ { return 200 \"a\"; }\nlocation /a/b/ { return 200 \"ab\"; }\nlocation /a/b/c/d/ { return 200 \"abcd\"; }", "/a/b/c",
			want{action: "return", status: 200, body: "ab"}},
		{"longest prefix regardless of order", "location /a/b/ { return 200 \"ab\"; }\nlocation /a/ { return 200 \"a\"; }", "/a/x",
			want{action: "return", status: 200, body: "a"}},
		{"^~ stops regex", "location ^~ /img/ { return 200 \"img\"; }\nlocation ~ \\.png$ { return 200 \"png\"; }", "/img/a.png",
			want{action: "return", status: 200, body: "img"}},
		{"plain prefix does not stop regex", "location /img/ { return 200 \"img\"; }\nlocation ~ \\.png$ { return 200 \"png\"; }", "/img/a.png",
			want{action: "return", status: 200, body: "png"}},
		{"a longer plain prefix beats a shorter ^~, then regex", "location ^~ /a/ { return 200 \"a\"; }\nlocation /a/b/ { return 200 \"ab\"; }\nlocation ~ ^/a/b/c { return 200 \"re\"; }", "/a/b/c",
			want{action: "return", status: 200, body: "re"}},
		{"prefix is case-sensitive", `location /Docs/ { return 200 "docs"; }`, "/docs/x",
			want{action: "none", status: 404, spec: "-"}},

		// 4. regex in composed order, ~* ignores case
		{"first regex wins", "location ~ ^/r/ { return 200 \"first\"; }\nlocation ~ ^/r/x { return 200 \"second\"; }", "/r/x",
			want{action: "return", status: 200, body: "first"}},
		{"~* ignores case", `location ~* ^/docs/ { return 200 "ci"; }`, "/DOCS/a",
			want{action: "return", status: 200, body: "ci"}},
		{"~ is case-sensitive", `location ~ ^/docs/ { return 200 "cs"; }`, "/DOCS/a",
			want{action: "none", status: 404, spec: "-"}},
		{"regex matches the decoded path", `location ~ "^/a b$" { return 200 "re"; }`, "/a%20b",
			want{action: "return", status: 200, body: "re"}},

		// 5. the remembered prefix, else 404
		{"prefix when no regex matches", "location /img/ { return 200 \"img\"; }\nlocation ~ \\.png$ { return 200 \"png\"; }", "/img/a.gif",
			want{action: "return", status: 200, body: "img"}},
		{"unmatched", `location /a/ { return 200 "a"; }`, "/b/x",
			want{action: "none", status: 404, spec: "-", path: "/b/x"}},

		// missing-slash redirect
		{"missing slash", `location /myapp/ { proxy_pass http://u:3000/; }`, "/myapp",
			want{action: "redirect", status: 301, location: "/myapp/"}},
		{"missing slash keeps the query", `location /myapp/ { proxy_pass http://u:3000/; }`, "/myapp?x=1",
			want{action: "redirect", status: 301, location: "/myapp/?x=1"}},
		{"missing slash with ^~", `location ^~ /myapp/ { proxy_pass http://u:3000; }`, "/myapp?x=1&y=2",
			want{action: "redirect", status: 301, location: "/myapp/?x=1&y=2"}},
		{"missing slash with a deeper path", `location /a/b/ { proxy_pass http://u:3000; }`, "/a/b",
			want{action: "redirect", status: 301, location: "/a/b/"}},
		{"the missing-slash redirect beats regexes", "location /myapp/ { proxy_pass http://u:3000/; }\nlocation ~ ^/myapp { return 200 \"re\"; }", "/myapp",
			want{action: "redirect", status: 301, location: "/myapp/"}},
		{"no redirect without proxy_pass", `location /myapp/ { return 200 "x"; }`, "/myapp",
			want{action: "none", status: 404, spec: "-"}},
		{"an exact location beats the redirect", "location /myapp/ { proxy_pass http://u:3000/; }\nlocation = /myapp { return 200 \"exact\"; }", "/myapp",
			want{action: "return", status: 200, body: "exact"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := one(tt.conf)
			mustLoad(t, tbl)
			tt.want.check(t, get(tbl, tt.target))
		})
	}
}

func TestMissingSlashRedirectIsRelative(t *testing.T) {
	// [intent] the Location is relative even through the https tunnel and
	// whatever the Host.
	tbl := one(`location /myapp/ { proxy_pass http://u:3000/; }`)
	for _, req := range []*routing.Request{
		{Target: "/myapp?x=1", Host: "localhost:8080"},
		{Target: "/myapp?x=1", Host: "abc.tunnel.example", Tunnel: true},
		{Target: "http://localhost:8080/myapp?x=1"},
	} {
		d := tbl.Explain(req)
		want{action: "redirect", status: 301, location: "/myapp/?x=1"}.check(t, d)
	}
}

func TestReservedRequests(t *testing.T) {
	tbl := one("location / { return 200 \"catch-all\"; }\nlocation /healthz/ { return 200 \"app\"; }\n")
	for _, target := range []string{"/health", "/health.json", "/status", "/status.json", "/routes.json",
		"/devproxy/", "/devproxy/api/x", "/reports", "/reports/1", "/dashboard", "/dashboard/x", "/a/../health"} {
		t.Run(target, func(t *testing.T) {
			d := get(tbl, target)
			want{action: routing.ActionReserved, status: 200}.check(t, d)
		})
	}
	// The root is the user's: the catch-all takes it.
	want{action: "return", status: 200, body: "catch-all"}.check(t, get(tbl, "/"))
	want{action: "return", status: 200, body: "catch-all"}.check(t, get(tbl, "/anything/else"))
	want{action: "return", status: 200, body: "app"}.check(t, get(tbl, "/healthz/x"))
	want{action: "return", status: 200, body: "catch-all"}.check(t, get(tbl, "/statusboard"))
}

func TestReservedBeforeRegex(t *testing.T) {
	tbl := one(`location ~ . { return 200 "any"; }`)
	for _, target := range []string{"/health", "/devproxy/x", "/routes.json"} {
		want{action: routing.ActionReserved, status: 200}.check(t, get(tbl, target))
	}
	want{action: "return", status: 200, body: "any"}.check(t, get(tbl, "/app/x"))
}

func TestReservedBlocksNeverRoute(t *testing.T) {
	tbl := one("location /devproxy/x/ { return 200 \"stolen\"; }\nlocation = /devproxy/ { return 200 \"stolen\"; }\n")
	for _, b := range tbl.Blocks {
		if b.Active {
			t.Errorf("reserved block %s is active", b.Label())
		}
	}
	for _, target := range []string{"/devproxy/x/y", "/devproxy/"} {
		want{action: routing.ActionReserved, status: 200}.check(t, get(tbl, target))
	}
}

// TestTheRootBelongsToTheUser (spec §4, changed): "= /" or a catch-all
// takes / as nginx routes it, absolute-form requests included; while no
// location matches /, it shows the dashboard; two files claiming / are a
// conflict like any other.
func TestTheRootBelongsToTheUser(t *testing.T) {
	want{action: routing.ActionReserved, status: 200}.check(t, get(compose(), "/"))
	want{action: routing.ActionReserved, status: 200}.check(t, get(one(`location /a/ { return 200 a; }`), "/"))
	exact := one("location = / { return 200 home; }\nlocation /a/ { return 200 a; }\n")
	for _, req := range []*routing.Request{
		{Target: "/"}, {Target: "/?x=1"}, {Target: "http://localhost:8080/"}, {Target: "http://localhost:8080"},
		{Target: "http://localhost:8080?x=1"}, {Target: "/./"}, {Target: "/a/.."},
	} {
		want{action: "return", status: 200, body: "home"}.check(t, exact.Explain(req))
	}
	want{action: routing.ActionNone, status: 404}.check(t, get(exact, "/other"))
	// A regex that matches / takes it, as in nginx.
	want{action: "return", status: 200, body: "re"}.check(t, get(one(`location ~ ^/$ { return 200 re; }`), "/"))
	// Two files claiming / conflict; the newest wins.
	a := compose(src("apps/a.conf", t0, "location / { return 200 a; }"), src("apps/b.conf", t0.Add(time.Minute), "location = / { return 200 b; }"))
	if len(a.Conflicts) != 1 || a.Conflicts[0].Route != "/" {
		t.Fatalf("conflicts %+v, want one on /", a.Conflicts)
	}
	want{action: "return", status: 200, body: "b"}.check(t, get(a, "/"))
	// The dashboard itself stays reachable.
	want{action: routing.ActionReserved, status: 200}.check(t, get(exact, "/devproxy/"))
}

func TestUnmatched(t *testing.T) {
	for name, tbl := range map[string]*routing.RouteTable{
		"empty workspace": compose(),
		"other routes":    one(`location /a/ { proxy_pass http://a:1; }`),
	} {
		t.Run(name, func(t *testing.T) {
			d := get(tbl, "/nothing/here?x=1")
			want{action: routing.ActionNone, status: http.StatusNotFound, spec: "-", path: "/nothing/here"}.check(t, d)
			if d.Upstream != "" || d.UpstreamURI != "" {
				t.Errorf("unmatched request has an upstream: %s", describe(d))
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		target string
		want   want
	}{
		{"last restarts matching",
			"location /old/ { rewrite ^/old/(.*)$ /new/$1 last; }\nlocation /new/ { proxy_pass http://n:1; }", "/old/x?q=1",
			want{action: "proxy", status: 200, spec: "/new/", upstream: "http://n:1", uri: "/new/x?q=1"}},
		{"last into a regex location",
			"location /old/ { rewrite ^/old/(.*)$ /img/$1.png last; }\nlocation ~ \\.png$ { return 200 \"png\"; }", "/old/a",
			want{action: "return", status: 200, body: "png"}},
		{"a rewrite loop ends in 500",
			"location /a/ { rewrite ^/a/(.*)$ /b/$1 last; }\nlocation /b/ { rewrite ^/b/(.*)$ /a/$1 last; }", "/a/x",
			want{action: "error", status: 500}},
		{"a self loop ends in 500",
			`location /a/ { rewrite ^/a/(.*)$ /a/$1 last; }`, "/a/x",
			want{action: "error", status: 500}},
		{"break proxies the new URI in this block",
			"location /app/ { rewrite ^/app/(.*)$ /v2/$1 break; proxy_pass http://u:1; }\nlocation /v2/ { return 200 \"wrong\"; }", "/app/x?q=1",
			want{action: "proxy", status: 200, spec: "/app/", uri: "/v2/x?q=1"}},
		{"break stops later rewrites",
			"location /app/ { rewrite ^/app/(.*)$ /v2/$1 break; rewrite ^ /never/ break; proxy_pass http://u:1; }", "/app/x",
			want{action: "proxy", status: 200, uri: "/v2/x"}},
		{"no match leaves the URI",
			"location /app/ { rewrite ^/other/(.*)$ /v2/$1 break; proxy_pass http://u:1; }", "/app/x?q=1",
			want{action: "proxy", status: 200, uri: "/app/x?q=1"}},
		{"redirect is 302 and keeps the query",
			`location /old { rewrite ^/old$ /new redirect; }`, "/old?x=1",
			want{action: "redirect", status: 302, location: "/new?x=1"}},
		{"permanent is 301",
			`location /old { rewrite ^/old$ /new permanent; }`, "/old",
			want{action: "redirect", status: 301, location: "/new"}},
		{"http:// replacement redirects",
			`location /go { rewrite ^/go$ http://example.com/x; }`, "/go?x=1",
			want{action: "redirect", status: 302, location: "http://example.com/x?x=1"}},
		{"https:// replacement redirects, permanent",
			`location /go { rewrite ^/go$ https://example.com/x permanent; }`, "/go",
			want{action: "redirect", status: 301, location: "https://example.com/x"}},
		{"https:// replacement with last still redirects",
			`location /go { rewrite ^/go$ https://example.com/x last; }`, "/go",
			want{action: "redirect", status: 302, location: "https://example.com/x"}},
		{"trailing ? drops the query on a redirect",
			`location /old { rewrite ^/old$ /new? redirect; }`, "/old?x=1",
			want{action: "redirect", status: 302, location: "/new"}},
		{"trailing ? drops the query on last",
			"location /q/ { rewrite ^/q/(.*)$ /new/$1? last; }\nlocation /new/ { proxy_pass http://n:1; }", "/q/a?x=1",
			want{action: "proxy", status: 200, spec: "/new/", uri: "/new/a"}},
		{"new args, then the old ones (redirect)",
			`location /p { rewrite ^/p$ /new?a=1 redirect; }`, "/p?b=2",
			want{action: "redirect", status: 302, location: "/new?a=1&b=2"}},
		{"new args, then the old ones (last)",
			"location /p/ { rewrite ^/p/(.*)$ /new/$1?a=1 last; }\nlocation /new/ { proxy_pass http://n:1; }", "/p/z?b=2",
			want{action: "proxy", status: 200, uri: "/new/z?a=1&b=2"}},
		{"new args replace the old ones with ?",
			"location /p/ { rewrite ^/p/(.*)$ /new/$1?a=1? last; }\nlocation /new/ { proxy_pass http://n:1; }", "/p/z?b=2",
			want{action: "proxy", status: 200, uri: "/new/z?a=1"}},
		{"rewrite works on the normalised URI",
			"location /b/ { rewrite ^/b/(.*)$ /c/$1 last; }\nlocation /c/ { return 200 \"c\"; }", "/a/../b/x",
			want{action: "return", status: 200, body: "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := one(tt.conf)
			mustLoad(t, tbl)
			tt.want.check(t, get(tbl, tt.target))
		})
	}
}

func TestReturnAndCaptures(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		target string
		want   want
	}{
		{"return 204", `location /x { return 204; }`, "/x",
			want{action: "return", status: 204}},
		{"return 301 /x/", `location = /x { return 301 /x/; }`, "/x",
			want{action: "redirect", status: 301, location: "/x/"}},
		{"return 200 text", `location /x { return 200 "ok"; }`, "/x",
			want{action: "return", status: 200, body: "ok"}},
		{"return URL is a 302", `location /x { return https://x/; }`, "/x",
			want{action: "redirect", status: 302, location: "https://x/"}},
		{"return 404 text", `location /x { return 404 "not here"; }`, "/x",
			want{action: "return", status: 404, body: "not here"}},
		{"return with variables", `location /x { return 200 "$uri|$args|$request_uri"; }`, "/x/../x?a=1",
			want{action: "return", status: 200, body: "/x|a=1|/x/../x?a=1"}},
		{"return before proxy_pass wins", `location /x { return 403; proxy_pass http://u:1; }`, "/x",
			want{action: "return", status: 403}},
		{"numbered captures", `location ~ ^/u/(\d+)/(\w+)$ { return 200 "$2:$1"; }`, "/u/42/bob",
			want{action: "return", status: 200, body: "bob:42"}},
		{"named captures", `location ~ ^/u/(?<id>\d+)/(?<name>\w+)$ { return 200 "$name-$id-$1"; }`, "/u/42/bob",
			want{action: "return", status: 200, body: "bob-42-42"}},
		{"named captures with ?P", `location ~ ^/u/(?P<id>\d+)$ { return 200 "${id}x"; }`, "/u/7",
			want{action: "return", status: 200, body: "7x"}},
		{"rewrite captures", `location /r/ { rewrite ^/r/(?<rest>.*)$ /s/$rest redirect; }`, "/r/a/b",
			want{action: "redirect", status: 302, location: "/s/a/b"}},
		{"return in a redirect uses captures", `location ~ ^/old/(.*)$ { return 301 /new/$1; }`, "/old/a/b",
			want{action: "redirect", status: 301, location: "/new/a/b"}},
		{"empty_gif", `location = /pixel.gif { empty_gif; }`, "/pixel.gif",
			want{action: "return", status: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := one(tt.conf)
			mustLoad(t, tbl)
			tt.want.check(t, get(tbl, tt.target))
		})
	}
}

// --- §6 what the upstream receives -------------------------------------

func TestUpstreamURI(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		target string
		want   want
	}{
		{"no URI part: the original target, raw",
			`location /app/ { proxy_pass http://u:3000; }`, "/app/a%20b?x=1",
			want{action: "proxy", status: 200, upstream: "http://u:3000", uri: "/app/a%20b?x=1"}},
		{"no URI part: not even normalised",
			`location /app/ { proxy_pass http://u:3000; }`, "/app//x/../y?x=1",
			want{action: "proxy", status: 200, uri: "/app//x/../y?x=1"}},
		{"URI / replaces the prefix",
			`location /myapp/ { proxy_pass http://u:3000/; }`, "/myapp/a/b?x=1",
			want{action: "proxy", status: 200, upstream: "http://u:3000", uri: "/a/b?x=1"}},
		{"URI /inner/ replaces /sub/",
			`location /sub/ { proxy_pass http://u:3000/inner/; }`, "/sub/a?y=2",
			want{action: "proxy", status: 200, uri: "/inner/a?y=2"}},
		{"exact path maps to the URI part",
			`location /sub/ { proxy_pass http://u:3000/inner/; }`, "/sub/",
			want{action: "proxy", status: 200, uri: "/inner/"}},
		{"prefix without slash",
			`location /api { proxy_pass http://u:3000/v1; }`, "/api/users",
			want{action: "proxy", status: 200, uri: "/v1/users"}},
		{"^~ location maps like a prefix",
			`location ^~ /s/ { proxy_pass http://u:3000/; }`, "/s/x",
			want{action: "proxy", status: 200, uri: "/x"}},
		{"the mapped path is re-escaped",
			`location /s/ { proxy_pass http://u:3000/; }`, "/s/a%20b",
			want{action: "proxy", status: 200, uri: "/a%20b"}},
		{"after rewrite break the URI part is ignored",
			`location /r/ { rewrite ^/r/(.*)$ /x/$1 break; proxy_pass http://u:3000/ignored/; }`, "/r/a?q=1",
			want{action: "proxy", status: 200, uri: "/x/a?q=1"}},
		{"[intent] variable host behaves like a literal host",
			`location /myapp/ { set $u app:3000; proxy_pass http://$u/; }`, "/myapp/a/b?x=1",
			want{action: "proxy", status: 200, upstream: "http://app:3000", uri: "/a/b?x=1"}},
		{"[intent] variable host with a URI part",
			`location /sub/ { set $u app:3000; proxy_pass http://$u/inner/; }`, "/sub/a?y=2",
			want{action: "proxy", status: 200, upstream: "http://app:3000", uri: "/inner/a?y=2"}},
		{"[intent] variable host without URI part",
			`location /app/ { set $u app:3000; proxy_pass http://$u; }`, "/app/a?x=1",
			want{action: "proxy", status: 200, upstream: "http://app:3000", uri: "/app/a?x=1"}},
		{"[intent] set after proxy_pass",
			`location /s/ { proxy_pass http://$u/; set $u s:1; }`, "/s/x",
			want{action: "proxy", status: 200, upstream: "http://s:1", uri: "/x"}},
		{"[intent] set after rewrite ... break",
			`location /app/ { rewrite ^/app/(.*)$ /$1 break; set $u app:3000; proxy_pass http://$u; }`, "/app/x?q=1",
			want{action: "proxy", status: 200, upstream: "http://app:3000", uri: "/x?q=1"}},
		{"[intent] regex captures keep the query",
			`location ~ ^/api/(.*)$ { proxy_pass http://u:3000/path/$1; }`, "/api/a/b?x=1",
			want{action: "proxy", status: 200, upstream: "http://u:3000", uri: "/path/a/b?x=1"}},
		{"[intent] regex URI part with its own query",
			`location ~ ^/api/(.*)$ { proxy_pass http://u:3000/path/$1?k=v; }`, "/api/a?x=1",
			want{action: "proxy", status: 200, uri: "/path/a?k=v"}},
		{"[intent] named captures in proxy_pass",
			`location ~ ^/n/(?<rest>.*)$ { proxy_pass http://u:3000/m/$rest; }`, "/n/a?x=1",
			want{action: "proxy", status: 200, uri: "/m/a?x=1"}},
		{"regex without URI part: the original target",
			`location ~ ^/api/ { proxy_pass http://u:3000; }`, "/api/x?q=1",
			want{action: "proxy", status: 200, uri: "/api/x?q=1"}},
		{"https upstream",
			`location /s/ { proxy_pass https://secure.test/; }`, "/s/x",
			want{action: "proxy", status: 200, upstream: "https://secure.test:443", uri: "/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := one(tt.conf)
			mustLoad(t, tbl)
			tt.want.check(t, get(tbl, tt.target))
		})
	}
}

func TestUpstreamHeaders(t *testing.T) {
	base := func() *routing.Request {
		return &routing.Request{
			Target:     "/h/x?q=1",
			Host:       "client.test:8080",
			RemoteAddr: "10.1.2.3:5555",
			Header:     http.Header{"X-Remove": {"gone"}, "X-Keep": {"kept"}},
		}
	}
	tests := []struct {
		name string
		conf string
		req  func(*routing.Request)
		want map[string]string // "" means the header must be absent
	}{
		{"defaults", `location /h/ { proxy_pass http://u:3000/; }`, nil, map[string]string{
			"Host": "u:3000", "X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "http",
			"X-Forwarded-Prefix": "/h", "X-Keep": "kept", "X-Remove": "gone",
		}},
		{"Host $host", `location /h/ { proxy_set_header Host $host; proxy_pass http://u:3000/; }`, nil, map[string]string{
			"Host": "client.test",
		}},
		{"Host $http_host", `location /h/ { proxy_set_header Host $http_host; proxy_pass http://u:3000/; }`, nil, map[string]string{
			"Host": "client.test:8080",
		}},
		{"Host with a variable upstream", `location /h/ { set $u app:3000; proxy_pass http://$u/; }`, nil, map[string]string{
			"Host": "app:3000",
		}},
		{"empty value removes", `location /h/ { proxy_set_header X-Remove ""; proxy_pass http://u:3000/; }`, nil, map[string]string{
			"X-Remove": "", "X-Keep": "kept",
		}},
		{"a set header with variables", `location /h/ { proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Path "$uri?$args"; proxy_pass http://u:3000/; }`, nil, map[string]string{
			"X-Real-Ip": "10.1.2.3", "X-Path": "/h/x?q=1",
		}},
		{"X-Forwarded-For appends", `location /h/ { proxy_pass http://u:3000/; }`,
			func(r *routing.Request) { r.Header.Set("X-Forwarded-For", "1.1.1.1") }, map[string]string{
				"X-Forwarded-For": "1.1.1.1, 10.1.2.3",
			}},
		{"tunnel means https", `location /h/ { proxy_pass http://u:3000/; }`,
			func(r *routing.Request) { r.Tunnel = true }, map[string]string{
				"X-Forwarded-Proto": "https",
			}},
		{"the block's own X-Forwarded-* win", `location /h/ {
			proxy_set_header X-Forwarded-For f;
			proxy_set_header X-Forwarded-Host h;
			proxy_set_header X-Forwarded-Proto p;
			proxy_set_header X-Forwarded-Prefix /pre;
			proxy_pass http://u:3000/;
		}`, func(r *routing.Request) { r.Tunnel = true }, map[string]string{
			"X-Forwarded-For": "f", "X-Forwarded-Host": "h", "X-Forwarded-Proto": "p", "X-Forwarded-Prefix": "/pre",
		}},
		{"the block can drop X-Forwarded-*", `location /h/ { proxy_set_header X-Forwarded-For ""; proxy_pass http://u:3000/; }`, nil, map[string]string{
			"X-Forwarded-For": "",
		}},
		{"no prefix header when nothing is stripped", `location /h/ { proxy_pass http://u:3000; }`, nil, map[string]string{
			"X-Forwarded-Prefix": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := one(tt.conf)
			mustLoad(t, tbl)
			req := base()
			if tt.req != nil {
				tt.req(req)
			}
			d := tbl.Explain(req)
			if d.Action != routing.ActionProxy {
				t.Fatalf("not proxied: %s", describe(d))
			}
			for name, v := range tt.want {
				var got string
				var present bool
				if name == "Host" {
					got, present = d.OutHost, d.OutHost != ""
					if d.UpstreamHeaders["Host"] != d.OutHost {
						t.Errorf("explain shows Host %q, the proxy sends %q", d.UpstreamHeaders["Host"], d.OutHost)
					}
				} else {
					got, present = d.OutHeader.Get(name), len(d.OutHeader.Values(name)) > 0
					if ev, ok := d.UpstreamHeaders[http.CanonicalHeaderKey(name)]; ok != present || ev != got {
						t.Errorf("explain shows %s %q (%v), the proxy sends %q (%v)", name, ev, ok, got, present)
					}
				}
				if v == "" {
					if present {
						t.Errorf("%s = %q, want it absent", name, got)
					}
				} else if got != v {
					t.Errorf("%s = %q, want %q", name, got, v)
				}
			}
			if xfh := d.OutHeader.Get("X-Forwarded-Host"); tt.want["X-Forwarded-Host"] == "" && !strings.Contains(xfh, "client.test") {
				t.Errorf("X-Forwarded-Host = %q, want the client's host", xfh)
			}
		})
	}
}

func TestExplainTrace(t *testing.T) {
	tbl := one(`location /a/ { proxy_pass http://a:1/; }`)
	d := get(tbl, "/a/x")
	if len(d.Trace) == 0 {
		t.Errorf("explain gives no trace")
	}
	if r := tbl.Resolve(&routing.Request{Target: "/a/x"}); r.UpstreamURI != d.UpstreamURI || r.Action != d.Action {
		t.Errorf("Resolve and Explain disagree: %s vs %s", describe(r), describe(d))
	}
	if b, kind := tbl.Lookup("/a/x"); b == nil || b.Loc.Spec != "/a/" || kind != routing.MatchPrefix {
		t.Errorf("Lookup(/a/x) = %v, %v", b, kind)
	}
	if b, kind := tbl.Lookup("/zzz"); b != nil || kind != routing.MatchNone {
		t.Errorf("Lookup(/zzz) = %v, %v", b, kind)
	}
}

func TestMatchingIsByLocationNotByText(t *testing.T) {
	// A request whose path only looks like a location after decoding is
	// matched on the decoded form; the upstream still gets the raw target.
	tbl := one(`location /api/ { proxy_pass http://u:1; }`)
	d := get(tbl, "/%61pi/x")
	want{action: "proxy", status: 200, spec: "/api/", uri: "/%61pi/x", path: "/api/x"}.check(t, d)
}

func TestVariables(t *testing.T) {
	tbl := one(`location /v/ { return 200 "$host|$http_host|$scheme|$remote_addr|$server_port|$is_args|$args|$uri|$request_uri|$arg_a|$http_x_test"; }`)
	tests := []struct {
		name string
		req  routing.Request
		body string
	}{
		{"plain", routing.Request{Target: "/v/x?a=1&b=2", Host: "Client.Test:8080", RemoteAddr: "10.1.2.3:5555",
			Header: http.Header{"X-Test": {"t"}}, ServerPort: 8080},
			"client.test|Client.Test:8080|http|10.1.2.3|8080|?|a=1&b=2|/v/x|/v/x?a=1&b=2|1|t"},
		{"no query, through the tunnel", routing.Request{Target: "/v/./x", Host: "h.test", RemoteAddr: "10.0.0.1", Tunnel: true, ServerPort: 8081},
			"h.test|h.test|https|10.0.0.1|8081|||/v/x|/v/./x||"},
		// Request documents its defaults: 127.0.0.1 and port 8080.
		{"defaults", routing.Request{Target: "/v/x", Host: "h.test"},
			"h.test|h.test|http|127.0.0.1|8080|||/v/x|/v/x||"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tbl.Explain(&tt.req)
			want{action: "return", status: 200, body: tt.body}.check(t, d)
		})
	}
}

func TestAddHeader(t *testing.T) {
	conf := "location /x { add_header X-A a; add_header X-B b always; return 200 \"ok\"; }\n" +
		"location /y { add_header X-A a; add_header X-B b always; return 404; }\n" +
		"location /z { add_header X-A a; add_header X-B b always; return 302 /x; }\n" +
		"location /p/ { add_header X-A a; add_header X-B b always; proxy_pass http://u:1; }\n"
	tbl := one(conf)
	mustLoad(t, tbl)
	tests := []struct {
		target string
		a, b   bool
	}{
		{"/x", true, true},
		{"/y", false, true}, // 2xx/3xx only unless always
		{"/z", true, true},
	}
	for _, tt := range tests {
		d := get(tbl, tt.target)
		_, a := d.ResponseHeaders["X-A"]
		_, b := d.ResponseHeaders["X-B"]
		if a != tt.a || b != tt.b {
			t.Errorf("%s: X-A %v, X-B %v; want %v, %v (%v)", tt.target, a, b, tt.a, tt.b, d.ResponseHeaders)
		}
	}
	// Proxied: the status is not known yet, so every rule is recorded for
	// the proxy, with its always flag.
	d := get(tbl, "/p/x")
	if len(d.AddHeaders) != 2 || d.AddHeaders[0].Always || !d.AddHeaders[1].Always {
		t.Errorf("AddHeaders = %+v", d.AddHeaders)
	}
	for status, want := range map[int]bool{200: true, 204: true, 301: true, 304: true, 404: false, 500: false, 502: false} {
		if routing.AddHeaderApplies(status) != want {
			t.Errorf("AddHeaderApplies(%d) = %v", status, !want)
		}
	}
}

func TestClientMaxBodySize(t *testing.T) {
	tbl := one(`location /up/ { client_max_body_size 1k; proxy_pass http://u:1; }`)
	mustLoad(t, tbl)
	big := tbl.Explain(&routing.Request{Target: "/up/x", Method: "POST", Header: http.Header{"Content-Length": {"2048"}}})
	want{action: "error", status: http.StatusRequestEntityTooLarge}.check(t, big)
	small := tbl.Explain(&routing.Request{Target: "/up/x", Method: "POST", Header: http.Header{"Content-Length": {"1024"}}})
	want{action: "proxy", status: 200}.check(t, small)
}

func TestWebSocketUpgradePassesThrough(t *testing.T) {
	// §6: upgrades pass through with or without the Upgrade/Connection
	// lines nginx needs.
	for name, conf := range map[string]string{
		"without the nginx lines": `location /ws/ { proxy_pass http://u:1; }`,
		"with the nginx lines":    `location /ws/ { proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_pass http://u:1; }`,
	} {
		t.Run(name, func(t *testing.T) {
			tbl := one(conf)
			mustLoad(t, tbl)
			up := tbl.Explain(&routing.Request{Target: "/ws/socket", Header: http.Header{
				"Upgrade": {"websocket"}, "Connection": {"keep-alive, Upgrade"}, "Sec-Websocket-Key": {"k"},
			}})
			want{action: "proxy", status: 200}.check(t, up)
			if got := up.OutHeader.Get("Upgrade"); !strings.EqualFold(got, "websocket") {
				t.Errorf("Upgrade = %q, want websocket", got)
			}
			if got := up.OutHeader.Get("Connection"); !strings.EqualFold(got, "upgrade") {
				t.Errorf("Connection = %q, want upgrade", got)
			}
			if up.OutHeader.Get("Sec-Websocket-Key") != "k" {
				t.Errorf("Sec-WebSocket-Key is lost")
			}
		})
	}
	// A plain request does not become an upgrade.
	tbl := one(`location /ws/ { proxy_pass http://u:1; }`)
	plain := tbl.Explain(&routing.Request{Target: "/ws/x", Header: http.Header{"Connection": {"keep-alive"}}})
	if plain.OutHeader.Get("Upgrade") != "" || strings.EqualFold(plain.OutHeader.Get("Connection"), "upgrade") {
		t.Errorf("plain request got upgrade headers: %v", plain.OutHeader)
	}
}

// chain builds locations /r0/ ... /rN/ where each /ri/ rewrites to
// /r(i+1)/ with last, and /rN/ answers.
func chain(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "location /r%d/ { rewrite ^/r%d/(.*)$ /r%d/$1 last; }\n", i, i, i+1)
	}
	fmt.Fprintf(&b, "location /r%d/ { return 200 \"end\"; }\n", n)
	return b.String()
}

func TestRewriteLastLimit(t *testing.T) {
	// §5: last restarts matching at most 10 times, then 500.
	tests := []struct {
		restarts int
		want     want
	}{
		{1, want{action: "return", status: 200, body: "end"}},
		{10, want{action: "return", status: 200, body: "end"}},
		{11, want{action: "error", status: 500}},
		{30, want{action: "error", status: 500}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.restarts), func(t *testing.T) {
			tbl := one(chain(tt.restarts))
			mustLoad(t, tbl)
			tt.want.check(t, get(tbl, "/r0/x"))
		})
	}
}

func TestRewriteSteps(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		target string
		want   want
	}{
		{"rewrites without flag run in order, then matching restarts",
			"location /a/ { rewrite ^/a/(.*)$ /b/$1; rewrite ^/b/(.*)$ /c/$1; }\nlocation /b/ { return 200 \"b\"; }\nlocation /c/ { return 200 \"c\"; }", "/a/x",
			want{action: "return", status: 200, spec: "/c/", body: "c"}},
		{"break after a rewrite without flag stays in the block",
			"location /a/ { rewrite ^/a/(.*)$ /b/$1; break; proxy_pass http://u:1; }\nlocation /b/ { return 200 \"b\"; }", "/a/x?q=1",
			want{action: "proxy", status: 200, spec: "/a/", uri: "/b/x?q=1"}},
		{"return after a rewrite without flag answers",
			"location /a/ { rewrite ^/a/(.*)$ /b/$1; return 200 \"$uri\"; }\nlocation /b/ { return 200 \"b\"; }", "/a/x",
			want{action: "return", status: 200, spec: "/a/", body: "/b/x"}},
		{"captures are re-escaped in the upstream URI",
			`location ~ ^/api/(.*)$ { proxy_pass http://u:1/path/$1; }`, "/api/a%20b?x=1",
			want{action: "proxy", status: 200, uri: "/path/a%20b?x=1"}},
		{"set uses the location's captures",
			`location ~ ^/u/(\d+)$ { set $id $1; return 200 "id=$id"; }`, "/u/42",
			want{action: "return", status: 200, body: "id=42"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := one(tt.conf)
			mustLoad(t, tbl)
			tt.want.check(t, get(tbl, tt.target))
		})
	}
}
