package join

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// wait bounds every wait for the owner or a member.
const wait = 5 * time.Second

// ownerSite is a real proxy on loopback with an Owner behind its local
// listener.
type ownerSite struct {
	owner      *Owner
	token      string
	addr       string // host:port of the local listener
	tunnelAddr string
	changes    chan Members  // every OnChange
	stops      chan struct{} // every OnStop
	stop       func()        // cancels Serve and waits for it
}

// startOwner runs an owner behind a real proxy; each of before is applied
// to the owner before the proxy starts.
func startOwner(t *testing.T, before ...func(*Owner)) *ownerSite {
	t.Helper()
	tok, err := LoadOrCreateToken(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &ownerSite{token: tok, changes: make(chan Members, 1000), stops: make(chan struct{}, 10)}
	cfg := OwnerConfig{
		Token:    tok,
		Client:   Client{PID: os.Getpid(), Kind: KindServe, Name: "owner"},
		Folders:  []FolderReg{folder(t)},
		OnChange: func(m Members) { s.changes <- m },
		OnStop:   func() { s.stops <- struct{}{} },
	}
	s.owner, err = NewOwner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range before {
		f(s.owner)
	}
	ready := make(chan httpproxy.ServeInfo, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpproxy.Serve(ctx, httpproxy.ServeOptions{Root: t.TempDir(), Listen: "127.0.0.1:0", TunnelListen: "127.0.0.1:0",
			Local: s.owner.Handler(), Ready: func(i httpproxy.ServeInfo) { ready <- i }})
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Serve did not stop")
			}
			s.owner.Close()
		})
	}
	t.Cleanup(s.stop)
	select {
	case info := <-ready:
		s.addr, s.tunnelAddr = info.Addr, info.TunnelAddr
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not become ready")
	}
	return s
}

// folder is a fresh existing directory to register.
func folder(t *testing.T) FolderReg {
	return FolderReg{Root: t.TempDir()}
}

func client(name string) Client {
	return Client{PID: os.Getpid(), Kind: KindVSCode, Name: name}
}

// join joins s and leaves when the test ends.
func (s *ownerSite) join(t *testing.T, name string, folders ...FolderReg) *Membership {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := Join(ctx, s.addr, s.token, client(name), folders)
	if err != nil {
		t.Fatalf("%s: Join: %v", name, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// waitChange waits for OnChange to report Members that satisfy ok.
func (s *ownerSite) waitChange(t *testing.T, what string, ok func(Members) bool) Members {
	t.Helper()
	return waitFor(t, "OnChange: "+what, s.changes, ok)
}

// waitMembers waits for a member's Changes to satisfy ok.
func waitMembers(t *testing.T, what string, m *Membership, ok func(Members) bool) Members {
	t.Helper()
	if cur := m.Members(); ok(cur) {
		return cur
	}
	return waitFor(t, what, m.Changes(), ok)
}

func waitFor(t *testing.T, what string, ch <-chan Members, ok func(Members) bool) Members {
	t.Helper()
	deadline := time.After(wait)
	var last Members
	for {
		select {
		case m := <-ch:
			if ok(m) {
				return m
			}
			last = m
		case <-deadline:
			t.Fatalf("%s: not within %v; last %s", what, wait, show(last))
		}
	}
}

func show(m Members) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// names lists the members' names in order.
func names(m Members) string {
	var out []string
	for _, x := range m.Members {
		out = append(out, x.Name)
	}
	return strings.Join(out, ",")
}

// roots lists a member's folder roots.
func roots(m Members, name string) []string {
	for _, x := range m.Members {
		if x.Name == name {
			out := []string{}
			for _, f := range x.Folders {
				out = append(out, f.Root)
			}
			return out
		}
	}
	return nil
}

// dialRaw opens a WebSocket to addr with header, as a hand-written member.
func dialRaw(t *testing.T, addr string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	ws, resp, err := d.Dial("ws://"+addr+Path, header)
	if err == nil {
		t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// rawCall sends a JSON-RPC request on ws and returns the raw reply,
// collecting any notifications read before it.
func rawCall(t *testing.T, ws *websocket.Conn, id int, method string, params any) (reply map[string]json.RawMessage, notes []map[string]json.RawMessage) {
	t.Helper()
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	ws.SetWriteDeadline(time.Now().Add(wait))
	if err := ws.WriteJSON(msg); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	for {
		ws.SetReadDeadline(time.Now().Add(wait))
		var got map[string]json.RawMessage
		if err := ws.ReadJSON(&got); err != nil {
			t.Fatalf("%s: reading the reply: %v", method, err)
		}
		if _, ok := got["id"]; ok {
			return got, notes
		}
		notes = append(notes, got)
	}
}

// relay forwards one TCP connection to target until frozen; frozen, it
// passes nothing on and closes nothing, as a peer that hangs or a network
// that drops packets.
type relay struct {
	addr   string
	freeze chan struct{}
	cut    func() // closes both sides at once, as the kernel does for a killed process
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: ln.Addr().String(), freeze: make(chan struct{})}
	end := make(chan struct{})
	var conns []net.Conn
	var mu sync.Mutex
	r.cut = func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}
	t.Cleanup(func() {
		close(end)
		ln.Close()
		r.cut()
	})
	go func() {
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				a.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, a, b)
			mu.Unlock()
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					select {
					case <-r.freeze:
						<-end
						return
					default:
					}
					if n > 0 {
						dst.Write(buf[:n])
					}
					if err != nil {
						dst.Close()
						return
					}
				}
			}
			go pipe(a, b)
			go pipe(b, a)
		}
	}()
	return r
}

func timeIn(d time.Duration) time.Time { return time.Now().Add(d) }

func ctxIn(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
