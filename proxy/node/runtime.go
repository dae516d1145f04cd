package node

// The owner's runtime: what runs beside the proxy while this process owns
// the port. The health monitor (proxy/monitor) with its store, the live
// events hub at /devproxy/ws (proxy/live) and the proxy's own pages that
// read them (/health.json). A member runs none of it: it reads the
// owner's health over /devproxy/ws.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/manage"
	"github.com/devtunnelproxy/devproxy/proxy/metrics"
	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/store"
	"github.com/devtunnelproxy/devproxy/proxy/tunnel"
)

// HealthOptions configure the owner's health monitor.
type HealthOptions struct {
	// Off runs no monitor (tests of other things).
	Off bool
	// DataDir holds the health store; "" keeps health in memory only.
	DataDir   string
	Retention store.Retention
	// Workspace is the folder a DataDir must not be inside.
	Workspace string
	Scan      health.Options
	// Fast, Slow and Watch are monitor.Options'; zero takes the defaults.
	Fast, Slow, Watch time.Duration
}

// runtime is one owning session's services.
type runtime struct {
	n   *Node
	hub *live.Hub
	// auth decides who may use the proxy's own paths: anyone on this
	// machine, a key (or its session) through the tunnel or from another
	// address (proxy/auth).
	auth  *auth.Authenticator
	keys  *auth.Keys
	audit *auth.Audit
	done  chan struct{} // closed by stop: ends the traffic events
	// unsubRoutes ends the routes and config events.
	unsubRoutes func()

	mu      sync.Mutex
	tun     *tunnelRuntime // once the listeners are bound
	mon     *monitor.Monitor
	store   *store.Store
	unsub   func()
	stopped bool
}

// start opens the store and starts the monitor for the proxy at addr. It
// runs off Serve's goroutine: opening a store another process holds
// takes a second.
func (rt *runtime) start(addr, probeToken string) {
	o := rt.n.opts.Health
	if o.Off {
		return
	}
	var st *store.Store
	if o.DataDir != "" {
		var err error
		st, err = store.Open(o.DataDir, store.Options{Retention: o.Retention, Workspace: o.Workspace})
		switch {
		case errors.Is(err, store.ErrLocked):
			rt.n.log.Warn("health is kept in memory only: another devproxy holds the health store", "err", err)
		case err != nil:
			rt.n.log.Warn("health is kept in memory only", "err", err)
		default:
			if removed, err := st.Prune(time.Now()); err != nil {
				rt.n.log.Warn("cannot prune the health store", "err", err)
			} else if removed > 0 {
				rt.n.log.Info("pruned old health reports", "removed", removed)
			}
		}
	}
	mon, err := monitor.Start(monitor.Options{
		Workspace: rt.n.opts.Workspace, Base: "http://" + addr, ProbeToken: probeToken, Store: st, Scan: o.Scan,
		Fast: o.Fast, Slow: o.Slow, Watch: o.Watch, Log: rt.n.log,
	})
	if err != nil {
		rt.n.log.Error("cannot start the health monitor", "err", err)
		if st != nil {
			st.Close()
		}
		return
	}
	rt.mu.Lock()
	if rt.stopped {
		// The session ended while the store opened.
		rt.mu.Unlock()
		mon.Close()
		if st != nil {
			st.Close()
		}
		return
	}
	rt.mon, rt.store = mon, st
	rt.unsub = mon.Subscribe(rt.healthChanged)
	rt.mu.Unlock()
	if st != nil {
		go rt.pruneLoop(st)
	}
	rt.healthChanged(mon.Document())
}

// stop stops the monitor and closes the store.
func (rt *runtime) stop() {
	rt.mu.Lock()
	mon, st, unsub, tun := rt.mon, rt.store, rt.unsub, rt.tun
	rt.mon, rt.store, rt.unsub = nil, nil, nil
	rt.stopped = true
	rt.mu.Unlock()
	if tun != nil {
		tun.stop()
	}
	rt.unsubRoutes()
	close(rt.done)
	rt.hub.Close()
	if rt.keys != nil {
		rt.keys.Close()
	}
	if rt.audit != nil {
		rt.audit.Close()
	}
	if unsub != nil {
		unsub()
	}
	if mon != nil {
		mon.Close()
	}
	if st != nil {
		st.Close()
	}
}

// runtimeReports is the store of the running monitor, when it has one,
// as the management API reads it.
type runtimeReports struct{ rt *runtime }

func (r runtimeReports) Latest() (map[string][]byte, error) {
	if st := r.rt.currentStore(); st != nil {
		return st.Latest()
	}
	return nil, manage.ErrNoStore
}

func (r runtimeReports) Prune(now time.Time) (int, error) {
	if st := r.rt.currentStore(); st != nil {
		return st.Prune(now)
	}
	return 0, manage.ErrNoStore
}

// tunnel is the owner's tunnel, nil before the listeners are bound.
func (rt *runtime) tunnel() *tunnelRuntime {
	if rt == nil {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.tun
}

func (rt *runtime) monitor() *monitor.Monitor {
	if rt == nil {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.mon
}

// healthChanged tells the hub's subscribers and the host.
func (rt *runtime) healthChanged(doc monitor.Document) {
	rt.hub.Publish(live.TopicHealth, "devproxy/healthChanged", doc)
	rt.n.healthChanged(doc)
}

// observe is the access-log hook: analytics and passive health (of real
// traffic, not the scanner's probes), then the host's log.
func (rt *runtime) observe(next func(httpproxy.AccessEntry)) func(httpproxy.AccessEntry) {
	return func(e httpproxy.AccessEntry) {
		if !e.Probe {
			rt.n.metrics.Observe(e)
			rt.n.requests.Add(1)
			rt.n.errors.add(e, time.Now())
		}
		if m := rt.monitor(); m != nil {
			m.Observe(e)
		}
		if next != nil {
			next(e)
		}
	}
}

// newRuntime prepares an owning session: the hub, with its methods, and
// the routes and config events.
func newRuntime(n *Node) *runtime {
	rt := &runtime{n: n, done: make(chan struct{})}
	rt.openAuth()
	routeMetrics, traffic := n.trafficMethods()
	methods := map[string]live.Method{
		"devproxy/routeMetrics": routeMetrics,
		"devproxy/recentErrors": func(ctx context.Context, raw json.RawMessage) (any, error) {
			var p struct {
				Route string `json:"route"`
				Limit int    `json:"limit"`
			}
			if len(raw) > 0 && string(raw) != "null" {
				if err := json.Unmarshal(raw, &p); err != nil {
					return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "devproxy/recentErrors takes {\"route\"?: \"/app/\", \"limit\"?: 20}"}
				}
			}
			return n.RecentErrors(ctx, p.Route, min(max(p.Limit, 0), recentErrorsKept))
		},
		"devproxy/traffic": traffic,
		"devproxy/routes": func(context.Context, json.RawMessage) (any, error) {
			return httpproxy.NewRoutesDocument(n.opts.Workspace.Served()), nil
		},
		"devproxy/health": func(context.Context, json.RawMessage) (any, error) { return n.Health(), nil },
		"devproxy/rescan": func(ctx context.Context, raw json.RawMessage) (any, error) {
			var p struct {
				Route string `json:"route"`
			}
			if len(raw) > 0 && string(raw) != "null" {
				if err := json.Unmarshal(raw, &p); err != nil {
					return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "devproxy/rescan takes {\"route\"?: \"/app/\"}"}
				}
			}
			var routes []string
			if p.Route != "" {
				routes = []string{p.Route}
			}
			return n.Rescan(ctx, routes...)
		},
		"devproxy/explain": func(_ context.Context, raw json.RawMessage) (any, error) {
			var p struct {
				URL    string `json:"url"`
				Method string `json:"method"`
			}
			if err := json.Unmarshal(raw, &p); err != nil || p.URL == "" {
				return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "devproxy/explain needs {\"url\": \"/path\"}"}
			}
			t := n.opts.Workspace.Served()
			req, err := routing.ExplainRequest(t.Config, p.URL, p.Method, nil, false)
			if err != nil {
				return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "devproxy/explain: " + err.Error()}
			}
			return t.Explain(req), nil
		},
	}
	for name, m := range n.tunnelMethods() {
		methods[name] = m
	}
	for name, m := range n.opts.Methods {
		methods[name] = m
	}
	rt.hub = live.NewHub(live.Options{Log: n.log, Methods: methods, Permit: permit, AllowOrigin: func(r *http.Request) bool {
		if auth.FromTunnel(r.Context()) {
			return auth.SameOrigin(r) // the tunnel's origin is https
		}
		return live.SameOrigin(r)
	}})
	var lastConfig []byte
	var mu sync.Mutex
	rt.unsubRoutes = n.opts.Workspace.SubscribeServed(func(t *routing.RouteTable) {
		rt.hub.Publish(live.TopicRoutes, "devproxy/routesChanged", httpproxy.NewRoutesDocument(t))
		cfg, _ := json.Marshal(t.Config)
		mu.Lock()
		changed := !bytes.Equal(cfg, lastConfig)
		lastConfig = cfg
		mu.Unlock()
		if changed {
			rt.hub.Publish(live.TopicConfig, "devproxy/configChanged", json.RawMessage(cfg))
		}
	})
	go rt.publishTraffic()
	return rt
}

// pruneEvery is how often a long-running owner applies the retention's
// age limit (the count limit applies on every write).
const pruneEvery = 6 * time.Hour

// pruneLoop prunes the store every pruneEvery until stop.
func (rt *runtime) pruneLoop(st *store.Store) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-rt.done:
			return
		case <-t.C:
			if removed, err := st.Prune(time.Now()); err != nil {
				rt.n.log.Warn("cannot prune the health store", "err", err)
			} else if removed > 0 {
				rt.n.log.Info("pruned old health reports", "removed", removed)
			}
		}
	}
}

// trafficEvery is how often the dashboard hears of new traffic.
const trafficEvery = 5 * time.Second

// publishTraffic sends devproxy/trafficChanged every trafficEvery while
// requests come in, until stop.
func (rt *runtime) publishTraffic() {
	t := time.NewTicker(trafficEvery)
	defer t.Stop()
	var seen uint64
	for {
		select {
		case <-rt.done:
			return
		case <-t.C:
		}
		if n := rt.n.requests.Load(); n != seen {
			seen = n
			rt.hub.Publish(live.TopicMetrics, "devproxy/trafficChanged", rt.n.traffic(30))
		}
	}
}

// openAuth opens the API keys and the audit log in the data directory;
// without one, nothing but this machine gets in.
func (rt *runtime) openAuth() {
	o := rt.n.opts.Health
	if o.DataDir != "" && !o.Off {
		var err error
		if rt.keys, err = auth.OpenKeys(filepath.Join(o.DataDir, auth.KeysFileName)); err != nil {
			rt.n.log.Warn("no API key works: only this machine can use the proxy's pages", "err", err)
		}
		if rt.audit, err = auth.OpenAudit(filepath.Join(o.DataDir, auth.AuditFileName), 0); err != nil {
			rt.n.log.Warn("changes are not audited", "err", err)
		}
	}
	rt.auth = auth.New(auth.Options{Keys: rt.keys, Audit: rt.audit, Log: rt.n.log})
}

// tunnelGate lets a request through the tunnel reach the pages the proxy
// renders itself (the dashboard) with a key or a session.
func (rt *runtime) tunnelGate(w http.ResponseWriter, r *http.Request) bool {
	r = r.WithContext(auth.WithTunnel(r.Context()))
	_, ok := rt.auth.Authenticate(w, r)
	return ok
}

// handler serves the owner's local paths: /devproxy/ws (the members with
// their token, everyone else the hub), /health.json, and the analytics
// (/devproxy/metrics, /devproxy/api/metrics).
func (rt *runtime) handler(members http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+metrics.PrometheusPath, rt.n.metrics.Handler())
	mux.Handle(metrics.ExportPath, rt.n.metrics.Handler())
	mux.Handle("GET /devproxy/ws", live.Route(members, rt.hub.Handler()))
	rt.healthAPI(mux)
	// The management API (proxy/manage): apps and scripts register their
	// routes; its writes reach the proxy through the workspace's watcher.
	api := manage.New(manage.Options{Workspace: rt.n.opts.Workspace, Reports: runtimeReports{rt}, Log: rt.n.log,
		Version: httpproxy.Version, Audit: rt.auth.Audit}).Handler()
	for _, p := range manage.Paths {
		mux.Handle(p, api)
	}
	rt.auth.RegisterAPI(mux)
	// Every path goes through the authenticator: a request through the
	// tunnel (httpproxy marks its context) needs a key or a session.
	wrapped := rt.auth.Wrap(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpproxy.ThroughTunnel(r.Context()) {
			r = r.WithContext(auth.WithTunnel(r.Context()))
		}
		wrapped.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Health is the routes' health as this process knows it: its monitor's
// while it owns the port, the owner's while it is a member (source
// "joined"), and "none" otherwise.
func (n *Node) Health() monitor.Document {
	n.mu.Lock()
	rt, remote := n.rt, n.remoteHealth
	n.mu.Unlock()
	if m := rt.monitor(); m != nil {
		return m.Document()
	}
	if remote != nil {
		return *remote
	}
	return monitor.NoDocument(time.Now())
}

// ErrNoProxy is Rescan's error when no proxy runs here or at the owner.
var ErrNoProxy = errors.New("no proxy runs: nothing to probe")

// Rescan probes the routes now (all when none are named; a member asks
// the owner, for one route or all) and returns the new health.
func (n *Node) Rescan(ctx context.Context, routes ...string) (monitor.Document, error) {
	n.mu.Lock()
	rt := n.rt
	n.mu.Unlock()
	if m := rt.monitor(); m != nil {
		return m.Rescan(ctx, routes...), nil
	}
	n.mu.Lock()
	c := n.remote
	n.mu.Unlock()
	if c != nil {
		params := map[string]string{}
		if len(routes) > 0 {
			params["route"] = routes[0] // the hub's rescan takes one route, or all
		}
		var doc monitor.Document
		err := c.Call(ctx, "devproxy/rescan", params, &doc)
		doc.Source = monitor.SourceJoined
		return doc, err
	}
	return monitor.Document{}, ErrNoProxy
}

// followOwner reads the owner's health over /devproxy/ws while this
// process is a member, until ctx ends or the connection does.
func (n *Node) followOwner(ctx context.Context, addr string) {
	set := func(doc monitor.Document) {
		doc.Source = monitor.SourceJoined
		n.mu.Lock()
		n.remoteHealth = &doc
		n.mu.Unlock()
		n.healthChanged(doc)
	}
	setTunnel := func(st tunnel.State) {
		n.opts.Workspace.SetPublicURL(st.UpURL()) // before anyone reads the state
		n.mu.Lock()
		n.remoteTunnel = &st
		n.mu.Unlock()
		n.tunnelChanged(st)
	}
	c, err := live.Dial(ctx, DialAddr(addr), []string{live.TopicHealth, live.TopicTunnel}, func(method string, params json.RawMessage) {
		switch method {
		case "devproxy/healthChanged":
			var doc monitor.Document
			if json.Unmarshal(params, &doc) == nil {
				set(doc)
			}
		case "devproxy/tunnelChanged":
			var st tunnel.State
			if json.Unmarshal(params, &st) == nil {
				setTunnel(st)
			}
		}
	})
	if err != nil {
		n.log.Warn("cannot read route health from the devproxy that owns the port", "err", err)
		return
	}
	defer c.Close()
	n.mu.Lock()
	n.remote = c
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.remote, n.remoteHealth, n.remoteTunnel = nil, nil, nil
		n.mu.Unlock()
		n.healthChanged(n.Health())
		n.opts.Workspace.SetPublicURL("")
		n.tunnelChanged(n.Tunnel())
	}()
	var doc monitor.Document
	if err := c.Call(ctx, "devproxy/health", nil, &doc); err == nil {
		set(doc)
	}
	var st tunnel.State
	if err := c.Call(ctx, "devproxy/tunnel", nil, &st); err == nil {
		setTunnel(st)
	}
	select {
	case <-ctx.Done():
	case <-c.Done():
	}
}

// healthChanged tells the host.
func (n *Node) healthChanged(doc monitor.Document) {
	if n.opts.OnHealth != nil {
		n.opts.OnHealth(doc)
	}
}

// DialAddr is a listener's address as a dialable host:port: a listener on
// every address is dialled on loopback.
func DialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// HealthFor is where the workspace at root keeps its health: dataDir when
// set (--data-dir), else cfg's dataDir (devproxy.json), else a folder per
// workspace under the user's state directory (store.DefaultDir), with
// cfg's retention.
func HealthFor(root string, cfg routing.Config, dataDir string) (HealthOptions, error) {
	o := HealthOptions{Workspace: root, DataDir: dataDir,
		Retention: store.Retention{Reports: cfg.Retention.Reports, Days: cfg.Retention.Days}}
	if o.DataDir == "" {
		o.DataDir = cfg.DataDir
	}
	if o.DataDir == "" {
		dir, err := store.DefaultDir(root)
		if err != nil {
			return o, err
		}
		o.DataDir = dir
	}
	if err := store.CheckOutside(o.DataDir, root); err != nil {
		return o, err
	}
	return o, nil
}
