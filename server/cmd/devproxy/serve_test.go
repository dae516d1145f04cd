package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkLines are the error and warning lines `devproxy check` prints for
// root.
func checkLines(t *testing.T, root string) []string {
	t.Helper()
	var out, errb bytes.Buffer
	run([]string{"check", "--root", root}, &out, &errb)
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, ": error: ") || strings.Contains(l, ": warning: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("check printed no problems:\n%s%s", out.String(), errb.String())
	}
	return lines
}

// `serve` prints the route files' problems as `check` does, at start and
// when a reload changes them (not when it leaves them as they were), and
// logs each request on one compact line.
func TestServePrintsRouteProblemsAndRequests(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/ok.conf", "location /ok/ { return 204; }\n")
	broken := writeFile(t, root, "apps/broken.conf", "location /broken/ {\n  return 204;\n  bogus on;\n}\n")
	first := checkLines(t, root)
	p := startServeProcess(t, root)
	addr := p.waitReady(t)
	for _, l := range first {
		waitFor(t, "serve prints "+l, 5*time.Second, func() bool { return strings.Contains(p.stderr.String(), l+"\n") })
	}

	// A request, and the 404 of the broken file, on the access log.
	if status, _ := httpGet(addr, "/ok/x?token=secret"); status != 204 {
		t.Fatalf("/ok/x: %d", status)
	}
	waitFor(t, "an access line for /ok/x", 5*time.Second, func() bool {
		return strings.Contains(p.stderr.String(), "GET    /ok/x?…                  → apps/ok.conf:1 ")
	})
	if status, body := httpGet(addr, "/broken/"); status != 404 || !strings.Contains(body, "apps/broken.conf:1 would take /broken/ but has errors: ") {
		t.Errorf("/broken/: %d %s", status, body)
	}
	if strings.Contains(p.stderr.String(), "secret") {
		t.Errorf("the log carries the query's value:\n%s", p.stderr.String())
	}

	// A save that changes nothing reloads without printing again.
	reloads := func() int { return strings.Count(p.stderr.String(), "routes reloaded") }
	n := reloads()
	future := time.Now().Add(time.Minute)
	os.Chtimes(broken, future, future)
	os.WriteFile(filepath.Join(root, "apps/ok.conf"), []byte("location /ok/ { return 204; }\n# touched\n"), 0o644)
	waitFor(t, "a reload", 5*time.Second, func() bool { return reloads() > n })
	time.Sleep(100 * time.Millisecond)
	for _, l := range first {
		if c := strings.Count(p.stderr.String(), l+"\n"); c != 1 {
			t.Errorf("%q printed %d times after a reload that did not change it", l, c)
		}
	}

	// A save that changes the problems prints them again.
	os.WriteFile(broken, []byte("location /broken/ {\n  return 204;\n  other_bogus on;\n}\n"), 0o644)
	for _, l := range checkLines(t, root) {
		waitFor(t, "serve prints "+l, 5*time.Second, func() bool { return strings.Contains(p.stderr.String(), l+"\n") })
	}
	// Fixed: said once.
	os.WriteFile(broken, []byte("location /broken/ { return 204; }\n"), 0o644)
	waitFor(t, "the problems are gone", 5*time.Second, func() bool { return strings.Contains(p.stderr.String(), "no errors or warnings now") })
}

// --log-format json makes every stderr line a JSON object, access entries
// and problems included; --access-log=false drops the access lines.
func TestServeLogFormats(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/ok.conf", "location /ok/ { return 204; }\n")
	writeFile(t, root, "apps/broken.conf", "location /broken/ { bogus on; }\n")

	p := startServeProcess(t, root, "--log-format", "json")
	addr := p.waitReady(t)
	httpGet(addr, "/ok/x")
	waitFor(t, "a JSON access entry", 5*time.Second, func() bool { return strings.Contains(p.stderr.String(), `"path":"/ok/x"`) })
	var sawProblem bool
	for _, l := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not JSON: %q", l)
		}
		if m["msg"] == "route file problem" && m["file"] == "apps/broken.conf" {
			sawProblem = true
		}
		if m["msg"] == "request" && (m["method"] != "GET" || m["route"] != "apps/ok.conf:1" || m["status"] != 204.0) {
			t.Errorf("access entry %v", m)
		}
	}
	if !sawProblem {
		t.Errorf("no problem record:\n%s", p.stderr.String())
	}

	q := startServeProcess(t, root, "--access-log=false")
	addr = q.waitReady(t)
	httpGet(addr, "/ok/y")
	httpGet(addr, "/ok/y") // the second is answered after the first was (not) logged
	if strings.Contains(q.stderr.String(), "/ok/y") {
		t.Errorf("--access-log=false logged a request:\n%s", q.stderr.String())
	}
}

// --tunnel starts a tunnel when serve owns the port and prints its URL;
// a value that is no provider and no URL is refused before anything
// starts, naming the flag.
func TestServeTunnelFlag(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/ok.conf", "location /ok/ { return 204; }\n")
	p := startServeProcess(t, root, "--tunnel", "https://Demo.Example.com/")
	p.waitReady(t)
	waitFor(t, "the tunnel's URL on stdout", 5*time.Second, func() bool {
		return strings.Contains(p.stdout.String(), "tunnel (manual) up: https://demo.example.com;")
	})

	var out, errb bytes.Buffer
	if code := run([]string{"serve", "--root", root, "--listen", "127.0.0.1:0", "--tunnel", "ftp://x"}, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), `--tunnel "ftp://x" is not ngrok, cloudflared, auto or a public URL`) {
		t.Errorf("a bad --tunnel: exit %d\n%s", code, errb.String())
	}
}

// serve --headless serves the routes and /devproxy/healthz, not the
// dashboard, and logs JSON lines.
func TestServeHeadless(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/ok.conf", "location /ok/ { return 204; }\n")
	p := startServeProcess(t, root, "--headless")
	addr := p.waitReady(t)
	for path, want := range map[string]int{"/ok/x": 204, "/devproxy/healthz": 200, "/": 404, "/devproxy/": 404, "/routes.json": 404} {
		if status, _ := httpGet(addr, path); status != want {
			t.Errorf("%s: %d, want %d", path, status, want)
		}
	}
	waitFor(t, "a JSON access line", 5*time.Second, func() bool { return strings.Contains(p.stderr.String(), `"path":"/ok/x"`) })
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("not a JSON line: %q", line)
		}
	}
}
