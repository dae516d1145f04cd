package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// TestDockerfile checks what the image promises without a Docker daemon
// (none runs here): a multi-stage build of a static binary, a final stage
// with no shell running as a non-root user, a HEALTHCHECK that is
// devproxy's own liveness probe on /devproxy/healthz, and serve
// --headless as the entry point. `devproxy healthcheck` itself is tested
// against a running proxy in TestHealthcheckCommand.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	var user, health, entry string
	static := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "FROM "):
			from = append(from, strings.Fields(line)[1])
		case strings.HasPrefix(line, "USER "):
			user = strings.Fields(line)[1]
		case strings.HasPrefix(line, "HEALTHCHECK "):
			health = line
		case strings.HasPrefix(line, "ENTRYPOINT "):
			entry = line
		case strings.HasPrefix(line, "RUN ") && strings.Contains(line, "CGO_ENABLED=0") && strings.Contains(line, "go build"):
			static = true
		}
	}
	if len(from) < 2 {
		t.Errorf("not a multi-stage build: FROM %v", from)
	}
	if last := from[len(from)-1]; !strings.HasPrefix(last, "gcr.io/distroless/static") && last != "scratch" {
		t.Errorf("the final stage %q is not distroless static or scratch (no shell)", last)
	}
	if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(user) {
		t.Errorf("USER %q is not a numeric non-root user", user)
	}
	if !static {
		t.Error("the binary is not built with CGO_ENABLED=0")
	}
	if !strings.Contains(health, `"/devproxy", "healthcheck"`) || !strings.Contains(health, httpproxy.HealthzPath) {
		t.Errorf("HEALTHCHECK does not run devproxy healthcheck on %s: %s", httpproxy.HealthzPath, health)
	}
	if !strings.Contains(entry, `"serve", "--headless"`) {
		t.Errorf("ENTRYPOINT is not serve --headless: %s", entry)
	}
}

// TestHealthcheckCommand: `devproxy healthcheck` exits 0 on a live proxy's
// /devproxy/healthz and 1 when nothing answers.
func TestHealthcheckCommand(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/ok.conf", "location /ok/ { return 204; }\n")
	p := startServeProcess(t, root, "--headless")
	addr := p.waitReady(t)
	var out, errb bytes.Buffer
	if code := run([]string{"healthcheck", "--url", "http://" + addr + httpproxy.HealthzPath}, &out, &errb); code != 0 || out.String() != "ok\n" {
		t.Errorf("a live proxy: exit %d, %q %q", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run([]string{"healthcheck", "--url", "http://" + proxytest.FreeAddr(t) + httpproxy.HealthzPath, "--timeout", "1s"}, &out, &errb); code != 1 || errb.Len() == 0 {
		t.Errorf("nothing listening: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"healthcheck", "--url", "http://" + addr + "/ok/"}, &out, &errb); code != 1 {
		t.Errorf("a page that is not the liveness endpoint: exit %d, %q", code, errb.String())
	}
}
