package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: bad command lines exit 2 with a message on stderr and
// nothing on stdout (which scripts may be parsing).
func TestUsageErrors(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name string
		args []string
		says string // a fragment of stderr
	}{
		{"no command", nil, "Usage:"},
		{"unknown command", []string{"serve-all"}, `unknown command "serve-all"`},
		{"check: unknown flag", []string{"check", "--nope"}, "nope"},
		{"check: bad format", []string{"check", "--root", root, "--format", "xml"}, "--format must be text or json"},
		{"check: extra argument", []string{"check", "--root", root, "extra"}, `unexpected argument "extra"`},
		{"serve: an argument before flags (args appended to an entry point)", []string{"serve", "serve", "--env", "x"}, `unexpected argument "serve"; flags after it would be ignored`},
		{"check: missing root", []string{"check", "--root", filepath.Join(root, "missing")}, "missing"},
		{"check: root is a file", []string{"check", "--root", writeFile(t, root, "file.txt", "x")}, "not a directory"},
		{"explain: no target", []string{"explain", "--root", root}, "exactly one PATH_OR_URL"},
		{"explain: two targets", []string{"explain", "--root", root, "/a", "/b"}, "exactly one PATH_OR_URL"},
		{"explain: bad header", []string{"explain", "--root", root, "--header", "nocolon", "/a"}, "--header"},
		{"explain: not a path", []string{"explain", "--root", root, "a/b"}, "neither a path"},
		{"explain: unknown flag", []string{"explain", "--bogus", "/a"}, "bogus"},
		{"export: no format", []string{"export"}, "devproxy export nginx [flags] or devproxy export k8s"},
		{"export: other format", []string{"export", "caddy"}, "devproxy export nginx [flags] or devproxy export k8s"},
		{"export: extra argument", []string{"export", "nginx", "--root", root, "extra"}, `unexpected argument "extra"`},
		{"export: bad listen", []string{"export", "nginx", "--root", root, "--listen", "localhost"}, `--listen "localhost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("run(%q) = %d, want 2; stderr: %s", tt.args, code, stderr.String())
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

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommands(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/app.conf", "location /app/ { proxy_pass http://127.0.0.1:3000/; }\n")
	warn := t.TempDir()
	writeFile(t, warn, "apps/w.conf", "location ~ \\.php$ { proxy_pass http://127.0.0.1:3000; }\n")
	broken := t.TempDir()
	writeFile(t, broken, "apps/b.conf", "location /b/ { bogus; }\n")
	tests := []struct {
		name string
		args []string
		code int
		out  string // a fragment of stdout
	}{
		{"version", []string{"version"}, 0, "devproxy " + version},
		{"--version", []string{"--version"}, 0, "devproxy"},
		{"help", []string{"help"}, 0, "Usage:"},
		{"-h", []string{"-h"}, 0, "devproxy check"},
		{"check clean", []string{"check", "--root", root}, 0, "0 errors, 0 warnings in 1 route file"},
		{"check json", []string{"check", "--root", root, "--format", "json"}, 0, `"routes"`},
		{"check warnings", []string{"check", "--root", warn}, 0, "[unanchored-regex]"},
		{"check warnings strict", []string{"check", "--strict", "--root", warn}, 1, "[unanchored-regex]"},
		{"check errors", []string{"check", "--root", broken}, 1, "[unknown-directive]"},
		{"explain", []string{"explain", "--root", root, "/app/x?y=1"}, 0, `"upstream_uri": "/x?y=1"`},
		{"explain unmatched", []string{"explain", "--root", root, "/zzz"}, 0, `"action": "none"`},
		{"explain with flags", []string{"explain", "--root", root, "--tunnel", "--method", "POST", "--header", "X-A: 1", "/app/"}, 0, `"X-Forwarded-Proto": "https"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("run(%q) = %d, want %d; stderr: %s", tt.args, code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.out) {
				t.Errorf("stdout should contain %q:\n%s", tt.out, stdout.String())
			}
		})
	}
}

func TestExplainUnmatchedJSON(t *testing.T) {
	root := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"explain", "--root", root, "/nothing"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var d struct {
		Path     string          `json:"path"`
		Matched  *bool           `json:"matched"`
		Action   string          `json:"action"`
		Status   int             `json:"status"`
		Location json.RawMessage `json:"location"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if d.Matched == nil || *d.Matched || d.Action != "none" || d.Status != 404 || string(d.Location) != "null" || d.Path != "/nothing" {
		t.Errorf("unmatched explain = %s", stdout.String())
	}
}
