// Package ci holds the CI templates (README, "In CI"); this test runs
// their shell steps, as the CI would, on a copy of the demo workspace:
// devproxy and the demo's dev servers are built from this repository,
// the steps that install devproxy or start the app's own services are
// replaced by that, and every other step must succeed and leave the JUnit
// report behind.
package ci

import (
	"bufio"
	"context"
	"encoding/xml"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// step is one shell step of a template.
type step struct{ name, script string }

// githubSteps reads the run steps of a GitHub Actions workflow: each
// "- name:" with a "run:" (a line, or a "|" block indented below it).
func githubSteps(t *testing.T, path string) []step {
	t.Helper()
	lines := readLines(t, path)
	var out []step
	name := ""
	for i := 0; i < len(lines); i++ {
		trim := strings.TrimSpace(lines[i])
		if n, ok := strings.CutPrefix(trim, "- name: "); ok {
			name = n
			continue
		}
		run, ok := strings.CutPrefix(trim, "run: ")
		if !ok {
			continue
		}
		if run != "|" {
			out = append(out, step{name, run})
			continue
		}
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		var block []string
		for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > indent) {
			i++
			block = append(block, strings.TrimSpace(lines[i]))
		}
		out = append(out, step{name, strings.Join(block, "\n")})
	}
	return out
}

// gitlabSteps reads the script lines of a GitLab CI job.
func gitlabSteps(t *testing.T, path string) []step {
	t.Helper()
	var out []step
	in := false
	for _, line := range readLines(t, path) {
		trim := strings.TrimSpace(line)
		switch {
		case trim == "script:":
			in = true
		case in && strings.HasPrefix(trim, "- "):
			out = append(out, step{trim[2:], trim[2:]})
		case in && trim != "":
			in = false
		}
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// demo builds devproxy and the demo's dev servers, copies the demo with
// its upstreams on free ports, starts them, and returns the binaries'
// folder and the copy.
func demo(t *testing.T) (bin, routes string) {
	t.Helper()
	bin = t.TempDir()
	for pkg, name := range map[string]string{"../../server/cmd/devproxy": "devproxy", "../demo/upstreams": "demo-upstreams"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	web, api := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	routes = t.TempDir()
	err := filepath.Walk("../demo", func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		rel, _ := filepath.Rel("../demo", p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := strings.NewReplacer("127.0.0.1:5173", web, "127.0.0.1:5174", api).Replace(string(b))
		os.MkdirAll(filepath.Join(routes, filepath.Dir(rel)), 0o755)
		return os.WriteFile(filepath.Join(routes, rel), []byte(s), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	up := exec.Command(filepath.Join(bin, "demo-upstreams"), "--web", web, "--api", api)
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Process.Kill(); up.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("tcp", api)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the demo's dev servers did not start")
		}
	}
	return bin, routes
}

// runSteps runs the steps in order in bash in dir, with the binaries on
// PATH; steps named in skip are what the test did itself.
func runSteps(t *testing.T, steps []step, bin, dir string, skip func(step) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	listen := proxytest.FreeAddr(t)
	env := append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ROUTES="+dir, "DEVPROXY_LISTEN="+listen,
		"DEVPROXY_STATE_DIR="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	ran := 0
	for _, s := range steps {
		if skip(s) {
			t.Logf("skipped (done by the test): %s", s.name)
			continue
		}
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", s.script)
		cmd.Dir, cmd.Env = dir, env
		// The proxy a step starts in the background outlives the step, as
		// in CI; its process group ends with the test.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out, err := cmd.CombinedOutput()
		pgid := cmd.Process.Pid
		t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGTERM) })
		if err != nil {
			t.Fatalf("step %q failed: %v\n%s", s.name, err, out)
		}
		ran++
	}
	if ran < 3 {
		t.Fatalf("only %d steps ran", ran)
	}
	// The proxy a step started serves the demo, headless.
	for path, want := range map[string]int{"/web/": 200, "/api/users": 200, "/devproxy/healthz": 200, "/devproxy/": 404} {
		resp, err := http.Get("http://" + listen + path)
		if err != nil {
			t.Fatalf("the proxy the steps started: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("through the proxy the steps started, %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "devproxy-routes.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// <testsuite> or <testsuites> holding them.
	type suite struct {
		Tests    int     `xml:"tests,attr"`
		Failures int     `xml:"failures,attr"`
		Errors   int     `xml:"errors,attr"`
		Suites   []suite `xml:"testsuite"`
	}
	var root suite
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatalf("the JUnit report: %v\n%s", err, b)
	}
	tests, failures := root.Tests, root.Failures+root.Errors
	for _, s := range root.Suites {
		tests += s.Tests
		failures += s.Failures + s.Errors
	}
	if tests == 0 || failures != 0 {
		t.Errorf("the JUnit report has %d tests and %d failures:\n%s", tests, failures, b)
	}
}

func TestGitHubActionsSteps(t *testing.T) {
	bin, routes := demo(t)
	steps := githubSteps(t, "github-actions.yml")
	runSteps(t, steps, bin, routes, func(s step) bool {
		return s.name == "Install devproxy" || s.name == "Start the app's services"
	})
}

func TestGitLabCISteps(t *testing.T) {
	bin, routes := demo(t)
	steps := gitlabSteps(t, "gitlab-ci.yml")
	runSteps(t, steps, bin, routes, func(s step) bool {
		return strings.HasPrefix(s.script, "go install ") || strings.Contains(s.script, "start-services")
	})
}
