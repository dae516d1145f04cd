package cli_test

// Golden tests for `devproxy check`: each testdata/check/NAME.txtar is a
// workspace; its text and JSON reports must equal NAME.text.golden and
// NAME.json.golden. After an intended change, rewrite the goldens with
//
//	go test ./server/cli -run Golden -update
//
// and review the diff like code.
//
// The archive's comment may hold directives, one per line:
//
//	mtime PATH RFC3339   modification time of a file (default: goldenBaseTime)
//	exit N               expected exit code (text and json)
//	strict N             expected exit code with --strict
//
// Lines starting with '#' describe the case.

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/cli"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/check")

// goldenBaseTime is every file's modification time unless the archive says
// otherwise, so that "newest" never depends on when the test runs.
var goldenBaseTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type goldenCase struct {
	mtimes map[string]time.Time
	exit   int
	strict int
}

func parseGoldenDirectives(t *testing.T, comment []byte) goldenCase {
	t.Helper()
	c := goldenCase{mtimes: map[string]time.Time{}, exit: -1, strict: -1}
	for i, line := range strings.Split(string(comment), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		bad := func() { t.Fatalf("archive comment line %d: cannot read %q", i+1, line) }
		switch {
		case f[0] == "mtime" && len(f) == 3:
			tm, err := time.Parse(time.RFC3339, f[2])
			if err != nil {
				bad()
			}
			c.mtimes[f[1]] = tm
		case (f[0] == "exit" || f[0] == "strict") && len(f) == 2:
			n, err := strconv.Atoi(f[1])
			if err != nil {
				bad()
			}
			if f[0] == "exit" {
				c.exit = n
			} else {
				c.strict = n
			}
		default:
			bad()
		}
	}
	if c.exit < 0 || c.strict < 0 {
		t.Fatalf("archive comment must give both exit and strict")
	}
	return c
}

// writeArchive writes the archive's files under a new temporary root and
// sets every file's modification time.
func writeArchive(t *testing.T, ar *txtar.Archive, mtimes map[string]time.Time) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range ar.Files {
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		mt, ok := mtimes[f.Name]
		if !ok {
			mt = goldenBaseTime
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	for name := range mtimes {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatalf("mtime for %s, which the archive does not hold", name)
		}
	}
	return root
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after checking the change):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestCheckGolden(t *testing.T) {
	archives, err := filepath.Glob(filepath.Join("testdata", "check", "*.txtar"))
	if err != nil || len(archives) == 0 {
		t.Fatalf("no archives in testdata/check: %v", err)
	}
	for _, path := range archives {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := parseGoldenDirectives(t, ar.Comment)
			root := writeArchive(t, ar, c.mtimes)
			for _, format := range []string{"text", "json"} {
				var stdout, stderr bytes.Buffer
				code := cli.RunCheck(cli.CheckOptions{Root: root, Format: format}, &stdout, &stderr)
				if code != c.exit {
					t.Errorf("--format %s: exit code %d, want %d", format, code, c.exit)
				}
				if stderr.Len() > 0 {
					t.Errorf("--format %s: unexpected stderr: %s", format, stderr.String())
				}
				if format == "json" && !json.Valid(stdout.Bytes()) {
					t.Errorf("--format json prints invalid JSON:\n%s", stdout.String())
				}
				got := strings.ReplaceAll(stdout.String(), root, "$ROOT")
				compareGolden(t, filepath.Join("testdata", "check", name+"."+format+".golden"), got)
			}
			for _, format := range []string{"text", "json"} {
				var stdout, stderr bytes.Buffer
				if code := cli.RunCheck(cli.CheckOptions{Root: root, Format: format, Strict: true}, &stdout, &stderr); code != c.strict {
					t.Errorf("--strict --format %s: exit code %d, want %d", format, code, c.strict)
				}
			}
		})
	}
}

// TestCheckJSONMatchesTable cross-checks the JSON report against the
// engine's table for one archive, so that the goldens cannot drift into
// agreeing with themselves.
func TestCheckJSONMatchesTable(t *testing.T) {
	ar, err := txtar.ParseFile(filepath.Join("testdata", "check", "conflict.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	c := parseGoldenDirectives(t, ar.Comment)
	root := writeArchive(t, ar, c.mtimes)
	var stdout, stderr bytes.Buffer
	cli.RunCheck(cli.CheckOptions{Root: root, Format: "json"}, &stdout, &stderr)
	var report struct {
		Root  string `json:"root"`
		Files []struct {
			Path string `json:"path"`
			OK   bool   `json:"ok"`
		} `json:"files"`
		Routes []struct {
			Route  *string `json:"route"`
			File   string  `json:"file"`
			Active bool    `json:"active"`
		} `json:"routes"`
		Diagnostics []struct {
			File     string `json:"file"`
			Severity string `json:"severity"`
			Code     string `json:"code"`
			Message  string `json:"message"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if report.Root != root {
		t.Errorf("root = %q, want %q", report.Root, root)
	}
	// Composed order: apps newest first.
	if len(report.Files) != 2 || report.Files[0].Path != "apps/b.conf" || report.Files[1].Path != "apps/a.conf" {
		t.Errorf("files = %+v, want apps/b.conf then apps/a.conf", report.Files)
	}
	for _, r := range report.Routes {
		if r.Route != nil && *r.Route == "/api/" && r.Active != (r.File == "apps/b.conf") {
			t.Errorf("route /api/ in %s: active = %v", r.File, r.Active)
		}
	}
	n := 0
	for _, d := range report.Diagnostics {
		if d.Code == "conflict" {
			n++
			if d.Severity != "warning" || !strings.Contains(d.Message, "apps/b.conf wins (newest)") {
				t.Errorf("conflict diagnostic %+v", d)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d conflict diagnostics, want one per side", n)
	}
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if d := ws.Table().Explain(&routing.Request{Target: "/api/x"}); d.Location == nil || d.Location.File != "apps/b.conf" {
		t.Errorf("/api/x is not routed to the winner: %+v", d.Location)
	}
}

func TestCheckBadRoot(t *testing.T) {
	var stdout, stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "missing")
	if code := cli.RunCheck(cli.CheckOptions{Root: missing, Format: "text"}, &stdout, &stderr); code != cli.ExitUsage {
		t.Errorf("exit code %d, want %d", code, cli.ExitUsage)
	}
	if !strings.Contains(stderr.String(), "missing") {
		t.Errorf("stderr %q should name the folder", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("unexpected stdout: %s", stdout.String())
	}
}

// --- devproxy explain -----------------------------------------------------

func writeExplainWorkspace(t *testing.T) string {
	t.Helper()
	ar := txtar.Parse([]byte(`
-- apps/app.conf --
location /myapp/ {
    proxy_pass http://127.0.0.1:3000/;
}
location = /health-check { return 200 "ok"; }
`))
	return writeArchive(t, ar, nil)
}

func runExplainDoc(t *testing.T, opts cli.ExplainOptions) (map[string]any, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.RunExplain(opts, &stdout, &stderr)
	if code != cli.ExitOK {
		return nil, code, stderr.String()
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("explain prints invalid JSON: %v\n%s", err, stdout.String())
	}
	return doc, code, stderr.String()
}

func TestExplainJSON(t *testing.T) {
	root := writeExplainWorkspace(t)
	tests := []struct {
		name   string
		opts   cli.ExplainOptions
		checks map[string]any // top-level JSON fields
		more   func(t *testing.T, doc map[string]any)
	}{
		{"unmatched", cli.ExplainOptions{Target: "/nothing?x=1"}, map[string]any{
			"matched": false, "action": "none", "status": float64(404), "location": nil, "path": "/nothing",
		}, nil},
		{"proxied", cli.ExplainOptions{Target: "/myapp/a/b?x=1"}, map[string]any{
			"matched": true, "action": "proxy", "status": float64(200),
			"upstream": "http://127.0.0.1:3000", "upstream_uri": "/a/b?x=1",
		}, func(t *testing.T, doc map[string]any) {
			loc, _ := doc["location"].(map[string]any)
			if loc["file"] != "apps/app.conf" || loc["spec"] != "/myapp/" || loc["line"] != float64(1) {
				t.Errorf("location = %v", doc["location"])
			}
			hdrs, _ := doc["upstream_headers"].(map[string]any)
			if hdrs["Host"] != "127.0.0.1:3000" || hdrs["X-Forwarded-Proto"] != "http" {
				t.Errorf("upstream_headers = %v", hdrs)
			}
			if tr, _ := doc["trace"].([]any); len(tr) == 0 {
				t.Errorf("no trace")
			}
		}},
		{"missing slash", cli.ExplainOptions{Target: "/myapp?x=1"}, map[string]any{
			"action": "redirect", "status": float64(301),
		}, func(t *testing.T, doc map[string]any) {
			h, _ := doc["response_headers"].(map[string]any)
			if h["Location"] != "/myapp/?x=1" {
				t.Errorf("Location = %v, want /myapp/?x=1", h["Location"])
			}
		}},
		{"tunnel and headers", cli.ExplainOptions{Target: "/myapp/", Tunnel: true, Headers: []string{"Host: dev.example", "X-Test: 1"}}, map[string]any{
			"action": "proxy",
		}, func(t *testing.T, doc map[string]any) {
			hdrs, _ := doc["upstream_headers"].(map[string]any)
			if hdrs["X-Forwarded-Proto"] != "https" || hdrs["X-Test"] != "1" || !strings.Contains(hdrs["X-Forwarded-Host"].(string), "dev.example") {
				t.Errorf("upstream_headers = %v", hdrs)
			}
		}},
		{"absolute URL", cli.ExplainOptions{Target: "http://dev.example/health-check"}, map[string]any{
			"action": "return", "status": float64(200), "body": "ok",
		}, nil},
		{"reserved", cli.ExplainOptions{Target: "/devproxy/"}, map[string]any{
			"action": "reserved",
		}, nil},
		{"climbing above /", cli.ExplainOptions{Target: "/../etc/passwd"}, map[string]any{
			"action": "error", "status": float64(400), "matched": false,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Root = root
			doc, code, stderr := runExplainDoc(t, tt.opts)
			if code != cli.ExitOK {
				t.Fatalf("exit code %d: %s", code, stderr)
			}
			for k, v := range tt.checks {
				got, ok := doc[k]
				if !ok || got != v {
					t.Errorf("%q = %#v (present %v), want %#v", k, got, ok, v)
				}
			}
			if tt.more != nil {
				tt.more(t, doc)
			}
		})
	}
}

func TestExplainUsageErrors(t *testing.T) {
	root := writeExplainWorkspace(t)
	tests := []struct {
		name string
		opts cli.ExplainOptions
		says string
	}{
		{"not a path", cli.ExplainOptions{Root: root, Target: "myapp"}, "neither a path"},
		{"bad header", cli.ExplainOptions{Root: root, Target: "/x", Headers: []string{"no colon"}}, "--header"},
		{"header name with a space", cli.ExplainOptions{Root: root, Target: "/x", Headers: []string{"X Y: 1"}}, "--header"},
		{"missing root", cli.ExplainOptions{Root: filepath.Join(root, "nope"), Target: "/x"}, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := cli.RunExplain(tt.opts, &stdout, &stderr); code != cli.ExitUsage {
				t.Errorf("exit code %d, want %d", code, cli.ExitUsage)
			}
			if !strings.Contains(stderr.String(), tt.says) {
				t.Errorf("stderr %q should contain %q", stderr.String(), tt.says)
			}
			if stdout.Len() != 0 {
				t.Errorf("unexpected stdout: %s", stdout.String())
			}
		})
	}
}
