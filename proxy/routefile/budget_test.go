package routefile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Checking one file has a deterministic work budget: whatever a file
// holds, its checking stops after a bounded number of steps, and a file
// that needs more becomes one "too complex" error and contributes no
// routes, while every other file keeps loading.

// heavyRegexFile is a file under the size limit whose regexes each expand
// to 2,500,000 instructions ([a-z]{1000} repeated): compiling them all
// takes minutes, while the file is only ~800 KB.
func heavyRegexFile(locations int) string {
	var b strings.Builder
	for i := 0; i < locations; i++ {
		fmt.Fprintf(&b, "location ~ \"^/big/%d/%s$\" { return 204; }\n", i, strings.Repeat("[a-z]{1000}", 2500))
	}
	return b.String()
}

func TestTooComplexFileDoesNotStallTheWorkspace(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bad := heavyRegexFile(30)
	if len(bad) > routefile.MaxFileSize {
		t.Fatalf("the test file must stay under the size limit: %d bytes", len(bad))
	}
	write("apps/bad.conf", bad)
	write("apps/good.conf", "location /good/ { proxy_pass http://127.0.0.1:1/; }\n")

	var ws *routing.Workspace
	hangGuard(t, "loading a workspace with a too complex file", func() {
		var err error
		ws, err = routing.NewWorkspace(root)
		if err != nil {
			t.Error(err)
		}
	})
	if ws == nil {
		t.FailNow()
	}
	tbl := ws.Table()
	var badDiags []routefile.Diagnostic
	for _, d := range tbl.Diagnostics {
		if d.File == "apps/bad.conf" {
			badDiags = append(badDiags, d)
		}
	}
	if len(badDiags) != 1 {
		t.Fatalf("want exactly one diagnostic for apps/bad.conf:%s", dump(badDiags))
	}
	d := badDiags[0]
	if d.Code != "too-complex" || d.Severity != routefile.Error {
		t.Errorf("want a too-complex error, got %s", d)
	}
	for _, want := range []string{"too complex: apps/bad.conf", "regex", "line 1"} {
		if !strings.Contains(d.Message, want) {
			t.Errorf("the message should say %q: %s", want, d.Message)
		}
	}
	if f := tbl.FileByPath("apps/bad.conf"); f == nil || f.Parsed.OK || len(f.Parsed.Locations) != 0 {
		t.Errorf("a too complex file must contribute no routes")
	}
	if dec := tbl.Explain(&routing.Request{Target: "/good/x"}); dec.Action != routing.ActionProxy || dec.UpstreamURI != "/x" {
		t.Errorf("the good file must keep routing: %s %q", dec.Action, dec.UpstreamURI)
	}
	if dec := tbl.Explain(&routing.Request{Target: "/big/0/" + strings.Repeat("a", 2500000)}); dec.Matched {
		t.Errorf("no location of the too complex file may match")
	}
}

// TestBudgetCountsTheWholeFile: regexes that each fit the budget cannot add
// up past it; the report names the line where it ran out.
func TestBudgetCountsTheWholeFile(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "location ~ \"^/mid/%d/%s$\" { return 204; }\n", i, strings.Repeat("[a-z]{1000}", 60))
	}
	var f *routefile.File
	hangGuard(t, "parsing 40 regexes of 60,000 instructions", func() { f = parse(b.String()) })
	if len(f.Diagnostics) != 1 || f.Diagnostics[0].Code != "too-complex" || f.OK || len(f.Locations) != 0 {
		t.Fatalf("want one too-complex error and no locations (%d):%s", len(f.Locations), dump(f.Diagnostics))
	}
	if !strings.Contains(f.Diagnostics[0].Message, "too complex: "+testPath) {
		t.Errorf("the message should name the file: %s", f.Diagnostics[0].Message)
	}
}

// TestBudgetLeavesRealFilesAlone: a file at the size limit made of the
// regex locations real snippets use stays well inside the budget.
func TestBudgetLeavesRealFilesAlone(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < routefile.MaxFileSize-300; i++ {
		fmt.Fprintf(&b, "location ~ ^/app%d/(?<rest>[^/]+)/(.*)\\.(js|css|png)$ {\n    set $u 127.0.0.1:%d;\n    proxy_set_header X-Rest $rest;\n    proxy_pass http://$u;\n}\n", i, 1000+i%1000)
	}
	f := parse(b.String())
	if !f.OK || len(withCode(f.Diagnostics, "too-complex")) != 0 {
		t.Fatalf("a large file of ordinary regex locations must load:%s", dump(f.Diagnostics[:min(3, len(f.Diagnostics))]))
	}
}
