package monitor

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/store"
)

// site is a real proxy on loopback serving a workspace, with a monitor.
type site struct {
	root string
	ws   *routing.Workspace
	info httpproxy.ServeInfo
	mon  *Monitor
	obs  atomic.Pointer[func(httpproxy.AccessEntry)]
}

func writeFile(tb testing.TB, root, rel, content string) {
	tb.Helper()
	proxytest.WriteFiles(tb, root, map[string]string{rel: content})
}

func startSite(tb testing.TB, files map[string]string, opts Options) *site {
	tb.Helper()
	s := &site{root: tb.TempDir()}
	proxytest.WriteFiles(tb, s.root, files)
	ws, err := routing.NewWorkspace(s.root)
	if err != nil {
		tb.Fatal(err)
	}
	s.ws = ws
	s.info = proxytest.Serve(tb, nil, httpproxy.ServeOptions{Workspace: ws,
		AccessLog: func(e httpproxy.AccessEntry) {
			if fn := s.obs.Load(); fn != nil {
				(*fn)(e)
			}
		}})
	opts.Workspace = ws
	opts.Base = "http://" + s.info.Addr
	opts.ProbeToken = s.info.Proxy.ProbeToken()
	if opts.Scan.Timeout == 0 {
		opts.Scan.Timeout = 2 * time.Second
	}
	m, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	s.mon = m
	observe := m.Observe
	s.obs.Store(&observe)
	return s
}

// switchable is an upstream on a fixed loopback port that can be stopped
// and started again.
type switchable struct {
	tb   testing.TB
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func newSwitchable(tb testing.TB) *switchable {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	u := &switchable{tb: tb, addr: l.Addr().String()}
	u.serve(l)
	tb.Cleanup(u.stop)
	return u
}

func (u *switchable) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("hello"))
	})}
	u.mu.Lock()
	u.srv = srv
	u.mu.Unlock()
	go srv.Serve(l)
}

func (u *switchable) stop() {
	u.mu.Lock()
	srv := u.srv
	u.srv = nil
	u.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (u *switchable) start() {
	var l net.Listener
	var err error
	for range 50 {
		if l, err = net.Listen("tcp", u.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		u.tb.Fatalf("listen again on %s: %v", u.addr, err)
	}
	u.serve(l)
}

// waitRoute waits for the route's report to satisfy ok.
func waitRoute(tb testing.TB, m *Monitor, route string, within time.Duration, ok func(health.Report) bool) health.Report {
	tb.Helper()
	deadline := time.Now().Add(within)
	var last health.Report
	for time.Now().Before(deadline) {
		for _, r := range m.Document().Routes {
			if r.Route == route {
				last = r
				if ok(r) {
					return r
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("route %s: not as expected within %v; last %+v", route, within, last)
	return last
}

func isStatus(s health.Status) func(health.Report) bool {
	return func(r health.Report) bool { return r.Status == s }
}

// TestHealthFollowsTheUpstream: with the slow pace far away, a route's
// health turns to error within 2 s of its upstream stopping and back to
// ok within 2 s of it starting again, with no request to the route: the
// upstream watch notices.
func TestHealthFollowsTheUpstream(t *testing.T) {
	up := newSwitchable(t)
	s := startSite(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + up.addr + "; }\n"},
		Options{Slow: time.Hour, Fast: time.Hour})
	changes := make(chan Document, 64)
	s.mon.Subscribe(func(d Document) { changes <- d })
	waitRoute(t, s.mon, "/a/", 3*time.Second, isStatus(health.StatusOK))

	up.stop()
	r := waitRoute(t, s.mon, "/a/", 2*time.Second, isStatus(health.StatusError))
	if want := "connection refused on " + up.addr; r.Reason != want {
		t.Errorf("reason %q, want %q", r.Reason, want)
	}
	up.start()
	waitRoute(t, s.mon, "/a/", 2*time.Second, isStatus(health.StatusOK))

	// Subscribers heard ok, error and ok again.
	var seen []health.Status
	for len(changes) > 0 {
		d := <-changes
		for _, r := range d.Routes {
			if r.Route == "/a/" && (len(seen) == 0 || seen[len(seen)-1] != r.Status) {
				seen = append(seen, r.Status)
			}
		}
	}
	want := []health.Status{health.StatusUnknown, health.StatusOK, health.StatusError, health.StatusOK}
	if len(seen) < 3 || seen[len(seen)-1] != health.StatusOK || !contains(seen, health.StatusError) {
		t.Errorf("subscribers saw %v, want something like %v", seen, want)
	}
}

func contains(list []health.Status, s health.Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestNeverRanIsAnError: a route whose upstream never ran is an error,
// never ok.
func TestNeverRanIsAnError(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	s := startSite(t, map[string]string{"apps/a.conf": "location /gone/ { proxy_pass http://" + addr + "; }\n"}, Options{})
	r := waitRoute(t, s.mon, "/gone/", 3*time.Second, func(r health.Report) bool { return r.Status != health.StatusUnknown })
	if r.Status != health.StatusError || r.Reason != "connection refused on "+addr {
		t.Errorf("got %s %q", r.Status, r.Reason)
	}
	if d := s.mon.Document(); d.Summary.Error != 1 || d.Source != SourceOwner {
		t.Errorf("summary %+v source %s", d.Summary, d.Source)
	}
}

// TestPassiveHealth: real requests through the proxy are counted on
// their route, and a dial error is the route's last error.
func TestPassiveHealth(t *testing.T) {
	up := newSwitchable(t)
	s := startSite(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + up.addr + "; }\n"},
		Options{Slow: time.Hour, Fast: time.Hour, Watch: time.Hour})
	waitRoute(t, s.mon, "/a/", 3*time.Second, isStatus(health.StatusOK))
	for range 3 {
		get(t, "http://"+s.info.Addr+"/a/x")
	}
	up.stop()
	get(t, "http://"+s.info.Addr+"/a/y")
	// The dial error disagrees with the last probe (ok): the route is
	// probed again at once, though the watch and the schedule sleep.
	// An exchange is observed just after its answer reached the client,
	// so the four may be counted in any order.
	r := waitRoute(t, s.mon, "/a/", 2*time.Second, func(r health.Report) bool {
		return r.Status == health.StatusError && r.Passive != nil && r.Passive.Requests == 4
	})
	p := r.Passive
	if p == nil {
		t.Fatal("no passive health")
	}
	// The four requests above, not the scanner's own probes.
	if p.Requests != 4 || p.DialErrors < 1 || p.Errors < 1 || p.LastErrorAt == nil {
		t.Errorf("passive %+v", *p)
	}
	if want := "connection refused on " + up.addr; p.LastError != want {
		t.Errorf("last error %q, want %q", p.LastError, want)
	}
}

func get(tb testing.TB, url string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
}

// TestEditsAreProbed: a route added to a file is probed soon after the
// reload, and one removed leaves the document.
func TestEditsAreProbed(t *testing.T) {
	up := newSwitchable(t)
	s := startSite(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + up.addr + "; }\n"},
		Options{Slow: time.Hour, Watch: time.Hour})
	waitRoute(t, s.mon, "/a/", 3*time.Second, isStatus(health.StatusOK))
	writeFile(t, s.root, "apps/a.conf", "location /b/ { proxy_pass http://"+up.addr+"; }\n")
	s.ws.Load()
	waitRoute(t, s.mon, "/b/", 3*time.Second, isStatus(health.StatusOK))
	for _, r := range s.mon.Document().Routes {
		if r.Route == "/a/" {
			t.Errorf("/a/ is still reported after its block was removed")
		}
	}
}

// TestRescanAndStore: Rescan probes on demand; reports go to the store,
// and a new monitor on the same store starts from them.
func TestRescanAndStore(t *testing.T) {
	up := newSwitchable(t)
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	files := map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + up.addr + "; }\n"}
	s := startSite(t, files, Options{Store: st, Slow: time.Hour, Fast: time.Hour, Watch: time.Hour})
	waitRoute(t, s.mon, "/a/", 3*time.Second, isStatus(health.StatusOK))
	up.stop()
	// Nothing wakes the monitor by itself now: Rescan does.
	d := s.mon.Rescan(context.Background(), "/a/")
	if d.Routes[0].Status != health.StatusError {
		t.Fatalf("after Rescan: %+v", d.Routes[0])
	}
	hist, err := s.mon.History("/a/", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Status != health.StatusError || hist[1].Status != health.StatusOK {
		t.Fatalf("history %d reports: %+v", len(hist), hist)
	}
	s.mon.Close()

	// A new monitor on the same store shows the last known health before
	// its first probe has run.
	m2, err := Start(Options{Workspace: s.ws, Base: "http://" + s.info.Addr, Store: st, Slow: time.Hour, Fast: time.Hour, Watch: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	found := false
	for _, r := range m2.Document().Routes {
		if r.Route == "/a/" {
			found = true
			if r.Status == health.StatusOK {
				t.Errorf("the restarted monitor shows /a/ ok; stored was error")
			}
		}
	}
	if !found {
		t.Error("the restarted monitor does not list /a/")
	}
}

// TestContestedRoute: the block that lost a route and the one that won it
// share the route; each is reported once, the winner probed, the loser
// unknown with its config state.
func TestContestedRoute(t *testing.T) {
	up := newSwitchable(t)
	s := startSite(t, map[string]string{
		"apps/a.conf":                "location /api/ { proxy_pass http://" + up.addr + "; }\n",
		"apps/b.conf":                "location /api/ { proxy_pass http://127.0.0.1:1; }\n",
		".devproxy/resolutions.json": `{"/api/": "apps/a.conf"}`,
	}, Options{})
	waitRoute(t, s.mon, "/api/", 3*time.Second, isStatus(health.StatusOK))
	d := s.mon.Document()
	if len(d.Routes) != 2 || d.Summary.OK != 1 || d.Summary.Unknown != 1 {
		t.Fatalf("%+v", d.Routes)
	}
	for _, r := range d.Routes {
		if (r.File == "apps/a.conf") != r.Active || (r.Active && r.Status != health.StatusOK) || (!r.Active && r.Status != health.StatusUnknown) {
			t.Errorf("%s: active %v status %s", r.File, r.Active, r.Status)
		}
	}
}

// TestTunnelProbe: with a public URL known (here the tunnel listener
// itself, as a tunnel agent would forward to it), each ok route's page is
// probed through it too; when the public URL does not answer, the route is
// a warning that says so, with its local health intact.
func TestTunnelProbe(t *testing.T) {
	up := newSwitchable(t)
	s := startSite(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + up.addr + "; }\n"},
		Options{Slow: time.Hour, Watch: time.Hour})
	writeFile(t, s.root, "devproxy.json", `{"tunnel": {"publicUrl": "http://`+s.info.TunnelAddr+`"}}`)
	s.ws.Load()
	r := waitRoute(t, s.mon, "/a/", 3*time.Second, func(r health.Report) bool { return r.Tunnel != nil })
	if r.Status != health.StatusOK || r.Tunnel.Status != health.StatusOK || r.Tunnel.URL != "http://"+s.info.TunnelAddr+"/a/" {
		t.Fatalf("through a working tunnel: %s %+v", r.Status, *r.Tunnel)
	}
	validateDocument(t, healthSchema(t), s.mon.Document())
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	writeFile(t, s.root, "devproxy.json", `{"tunnel": {"publicUrl": "http://`+dead+`"}}`)
	s.ws.Load()
	r = waitRoute(t, s.mon, "/a/", 3*time.Second, func(r health.Report) bool { return r.Tunnel != nil && r.Tunnel.Status != health.StatusOK })
	if r.Status != health.StatusWarning || !strings.Contains(r.Reason, "through the tunnel (http://"+dead+")") || r.HTTPStatus != 200 {
		t.Errorf("through a dead tunnel: %s %q (local HTTP %d)", r.Status, r.Reason, r.HTTPStatus)
	}
}
