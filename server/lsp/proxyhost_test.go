package lsp

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// TestListenChangesSettle: the Settings UI sends each keystroke of a new
// devproxy.listen; the proxy moves only to an address that stayed the same
// for Options.ListenSettle, never to the ones typed on the way, and an
// invalid one is reported in the status message while the proxy stays.
func TestListenChangesSettle(t *testing.T) {
	root := workspace(t, "-- apps/p.conf --\nlocation = /ping { return 200 pong; }\n")
	first, tunnel := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	settings := func(listen string) map[string]any {
		return map[string]any{"listen": listen, "tunnel": map[string]any{"listen": tunnel}}
	}
	c, _ := startServer(t, root, settings(first), Options{Version: "test", Debounce: 20 * time.Millisecond, ListenSettle: 500 * time.Millisecond})
	waitStatus(t, c, "running")
	typed, last := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	from := c.mark()
	for _, listen := range []string{"127.0.0.1:", typed, last} {
		at := c.mark()
		c.mu.Lock()
		c.settings = settings(listen)
		c.mu.Unlock()
		c.notify("workspace/didChangeConfiguration", map[string]any{"settings": nil})
		// The settings are applied (the proxy brought in line) before
		// the diagnostics are published again.
		c.waitDiagnostics(at, "apps/p.conf")
		if listen == "127.0.0.1:" {
			if st, _ := lastStatus(c); !strings.Contains(st.Message, `the listen address "127.0.0.1:" (devproxy.listen) is not host:port`) || st.Address != first {
				t.Errorf("status after an invalid address: %+v", st)
			}
		}
	}
	c.waitFor("the proxy on "+last, func(ms []message) bool {
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].method == "devproxy/status" {
				var st ProxyStatus
				json.Unmarshal(ms[i].params, &st)
				return st.State == "running" && st.Address == last
			}
		}
		return false
	})
	c.mu.Lock()
	for _, m := range c.messages[from:] {
		if m.method == "devproxy/status" && strings.Contains(string(m.params), typed) {
			t.Errorf("the proxy went to the intermediate address %s: %s", typed, m.params)
		}
	}
	c.mu.Unlock()
	resp, err := http.Get("http://" + last + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, old := range []string{first, typed} {
		if resp, err := http.Get("http://" + old + "/ping"); err == nil {
			resp.Body.Close()
			t.Errorf("%s still answers", old)
		}
	}
}
