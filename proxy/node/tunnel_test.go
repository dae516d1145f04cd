package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/tunnel"
)

// fakeAgent is an ngrok agent's local API (GET /api/tunnels, the JSON the
// real agent sends) for a tunnel to addr, answering only while up is set.
type fakeAgent struct {
	URL  string
	up   atomic.Bool
	addr atomic.Value // the tunnel listener it forwards to
}

const agentURL = "https://abc123.ngrok-free.app"

func newFakeAgent(t *testing.T) *fakeAgent {
	a := &fakeAgent{}
	a.addr.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/tunnels" || !a.up.Load() {
			http.Error(w, "no agent", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"tunnels":[{"name":"command_line","uri":"/api/tunnels/command_line","public_url":"`+agentURL+
			`","proto":"https","config":{"addr":"http://`+a.addr.Load().(string)+`","inspect":true},"metrics":{}}],"uri":"/api/tunnels"}`)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// tunnelStates records the states a host hears of.
type tunnelStates struct {
	mu     sync.Mutex
	states []tunnel.State
}

func (s *tunnelStates) add(st tunnel.State) {
	s.mu.Lock()
	s.states = append(s.states, st)
	s.mu.Unlock()
}

// waitTunnel waits until n reports a tunnel state for which ok holds.
func waitTunnel(t *testing.T, n *Node, what string, ok func(tunnel.State) bool) tunnel.State {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := n.Tunnel()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the tunnel is %+v", what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isUp(url string) func(tunnel.State) bool {
	return func(st tunnel.State) bool { return st.Status == tunnel.StatusUp && st.PublicURL == url }
}

func isOff(st tunnel.State) bool { return st.Status == tunnel.StatusOff }

// TestTheOwnersTunnel: the owner finds an ngrok agent that starts after
// it, from the moment the agent reports the URL; the URL reaches the Host
// check, /routes.json and the hub's subscribers. A member shows the
// owner's tunnel and can start and stop it there.
func TestTheOwnersTunnel(t *testing.T) {
	agent := newFakeAgent(t)
	tunnelAddr := proxytest.FreeAddr(t)
	agent.addr.Store(strings.Replace(tunnelAddr, "127.0.0.1", "localhost", 1))
	root := site(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + saying(t, "a") + "; }\n"})
	var heard tunnelStates
	listen := proxytest.FreeAddr(t)
	owner := startHost(t, "owner", root, listen, tunnelAddr, strings.Repeat("ab", 32), func(o *Options) {
		o.Tunnel = TunnelOptions{NgrokAPI: agent.URL, AutoEvery: 20 * time.Millisecond}
		o.OnTunnel = heard.add
	})
	waitRole(t, owner, Owner, 5*time.Second)
	addr := owner.node.State().Addr

	// A hub subscriber hears of the tunnel.
	events := make(chan tunnel.State, 16)
	c, err := live.Dial(context.Background(), addr, []string{live.TopicTunnel}, func(method string, params json.RawMessage) {
		var st tunnel.State
		if method == "devproxy/tunnelChanged" && json.Unmarshal(params, &st) == nil {
			events <- st
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// No agent yet: no tunnel, and the public host is refused like any
	// other name.
	publicHost := strings.TrimPrefix(agentURL, "https://")
	if st := owner.node.Tunnel(); st.Status != tunnel.StatusOff || st.Err != "" {
		t.Errorf("before the agent: %+v", st)
	}
	if status := getHost(addr, "/a/x", publicHost); status == http.StatusOK {
		t.Errorf("the public host was served before any tunnel reported it")
	}

	agent.up.Store(true)
	waitTunnel(t, owner.node, "once the agent reports its URL", isUp(agentURL))
	if got := owner.ws.Served().Config.Tunnel.PublicURL; got != agentURL {
		t.Errorf("the served settings' public URL = %q", got)
	}
	if status := getHost(addr, "/a/x", publicHost); status != http.StatusOK {
		t.Errorf("the public host through the local listener: %d", status)
	}
	_, body := get(addr, "/routes.json")
	var doc struct {
		PublicURL string `json:"publicUrl"`
	}
	if json.Unmarshal([]byte(body), &doc); doc.PublicURL != agentURL {
		t.Errorf("/routes.json publicUrl = %q", doc.PublicURL)
	}
	select {
	case st := <-events:
		if !isUp(agentURL)(st) {
			t.Errorf("the hub's first event: %+v", st)
		}
	case <-time.After(5 * time.Second):
		t.Error("no devproxy/tunnelChanged on the hub")
	}

	// A member on the same port shows the owner's tunnel, and starts
	// another one there.
	member := startHost(t, "member", site(t, nil), listen, proxytest.FreeAddr(t), strings.Repeat("ab", 32))
	waitRole(t, member, Member, 5*time.Second)
	waitTunnel(t, member.node, "the member", isUp(agentURL))
	if got := member.ws.Table().Config.Tunnel.PublicURL; got != agentURL {
		t.Errorf("the member's settings carry %q", got)
	}
	if _, err := member.node.StartTunnel(context.Background(), TunnelRequest{Provider: "manual", URL: "ftp://x"}); err == nil {
		t.Error("a manual tunnel with an ftp URL was started")
	}
	if _, err := member.node.StartTunnel(context.Background(), TunnelRequest{Provider: "manual", URL: "https://Typed.Example.com/"}); err != nil {
		t.Fatal(err)
	}
	waitTunnel(t, owner.node, "the owner, after the member's start", isUp("https://typed.example.com"))
	waitTunnel(t, member.node, "the member, after its start", isUp("https://typed.example.com"))
	if _, err := member.node.StopTunnel(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitTunnel(t, owner.node, "the owner, after the member's stop", isOff)
	waitTunnel(t, member.node, "the member, after its stop", isOff)
	if got := owner.ws.Served().Config.Tunnel.PublicURL; got != "" {
		t.Errorf("a stopped tunnel's URL stays in the settings: %q", got)
	}
	heard.mu.Lock()
	defer heard.mu.Unlock()
	if len(heard.states) < 3 {
		t.Errorf("the host heard of %d states: %+v", len(heard.states), heard.states)
	}
}

// TestTunnelFromDevproxyJSON: tunnel.provider "manual" with a publicUrl
// is up at once; a change of devproxy.json restarts the tunnel.
func TestTunnelFromDevproxyJSON(t *testing.T) {
	root := site(t, map[string]string{
		"apps/a.conf":   "location /a/ { proxy_pass http://" + saying(t, "a") + "; }\n",
		"devproxy.json": `{"tunnel": {"provider": "manual", "publicUrl": "https://one.example.com"}}`,
	})
	h := startHost(t, "a", root, proxytest.FreeAddr(t), proxytest.FreeAddr(t), strings.Repeat("cd", 32), func(o *Options) {
		o.Tunnel = TunnelOptions{NgrokAPI: "http://127.0.0.1:1", AutoEvery: 20 * time.Millisecond}
	})
	waitRole(t, h, Owner, 5*time.Second)
	waitTunnel(t, h.node, "from devproxy.json", isUp("https://one.example.com"))
	writeFile(t, root, "devproxy.json", `{"tunnel": {"publicUrl": "https://two.example.com"}}`)
	waitTunnel(t, h.node, "after devproxy.json changed", isUp("https://two.example.com"))
	writeFile(t, root, "devproxy.json", `{}`)
	waitTunnel(t, h.node, "once devproxy.json has no tunnel", isOff)
}

// getHost is get's status with another Host header.
func getHost(addr, path, host string) int {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func writeFile(t *testing.T, root, rel, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, rel), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
