package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// message is one message the fake client received or sent.
type message struct {
	dir    string // "<-" from the server, "->" to it, "<=" the server's answer to a call
	method string
	params json.RawMessage
}

// client is a recording fake LSP client connected to a real Server over
// net.Pipe. It answers the server's calls (workspace/configuration,
// client/registerCapability) and records everything for waits and for the
// transcript printed when a test fails.
type client struct {
	t        testing.TB
	conn     jsonrpc2.Conn
	root     string
	settings any
	stop     func() // ends the session; also run by t.Cleanup

	mu       sync.Mutex
	cond     *sync.Cond
	messages []message
}

// workspace writes a txtar archive into a fresh folder. A line "-- mtime
// PATH N --" is not supported; files get distinct modification times in
// archive order (later files are newer) so "newest" is deterministic.
func workspace(t testing.TB, archive string) string {
	t.Helper()
	root := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	for i, f := range txtar.Parse([]byte(archive)).Files {
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		mt := base.Add(time.Duration(i) * time.Minute)
		os.Chtimes(p, mt, mt)
	}
	return root
}

// start runs a server on root and returns the connected client, already
// initialized (initialize + initialized).
func start(t testing.TB, root string, settings any) (*client, *Server) {
	t.Helper()
	return startServer(t, root, settings, Options{Version: "test", Debounce: 20 * time.Millisecond, DisableProxy: true})
}

// startServer is start with the server's options spelled out.
func startServer(t testing.TB, root string, settings any, opts Options) (*client, *Server) {
	t.Helper()
	return startSession(t, root, settings, opts, nil, nil)
}

// startSession starts a server whose methods may be wrapped (a test adds a
// misbehaving method this way) and whose client announces the given
// capabilities (nil: configuration when there are settings, and
// documentChanges).
func startSession(t testing.TB, root string, settings any, opts Options, wrap func(*Server) protocol.Server, capabilities map[string]any) (*client, *Server) {
	t.Helper()
	return startFolders(t, root, nil, settings, opts, wrap, capabilities)
}

// startFolders is startSession for a multi-root workspace: the client
// sends the given folders (absolute) as workspaceFolders; c.root (for
// c.uri) is root.
func startFolders(t testing.TB, root string, folders []string, settings any, opts Options, wrap func(*Server) protocol.Server, capabilities map[string]any) (*client, *Server) {
	t.Helper()
	srvConn, cliConn := net.Pipe()
	s := New(opts)
	if wrap != nil {
		s.methods = wrap(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(ctx, srvConn)
		close(done)
	}()
	c := &client{t: t, root: root, settings: settings}
	c.cond = sync.NewCond(&c.mu)
	// Payloads cross the client's connection as raw JSON in both
	// directions; call encodes and decodes them (see encode).
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(cliConn), jsonrpc2.WithCodec(wireCodec{}))
	c.conn.Go(ctx, c.handle)
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			if t.Failed() {
				t.Log("transcript:\n" + c.transcript())
			}
			cancel()
			c.conn.Close()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("the server did not stop")
			}
		})
	}
	t.Cleanup(c.stop)
	if capabilities == nil {
		capabilities = map[string]any{"workspace": map[string]any{
			"configuration": settings != nil, "workspaceEdit": map[string]any{"documentChanges": true},
		}}
	}
	var res protocol.InitializeResult
	params := map[string]any{
		"processId": nil, "rootUri": pathToURI(root),
		"initializationOptions": settings,
		"capabilities":          capabilities,
	}
	if folders != nil {
		var wf []map[string]any
		for _, f := range folders {
			wf = append(wf, map[string]any{"uri": pathToURI(f), "name": filepath.Base(f)})
		}
		params["rootUri"] = pathToURI(folders[0])
		params["workspaceFolders"] = wf
	}
	c.call("initialize", params, &res)
	if res.Capabilities.HoverProvider != protocol.Boolean(true) {
		t.Fatalf("initialize: %+v", res)
	}
	c.notify("initialized", map[string]any{})
	return c, s
}

func (c *client) handle(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	// The request's method and params are lent by jsonrpc2 until the
	// handler returns: copy them.
	c.record(message{dir: "<-", method: strings.Clone(req.Method()), params: append(json.RawMessage(nil), req.Params()...)})
	switch req.Method() {
	case "workspace/configuration":
		c.mu.Lock()
		defer c.mu.Unlock()
		return jsonrpc2.RawMessage(mustJSON([]any{c.settings})), nil
	case "client/registerCapability", "workspace/codeLens/refresh":
		return nil, nil
	}
	if req.IsCall() {
		return nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, req.Method())
	}
	return nil, nil
}

func (c *client) record(m message) {
	c.mu.Lock()
	c.messages = append(c.messages, m)
	c.mu.Unlock()
	c.cond.Broadcast()
}

// call sends a request and decodes its result into result (when not
// nil). The answer is recorded too, as "<=" with the raw result.
func (c *client) call(method string, params, result any) error {
	c.t.Helper()
	b := encode(method, params)
	c.record(message{dir: "->", method: method, params: b})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var raw jsonrpc2.RawMessage
	if _, err := c.conn.Call(ctx, method, jsonrpc2.RawMessage(b), &raw); err != nil {
		c.record(message{dir: "<=", method: method, params: mustJSON(err.Error())})
		return err
	}
	c.record(message{dir: "<=", method: method, params: json.RawMessage(raw)})
	if result == nil {
		return nil
	}
	return decode(method, raw, result)
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	b := encode(method, params)
	c.record(message{dir: "->", method: method, params: b})
	if err := c.conn.Notify(context.Background(), method, jsonrpc2.RawMessage(b)); err != nil {
		c.t.Fatalf("notify %s: %v", method, err)
	}
}

// encode writes a message's params as the editor would: devproxy/ ones
// with encoding/json (as the extension's JSON.stringify), standard ones
// with the protocol library's encoder, which knows its union types.
func encode(method string, params any) json.RawMessage {
	var b []byte
	var err error
	if strings.HasPrefix(method, "devproxy/") {
		b, err = json.Marshal(params)
	} else {
		b, err = protocol.Marshal(params)
	}
	if err != nil {
		panic(fmt.Sprintf("encode %s params: %v", method, err))
	}
	return b
}

// decode reads a message's payload the same way.
func decode(method string, data []byte, v any) error {
	if strings.HasPrefix(method, "devproxy/") {
		return json.Unmarshal(data, v)
	}
	return protocol.Unmarshal(data, v)
}

// waitFor blocks until cond holds over the recorded messages (bounded).
func (c *client) waitFor(what string, cond func(ms []message) bool) {
	c.t.Helper()
	ok := func() bool {
		timer := time.AfterFunc(10*time.Second, c.cond.Broadcast)
		defer timer.Stop()
		deadline := time.Now().Add(10 * time.Second)
		c.mu.Lock()
		defer c.mu.Unlock()
		for !cond(c.messages) {
			if time.Now().After(deadline) {
				return false
			}
			c.cond.Wait()
		}
		return true
	}()
	if !ok {
		c.t.Fatalf("timed out waiting for %s", what)
	}
}

// mark returns the number of messages so far, to wait for later ones.
func (c *client) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.messages)
}

// latestDiagnostics returns the latest published set per URI among the
// messages from index from on.
func latestDiagnostics(ms []message, from int) map[string]published {
	out := map[string]published{}
	for _, m := range ms[from:] {
		if m.dir == "<-" && m.method == "textDocument/publishDiagnostics" {
			var p protocol.PublishDiagnosticsParams
			protocol.Unmarshal(m.params, &p)
			out[string(p.URI)] = published{p, m.params}
		}
	}
	return out
}

// published is one publishDiagnostics notification, decoded and as sent.
type published struct {
	protocol.PublishDiagnosticsParams
	wire json.RawMessage
}

// waitDiagnostics waits until every listed file has had diagnostics
// published after from, and returns the latest sets by relative path.
func (c *client) waitDiagnostics(from int, rels ...string) map[string]published {
	c.t.Helper()
	c.waitFor("diagnostics for "+strings.Join(rels, ", "), func(ms []message) bool {
		got := latestDiagnostics(ms, from)
		for _, rel := range rels {
			if _, ok := got[string(c.uri(rel))]; !ok {
				return false
			}
		}
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]published{}
	for u, p := range latestDiagnostics(c.messages, from) {
		path, _ := uriToPath(uri.URI(u))
		rel, _ := filepath.Rel(c.root, path)
		out[filepath.ToSlash(rel)] = p
	}
	return out
}

func (c *client) uri(rel string) uri.URI {
	return pathToURI(filepath.Join(c.root, filepath.FromSlash(rel)))
}

func (c *client) open(rel string) {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		c.t.Fatal(err)
	}
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": c.uri(rel), "languageId": "devproxy-routes", "version": 1, "text": string(b)}})
}

func (c *client) change(rel string, version int32, text string) {
	c.t.Helper()
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": c.uri(rel), "version": version},
		"contentChanges": []map[string]any{{"text": text}}})
}

func (c *client) transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, m := range c.messages {
		p := string(m.params)
		if len(p) > 400 {
			p = p[:400] + "…"
		}
		fmt.Fprintf(&b, "%s %s %s\n", m.dir, m.method, p)
	}
	return b.String()
}

// golden compares got as it goes on the wire (JSON written by the protocol
// library's encoder, indented, with the workspace root replaced by $ROOT)
// with testdata/golden/name.json; -update rewrites it. A json.RawMessage is
// taken as it is.
func golden(t *testing.T, c *client, name string, got any) {
	t.Helper()
	raw, ok := got.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = protocol.Marshal(got); err != nil {
			t.Fatal(err)
		}
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(indented.String(), string(pathToURI(c.root)), "file://$ROOT")
	text = strings.ReplaceAll(text, c.root, "$ROOT") + "\n"
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != text {
		t.Errorf("%s differs from the golden file (rerun with -update after checking):\n--- got\n%s\n--- want\n%s", path, text, want)
	}
}

// TestMain gives the proxies the tests host a token of their own, never
// the user's.
func TestMain(m *testing.M) {
	state, err := os.MkdirTemp("", "devproxy-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("DEVPROXY_STATE_DIR", state)
	code := m.Run()
	os.RemoveAll(state)
	os.Exit(code)
}
