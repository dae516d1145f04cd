package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/gorilla/websocket"
)

// Three `devproxy serve` processes in three folders on one port: the
// first owns the proxy, the others join it, and every folder's routes are
// served on the port. Killing the owner (SIGKILL) hands the port to a
// member within 2 s, and the members' routes are served again.
func TestServeProcessesShareOnePort(t *testing.T) {
	listen, tunnel := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	folder := func(name string) string {
		root := t.TempDir()
		up := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		api := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api of "+name) }))
		writeFile(t, root, "apps/"+name+".conf", fmt.Sprintf("location /%s/ { proxy_pass http://%s/; }\nlocation /api/ { proxy_pass http://%s/; }\n", name, up, api))
		return root
	}
	flags := []string{"--listen", listen, "--tunnel-listen", tunnel}
	a := startServeProcess(t, folder("a"), flags...)
	if got := a.waitReady(t); got != listen {
		t.Fatalf("a serves %s, want %s", got, listen)
	}
	b := startServeProcess(t, folder("b"), flags...)
	c := startServeProcess(t, folder("c"), flags...)
	for _, p := range []*serveProcess{b, c} {
		waitFor(t, "a member says it joined", 10*time.Second, func() bool { return strings.Contains(p.stdout.String(), "joined the devproxy serving http://"+listen) })
	}
	for _, name := range []string{"a", "b", "c"} {
		waitGet(t, listen, "/"+name+"/", name, 5*time.Second)
	}
	// The three files claim /api/: one conflict, on the owner's table
	// (/routes.json) and in each member's log.
	waitFor(t, "one conflict across three folders in /routes.json", 5*time.Second, func() bool {
		_, body := httpGet(listen, "/routes.json")
		var doc struct {
			Conflicts []struct {
				Route string
				Files []string
			}
		}
		json.Unmarshal([]byte(body), &doc)
		return len(doc.Conflicts) == 1 && doc.Conflicts[0].Route == "/api/" && len(doc.Conflicts[0].Files) == 3
	})
	for _, p := range []*serveProcess{b, c} {
		waitFor(t, "the member's table has the conflict", 5*time.Second, func() bool { return strings.Contains(p.stderr.String(), "conflicts=1") })
	}

	start := time.Now()
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	waitGet(t, listen, "/b/", "b", 2*time.Second)
	waitGet(t, listen, "/c/", "c", 2*time.Second)
	t.Logf("after SIGKILL of the owner, /b/ and /c/ were served again within %s", time.Since(start).Round(time.Millisecond))
	if status, _ := httpGet(listen, "/a/"); status != 404 {
		t.Errorf("/a/ after its process died: %d, want 404", status)
	}
}

// Joining needs the per-user token: with another, the owner refuses
// before the WebSocket upgrade; without one the handshake reaches the
// live events hub, which knows no devproxy/register; and the tunnel
// listener offers neither.
func TestJoiningNeedsTheToken(t *testing.T) {
	listen, tunnel := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", "location /a/ { return 204; }\n")
	p := startServeProcess(t, root, "--listen", listen, "--tunnel-listen", tunnel)
	p.waitReady(t)
	for _, tc := range []struct {
		name   string
		addr   string
		header http.Header
		want   int
	}{
		{"another token", listen, http.Header{"Authorization": {"Bearer " + strings.Repeat("0", 64)}}, 401},
		// Through the tunnel /devproxy/ws needs an API key (docs/auth.md),
		// and the join token is none.
		{"through the tunnel", tunnel, nil, 401},
		{"through the tunnel with the token", tunnel, http.Header{"Authorization": {"Bearer " + readToken(t)}}, 401},
	} {
		c, resp, err := websocket.DefaultDialer.Dial("ws://"+tc.addr+"/devproxy/ws", tc.header)
		if err == nil {
			c.Close()
			t.Errorf("%s: joined", tc.name)
			continue
		}
		if resp == nil || resp.StatusCode != tc.want {
			t.Errorf("%s: %v %v, want %d", tc.name, resp, err, tc.want)
		}
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+listen+"/devproxy/ws", nil)
	if err != nil {
		t.Fatalf("the live hub without a token: %v", err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "devproxy/register", "params": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Error *struct{ Code int } `json:"error"`
	}
	if err := c.ReadJSON(&reply); err != nil || reply.Error == nil || reply.Error.Code != -32601 {
		t.Errorf("devproxy/register without a token: %v %+v, want method not found", err, reply.Error)
	}
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(addr, path string) (int, string) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitGet(t *testing.T, addr, path, want string, within time.Duration) {
	t.Helper()
	var status int
	var body string
	waitFor(t, fmt.Sprintf("GET %s answers %q", path, want), within, func() bool {
		status, body = httpGet(addr, path)
		return status == 200 && body == want
	})
}

// readToken is the join token the tests' devproxy processes share.
func readToken(t *testing.T) string {
	t.Helper()
	dir, err := join.StateDir()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := join.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
