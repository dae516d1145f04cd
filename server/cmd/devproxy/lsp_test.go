package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// TestMain lets a test run this binary's main: with DEVPROXY_RUN_MAIN set,
// the test binary is devproxy.
func TestMain(m *testing.M) {
	if os.Getenv("DEVPROXY_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	// The per-user token of the processes the tests start (inherited) is
	// the tests' own, never the user's.
	state, err := os.MkdirTemp("", "devproxy-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("DEVPROXY_STATE_DIR", state)
	// A language server the tests stop leaves a keeper behind (keeper.go)
	// for a moment only.
	os.Setenv(KeeperForEnv, "1s")
	code := m.Run()
	os.RemoveAll(state)
	os.Exit(code)
}

// TestLSPStdoutCarriesOnlyFrames drives `devproxy lsp` as a separate
// process through a session that logs at debug level, hosts the proxy,
// meets broken files, a panicking-free but failing request and bad
// notifications, and checks that stdout holds nothing but well-formed
// base-protocol frames, while the log went to stderr.
func TestLSPStdoutCarriesOnlyFrames(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /api/ { proxy_pass http://127.0.0.1:5999/; }\n")
	writeFile(t, root, "apps/b.conf", "location /api/ { proxy_pass http://127.0.0.1:5998/; }\n")
	writeFile(t, root, "apps/broken.conf", "location /x/ { proxy_pas http://x; \n")
	// Both of the proxy's listeners get free ports, so that the test does
	// not depend on 8080 and 8081 being free.
	listen, tunnel := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	settings := map[string]any{"listen": listen, "tunnel": map[string]any{"listen": tunnel}}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "lsp", "--log-level", "debug")
	cmd.Env = append(os.Environ(), "DEVPROXY_RUN_MAIN=1")
	stdin, _ := cmd.StdinPipe()
	stdoutPipe, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Everything read from stdout is kept, to be checked byte by byte.
	var raw bytes.Buffer
	frames := make(chan map[string]json.RawMessage, 256)
	readErr := make(chan error, 1)
	go func() {
		readErr <- readFrames(io.TeeReader(stdoutPipe, &raw), frames)
		close(frames)
	}()
	send := func(msg map[string]any) {
		msg["jsonrpc"] = "2.0"
		b, _ := json.Marshal(msg)
		fmt.Fprintf(stdin, "Content-Length: %d\r\n\r\n%s", len(b), b)
	}
	// awaitFrame reads frames until one satisfies want, answering the
	// server's own requests (configuration) on the way.
	awaitFrame := func(what string, want func(map[string]json.RawMessage) bool) map[string]json.RawMessage {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("stdout ended before %s: %v\nstderr:\n%s", what, <-readErr, stderr.String())
				}
				if f["method"] != nil && f["id"] != nil {
					var req struct{ ID json.RawMessage }
					b, _ := json.Marshal(f)
					json.Unmarshal(b, &req)
					send(map[string]any{"id": req.ID, "result": []any{settings}})
					continue
				}
				if want(f) {
					return f
				}
			case <-timeout:
				t.Fatalf("no %s\nstderr:\n%s", what, stderr.String())
			}
		}
	}
	await := func(id int) map[string]json.RawMessage {
		t.Helper()
		return awaitFrame(fmt.Sprintf("response to %d", id), func(f map[string]json.RawMessage) bool {
			return f["method"] == nil && string(f["id"]) == strconv.Itoa(id)
		})
	}
	uri := "file://" + root + "/apps/a.conf"
	send(map[string]any{"id": 1, "method": "initialize", "params": map[string]any{
		"processId": os.Getpid(), "rootUri": "file://" + root,
		"initializationOptions": settings,
		"capabilities":          map[string]any{"workspace": map[string]any{"configuration": true}}}})
	await(1)
	send(map[string]any{"method": "initialized", "params": map[string]any{}})
	awaitFrame("proxy status", func(f map[string]json.RawMessage) bool {
		return string(f["method"]) == `"devproxy/status"`
	})
	send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "devproxy-routes", "version": 1, "text": "location /api/ { proxy_pass http://127.0.0.1:5999/; }\n"}}})
	send(map[string]any{"method": "textDocument/didChange", "params": "not an object"})
	send(map[string]any{"id": 2, "method": "textDocument/hover", "params": map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 0, "character": 3}}})
	await(2)
	send(map[string]any{"id": 3, "method": "no/such/method", "params": map[string]any{}})
	if f := await(3); f["error"] == nil {
		t.Errorf("an unknown method answered %s", f["result"])
	}
	send(map[string]any{"id": 4, "method": "devproxy/routes", "params": map[string]any{}})
	await(4)
	send(map[string]any{"id": 5, "method": "shutdown"})
	await(5)
	send(map[string]any{"method": "exit"})
	stdin.Close()

	for range frames { // drain until stdout closes
	}
	if err := <-readErr; err != nil {
		t.Errorf("stdout is not a clean stream of frames: %v\nstdout:\n%q", err, raw.String())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("devproxy lsp exited with %v after shutdown and exit", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("devproxy lsp did not exit after exit")
	}
	if !bytes.Contains(stderr.Bytes(), []byte("proxy running")) {
		t.Errorf("the log should be on stderr; stderr:\n%s", stderr.String())
	}
}

// readFrames parses r strictly as base-protocol frames: headers
// (Content-Length required), an empty line, then exactly that many bytes of
// a JSON-RPC 2.0 object. Anything else is an error.
func readFrames(r io.Reader, out chan<- map[string]json.RawMessage) error {
	br := bufio.NewReader(r)
	tp := textproto.NewReader(br)
	for n := 0; ; n++ {
		if _, err := br.Peek(1); err == io.EOF {
			return nil
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			return fmt.Errorf("frame %d: headers: %v", n, err)
		}
		for k := range h {
			if k != "Content-Length" && k != "Content-Type" {
				return fmt.Errorf("frame %d: unexpected header %q", n, k)
			}
		}
		size, err := strconv.Atoi(h.Get("Content-Length"))
		if err != nil || size <= 0 {
			return fmt.Errorf("frame %d: Content-Length %q", n, h.Get("Content-Length"))
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(br, body); err != nil {
			return fmt.Errorf("frame %d: body: %v", n, err)
		}
		var msg map[string]json.RawMessage
		if err := json.Unmarshal(body, &msg); err != nil {
			return fmt.Errorf("frame %d: body is not a JSON object: %v: %q", n, err, body)
		}
		if string(msg["jsonrpc"]) != `"2.0"` {
			return fmt.Errorf("frame %d: not JSON-RPC 2.0: %q", n, body)
		}
		out <- msg
	}
}
