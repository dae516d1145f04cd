package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.lsp.dev/protocol"
)

// TestDebounce runs the real server in a synctest bubble, where time moves
// only when every goroutine waits: edits closer together than the debounce
// produce one publish, a debounce after the last of them, carrying the last
// version; nothing is published in between.
func TestDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const debounce = 300 * time.Millisecond
		root := workspace(t, conflictWorkspace)
		c := startRaw(t, root, Options{Version: "test", Debounce: debounce, DisableProxy: true})
		uri := pathToURI(root + "/apps/a.conf")
		c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
			"uri": uri, "languageId": "devproxy-routes", "version": 1, "text": conflictA}})
		synctest.Wait()
		if got := c.published(); len(got) < 4 {
			t.Fatalf("the first diagnostics: %v", got)
		}
		from := len(c.published())

		began := time.Now()
		for v := 2; v <= 5; v++ {
			c.notify("textDocument/didChange", map[string]any{
				"textDocument":   map[string]any{"uri": uri, "version": v},
				"contentChanges": []map[string]any{{"text": conflictA + strings.Repeat("\n", v)}}})
			time.Sleep(debounce / 2)
			synctest.Wait()
			if got := c.published()[from:]; len(got) != 0 {
				t.Fatalf("published %v while edits were still coming, %v after the first", got, time.Since(began))
			}
		}
		// The last edit was debounce/2 ago: just before the debounce ends
		// still nothing; at the debounce, one publish, of version 5.
		time.Sleep(debounce/2 - time.Millisecond)
		synctest.Wait()
		if got := c.published()[from:]; len(got) != 0 {
			t.Fatalf("published %v before the debounce ended", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		got := c.published()[from:]
		// b.conf's findings did not change, so only the edited file.
		if len(got) != 1 || got[0].URI != uri || got[0].Version != protocol.NewOptional[int32](5) {
			t.Errorf("after the burst: %+v, want one publish of version 5 for a.conf", got)
		}
	})
}

const conflictA = "location /api/ {\n    proxy_pass http://127.0.0.1:5999/;\n}\nlocation /a/ { proxy_pass http://127.0.0.1:5001/; }\n"

// rawClient speaks LSP base-protocol frames by hand. The debounce test
// needs it: jsonrpc2's Call pools channels across goroutines, which a
// synctest bubble does not allow.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	wmu  sync.Mutex
	mu   sync.Mutex
	msgs []protocol.PublishDiagnosticsParams
}

func startRaw(t *testing.T, root string, opts Options) *rawClient {
	t.Helper()
	srv, cli := net.Pipe()
	s := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, srv); close(done) }()
	c := &rawClient{t: t, conn: cli}
	responses := make(chan json.RawMessage, 1)
	go c.read(responses)
	t.Cleanup(func() { cancel(); cli.Close(); <-done })
	c.write(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
		"processId": nil, "rootUri": pathToURI(root), "capabilities": map[string]any{}}})
	<-responses
	c.notify("initialized", map[string]any{})
	return c
}

func (c *rawClient) write(msg any) {
	b, _ := json.Marshal(msg)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := fmt.Fprintf(c.conn, "Content-Length: %d\r\n\r\n%s", len(b), b); err != nil {
		c.t.Errorf("write: %v", err)
	}
}

func (c *rawClient) notify(method string, params any) {
	c.write(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

func (c *rawClient) read(responses chan<- json.RawMessage) {
	r := textproto.NewReader(bufio.NewReader(c.conn))
	for {
		h, err := r.ReadMIMEHeader()
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(h.Get("Content-Length"))
		body := make([]byte, n)
		if _, err := io.ReadFull(r.R, body); err != nil {
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
		}
		json.Unmarshal(body, &m)
		switch {
		case m.Method == "textDocument/publishDiagnostics":
			var p protocol.PublishDiagnosticsParams
			protocol.Unmarshal(m.Params, &p)
			c.mu.Lock()
			c.msgs = append(c.msgs, p)
			c.mu.Unlock()
		case m.Method == "" && m.ID != nil:
			responses <- m.Result
		}
	}
}

func (c *rawClient) published() []protocol.PublishDiagnosticsParams {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]protocol.PublishDiagnosticsParams(nil), c.msgs...)
}
