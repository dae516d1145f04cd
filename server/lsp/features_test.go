package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

func readFile(t *testing.T, c *client, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func codeActions(t *testing.T, c *client, rel string, line uint32) []*protocol.CodeAction {
	t.Helper()
	return codeActionsAt(t, c, rel, protocol.Position{Line: line, Character: 2})
}

func findAction(t *testing.T, actions []*protocol.CodeAction, title string) *protocol.CodeAction {
	t.Helper()
	var titles []string
	for _, a := range actions {
		if a.Title == title {
			return a
		}
		titles = append(titles, a.Title)
	}
	t.Fatalf("no action %q among %q", title, titles)
	return nil
}

// reload tells the server files changed on disk and waits for the new
// diagnostics of rels.
func reload(t *testing.T, c *client, rels ...string) map[string]published {
	t.Helper()
	from := c.mark()
	var changes []map[string]any
	for _, rel := range rels {
		changes = append(changes, map[string]any{"uri": c.uri(rel), "type": 2})
	}
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": changes})
	return c.waitDiagnostics(from, rels...)
}

const webWorkspace = `
-- apps/web.conf --
location = /web { return 301 /web/; }
location ^~ /web/ {
    proxy_set_header X-Forwarded-Prefix /web;
    proxy_pass http://127.0.0.1:5173/;
}
location ~ ^/web/_next/(.+)$ { proxy_pass http://127.0.0.1:5173/web/_next/$1; }
location /webhooks/ { proxy_pass http://127.0.0.1:5175; }
-- .devproxy/resolutions.json --
{"/web/": "apps/web.conf"}
`

func TestRenameRoute(t *testing.T) {
	root := workspace(t, webWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/web.conf")
	at := protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: c.uri("apps/web.conf")}, Position: protocol.Position{Line: 1, Character: 14}}
	var prep protocol.PrepareRenameResult
	if err := c.call("textDocument/prepareRename", &protocol.PrepareRenameParams{TextDocumentPositionParams: at}, &prep); err != nil {
		t.Fatal(err)
	}
	if p, ok := prep.(*protocol.PrepareRenamePlaceholder); !ok || p.Placeholder != "/web/" {
		t.Errorf("prepareRename: %#v", prep)
	}
	var edit protocol.WorkspaceEdit
	if err := c.call("textDocument/rename", &protocol.RenameParams{TextDocumentPositionParams: at, NewName: "shop"}, &edit); err != nil {
		t.Fatal(err)
	}
	golden(t, c, "rename-web-to-shop", &edit)
	applyEdit(t, c, edit)
	got := readFile(t, c, "apps/web.conf")
	want := `location = /shop { return 301 /shop/; }
location ^~ /shop/ {
    proxy_set_header X-Forwarded-Prefix /shop;
    proxy_pass http://127.0.0.1:5173/;
}
location ~ ^/shop/_next/(.+)$ { proxy_pass http://127.0.0.1:5173/web/_next/$1; }
location /webhooks/ { proxy_pass http://127.0.0.1:5175; }
`
	if got != want {
		t.Errorf("after the rename:\n%s\nwant:\n%s", got, want)
	}
	if pins := readFile(t, c, ".devproxy/resolutions.json"); !strings.Contains(pins, `"/shop/": "apps/web.conf"`) || strings.Contains(pins, `"/web/"`) {
		t.Errorf("the pin was not renamed: %s", pins)
	}
	// A reserved name is refused with a reason.
	err := c.call("textDocument/rename", &protocol.RenameParams{TextDocumentPositionParams: at, NewName: "/status"}, &edit)
	if code(err) != jsonrpc2.InvalidParams || !strings.Contains(err.Error(), "belongs to the proxy") {
		t.Errorf("renaming to /status: %v", err)
	}
}

func TestQuickFixesApplied(t *testing.T) {
	root := workspace(t, `
-- apps/a.conf --
location /api/ { proxy_pass http://127.0.0.1:5999/; }
location ~ \.js$ { return 204; }
location /dup/ { return 204; }
location ^~ /dup/ { return 200; }
location /nosl/ { return 200 ok; }
-- apps/b.conf --
location /api/ { proxy_pass http://127.0.0.1:5998/; }
`)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf", "apps/b.conf")

	// a.conf is older and loses /api/: move its block to overrides/.
	move := findAction(t, codeActions(t, c, "apps/a.conf", 0), "Move this block to overrides/a.conf")
	golden(t, c, "codeaction-move-to-overrides", move.Edit)
	applyEdit(t, c, *move.Edit)
	if !strings.Contains(readFile(t, c, "overrides/a.conf"), "location /api/ { proxy_pass http://127.0.0.1:5999/; }") {
		t.Fatalf("overrides/a.conf: %s", readFile(t, c, "overrides/a.conf"))
	}
	reload(t, c, "apps/a.conf", "overrides/a.conf")
	var d routing.Decision
	c.call("devproxy/explain", ExplainParams{URL: "/api/x"}, &d)
	if d.Location == nil || d.Location.File != "overrides/a.conf" {
		t.Fatalf("after the move /api/ goes to %+v", d.Location)
	}

	// The remaining lines of a.conf: the regex is now on line 0.
	anchor := findAction(t, codeActions(t, c, "apps/a.conf", 0), `Anchor the regex: ^/a/.*\.js$`)
	applyEdit(t, c, *anchor.Edit)
	reload(t, c, "apps/a.conf")
	dup := findAction(t, codeActions(t, c, "apps/a.conf", 2), "Remove this duplicate block")
	applyEdit(t, c, *dup.Edit)
	reload(t, c, "apps/a.conf")
	redirect := findAction(t, codeActions(t, c, "apps/a.conf", 2), "Add the redirect /nosl → /nosl/")
	applyEdit(t, c, *redirect.Edit)
	want := "location ~ ^/a/.*\\.js$ { return 204; }\nlocation /dup/ { return 204; }\nlocation = /nosl { return 301 /nosl/; }\nlocation /nosl/ { return 200 ok; }\n"
	if got := readFile(t, c, "apps/a.conf"); got != want {
		t.Fatalf("a.conf after the fixes:\n%s\nwant:\n%s", got, want)
	}
	got := reload(t, c, "apps/a.conf")
	if ds := got["apps/a.conf"].Diagnostics; len(ds) != 0 {
		t.Errorf("a.conf still has findings after the fixes: %+v", ds)
	}
	c.call("devproxy/explain", ExplainParams{URL: "/nosl"}, &d)
	if d.Status != 301 || d.ResponseHeaders["Location"] != "/nosl/" {
		t.Errorf("the added redirect: %+v", d)
	}
}

func TestHoverLensSymbolsCompletionDefinition(t *testing.T) {
	root := workspace(t, webWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/web.conf")
	doc := protocol.TextDocumentIdentifier{URI: c.uri("apps/web.conf")}
	at := func(line, char uint32) protocol.TextDocumentPositionParams {
		return protocol.TextDocumentPositionParams{TextDocument: doc, Position: protocol.Position{Line: line, Character: char}}
	}

	var h protocol.Hover
	if err := c.call("textDocument/hover", &protocol.HoverParams{TextDocumentPositionParams: at(1, 3)}, &h); err != nil {
		t.Fatal(err)
	}
	md, ok := h.Contents.(*protocol.MarkupContent)
	if !ok || md.Kind != protocol.MarkupKindMarkdown {
		t.Fatalf("hover contents %#v", h.Contents)
	}
	for _, want := range []string{"location ^~ /web/", "regex locations are not checked", "http://127.0.0.1:5173", "`/web/example?x=1` → `/example?x=1`", "Active"} {
		if !strings.Contains(md.Value, want) {
			t.Errorf("hover lacks %q:\n%s", want, md.Value)
		}
	}

	var lenses []protocol.CodeLens
	if err := c.call("textDocument/codeLens", &protocol.CodeLensParams{TextDocument: doc}, &lenses); err != nil {
		t.Fatal(err)
	}
	var open, upstream int
	for _, l := range lenses {
		if l.Command.Command == "devproxy.openRoute" {
			open++
			var args []string
			for _, a := range l.Command.Arguments {
				var s string
				json.Unmarshal(a, &s)
				args = append(args, s)
			}
			if got := fmt.Sprint(args); got != "[http://127.0.0.1:8080/web/]" && got != "[http://127.0.0.1:8080/web]" && got != "[http://127.0.0.1:8080/webhooks/]" {
				t.Errorf("lens arguments %v", got)
			}
		}
		if strings.HasPrefix(l.Command.Title, "→ http://127.0.0.1:517") {
			upstream++
		}
	}
	if open != 3 || upstream != 3 {
		t.Errorf("lenses: %d open, %d upstream: %+v", open, upstream, lenses)
	}

	var symbols protocol.DocumentSymbolResult
	if err := c.call("textDocument/documentSymbol", &protocol.DocumentSymbolParams{TextDocument: doc}, &symbols); err != nil {
		t.Fatal(err)
	}
	if syms, ok := symbols.(protocol.DocumentSymbolSlice); !ok || len(syms) != 4 || syms[1].Name != "location ^~ /web/" {
		t.Errorf("symbols %#v", symbols)
	}

	// Completion: directive names at the start of a statement inside a
	// block, variables after $, "location" at the top level.
	c.open("apps/web.conf")
	text := readFile(t, c, "apps/web.conf")
	const anchor = "    proxy_pass http://127.0.0.1:5173/;"
	complete := func(version int32, insert string, line, char uint32) *protocol.CompletionList {
		t.Helper()
		c.change("apps/web.conf", version, strings.Replace(text, anchor, anchor+"\n"+insert, 1))
		var result protocol.CompletionResult
		if err := c.call("textDocument/completion", &protocol.CompletionParams{TextDocumentPositionParams: at(line, char)}, &result); err != nil {
			t.Fatal(err)
		}
		list, ok := result.(*protocol.CompletionList)
		if !ok {
			t.Fatalf("completion answered %#v", result)
		}
		return list
	}
	if list := complete(2, "    prox", 4, 8); !hasItem(list, "proxy_pass") || !hasItem(list, "rewrite") || hasItem(list, "$host") || hasItem(list, "location") {
		t.Errorf("directive completion: %+v", list.Items)
	}
	if list := complete(3, "    set $up x; proxy_set_header X $ho", 4, 37); !hasItem(list, "$host") || !hasItem(list, "$up") || hasItem(list, "proxy_pass") {
		t.Errorf("variable completion: %+v", list.Items)
	}
	// Before the first block and after the last one is the top level.
	for _, line := range []uint32{0, 8} {
		if list := complete(4, "", line, 0); !hasItem(list, "location") || hasItem(list, "proxy_pass") {
			t.Errorf("top-level completion on line %d: %+v", line, list.Items)
		}
	}

	// Definition from $var to its set.
	c.change("apps/web.conf", 5, "location /v/ {\n    set $u 127.0.0.1:1;\n    proxy_pass http://$u/;\n}\n")
	var def protocol.DefinitionResult
	if err := c.call("textDocument/definition", &protocol.DefinitionParams{TextDocumentPositionParams: at(2, 24)}, &def); err != nil {
		t.Fatal(err)
	}
	if locs, ok := def.(protocol.LocationSlice); !ok || len(locs) != 1 || locs[0].Range.Start.Line != 1 || locs[0].URI != doc.URI {
		t.Errorf("definition of $u: %#v", def)
	}
}

func hasItem(l *protocol.CompletionList, label string) bool {
	for _, it := range l.Items {
		if it.Label == label {
			return true
		}
	}
	return false
}

// schema compiles schemas/name, with its siblings loaded under their $id
// so that cross-schema references resolve offline.
func schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(here), "..", "..", "schemas")
	c := jsonschema.NewCompiler()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	id := ""
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		u := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(u, doc); err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == name {
			id = u
		}
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("does not match the schema: %v\n%s", err, b)
	}
}

func TestCustomMethodsMatchTheirSchemas(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf")
	var routes json.RawMessage
	if err := c.call("devproxy/routes", map[string]any{}, &routes); err != nil {
		t.Fatal(err)
	}
	var rr RoutesResult
	json.Unmarshal(routes, &rr)
	validate(t, schema(t, "lsp-routes.schema.json"), rr)
	ids := map[string]bool{}
	for _, r := range rr.Routes {
		if ids[r.ID] {
			t.Errorf("duplicate route id %q", r.ID)
		}
		ids[r.ID] = true
	}
	if !ids["apps/a.conf#/api/"] || !ids["apps/b.conf#/api"] || len(rr.Conflicts) != 1 {
		t.Errorf("routes: %s", routes)
	}

	var d json.RawMessage
	if err := c.call("devproxy/explain", ExplainParams{URL: "/api/x?y=1", Headers: map[string]string{"X-Test": "1"}}, &d); err != nil {
		t.Fatal(err)
	}
	var explained map[string]any
	json.Unmarshal(d, &explained)
	validate(t, schema(t, "explain.schema.json"), explained)
	// b.conf's "location /api" with proxy_pass ".../" wins (newest); nginx
	// replaces the prefix /api with /, leaving a double slash.
	if explained["upstream"] != "http://127.0.0.1:5998" || explained["upstream_uri"] != "//x?y=1" {
		t.Errorf("explain: %s", d)
	}

	// A change sends devproxy/routesChanged with a higher version.
	c.open("apps/a.conf")
	from := c.mark()
	c.change("apps/a.conf", 2, "location /a/ { return 204; }\n")
	c.waitFor("devproxy/routesChanged", func(ms []message) bool {
		for _, m := range ms[from:] {
			if m.method == "devproxy/routesChanged" {
				var p struct{ Version int64 }
				json.Unmarshal(m.params, &p)
				return p.Version > rr.Version
			}
		}
		return false
	})
	if err := c.call("devproxy/explain", map[string]any{}, &d); err == nil {
		t.Error("devproxy/explain without a url must be an error")
	}
}

// code is the JSON-RPC error code of an answer; 0 for none.
func code(err error) jsonrpc2.Code {
	var e *jsonrpc2.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// testOptions are start's.
func testOptions() Options {
	return Options{Version: "test", Debounce: 20 * time.Millisecond, DisableProxy: true}
}

// panicking is the server with a request and a notification that panic.
type panicking struct{ *Server }

func (panicking) Hover(context.Context, *protocol.HoverParams) (*protocol.Hover, error) {
	panic("boom")
}

func (panicking) DidSave(context.Context, *protocol.DidSaveTextDocumentParams) error {
	panic("boom in a notification")
}

// TestBadMessagesNeverCloseTheConnection sends malformed notifications and
// requests, an unknown method, and a request and a notification whose
// handlers panic; the connection keeps answering.
func TestBadMessagesNeverCloseTheConnection(t *testing.T) {
	root := workspace(t, conflictWorkspace)
	c, _ := startSession(t, root, nil, testOptions(), func(s *Server) protocol.Server { return panicking{s} }, nil)
	c.notify("textDocument/didOpen", "not an object")
	c.notify("textDocument/didChange", map[string]any{"textDocument": 7})
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": "not a uri"}}})
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": c.uri("apps/a.conf")}})
	c.notify("no/such/notification", map[string]any{})
	if err := c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": c.uri("apps/a.conf")}, "position": map[string]any{"line": 0, "character": 3}}, nil); code(err) != jsonrpc2.InternalError || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a panicking request: %v", err)
	}
	if err := c.call("textDocument/codeLens", map[string]any{"textDocument": 7}, nil); code(err) != jsonrpc2.InvalidParams {
		t.Errorf("a request with bad params: %v", err)
	}
	if err := c.call("no/such/method", map[string]any{}, nil); code(err) != jsonrpc2.MethodNotFound {
		t.Errorf("an unknown method: %v", err)
	}
	if err := c.call("textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": c.uri("apps/a.conf")}, "options": map[string]any{"tabSize": 4, "insertSpaces": true}}, nil); code(err) != jsonrpc2.MethodNotFound {
		t.Errorf("a standard method the server does not announce: %v", err)
	}
	var rr RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &rr); err != nil || len(rr.Routes) == 0 {
		t.Fatalf("the connection stopped answering: %v", err)
	}
}

// blocking is the server with a hover that waits until it is cancelled.
type blocking struct {
	*Server
	started chan struct{}
}

func (b blocking) Hover(ctx context.Context, _ *protocol.HoverParams) (*protocol.Hover, error) {
	close(b.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestCancelRequest cancels a request in flight with $/cancelRequest; it
// ends with LSP's RequestCancelled code and the connection goes on.
func TestCancelRequest(t *testing.T) {
	started := make(chan struct{})
	root := workspace(t, conflictWorkspace)
	c, _ := startSession(t, root, nil, testOptions(), func(s *Server) protocol.Server { return blocking{s, started} }, nil)
	errc := make(chan error, 1)
	hover := &protocol.HoverParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: c.uri("apps/a.conf")}}}
	go func() { errc <- c.call("textDocument/hover", hover, nil) }()
	<-started
	// initialize was call 1, so the hover is call 2.
	c.notify("$/cancelRequest", map[string]any{"id": 2})
	select {
	case err := <-errc:
		if code(err) != protocol.CodeRequestCancelled || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("a cancelled request: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("$/cancelRequest did not end the request")
	}
	var rr RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &rr); err != nil {
		t.Fatal(err)
	}
}

// startWithProxy starts a server that hosts the proxy on listen.
func startWithProxy(t *testing.T, root, listen string) *client {
	t.Helper()
	tunnel := proxytest.FreeAddr(t)
	settings := map[string]any{"listen": listen, "tunnel": map[string]any{"listen": tunnel}}
	c, _ := startServer(t, root, settings, Options{Version: "test", Debounce: 20 * time.Millisecond})
	return c
}

func lastStatus(c *client) (ProxyStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.messages) - 1; i >= 0; i-- {
		if c.messages[i].method == "devproxy/status" {
			var st ProxyStatus
			json.Unmarshal(c.messages[i].params, &st)
			return st, true
		}
	}
	return ProxyStatus{}, false
}

func waitStatus(t *testing.T, c *client, state string) ProxyStatus {
	t.Helper()
	c.waitFor("devproxy/status "+state, func(ms []message) bool {
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].method == "devproxy/status" {
				var st ProxyStatus
				json.Unmarshal(ms[i].params, &st)
				return st.State == state
			}
		}
		return false
	})
	st, _ := lastStatus(c)
	return st
}

func TestHostsTheProxy(t *testing.T) {
	root := workspace(t, "-- apps/p.conf --\nlocation = /ping { return 200 pong; }\n")
	listen := proxytest.FreeAddr(t)
	c := startWithProxy(t, root, listen)
	st := waitStatus(t, c, "running")
	resp, err := http.Get(st.URL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if b.String() != "pong" {
		t.Errorf("through the hosted proxy: %q", b.String())
	}
}

func TestPortHeldByAnotherProgram(t *testing.T) {
	root := workspace(t, "-- apps/p.conf --\nlocation = /ping { return 200 pong; }\n")
	other := proxytest.ServeConns(t, func(conn net.Conn) { // a program that is not devproxy
		conn.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
	})
	c := startWithProxy(t, root, other)
	st := waitStatus(t, c, "port-in-use")
	if !strings.Contains(st.Message, "devproxy.listen") || !strings.Contains(st.Message, other) {
		t.Errorf("the message must name the address and the setting: %q", st.Message)
	}
	// Editor features keep working.
	var rr RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &rr); err != nil || rr.Proxy.State != "port-in-use" {
		t.Errorf("routes while the port is held: %v %+v", err, rr.Proxy)
	}
}

// A second window on the same port joins the first: its folder is served
// by the first window's proxy, both statuses list both folders, the
// cross-window conflict shows in both, and devproxy/takeOver swaps the
// roles.
func TestSecondWindowJoins(t *testing.T) {
	parent := workspace(t, `
-- web/apps/web.conf --
location = /web { return 200 web; }
location /api/ { return 200 web-api; }
-- shop/apps/shop.conf --
location = /shop { return 200 shop; }
location /api/ { return 200 shop-api; }
`)
	web, shop := filepath.Join(parent, "web"), filepath.Join(parent, "shop")
	listen, tunnel := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	settings := map[string]any{"listen": listen, "tunnel": map[string]any{"listen": tunnel}}
	opts := Options{Version: "test", Debounce: 20 * time.Millisecond}
	first, _ := startFolders(t, parent, []string{web}, settings, opts, nil, nil)
	waitStatus(t, first, "running")
	second, _ := startFolders(t, parent, []string{shop}, settings, opts, nil, nil)
	st := waitStatus(t, second, "joined")
	if st.Role != "member" || st.Owner == nil || st.Owner.Root != web || st.URL != "http://"+listen {
		t.Errorf("the second window's status: %+v", st)
	}
	for _, path := range []string{"/web", "/shop"} {
		waitHTTP(t, "http://"+listen+path, strings.TrimPrefix(path, "/"))
	}
	// Both windows list both folders, and each shows the conflict on
	// its own file.
	for _, c := range []*client{first, second} {
		c.waitFor("both folders in the status", func(ms []message) bool {
			for i := len(ms) - 1; i >= 0; i-- {
				if ms[i].method == "devproxy/status" {
					var st ProxyStatus
					json.Unmarshal(ms[i].params, &st)
					return len(st.Folders) == 2
				}
			}
			return false
		})
	}
	from := 0
	for _, tc := range []struct {
		c   *client
		rel string
	}{{first, "web/apps/web.conf"}, {second, "shop/apps/shop.conf"}} {
		tc.c.waitFor("the cross-window conflict on "+tc.rel, func(ms []message) bool {
			p, ok := latestDiagnostics(ms, from)[string(tc.c.uri(tc.rel))]
			if !ok {
				return false
			}
			for _, d := range p.Diagnostics {
				if diagnosticCode(d) == "conflict" {
					return true
				}
			}
			return false
		})
	}
	var res TakeOverResult
	if err := second.call("devproxy/takeOver", map[string]any{}, &res); err != nil || !res.OK {
		t.Fatalf("take over: %v %+v", err, res)
	}
	waitStatus(t, second, "running")
	waitStatus(t, first, "joined")
	for _, path := range []string{"/web", "/shop"} {
		waitHTTP(t, "http://"+listen+path, strings.TrimPrefix(path, "/"))
	}
}

// A window without route files or devproxy.json starts no proxy and joins
// none; the first route file created starts it.
func TestWindowWithoutRouteFilesIsIdle(t *testing.T) {
	root := t.TempDir()
	listen := proxytest.FreeAddr(t)
	c := startWithProxy(t, root, listen)
	st := waitStatus(t, c, "idle")
	if !strings.Contains(st.Message, "no route files") {
		t.Errorf("idle message %q", st.Message)
	}
	if _, err := http.Get("http://" + listen + "/"); err == nil {
		t.Error("an idle window listens")
	}
	os.MkdirAll(filepath.Join(root, "apps"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "apps", "a.conf"), []byte("location = /a { return 200 a; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": c.uri("apps/a.conf"), "type": 1}}})
	waitStatus(t, c, "running")
	waitHTTP(t, "http://"+listen+"/a", "a")
}

// waitHTTP waits (a bounded time) for url to answer 200 with body.
func waitHTTP(t *testing.T, url, body string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if got = b.String(); resp.StatusCode == 200 && got == body {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET %s: %q, want %q", url, got, body)
}

// TestProxyFollowsSettings: a configuration change that does not touch
// the proxy's addresses leaves the running proxy alone (VS Code sends them
// freely); a saved devproxy.json with another listen address moves the
// proxy there.
func TestProxyFollowsSettings(t *testing.T) {
	root := workspace(t, "-- apps/p.conf --\nlocation = /ping { return 200 pong; }\n")
	first := proxytest.FreeAddr(t)
	c := startWithProxy(t, root, first)
	waitStatus(t, c, "running")
	statuses := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		n := 0
		for _, m := range c.messages {
			if m.method == "devproxy/status" {
				n++
			}
		}
		return n
	}
	before := statuses()
	from := c.mark()
	c.mu.Lock()
	c.settings = map[string]any{"listen": first, "tunnel": c.settings.(map[string]any)["tunnel"], "apps": []string{"apps/*.conf", "more/*.conf"}}
	c.mu.Unlock()
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": nil})
	// The server asks for the settings again; the new folder list
	// recomposes the table, the proxy is brought in line, then the
	// diagnostics are republished: they mark the end.
	c.waitDiagnostics(from, "apps/p.conf")
	if _, err := http.Get("http://" + first + "/ping"); err != nil {
		t.Fatalf("the proxy stopped after a configuration change that keeps its addresses: %v", err)
	}
	if n := statuses(); n != before {
		t.Errorf("a configuration change that keeps the addresses restarted the proxy (%d status messages, was %d)", n, before)
	}

	second := proxytest.FreeAddr(t)
	if err := os.WriteFile(filepath.Join(root, "devproxy.json"), []byte(`{"listen": "`+second+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": c.uri("devproxy.json"), "type": 1}}})
	c.waitFor("the proxy on "+second, func(ms []message) bool {
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].method == "devproxy/status" {
				var st ProxyStatus
				json.Unmarshal(ms[i].params, &st)
				return st.State == "running" && st.Address == second
			}
		}
		return false
	})
	resp, err := http.Get("http://" + second + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := http.Get("http://" + first + "/ping"); err == nil {
		t.Errorf("the old address %s still answers", first)
	}
}

// TestHostedProxyServesTheSavedFiles: the proxy devproxy lsp hosts serves
// the editor's workspace under the editor's settings (a route from a
// folder that only devproxy.apps names), but only what is on disk: an edit
// in an open buffer is the editor's until it is saved.
func TestHostedProxyServesTheSavedFiles(t *testing.T) {
	root := workspace(t, "-- more/m.conf --\nlocation = /more { return 200 from-settings; }\n")
	listen := proxytest.FreeAddr(t)
	settings := map[string]any{"listen": listen, "tunnel": map[string]any{"listen": proxytest.FreeAddr(t)}, "apps": []string{"more/*.conf"}}
	c, _ := startServer(t, root, settings, Options{Version: "test", Debounce: 20 * time.Millisecond})
	waitStatus(t, c, "running")
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + listen + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/more"); code != 200 || body != "from-settings" {
		t.Fatalf("GET /more: %d %q, want the route of more/m.conf, a folder only the settings name", code, body)
	}
	const edited = "location = /more { return 200 from-the-buffer; }\n"
	from := c.mark()
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": c.uri("more/m.conf"), "languageId": "devproxy-routes", "version": 1, "text": edited}})
	c.waitDiagnostics(from, "more/m.conf")
	if code, body := get("/more"); code != 200 || body != "from-settings" {
		t.Fatalf("GET /more with an unsaved edit: %d %q, want the file on disk", code, body)
	}
	var rr RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &rr); err != nil || len(rr.Files) != 1 || !rr.Files[0].Unsaved {
		t.Fatalf("devproxy/routes should mark the file unsaved: %+v %v", rr.Files, err)
	}
	if err := os.WriteFile(filepath.Join(root, "more/m.conf"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": c.uri("more/m.conf")}})
	var saved RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &saved); err != nil || len(saved.Files) != 1 || saved.Files[0].Unsaved {
		t.Fatalf("devproxy/routes after the save: %+v %v", saved.Files, err)
	}
	if code, body := get("/more"); code != 200 || body != "from-the-buffer" {
		t.Fatalf("GET /more after the save: %d %q, want the saved text", code, body)
	}
}

// The slash pitfall (issue 10): the quick fix ends the location with a
// slash, and the upstream then gets /x for /api/x.
func TestSlashPitfallQuickFix(t *testing.T) {
	root := workspace(t, `
-- apps/a.conf --
location /api { proxy_pass http://127.0.0.1:5999/; }
location "/q" { proxy_pass http://127.0.0.1:5999/v1/; }
location /dup { proxy_pass http://127.0.0.1:5999/; }
location /dup/ { return 204; }
`)
	c, _ := start(t, root, nil)
	got := c.waitDiagnostics(0, "apps/a.conf")
	if sev := severities(got["apps/a.conf"].Diagnostics, "slash-pitfall"); len(sev) != 3 {
		t.Fatalf("slash-pitfall warnings: %+v", got["apps/a.conf"].Diagnostics)
	}
	var d routing.Decision
	c.call("devproxy/explain", ExplainParams{URL: "/api/x"}, &d)
	if d.UpstreamURI != "//x" {
		t.Fatalf("before the fix /api/x sends %q", d.UpstreamURI)
	}
	fix := findAction(t, codeActions(t, c, "apps/a.conf", 0), "Change the location to /api/")
	if fix.IsPreferred == nil || !*fix.IsPreferred {
		t.Error("the fix is not preferred")
	}
	applyEdit(t, c, *fix.Edit)
	reload(t, c, "apps/a.conf")
	applyEdit(t, c, *findAction(t, codeActions(t, c, "apps/a.conf", 1), "Change the location to /q/").Edit)
	// /dup/ already exists in the file: no fix (it would be a duplicate).
	for _, a := range codeActions(t, c, "apps/a.conf", 2) {
		if strings.HasPrefix(a.Title, "Change the location") {
			t.Errorf("offered %q next to location /dup/", a.Title)
		}
	}
	want := "location /api/ { proxy_pass http://127.0.0.1:5999/; }\nlocation \"/q/\" { proxy_pass http://127.0.0.1:5999/v1/; }\n"
	if got := readFile(t, c, "apps/a.conf"); !strings.HasPrefix(got, want) {
		t.Fatalf("a.conf after the fixes:\n%s\nwant it to start with:\n%s", got, want)
	}
	got = reload(t, c, "apps/a.conf")
	if sev := severities(got["apps/a.conf"].Diagnostics, "slash-pitfall"); len(sev) != 1 {
		t.Errorf("after the fixes: %+v", got["apps/a.conf"].Diagnostics)
	}
	for url, want := range map[string]string{"/api/x": "/x", "/q/x": "/v1/x"} {
		c.call("devproxy/explain", ExplainParams{URL: url}, &d)
		if d.UpstreamURI != want {
			t.Errorf("after the fix %s sends %q, want %q", url, d.UpstreamURI, want)
		}
	}
}

// The WebSocket Host (issue 10): a block that passes WebSocket upgrades
// with the default Host gets a hint, and the quick fix inserts
// proxy_set_header Host $http_host; with the block's indentation (or on
// the same line in a one-line block).
func TestWebSocketHostQuickFix(t *testing.T) {
	root := workspace(t, "-- apps/a.conf --\n"+
		"location ^~ /web/ {\n"+
		"\tproxy_set_header Upgrade $http_upgrade;\n"+
		"\tproxy_set_header Connection \"upgrade\";\n"+
		"\tproxy_pass http://127.0.0.1:5999/;\n"+
		"}\n"+
		"location /ws/ { proxy_set_header Connection upgrade; proxy_pass http://127.0.0.1:5999/; }\n")
	c, _ := start(t, root, nil)
	got := c.waitDiagnostics(0, "apps/a.conf")
	sev := severities(got["apps/a.conf"].Diagnostics, "websocket-host")
	if len(sev) != 2 || sev[0] != protocol.DiagnosticSeverityHint || sev[1] != protocol.DiagnosticSeverityHint {
		t.Fatalf("websocket-host hints: %+v", got["apps/a.conf"].Diagnostics)
	}
	const title = "Forward the browser's Host: proxy_set_header Host $http_host;"
	fix := findAction(t, codeActions(t, c, "apps/a.conf", 0), title)
	if fix.IsPreferred == nil || !*fix.IsPreferred {
		t.Error("the fix is not preferred")
	}
	applyEdit(t, c, *fix.Edit)
	reload(t, c, "apps/a.conf")
	applyEdit(t, c, *findAction(t, codeActions(t, c, "apps/a.conf", 6), title).Edit)
	want := "location ^~ /web/ {\n" +
		"\tproxy_set_header Host $http_host;\n" +
		"\tproxy_set_header Upgrade $http_upgrade;\n" +
		"\tproxy_set_header Connection \"upgrade\";\n" +
		"\tproxy_pass http://127.0.0.1:5999/;\n" +
		"}\n" +
		"location /ws/ { proxy_set_header Host $http_host; proxy_set_header Connection upgrade; proxy_pass http://127.0.0.1:5999/; }\n"
	if got := readFile(t, c, "apps/a.conf"); got != want {
		t.Fatalf("a.conf after the fixes:\n%s\nwant:\n%s", got, want)
	}
	got = reload(t, c, "apps/a.conf")
	if ds := got["apps/a.conf"].Diagnostics; len(ds) != 0 {
		t.Errorf("after the fixes: %+v", ds)
	}
	for _, a := range codeActions(t, c, "apps/a.conf", 0) {
		if a.Title == title {
			t.Errorf("still offered %q", title)
		}
	}
}
