package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The edges of the command line a first-time user meets (issue 10).

// TestHelpExitsZero: -h and --help print the flags and succeed.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"check", "-h"}, {"explain", "--help"}, {"serve", "-h"}, {"lsp", "-h"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("run(%q) = %d, want 0; stderr: %s", args, code, stderr.String())
		}
		if !strings.Contains(stdout.String()+stderr.String(), "Usage") {
			t.Errorf("run(%q) prints no usage:\n%s%s", args, stdout.String(), stderr.String())
		}
	}
}

// TestCheckEmptyRootSaysWhereItLooked: no route files at all most often
// means the wrong folder; check names the globs it read, under the
// absolute root.
func TestCheckEmptyRootSaysWhereItLooked(t *testing.T) {
	root := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "--root", root}, &stdout, &stderr); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	want := "No route files in " + root + "; looked for " + filepath.Join(root, "apps", "*.conf") + " and " +
		filepath.Join(root, "overrides", "*.conf") + ". Is --root right?"
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	// A folder with route files says nothing of the kind.
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n")
	stdout.Reset()
	run([]string{"check", "--root", root}, &stdout, &stderr)
	if strings.Contains(stdout.String(), "--root") {
		t.Errorf("stdout with route files: %s", stdout.String())
	}
}

// TestExplainText: --format text is a summary for people; JSON stays the
// default when stdout is not a terminal.
func TestExplainText(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/app.conf", "location /app/ { proxy_pass http://127.0.0.1:3000/; }\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"explain", "--root", root, "--format", "text", "/app/x?y=1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{
		"GET /app/x\n",
		"  location  apps/app.conf:1 (location /app/)\n",
		"  action    proxy, status 200\n",
		"  upstream  http://127.0.0.1:3000/x?y=1\n",
		"  why       ",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("text explain lacks %q:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	if code := run([]string{"explain", "--root", root, "--format", "json", "/app/x"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "{") {
		t.Errorf("--format json: exit %d, %s", code, stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"explain", "--root", root, "--format", "yaml", "/app/x"}, &stdout, &stderr); code != 2 || stdout.Len() != 0 {
		t.Errorf("--format yaml: exit %d, stdout %s", code, stdout.String())
	}
	if isTerminal(&stdout) {
		t.Error("a buffer is not a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("a pipe is not a terminal")
	}
}

// TestServeListenBarePort: --listen 0 means 127.0.0.1:0, as --listen
// 8392 means 127.0.0.1:8392.
func TestServeListenBarePort(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n")
	p := startServeProcess(t, root, "--listen", "0", "--tunnel-listen", "0")
	addr := p.waitReady(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("serving on %s, want 127.0.0.1:port", addr)
	}
	if !strings.Contains(p.stdout.String(), "tunnel agents connect to 127.0.0.1:") {
		t.Errorf("tunnel listener: %s", p.stdout.String())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		t.Error("serve did not stop")
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve", "--root", root, "--listen", "localhost"}, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), `--listen "localhost": use host:port or a port`) {
		t.Errorf("--listen localhost: exit %d, stderr %s", code, stderr.String())
	}
}
