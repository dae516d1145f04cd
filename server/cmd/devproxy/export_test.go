package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportNginx: the export goes to stdout or -o, warnings go to stderr
// with file:line, and --strict turns them into exit 1.
func TestExportNginx(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/web.conf", "location /web/ { proxy_pass http://127.0.0.1:5173/; }\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"export", "nginx", "--root", root, "--listen", "9000", "--server-only"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "server {\n    listen 127.0.0.1:9000;") || strings.Contains(out, "http {") || !strings.Contains(out, "location /web/ {") {
		t.Errorf("server block:\n%s", out)
	}

	writeFile(t, root, "apps/var.conf", "\nlocation /v/ { proxy_pass http://$http_x_up/x/; }\n")
	file := filepath.Join(t.TempDir(), "nginx.conf")
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"export", "nginx", "--root", root, "-o", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("without --strict, warnings do not fail: exit %d", code)
	}
	if !strings.Contains(stderr.String(), "apps/var.conf:2: warning: ") || stdout.Len() != 0 {
		t.Errorf("stderr %q, stdout %q", stderr.String(), stdout.String())
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "events {") {
		t.Errorf("-o file: %v\n%s", err, b)
	}
	if code := run([]string{"export", "nginx", "--root", root, "--strict", "-o", file}, &stdout, &stderr); code != 1 {
		t.Errorf("--strict with a warning: exit %d, want 1", code)
	}
}
