package node

// The tunnel in front of the owner's tunnel listener (proxy/tunnel). The
// owner runs it: the provider devproxy.json names (tunnel.provider,
// tunnel.publicUrl), or one a client asked for (StartTunnel). Its public
// URL goes into the workspace's settings (routing.Workspace.SetPublicURL),
// so that the Host check, the probes through the tunnel, /routes.json and
// Calliope see the tunnel that runs; its state goes to the hub's
// subscribers (topic "tunnel") and the host (Options.OnTunnel). A member
// shows the owner's, and asks the owner to start or stop it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/tunnel"
)

// TunnelOptions are what tests (and unusual set-ups) change about the
// tunnel; the provider comes from devproxy.json or StartTunnel.
type TunnelOptions struct {
	// NgrokAPI is the ngrok agent's local API (tunnel.Options.NgrokAPI).
	NgrokAPI string
	// AutoEvery is how often the automatic mode looks for an agent.
	AutoEvery time.Duration
	Bin       func(string) (string, error)
	Env       func(string) string
}

// TunnelRequest is what StartTunnel asks for: a provider ("auto", "ngrok",
// "cloudflared", "manual"; "" is "auto") and, for "manual", the URL
// (schemas/lsp-tunnel-start-params.schema.json).
type TunnelRequest struct {
	Provider string `json:"provider,omitempty"`
	URL      string `json:"url,omitempty"`
}

// ParseTunnelRequest reads devproxy/tunnelStart's params: a TunnelRequest,
// or none (null), which is the automatic mode.
func ParseTunnelRequest(raw json.RawMessage) (TunnelRequest, error) {
	var req TunnelRequest
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &req); err != nil {
			return TunnelRequest{}, errors.New(`devproxy/tunnelStart takes {"provider"?: "auto"|"ngrok"|"cloudflared"|"manual", "url"?: "https://…"}`)
		}
	}
	return req, nil
}

// spec is the tunnel one asked for, as tunnel.Options reads it.
type spec struct{ provider, url string }

// specOf is the tunnel devproxy.json asks for: its provider, manual when
// only a public URL is set, else the automatic mode.
func specOf(cfg routing.Config) spec {
	p := cfg.Tunnel.Provider
	if p == "" && cfg.Tunnel.TypedURL != "" {
		p = tunnel.ProviderManual
	}
	s := spec{provider: p}
	if p == tunnel.ProviderManual {
		s.url = cfg.Tunnel.TypedURL
	}
	return s
}

// tunnelRuntime is the owner's tunnel.
type tunnelRuntime struct {
	rt   *runtime
	addr string // the tunnel listener
	// applyMu makes each change reach the settings, the state and the
	// listeners in one piece, in order.
	applyMu sync.Mutex

	mu sync.Mutex
	m  *tunnel.Manager
	// configured is devproxy.json's spec when the current tunnel was
	// started; a change of it restarts the tunnel, a request's tunnel
	// lasts until then.
	configured spec
	state      tunnel.State
	stopped    bool
}

// startTunnel starts the tunnel devproxy.json asks for, once the tunnel
// listener is bound at addr; a change of devproxy.json's tunnel settings
// restarts it.
func (rt *runtime) startTunnel(addr string) {
	ws := rt.n.opts.Workspace
	want := specOf(ws.Served().Config)
	tr := &tunnelRuntime{rt: rt, addr: addr, configured: want, state: tunnel.State{Status: tunnel.StatusOff, Since: time.Now()}}
	rt.mu.Lock()
	if rt.stopped {
		rt.mu.Unlock()
		return
	}
	rt.tun = tr
	rt.mu.Unlock()
	tr.restart(want)
	unsub := ws.SubscribeServed(func(t *routing.RouteTable) {
		want := specOf(t.Config)
		tr.mu.Lock()
		changed := want != tr.configured
		tr.configured = want
		tr.mu.Unlock()
		if changed {
			go tr.restart(want) // not under the workspace's lock
		}
	})
	go func() {
		<-rt.done
		unsub()
	}()
}

// restart stops the running tunnel and starts s.
func (tr *tunnelRuntime) restart(s spec) error {
	tr.mu.Lock()
	if tr.stopped {
		tr.mu.Unlock()
		return errors.New("the proxy is stopping")
	}
	old := tr.m
	o := tr.rt.n.opts.Tunnel
	var m *tunnel.Manager
	m = tunnel.New(tunnel.Options{TunnelAddr: tr.addr, Provider: s.provider, ManualURL: s.url,
		NgrokAPI: o.NgrokAPI, AutoEvery: o.AutoEvery, Bin: o.Bin, Env: o.Env, Log: tr.rt.n.log,
		OnChange: func(st tunnel.State) { tr.changed(m, st) }})
	tr.m = m
	tr.mu.Unlock()
	if old != nil {
		old.Stop()
		tr.changed(m, m.State()) // off, until m reports
	}
	// An unknown provider or a bad URL is reported through OnChange too.
	return m.Start(context.Background())
}

// changed records the state of the current manager cur and tells
// everyone; the states of a manager being replaced are dropped. The
// settings carry the URL before anyone can read the state.
func (tr *tunnelRuntime) changed(cur *tunnel.Manager, st tunnel.State) {
	tr.applyMu.Lock()
	defer tr.applyMu.Unlock()
	tr.mu.Lock()
	stale := tr.m != cur || tr.stopped && st.Status != tunnel.StatusOff
	tr.mu.Unlock()
	if stale {
		return
	}
	tr.rt.n.opts.Workspace.SetPublicURL(st.UpURL())
	tr.mu.Lock()
	tr.state = st
	tr.mu.Unlock()
	tr.rt.hub.Publish(live.TopicTunnel, "devproxy/tunnelChanged", st)
	tr.rt.n.tunnelChanged(st)
}

// current is the tunnel's state.
func (tr *tunnelRuntime) current() tunnel.State {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.state
}

// stop ends the tunnel for good (the session ends).
func (tr *tunnelRuntime) stop() {
	tr.mu.Lock()
	tr.stopped = true
	m := tr.m
	tr.mu.Unlock()
	if m != nil {
		m.Stop()
	}
	tr.rt.n.opts.Workspace.SetPublicURL("")
}

// checkRequest validates a request's provider and URL.
func checkRequest(req TunnelRequest) (spec, error) {
	switch req.Provider {
	case "", "auto":
		return spec{}, nil
	case tunnel.ProviderNgrok, tunnel.ProviderCloudflared:
		return spec{provider: req.Provider}, nil
	case tunnel.ProviderManual:
		u, err := tunnel.CheckPublicURL(req.URL)
		if err != nil {
			return spec{}, err
		}
		return spec{provider: tunnel.ProviderManual, url: u}, nil
	}
	return spec{}, fmt.Errorf("tunnel provider %q is not one of auto, ngrok, cloudflared, manual", req.Provider)
}

// Tunnel is the tunnel's state as this process knows it: its own while it
// owns the port, the owner's while it is a member, off otherwise.
func (n *Node) Tunnel() tunnel.State {
	n.mu.Lock()
	rt, remote := n.rt, n.remoteTunnel
	n.mu.Unlock()
	if tr := rt.tunnel(); tr != nil {
		return tr.current()
	}
	if remote != nil {
		return *remote
	}
	return tunnel.State{Status: tunnel.StatusOff}
}

// StartTunnel starts (or restarts) the tunnel req asks for, at the owner,
// and returns its state once started (usually "starting").
func (n *Node) StartTunnel(ctx context.Context, req TunnelRequest) (tunnel.State, error) {
	s, err := checkRequest(req)
	if err != nil {
		return tunnel.State{}, err
	}
	return n.atOwner(ctx, "devproxy/tunnelStart", req, func(tr *tunnelRuntime) error { return tr.restart(s) })
}

// StopTunnel stops the tunnel at the owner (a tunnel devproxy.json asks
// for starts again when devproxy.json changes).
func (n *Node) StopTunnel(ctx context.Context) (tunnel.State, error) {
	return n.atOwner(ctx, "devproxy/tunnelStop", nil, func(tr *tunnelRuntime) error {
		tr.mu.Lock()
		m := tr.m
		tr.mu.Unlock()
		if m != nil {
			m.Stop()
		}
		return nil
	})
}

// atOwner changes the tunnel where it runs: with do while this process
// owns the port, by calling method at the owner while it is a member. It
// returns the tunnel's state afterwards.
func (n *Node) atOwner(ctx context.Context, method string, params any, do func(*tunnelRuntime) error) (tunnel.State, error) {
	n.mu.Lock()
	rt, c := n.rt, n.remote
	n.mu.Unlock()
	if tr := rt.tunnel(); tr != nil {
		err := do(tr)
		return tr.current(), err
	}
	if c != nil {
		var st tunnel.State
		err := c.Call(ctx, method, params, &st)
		return st, err
	}
	return tunnel.State{}, ErrNoProxy
}

// tunnelChanged tells the host.
func (n *Node) tunnelChanged(st tunnel.State) {
	if n.opts.OnTunnel != nil {
		n.opts.OnTunnel(st)
	}
}

// tunnelMethods are the hub's tunnel methods.
func (n *Node) tunnelMethods() map[string]live.Method {
	return map[string]live.Method{
		"devproxy/tunnel": func(context.Context, json.RawMessage) (any, error) { return n.Tunnel(), nil },
		"devproxy/tunnelStart": func(ctx context.Context, raw json.RawMessage) (any, error) {
			req, err := ParseTunnelRequest(raw)
			if err != nil {
				return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: err.Error()}
			}
			st, err := n.StartTunnel(ctx, req)
			if err != nil {
				return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "devproxy/tunnelStart: " + err.Error()}
			}
			return st, nil
		},
		"devproxy/tunnelStop": func(ctx context.Context, _ json.RawMessage) (any, error) {
			return n.StopTunnel(ctx)
		},
	}
}

// writeMethods are the hub's methods that change something, or spend the
// owner's resources on someone's behalf: a read-only key may not call
// them.
var writeMethods = map[string]bool{
	"devproxy/tunnelStart": true,
	"devproxy/tunnelStop":  true,
	// Calliope spends the owner's model (and its key's quota), and its
	// answers carry file paths and settings only an admin may change.
	"devproxy/chat": true,
}

// permit is the hub's rule: anyone who may connect may read; a change
// needs a principal who may write (auth.Principal.CanWrite).
func permit(r *http.Request, method string) error {
	if !writeMethods[method] {
		return nil
	}
	if p, ok := auth.PrincipalOf(r.Context()); ok && p.CanWrite() {
		return nil
	}
	return &jsonrpc2.Error{Code: live.CodeForbidden, Message: method + " needs an admin key; this key is read-only"}
}
