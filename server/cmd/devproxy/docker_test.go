package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// TestDockerfile checks what the image promises, on the text (read with
// image_test.go's reader): a multi-stage build of a static binary, a final
// stage with no shell (scratch, or distroless's static base) running as a
// numeric non-root user, a HEALTHCHECK that is devproxy's own liveness
// probe on /devproxy/healthz, and serve --headless as the entry point.
// TestImageRunsAsBuilt builds and runs the image as the Dockerfile says;
// `devproxy healthcheck` itself is tested against a running proxy in
// TestHealthcheckCommand.
func TestDockerfile(t *testing.T) {
	df := readDockerfile(t)
	if len(df.stages) < 2 {
		t.Fatalf("not a multi-stage build: %d stages", len(df.stages))
	}
	final := df.final()
	if final.from != "scratch" && !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("the final stage %q is not scratch or distroless static (no shell)", final.from)
	}
	if len(final.all("RUN")) != 0 {
		t.Errorf("the final stage has RUN instructions (it has no shell): %v", final.all("RUN"))
	}
	if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(final.user()) {
		t.Errorf("USER %q is not a numeric non-root user", final.user())
	}
	static := false
	for _, st := range df.stages[:len(df.stages)-1] {
		for _, run := range st.runs("") {
			static = static || strings.Contains(run, "CGO_ENABLED=0") && strings.Contains(run, "go build")
		}
	}
	if !static {
		t.Error("the binary is not built with CGO_ENABLED=0")
	}
	if h, err := final.healthcheck(); err != nil {
		t.Error(err)
	} else if len(h.cmd) < 2 || h.cmd[0] != "/devproxy" || h.cmd[1] != "healthcheck" || !strings.Contains(strings.Join(h.cmd, " "), httpproxy.HealthzPath) {
		t.Errorf("HEALTHCHECK does not run devproxy healthcheck on %s: %q", httpproxy.HealthzPath, h.cmd)
	}
	if e, err := final.entrypoint(); err != nil {
		t.Error(err)
	} else if len(e) < 3 || e[0] != "/devproxy" || e[1] != "serve" || e[2] != "--headless" {
		t.Errorf("ENTRYPOINT is not /devproxy serve --headless: %q", e)
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
