//go:build unix

package tunnel

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// fakeAgents builds testdata/fakecloudflared and testdata/fakengrok once
// per test binary and returns the folder holding "cloudflared" and
// "ngrok".
func fakeAgents(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "devproxy-fake-agents")
		if buildErr != nil {
			return
		}
		for name, dir := range map[string]string{"cloudflared": "./testdata/fakecloudflared", "ngrok": "./testdata/fakengrok"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, name), dir).CombinedOutput()
			if err != nil {
				buildErr = errors.New(string(out))
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("build the fake agents: %v", buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pidOf reads the pid a fake agent wrote.
func pidOf(t *testing.T, file string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
			pid, _ := strconv.Atoi(string(b))
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the fake agent did not write its pid")
	return 0
}

// gone reports whether the process no longer exists (Stop reaped it).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func inDir(dir string) func(string) (string, error) {
	return func(name string) (string, error) { return filepath.Join(dir, name), nil }
}

func TestCloudflaredQuickTunnel(t *testing.T) {
	dir := fakeAgents(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("FAKE_PIDFILE", pidFile)
	t.Setenv("FAKE_DELAY", "300ms")
	rec := newRecorder()
	m := New(Options{TunnelAddr: "127.0.0.1:8081", Provider: ProviderCloudflared, Bin: inDir(dir), Env: testEnv,
		Log: rec.logger(), OnChange: rec.onChange})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	rec.wait(t, StatusStarting)
	up := rec.wait(t, StatusUp)
	if up.PublicURL != "https://seasonal-quiet-river-example.trycloudflare.com" || up.Provider != ProviderCloudflared {
		t.Errorf("up = %+v", up)
	}
	pid := pidOf(t, pidFile)
	if gone(pid) {
		t.Fatal("the agent exited by itself")
	}
	m.Stop()
	if !gone(pid) {
		t.Errorf("the agent (pid %d) still runs after Stop", pid)
	}
	if st := m.State(); st.Status != StatusOff {
		t.Errorf("after Stop: %+v", st)
	}
	if log := rec.logText(); !strings.Contains(log, "Your quick Tunnel has been created") {
		t.Errorf("the agent's output is not in the debug log:\n%s", log)
	}
}

func TestCloudflaredFailureIsShown(t *testing.T) {
	dir := fakeAgents(t)
	t.Setenv("FAKE_FAIL", "1")
	rec := newRecorder()
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("FAKE_PIDFILE", pidFile)
	m := New(Options{TunnelAddr: "127.0.0.1:8081", Provider: ProviderCloudflared, Bin: inDir(dir),
		Log: rec.logger(), OnChange: rec.onChange, minDelay: 10 * time.Millisecond, maxDelay: 50 * time.Millisecond})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	st := rec.wait(t, StatusError)
	if !strings.Contains(st.Err, "cloudflared exited") || !strings.Contains(st.Err, "failed to request quick Tunnel") {
		t.Errorf("error = %q", st.Err)
	}
	// It was tried cloudflaredAttempts times, each retry shown.
	rec.mu.Lock()
	retries := 0
	for _, s := range rec.states {
		if s.Status == StatusStarting && strings.Contains(s.Err, "starting it again (attempt") {
			retries++
		}
	}
	rec.mu.Unlock()
	if retries != cloudflaredAttempts-1 {
		t.Errorf("%d retries shown, want %d", retries, cloudflaredAttempts-1)
	}

	m = New(Options{Provider: ProviderCloudflared, Bin: notOnPath, Log: rec.logger()})
	m.Start(t.Context())
	for i := 0; i < 500 && m.State().Status != StatusError; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if st := m.State(); !strings.Contains(st.Err, "cloudflared is not on PATH") {
		t.Errorf("without cloudflared: %+v", st)
	}
	m.Stop()
}

func TestNgrokIsStartedWithTheTokenInItsEnvironment(t *testing.T) {
	dir := fakeAgents(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := l.Addr().String()
	l.Close()
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("FAKE_PIDFILE", pidFile)
	t.Setenv("FAKE_API_ADDR", api)
	t.Setenv("NGROK_AUTHTOKEN", "") // only Options.Env may give it
	rec := newRecorder()
	env := func(k string) string {
		switch k {
		case "NGROK_AUTHTOKEN":
			return testToken
		case "NGROK_STATIC_DOMAIN":
			return "my-dev.ngrok-free.app"
		}
		return ""
	}
	m := New(Options{TunnelAddr: "127.0.0.1:8081", Provider: ProviderNgrok, NgrokAPI: "http://" + api, Bin: inDir(dir), Env: env,
		Log: rec.logger(), OnChange: rec.onChange, minDelay: 20 * time.Millisecond, maxDelay: 200 * time.Millisecond})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	up := rec.wait(t, StatusUp)
	if up.PublicURL != "https://my-dev.ngrok-free.app" || up.Provider != ProviderNgrok {
		t.Errorf("up = %+v", up)
	}
	pid := pidOf(t, pidFile)
	m.Stop()
	if !gone(pid) {
		t.Errorf("ngrok (pid %d) still runs after Stop", pid)
	}
	log := rec.logText()
	if strings.Contains(log, testToken) {
		t.Errorf("the token is in the log:\n%s", log)
	}
	if !strings.Contains(log, "authtoken=[redacted]") || !strings.Contains(log, "--url https://my-dev.ngrok-free.app") {
		t.Errorf("the log lacks the agent's (redacted) output or its arguments:\n%s", log)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, s := range rec.states {
		if strings.Contains(s.Err, testToken) {
			t.Errorf("the token is in a state: %+v", s)
		}
	}
}

func TestNgrokWithoutATokenFails(t *testing.T) {
	dir := fakeAgents(t)
	t.Setenv("NGROK_AUTHTOKEN", "")
	rec := newRecorder()
	m := New(Options{TunnelAddr: "127.0.0.1:8081", Provider: ProviderNgrok, NgrokAPI: "http://127.0.0.1:1", Bin: inDir(dir),
		Env: func(string) string { return "" }, Log: rec.logger(), OnChange: rec.onChange,
		minDelay: 20 * time.Millisecond, maxDelay: 100 * time.Millisecond})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	st := rec.wait(t, StatusError)
	if !strings.Contains(st.Err, "ngrok exited") || !strings.Contains(st.Err, "ERR_NGROK_4018") {
		t.Errorf("error = %q", st.Err)
	}
}
