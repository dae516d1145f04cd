package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// lspProcess is `devproxy lsp` run as the editor runs it: frames on
// stdin and stdout; its requests for settings are answered.
type lspProcess struct {
	t        *testing.T
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stderr   *proxytest.Buffer
	frames   chan map[string]json.RawMessage
	settings map[string]any
	nextID   int
}

func startLSP(t *testing.T, root string, settings map[string]any, logFile string, env ...string) *lspProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"lsp", "--log-level", "debug"}
	if logFile != "" {
		args = append(args, "--log-file", logFile)
	}
	p := &lspProcess{t: t, cmd: exec.Command(exe, args...), stderr: &proxytest.Buffer{},
		frames: make(chan map[string]json.RawMessage, 256), settings: settings}
	p.cmd.Env = append(append(os.Environ(), "DEVPROXY_RUN_MAIN=1"), env...)
	p.stdin, _ = p.cmd.StdinPipe()
	stdout, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	go func() {
		readFrames(stdout, p.frames)
		close(p.frames)
	}()
	p.call("initialize", map[string]any{"processId": os.Getpid(), "rootUri": "file://" + root,
		"initializationOptions": settings, "capabilities": map[string]any{"workspace": map[string]any{"configuration": true}}})
	p.send(map[string]any{"method": "initialized", "params": map[string]any{}})
	return p
}

func (p *lspProcess) send(msg map[string]any) {
	msg["jsonrpc"] = "2.0"
	b, _ := json.Marshal(msg)
	fmt.Fprintf(p.stdin, "Content-Length: %d\r\n\r\n%s", len(b), b)
}

// await reads frames until one satisfies want, answering the server's
// requests (configuration) on the way.
func (p *lspProcess) await(what string, within time.Duration, want func(map[string]json.RawMessage) bool) map[string]json.RawMessage {
	p.t.Helper()
	timeout := time.After(within)
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				p.t.Fatalf("stdout ended before %s\nstderr:\n%s", what, p.stderr.String())
			}
			if f["method"] != nil && f["id"] != nil {
				p.send(map[string]any{"id": json.RawMessage(f["id"]), "result": []any{p.settings}})
				continue
			}
			if want(f) {
				return f
			}
		case <-timeout:
			p.t.Fatalf("no %s within %v\nstderr:\n%s", what, within, p.stderr.String())
		}
	}
}

func (p *lspProcess) call(method string, params any) map[string]json.RawMessage {
	p.t.Helper()
	p.nextID++
	id := p.nextID
	p.send(map[string]any{"id": id, "method": method, "params": params})
	return p.await("the answer to "+method, 20*time.Second, func(f map[string]json.RawMessage) bool {
		return f["method"] == nil && string(f["id"]) == strconv.Itoa(id)
	})
}

// awaitState waits for a devproxy/status with the state.
func (p *lspProcess) awaitState(state string, within time.Duration) {
	p.t.Helper()
	p.await("devproxy/status "+state, within, func(f map[string]json.RawMessage) bool {
		var st struct{ State string }
		return string(f["method"]) == `"devproxy/status"` && json.Unmarshal(f["params"], &st) == nil && st.State == state
	})
}

// exit ends the session as the editor does on a reload: shutdown, exit.
func (p *lspProcess) exit() {
	p.t.Helper()
	p.call("shutdown", nil)
	p.send(map[string]any{"method": "exit"})
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Second): // the editor kills it then
		p.t.Fatalf("devproxy lsp did not exit within 2 s of exit\n%s", p.stderr.String())
	}
}

// TestAReloadLeavesNoGap: a window that serves the proxy reloads. Its
// language server hands the port (its listening sockets) to a keeper on
// its way out, and the keeper hands it to the window's next language
// server: of the requests sent every 10 ms all the while, only those that
// arrive in the millisecond of the second hand-over may be lost.
func TestAReloadLeavesNoGap(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "A") }))
	defer up.Close()
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /a/ { proxy_pass "+up.URL+"; }\n")
	listen := proxytest.FreeAddr(t)
	settings := map[string]any{"listen": listen, "tunnel": map[string]any{"listen": proxytest.FreeAddr(t)}}

	logs := t.TempDir()
	first := startLSP(t, root, settings, filepath.Join(logs, "first.log"), KeeperForEnv+"=20s")
	first.awaitState("running", 10*time.Second)

	var served, lost, other atomic.Int32
	var lastErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			resp, err := client.Get("http://" + listen + "/a/x")
			switch {
			case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
				lost.Add(1)
				t.Logf("lost at %s: %v", time.Now().Format("15:04:05.000"), err)
			case err != nil:
				other.Add(1)
				lastErr.Store(err.Error())
			default:
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && bytes.Equal(b, []byte("A")) {
					served.Add(1)
				} else {
					other.Add(1)
					lastErr.Store(fmt.Sprintf("%d %q", resp.StatusCode, b))
				}
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	first.exit()
	time.Sleep(700 * time.Millisecond) // the window reloads
	second := startLSP(t, root, settings, filepath.Join(logs, "second.log"))
	second.awaitState("running", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("served %d, lost %d, other %d (%v)", served.Load(), lost.Load(), other.Load(), lastErr.Load())
	// The language server hands its listening sockets to the keeper, so
	// the first hand-over closes nothing. The second, from the keeper
	// to the next language server (not its child), leaves the port free
	// for about a millisecond, between one process's close and the next
	// one's bind: only a connection that arrives then is lost (refused,
	// or reset in the closing queue); 0 or 1 here, a few more on a loaded
	// machine. Without the keeper the whole reload is: 70 of them.
	const bound = 5
	if handsSocketsOver {
		b, _ := os.ReadFile(filepath.Join(logs, "first.log.keeper"))
		if !bytes.Contains(b, []byte("serving the listening sockets the owner handed over")) {
			t.Errorf("the keeper did not serve the sockets the language server handed over:\n%s", b)
		}
	}
	if t.Failed() || lost.Load() > bound || other.Load() > 0 {
		for _, name := range []string{"first.log", "first.log.keeper", "second.log"} {
			b, _ := os.ReadFile(filepath.Join(logs, name))
			t.Logf("%s:\n%s", name, b)
		}
	}
	if lost.Load() > bound || other.Load() > 0 {
		t.Errorf("during the reload %d requests were lost and %d failed otherwise (%v)", lost.Load(), other.Load(), lastErr.Load())
	}
	if served.Load() < 50 {
		t.Errorf("only %d requests were served", served.Load())
	}
}
