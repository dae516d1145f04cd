package routing_test

// Benchmarks for the three costs that matter to a person using devproxy:
// a cold start (read and compose every route file), a save (re-read one file
// and swap the table) and a request (find the location). The goals are in
// docs/benchmarks.md; scripts/bench.sh (`make bench`) runs these and prints
// each result next to its goal.
//
// Every benchmark uses the same realistic workspace: 100 app files of 10
// location blocks each, in the shapes real per-app nginx snippets use.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

const (
	benchApps = 100 // app files in the benchmark workspace
	benchLocs = 10  // location blocks per app file
)

// benchAppConf is the route file of app n. Version 0 and 1 differ only in the
// port of the main proxy_pass, so a reload can be checked to have re-parsed.
//
// Note that "^~ /appN/" takes /appN/_next/... before the regex list is
// searched, so the _next regex is never reached; real snippets often carry
// such dead blocks, and the matcher has to skip them on every fall-through.
func benchAppConf(n, version int) string {
	port := 3000 + n + 1000*version
	return fmt.Sprintf(`# app%[1]d: a Next.js front end with its API, as the app team ships it.
location = /app%[1]d { return 301 /app%[1]d/; }

location ^~ /app%[1]d/ {
    proxy_set_header Host $host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";
    proxy_pass http://127.0.0.1:%[2]d/;
}

# The API keeps its prefix; the host comes from a variable.
location /app%[1]d/api/ {
    set $u app%[1]d-api:8000;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_read_timeout 60s;
    proxy_pass http://$u;
}

location = /app%[1]d/health {
    add_header Content-Type application/json always;
    return 200 '{"status":"ok"}';
}

location ~ ^/app%[1]d/_next/(.+)$ {
    proxy_pass http://127.0.0.1:%[2]d/_next/$1;
}

location /app%[1]d/legacy/ {
    rewrite ^/app%[1]d/legacy/(.*)$ /v1/$1 break;
    proxy_pass http://127.0.0.1:%[3]d;
}

location /app%[1]d/static/ {
    add_header Cache-Control "public, max-age=3600";
    proxy_hide_header X-Powered-By;
    proxy_pass http://127.0.0.1:%[2]d/static/;
}

location = /app%[1]d/favicon.ico { empty_gif; }

location /app%[1]d/old/ { return 302 /app%[1]d/; }

# Spreadsheet exports come from a separate service.
location ~* ^/app%[1]d/api/.+\.(csv|xlsx)$ {
    proxy_pass http://app%[1]d-exports:9000;
}
`, n, port, 5000+n)
}

// benchModTime gives app n a distinct age, newest first, so composed order
// (and with it the position of each regex in the regex list) is the same
// on every run.
func benchModTime(n int) time.Time {
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(n) * time.Minute)
}

// writeBenchWorkspace writes the workspace into a fresh temporary folder.
func writeBenchWorkspace(b testing.TB) string {
	b.Helper()
	dir := b.TempDir()
	apps := filepath.Join(dir, "apps")
	if err := os.MkdirAll(apps, 0o755); err != nil {
		b.Fatal(err)
	}
	for n := range benchApps {
		p := filepath.Join(apps, fmt.Sprintf("app%03d.conf", n))
		if err := os.WriteFile(p, []byte(benchAppConf(n, 0)), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(p, benchModTime(n), benchModTime(n)); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// checkBenchTable fails the benchmark unless t holds the whole workspace
// without errors, so a parser change that breaks the snippets cannot make
// the numbers look good.
func checkBenchTable(b testing.TB, t *routing.RouteTable) {
	b.Helper()
	if len(t.Files) != benchApps || len(t.Blocks) != benchApps*benchLocs {
		b.Fatalf("table has %d files and %d blocks, want %d and %d", len(t.Files), len(t.Blocks), benchApps, benchApps*benchLocs)
	}
	for _, d := range t.Diagnostics {
		if d.Severity == routefile.Error {
			b.Fatalf("benchmark workspace has an error: %s", d)
		}
	}
	for _, blk := range t.Blocks {
		if !blk.Active {
			b.Fatalf("block %s is inactive: %s", blk.Label(), blk.Inactive)
		}
	}
}

// benchTable composes the workspace in memory (no disk), for the matcher.
func benchTable(b testing.TB) *routing.RouteTable {
	b.Helper()
	files := make([]*routing.SourceFile, 0, benchApps)
	for n := range benchApps {
		path := fmt.Sprintf("apps/app%03d.conf", n)
		src := []byte(benchAppConf(n, 0))
		files = append(files, &routing.SourceFile{
			Path: path, Kind: routing.AppFile, ModTime: benchModTime(n), Size: int64(len(src)),
			Parsed: routefile.Parse(path, src),
		})
	}
	t := routing.Compose(routing.Config{}, files, nil)
	checkBenchTable(b, t)
	return t
}

// BenchmarkComposeFromDisk measures a cold start: find, read and parse 100
// files and compose 1,000 locations. Goal: under 20 ms.
func BenchmarkComposeFromDisk(b *testing.B) {
	dir := writeBenchWorkspace(b)
	ws, err := routing.NewWorkspace(dir)
	if err != nil {
		b.Fatal(err)
	}
	checkBenchTable(b, ws.Table())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := routing.NewWorkspace(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebuildOneFile measures what a save costs: one file changed on
// disk, Reload re-reads and re-parses it and composes a new table from the
// 99 cached files and the new one. Goal: under 2 ms. Writing the file is
// the editor's cost, so it is kept out of the timing.
func BenchmarkRebuildOneFile(b *testing.B) {
	dir := writeBenchWorkspace(b)
	ws, err := routing.NewWorkspace(dir)
	if err != nil {
		b.Fatal(err)
	}
	const n = 50
	rel := fmt.Sprintf("apps/app%03d.conf", n)
	abs := filepath.Join(dir, filepath.FromSlash(rel))
	versions := [2][]byte{[]byte(benchAppConf(n, 0)), []byte(benchAppConf(n, 1))}
	// Every save gets a new modification time, later than any before, as
	// an editor's save does; the size alone does not change between the
	// two versions, so this is what tells Reload the file changed.
	mtime := benchModTime(0)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		i++
		mtime = mtime.Add(time.Second)
		if err := os.WriteFile(abs, versions[i%2], 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(abs, mtime, mtime); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ws.Reload(rel)
	}
	// Prove the loop re-parsed: the table must show the last save (its
	// modification time, which only a re-read records) and the last
	// version's content (which only a re-parse produces).
	t := ws.Table()
	checkBenchTable(b, t)
	if f := t.FileByPath(rel); f == nil || !f.ModTime.Equal(mtime) {
		b.Fatalf("after %d reloads the table does not hold the last save of %s", i, rel)
	}
	want := fmt.Sprintf("http://127.0.0.1:%d", 3000+n+1000*(i%2))
	blk, kind := t.Lookup(fmt.Sprintf("/app%d/dashboard", n))
	if blk == nil || kind != routing.MatchPrefix || blk.Upstream != want {
		got := "<no match>"
		if blk != nil {
			got = blk.Upstream
		}
		b.Fatalf("after %d reloads /app%d/ proxies to %s, want %s: Reload did not re-parse", i, n, got, want)
	}
	if t.Files[0].Path != rel {
		b.Fatalf("the saved file %s is not newest in composed order (first is %s)", rel, t.Files[0].Path)
	}
}

// matchCase is one request path of BenchmarkMatch and what must answer it.
type matchCase struct {
	name string
	path string
	kind routing.MatchKind
	spec string // the location that must be found; "" for a miss
}

// benchMatchCases are the common paths through nginx's location search.
// The app in the middle of composed order is used so regex scans cover
// about half of the 200 regex locations when they hit.
var benchMatchCases = []matchCase{
	// "= /app50/health" wins at once.
	{"exact", "/app50/health", routing.MatchExact, "/app50/health"},
	// The longest prefix is "^~ /app50/": the regex list is skipped.
	{"prefix-noregex", "/app50/dashboard/settings", routing.MatchPrefix, "/app50/"},
	// The longest prefix is the plain "/app50/api/": every regex is tried
	// first, none matches, and the prefix wins.
	{"prefix-after-regexes", "/app50/api/users/42", routing.MatchPrefix, "/app50/api/"},
	// The plain "/app50/api/" is remembered, then "~* ^/app50/api/.+\.(csv|xlsx)$" matches.
	{"regex", "/app50/api/reports/q1.CSV", routing.MatchRegex, `^/app50/api/.+\.(csv|xlsx)$`},
	// No prefix location matches and no regex does: 404.
	{"miss", "/nothing/here", routing.MatchNone, ""},
}

// BenchmarkMatch measures the location search of one request in a table of
// 1,000 locations. Goal: under 2 µs, and no allocation on the exact and
// prefix paths.
func BenchmarkMatch(b *testing.B) {
	t := benchTable(b)
	for _, c := range benchMatchCases {
		blk, kind := t.Lookup(c.path)
		got := ""
		if blk != nil {
			got = blk.Loc.Spec
		}
		if kind != c.kind || got != c.spec {
			b.Fatalf("%s: Lookup(%q) = %s %q, want %s %q", c.name, c.path, kind, got, c.kind, c.spec)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t.Lookup(c.path)
			}
		})
	}
}

// BenchmarkResolve measures the proxy's whole per-request decision
// (location search, variables, upstream URI and headers) for proxied
// requests. It allocates: the Decision, the header map and the strings the
// upstream receives.
func BenchmarkResolve(b *testing.B) {
	t := benchTable(b)
	cases := []struct{ name, target, upstream, uri string }{
		// ^~ prefix with its prefix replaced and three proxy_set_header rules.
		{"prefix-noregex", "/app50/dashboard/settings?tab=2", "http://127.0.0.1:3050", "/dashboard/settings?tab=2"},
		// Plain prefix after the regex list; the host comes from set $u.
		{"prefix-variable-host", "/app50/api/users/42?expand=1", "http://app50-api:8000", "/app50/api/users/42?expand=1"},
	}
	for _, c := range cases {
		req := &routing.Request{Target: c.target}
		d := t.Resolve(req)
		if d.Action != routing.ActionProxy || d.Upstream != c.upstream || d.UpstreamURI != c.uri {
			b.Fatalf("%s: Resolve(%q) = %s %s%s, want proxy %s%s", c.name, c.target, d.Action, d.Upstream, d.UpstreamURI, c.upstream, c.uri)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t.Resolve(req)
			}
		})
	}
}

// TestBenchWorkspace keeps the benchmark workspace honest when benchmarks
// are not run: every file parses, the table is complete, and each match
// case finds the location its benchmark claims to measure.
func TestBenchWorkspace(t *testing.T) {
	src := benchAppConf(7, 0)
	if got := strings.Count(src, "\nlocation "); got != benchLocs {
		t.Fatalf("app file has %d locations, want %d", got, benchLocs)
	}
	table := benchTable(t)
	for _, c := range benchMatchCases {
		blk, kind := table.Lookup(c.path)
		got := ""
		if blk != nil {
			got = blk.Loc.Spec
		}
		if kind != c.kind || got != c.spec {
			t.Errorf("%s: Lookup(%q) = %s %q, want %s %q", c.name, c.path, kind, got, c.kind, c.spec)
		}
	}
}
