package lsp

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/tunnel"
)

// lastTunnel is the newest devproxy/tunnelChanged the client received.
func lastTunnel(ms []message) (tunnel.State, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].method == "devproxy/tunnelChanged" {
			var st tunnel.State
			json.Unmarshal(ms[i].params, &st)
			return st, true
		}
	}
	return tunnel.State{}, false
}

// TestTunnelAndKeys: the window that serves the proxy starts a tunnel on
// request and pushes its state; a key created from the editor opens the
// proxy's pages through the tunnel listener, and is in no log line.
func TestTunnelAndKeys(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") }))
	defer up.Close()
	dataDir := t.TempDir()
	root := workspace(t, fmt.Sprintf("-- apps/a.conf --\nlocation /up/ { proxy_pass %s; }\n-- devproxy.json --\n{\"dataDir\": %q}\n", up.URL, dataDir))
	tunnelAddr := proxytest.FreeAddr(t)
	var logs proxytest.Buffer
	settings := map[string]any{"listen": proxytest.FreeAddr(t), "tunnel": map[string]any{"listen": tunnelAddr}}
	c, _ := startServer(t, root, settings, Options{Version: "test", Debounce: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	waitStatus(t, c, "running")

	var st tunnel.State
	if err := c.call("devproxy/tunnel", map[string]any{}, &st); err != nil || st.Status != tunnel.StatusOff {
		t.Fatalf("devproxy/tunnel before any tunnel: %+v %v", st, err)
	}
	if err := c.call("devproxy/tunnelStart", map[string]any{"provider": "bogus"}, &st); err == nil || !strings.Contains(err.Error(), "not one of") {
		t.Errorf("an unknown provider: %v", err)
	}
	if err := c.call("devproxy/tunnelStart", map[string]any{"provider": "manual", "url": "https://shared.example.com"}, &st); err != nil {
		t.Fatal(err)
	}
	c.waitFor("devproxy/tunnelChanged up", func(ms []message) bool {
		st, ok := lastTunnel(ms)
		return ok && st.Status == tunnel.StatusUp && st.PublicURL == "https://shared.example.com"
	})
	if err := c.call("devproxy/tunnel", map[string]any{}, &st); err != nil || st.PublicURL != "https://shared.example.com" {
		t.Fatalf("devproxy/tunnel: %+v %v", st, err)
	}
	validate(t, schema(t, "lsp-tunnel.schema.json"), st)

	if err := c.call("devproxy/createKey", map[string]any{"role": "owner"}, new(json.RawMessage)); err == nil {
		t.Error("a key with an unknown role was created")
	}
	var key CreatedKey
	if err := c.call("devproxy/createKey", map[string]any{"role": "read-only", "name": "teammate"}, &key); err != nil {
		t.Fatal(err)
	}
	validate(t, schema(t, "lsp-create-key.schema.json"), key)
	if key.Role != "read-only" || key.Name != "teammate" {
		t.Errorf("created %+v", key)
	}
	get := func(bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+tunnelAddr+"/routes.json", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := get(""); status != http.StatusUnauthorized {
		t.Errorf("/routes.json through the tunnel without a key: %d", status)
	}
	status, body := get(key.Key)
	if status != http.StatusOK || !strings.Contains(body, `"publicUrl":"https://shared.example.com"`) {
		t.Errorf("/routes.json through the tunnel with the key: %d %s", status, body)
	}

	if err := c.call("devproxy/tunnelStop", map[string]any{}, &st); err != nil {
		t.Fatal(err)
	}
	c.waitFor("devproxy/tunnelChanged off", func(ms []message) bool {
		st, ok := lastTunnel(ms)
		return ok && st.Status == tunnel.StatusOff
	})
	if strings.Contains(logs.String(), key.Key) || strings.Contains(logs.String(), strings.TrimPrefix(key.Key, "dvp_")) {
		t.Error("the key is in the server's log")
	}
	if !strings.Contains(logs.String(), "tunnel") {
		t.Error("the log says nothing of the tunnel: is it the server's log?")
	}
}
