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

// export nginx --env writes the profile's upstreams, as devproxy would
// send to them; an unknown profile is a usage error naming the known ones.
func TestExportNginxEnvironment(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/web.conf", "location /web/ { proxy_pass http://127.0.0.1:5173/app/; }\nlocation /api/ { set $api 127.0.0.1:5174; proxy_pass http://$api; }\n")
	writeFile(t, root, "devproxy.json", `{"environments": {"staging": {"upstreams": {"127.0.0.1:5173": "web.staging.svc.cluster.local:80", "127.0.0.1:5174": "api.staging.svc.cluster.local:8080"}}}}`)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"export", "nginx", "--root", root, "--server-only", "--env", "staging"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"proxy_pass http://web.staging.svc.cluster.local:80/app/;", "proxy_pass http://api.staging.svc.cluster.local:8080;"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	stdout.Reset()
	if code := run([]string{"export", "nginx", "--root", root, "--server-only"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "proxy_pass http://127.0.0.1:5173/app/;") {
		t.Errorf("without --env: exit %d\n%s", code, stdout.String())
	}
	stderr.Reset()
	if code := run([]string{"export", "nginx", "--root", root, "--env", "prod"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), `"staging"`) {
		t.Errorf("an unknown profile: exit %d %s", code, stderr.String())
	}
}
