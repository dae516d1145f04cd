package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/store"
)

// host is what devproxy serve does around a Node: a workspace of its own
// folder plus the others' folders, watched on disk.
type host struct {
	name string
	root string
	ws   *routing.Workspace
	node *Node
	stop context.CancelFunc
	done chan struct{}

	mu     sync.Mutex
	states []State
}

// site writes a folder with one route file whose locations answer with
// upstreams that say their name.
func site(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, text := range files {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func saying(t *testing.T, what string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, what)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// refusing is an upstream that closes every connection unanswered: its
// routes report an error. It holds its port, which a free port taken with
// proxytest.FreeAddr does not: a later listener may get that one.
func refusing(t *testing.T) string {
	return proxytest.ServeConns(t, func(net.Conn) {})
}

func startHost(t *testing.T, name, root, listen, tunnel, token string, more ...func(*Options)) *host {
	t.Helper()
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &host{name: name, root: root, ws: ws, stop: cancel, done: make(chan struct{})}
	if _, err := ws.Watch(ctx, 10*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Workspace: ws,
		Serve:     httpproxy.ServeOptions{Listen: listen, TunnelListen: tunnel, DrainTimeout: 200 * time.Millisecond},
		Token:     token,
		Client:    join.Client{PID: os.Getpid(), Kind: join.KindServe, Name: name},
		Folders:   []join.FolderReg{{Root: root}},
		OnOthers: func(others []routing.FolderSpec) {
			ws.SetFolders(append([]routing.FolderSpec{{Root: root, Watched: true}}, others...))
		},
		OnState: func(s State) {
			h.mu.Lock()
			h.states = append(h.states, s)
			h.mu.Unlock()
		},
	}
	for _, f := range more {
		f(&opts)
	}
	h.node = New(opts)
	go func() {
		defer close(h.done)
		h.node.Run(ctx)
	}()
	t.Cleanup(h.close)
	return h
}

func (h *host) close() {
	h.stop()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
	}
}

func waitRole(t *testing.T, h *host, role Role, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if h.node.State().Role == role {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: role %s after %s, want %s (states %+v)", h.name, h.node.State().Role, within, role, h.node.State())
}

// get fetches a path from the proxy on addr; "" with the status when it is
// not 200.
func get(addr, path string) (int, string) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitBody(t *testing.T, addr, path, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var status int
	var body string
	for time.Now().Before(deadline) {
		if status, body = get(addr, path); status == 200 && body == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET %s: %d %q after %s, want 200 %q", path, status, body, within, want)
}

func TestMembersFoldersAreServedByTheOwner(t *testing.T) {
	token := strings.Repeat("ab", 32)
	listen, tunnel := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	a := startHost(t, "a", site(t, map[string]string{
		"apps/a.conf": fmt.Sprintf("location /a/ { proxy_pass http://%s/; }\nlocation /api/ { proxy_pass http://%s/; }\n", saying(t, "A"), saying(t, "api of a")),
	}), listen, tunnel, token)
	waitRole(t, a, Owner, 5*time.Second)
	b := startHost(t, "b", site(t, map[string]string{
		"apps/b.conf": fmt.Sprintf("location /b/ { proxy_pass http://%s/; }\nlocation /api/ { proxy_pass http://%s/; }\n", saying(t, "B"), saying(t, "api of b")),
	}), listen, tunnel, token)
	waitRole(t, b, Member, 5*time.Second)

	waitBody(t, listen, "/a/", "A", 2*time.Second)
	waitBody(t, listen, "/b/", "B", 2*time.Second) // b's folder, served by a
	// Both tables have both folders and the conflict between them.
	for _, h := range []*host{a, b} {
		deadline := time.Now().Add(2 * time.Second)
		for len(h.ws.Table().Conflicts) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		tb := h.ws.Table()
		if len(tb.Folders) != 2 || len(tb.Conflicts) != 1 || tb.Conflicts[0].Route != "/api/" {
			t.Errorf("%s: folders %v, conflicts %d", h.name, tb.Folders, len(tb.Conflicts))
		}
	}
	st := b.node.State()
	if st.Members.Owner.Name != "a" || len(st.Members.Members) != 1 {
		t.Errorf("b's view of the port: %+v", st.Members)
	}

	// The owner goes: b takes the port and serves its own folder again.
	start := time.Now()
	a.close()
	waitRole(t, b, Owner, 2*time.Second)
	waitBody(t, listen, "/b/", "B", 2*time.Second)
	t.Logf("b took the port and served /b/ %s after a stopped", time.Since(start).Round(time.Millisecond))
	if status, _ := get(listen, "/a/"); status != 404 {
		t.Errorf("/a/ after a left: %d, want 404", status)
	}
}

func TestTakeOver(t *testing.T) {
	token := strings.Repeat("cd", 32)
	listen, tunnel := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	a := startHost(t, "a", site(t, map[string]string{"apps/a.conf": fmt.Sprintf("location /a/ { proxy_pass http://%s/; }\n", saying(t, "A"))}), listen, tunnel, token)
	waitRole(t, a, Owner, 5*time.Second)
	b := startHost(t, "b", site(t, map[string]string{"apps/b.conf": fmt.Sprintf("location /b/ { proxy_pass http://%s/; }\n", saying(t, "B"))}), listen, tunnel, token)
	waitRole(t, b, Member, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.node.TakeOver(ctx); err != nil {
		t.Fatal(err)
	}
	waitRole(t, b, Owner, 3*time.Second)
	waitRole(t, a, Member, 3*time.Second)
	waitBody(t, listen, "/a/", "A", 2*time.Second)
	waitBody(t, listen, "/b/", "B", 2*time.Second)
	if err := a.node.TakeOver(ctx); err != nil {
		t.Fatal(err)
	}
	waitRole(t, a, Owner, 3*time.Second)
	waitRole(t, b, Member, 3*time.Second)
	if err := a.node.TakeOver(ctx); err == nil {
		t.Error("the owner taking over from itself: no error")
	}
}

// A port held by something that is not a devproxy: the node says so and
// keeps trying; once the port is free it serves.
func TestPortHeldByAnotherProgram(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.NotFoundHandler()}
	go other.Serve(ln)
	a := startHost(t, "a", site(t, map[string]string{"apps/a.conf": fmt.Sprintf("location /a/ { proxy_pass http://%s/; }\n", saying(t, "A"))}), ln.Addr().String(), proxytest.FreeAddr(t), strings.Repeat("ef", 32))
	waitRole(t, a, Blocked, 5*time.Second)
	if err := a.node.State().Err; err == nil || !strings.Contains(err.Error(), "held by another program") {
		t.Errorf("blocked because %v", err)
	}
	other.Close()
	waitRole(t, a, Owner, 5*time.Second)
	waitBody(t, ln.Addr().String(), "/a/", "A", 2*time.Second)
}

// A proxy asked to listen on 0.0.0.0 says 0.0.0.0, not the [::] Go
// reports for such a listener (issue 10).
func TestOwnerShowsTheAddressAsked(t *testing.T) {
	_, port, _ := net.SplitHostPort(proxytest.FreeAddr(t))
	listen := "0.0.0.0:" + port
	h := startHost(t, "a", site(t, map[string]string{"apps/a.conf": "location /a/ { return 204; }\n"}), listen, proxytest.FreeAddr(t), strings.Repeat("ef", 32))
	waitRole(t, h, Owner, 5*time.Second)
	if got := h.node.State().Addr; got != listen {
		t.Errorf("owner's address = %q, want %q", got, listen)
	}
	for _, tt := range []struct{ asked, bound, want string }{
		{"0.0.0.0:8080", "[::]:8080", "0.0.0.0:8080"},
		{"0.0.0.0:0", "[::]:41234", "0.0.0.0:41234"},
		{":8080", "[::]:8080", "[::]:8080"},
		{"127.0.0.1:0", "127.0.0.1:5555", "127.0.0.1:5555"},
	} {
		if got := shownAddr(tt.asked, tt.bound); got != tt.want {
			t.Errorf("shownAddr(%q, %q) = %q, want %q", tt.asked, tt.bound, got, tt.want)
		}
	}
}

// TestOwnerServesHealth: the owner runs the health monitor beside the
// proxy: /health.json says a route whose upstream never ran is an error,
// the host hears of it (OnHealth), and the store holds the report.
func TestOwnerServesHealth(t *testing.T) {
	dead := proxytest.FreeAddr(t)
	root := site(t, map[string]string{"apps/a.conf": "location /up/ { proxy_pass http://" + saying(t, "up") + "; }\nlocation /dead/ { proxy_pass http://" + dead + "; }\n"})
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	heard := make(chan monitor.Document, 16)
	dataDir := t.TempDir()
	n := New(Options{
		Workspace: ws,
		Serve:     httpproxy.ServeOptions{Listen: proxytest.FreeAddr(t), TunnelListen: "127.0.0.1:0", DrainTimeout: 200 * time.Millisecond},
		Token:     strings.Repeat("ab", 32),
		Client:    join.Client{PID: os.Getpid(), Kind: join.KindServe, Name: "health"},
		Folders:   []join.FolderReg{{Root: root}},
		Health:    HealthOptions{DataDir: dataDir, Workspace: root},
		OnHealth: func(d monitor.Document) {
			select {
			case heard <- d:
			default:
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(ctx) }()
	h := &host{name: "health", node: n}
	waitRole(t, h, Owner, 5*time.Second)
	addr := n.State().Addr

	deadline := time.Now().Add(5 * time.Second)
	var doc monitor.Document
	for time.Now().Before(deadline) {
		status, body := get(addr, "/health.json")
		if status == 200 {
			doc = monitor.Document{}
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("/health.json: %v\n%s", err, body)
			}
			if doc.Summary.OK == 1 && doc.Summary.Error == 1 {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if doc.Source != monitor.SourceOwner || doc.Summary.OK != 1 || doc.Summary.Error != 1 {
		t.Fatalf("/health.json: %+v", doc)
	}
	for _, r := range doc.Routes {
		if r.Route == "/dead/" && r.Reason != "connection refused on "+dead {
			t.Errorf("/dead/: %q", r.Reason)
		}
	}
	select {
	case <-heard:
	case <-time.After(2 * time.Second):
		t.Error("OnHealth was never called")
	}
	// Retention through the API: a cross-site or form post changes
	// nothing; a JSON one from the machine does; prune applies it.
	post := func(path, contentType, origin, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post("/devproxy/api/health/retention", "application/x-www-form-urlencoded", "", "reports=1"); status != 403 {
		t.Errorf("form post: %d %s", status, body)
	}
	if status, body := post("/devproxy/api/health/retention", "application/json", "http://evil.example", `{"reports":1}`); status != 403 || !strings.Contains(body, "cross-site") {
		t.Errorf("cross-site post: %d %s", status, body)
	}
	if status, body := post("/devproxy/api/health/retention", "application/json", "", `{"reports":0}`); status != 400 || !strings.Contains(body, "reports must be") {
		t.Errorf("reports 0: %d %s", status, body)
	}
	if _, body := get(addr, "/devproxy/api/health/retention"); !strings.Contains(body, `"reports": 50`) {
		t.Errorf("a refused post changed the retention: %s", body)
	}
	if status, body := post("/devproxy/api/health/retention", "application/json", "http://"+addr, `{"reports":1,"days":3}`); status != 200 || !strings.Contains(body, `"reports": 1`) || !strings.Contains(body, `"days": 3`) {
		t.Errorf("same-origin post: %d %s", status, body)
	}
	if status, body := post("/devproxy/api/health/prune", "application/json", "", `{}`); status != 200 || !strings.Contains(body, `"removed"`) {
		t.Errorf("prune: %d %s", status, body)
	}
	// Through the tunnel, health is not served.
	if status, _ := get(n.State().TunnelAddr, "/health.json"); status != http.StatusUnauthorized {
		t.Errorf("/health.json through the tunnel without a key: %d, want 401", status)
	}
	cancel()
	<-done
	// The store was released and holds the reports.
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	latest, err := st.Latest()
	if err != nil || len(latest) != 2 {
		t.Fatalf("store: %d reports, %v", len(latest), err)
	}
	if d := n.Health(); d.Source != monitor.SourceNone {
		t.Errorf("after stopping, health source %q", d.Source)
	}
}

// TestMemberReadsTheOwnersHealth: a member probes nothing itself; it
// reads the owner's health over /devproxy/ws (source "joined"), follows
// its changes, and its Rescan asks the owner.
func TestMemberReadsTheOwnersHealth(t *testing.T) {
	listen := proxytest.FreeAddr(t)
	token := strings.Repeat("cd", 32)
	dead := refusing(t)
	a := startHost(t, "a", site(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + saying(t, "a") + "; }\n"}), listen, "127.0.0.1:0", token)
	waitRole(t, a, Owner, 5*time.Second)
	b := startHost(t, "b", site(t, map[string]string{"apps/b.conf": "location /b/ { proxy_pass http://" + dead + "; }\n"}), listen, "127.0.0.1:0", token)
	waitRole(t, b, Member, 5*time.Second)
	statusOf := func(d monitor.Document, route string) string {
		for _, r := range d.Routes {
			if r.Route == route {
				return string(r.Status)
			}
		}
		return ""
	}
	deadline := time.Now().Add(5 * time.Second)
	var d monitor.Document
	for time.Now().Before(deadline) {
		d = b.node.Health()
		if d.Source == monitor.SourceJoined && statusOf(d, "/a/") == "ok" && statusOf(d, "/b/") == "error" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d.Source != monitor.SourceJoined || statusOf(d, "/a/") != "ok" || statusOf(d, "/b/") != "error" {
		t.Fatalf("the member's health: source %s, routes %+v", d.Source, d.Routes)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := b.node.Rescan(ctx, "/b/")
	if err != nil || d.Source != monitor.SourceJoined || statusOf(d, "/b/") != "error" {
		t.Errorf("the member's rescan: %v %+v", err, d)
	}
}

// TestOwnerServesAnalytics: requests through the owner's proxy show in
// /devproxy/metrics and the export, but the scanner's own probes do not;
// through the tunnel neither is served.
func TestOwnerServesAnalytics(t *testing.T) {
	root := site(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + saying(t, "a") + "; }\n"})
	h := startHost(t, "a", root, proxytest.FreeAddr(t), "127.0.0.1:0", strings.Repeat("ef", 32))
	waitRole(t, h, Owner, 5*time.Second)
	addr := h.node.State().Addr
	// Let the monitor probe /a/ first: its probes must not count.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && h.node.Health().Summary.OK != 1 {
		time.Sleep(20 * time.Millisecond)
	}
	for range 2 {
		waitBody(t, addr, "/a/x", "a", time.Second)
	}
	// An exchange is counted just after its answer reached the client.
	var status int
	var text string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if status, text = get(addr, "/devproxy/metrics"); strings.Contains(text, `code_class="2xx"} 2`) {
			break
		}
	}
	if status != 200 || !strings.Contains(text, `devproxy_requests_total{route="/a/",code_class="2xx"} 2`) {
		t.Errorf("/devproxy/metrics: %d\n%s", status, text)
	}
	status, csv := get(addr, "/devproxy/api/metrics?format=csv")
	if status != 200 || !strings.Contains(csv, ",/a/,2,") {
		t.Errorf("/devproxy/api/metrics?format=csv: %d\n%s", status, csv)
	}
	m, err := h.node.RouteMetrics(context.Background(), "/a/", 5)
	total := int64(0)
	for _, p := range m.Points {
		total += p.Requests
	}
	if err != nil || total != 2 {
		t.Errorf("RouteMetrics: %v %+v", err, m)
	}
	if status, _ := get(h.node.State().TunnelAddr, "/devproxy/metrics"); status != http.StatusUnauthorized {
		t.Errorf("/devproxy/metrics through the tunnel without a key: %d", status)
	}
}

// TestRecentErrors: the owner keeps the requests that failed (not the
// ok ones, not the scanner's probes), newest first, per route.
func TestRecentErrors(t *testing.T) {
	dead := proxytest.FreeAddr(t)
	root := site(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + saying(t, "a") + "; }\nlocation /dead/ { proxy_pass http://" + dead + "; }\n"})
	h := startHost(t, "a", root, proxytest.FreeAddr(t), "127.0.0.1:0", strings.Repeat("12", 32))
	waitRole(t, h, Owner, 5*time.Second)
	addr := h.node.State().Addr
	get(addr, "/a/ok")
	get(addr, "/dead/one")
	get(addr, "/dead/two?token=secret")
	// An exchange is logged just after its answer reached the client.
	var errs []ProxyError
	var err error
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if errs, err = h.node.RecentErrors(context.Background(), "/dead/", 10); err != nil || len(errs) >= 2 {
			break
		}
	}
	if err != nil || len(errs) != 2 {
		t.Fatalf("recent errors of /dead/: %v %+v", err, errs)
	}
	if errs[0].Path != "/dead/two?…" || errs[1].Path != "/dead/one" || errs[0].Status != 503 || errs[0].Reason != "connection refused on "+dead {
		t.Errorf("newest first, with the reason and no query values: %+v", errs)
	}
	if all, _ := h.node.RecentErrors(context.Background(), "", 10); len(all) != 2 {
		t.Errorf("every route's errors: %+v (the monitor's probes of /dead/ must not count)", all)
	}
}

// TestOwnerServesTheManagementAPI: an app installs its route file through
// the owner's /devproxy/api/apps/install; the watcher reloads it and the
// proxy serves it. A cross-site post writes nothing; through the tunnel
// the API is not there.
func TestOwnerServesTheManagementAPI(t *testing.T) {
	root := site(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + saying(t, "a") + "; }\n"})
	h := startHost(t, "a", root, proxytest.FreeAddr(t), "127.0.0.1:0", strings.Repeat("34", 32))
	waitRole(t, h, Owner, 5*time.Second)
	addr := h.node.State().Addr
	body := `{"name": "shop", "content": "location /shop/ { proxy_pass http://` + saying(t, "shop") + `; }\n"}`
	post := func(origin string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/devproxy/api/apps/install", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := post("http://evil.example"); status != http.StatusForbidden {
		t.Fatalf("a cross-site install: %d", status)
	}
	if _, err := os.Stat(filepath.Join(root, "apps", "shop.conf")); err == nil {
		t.Fatal("a refused install wrote the file")
	}
	if status := post(""); status != http.StatusOK {
		t.Fatalf("install: %d", status)
	}
	waitBody(t, addr, "/shop/x", "shop", 5*time.Second)
	if status, _ := get(h.node.State().TunnelAddr, "/devproxy/api/apps/list"); status != http.StatusUnauthorized {
		t.Errorf("the API through the tunnel without a key: %d", status)
	}
}

// TestTunnelNeedsAKey: through the tunnel listener every page of the
// proxy's own needs a key: none is 401, a read-only key reads but cannot
// change (403), an admin key changes; the dashboard the proxy renders
// itself is behind the same door, and a session cookie from a key opens
// it. On this machine nothing is asked. Apps' routes are unaffected.
func TestTunnelNeedsAKey(t *testing.T) {
	dataDir := t.TempDir()
	readKey, adminKey := testKeys(t, dataDir)
	root := site(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + saying(t, "a") + "; }\n"})
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	n := New(Options{
		Workspace: ws,
		Serve:     httpproxy.ServeOptions{Listen: proxytest.FreeAddr(t), TunnelListen: "127.0.0.1:0", DrainTimeout: 200 * time.Millisecond},
		Token:     strings.Repeat("56", 32),
		Client:    join.Client{PID: os.Getpid(), Kind: join.KindServe, Name: "keys"},
		Folders:   []join.FolderReg{{Root: root}},
		Health:    HealthOptions{DataDir: dataDir, Workspace: root},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitRole(t, &host{name: "keys", node: n}, Owner, 5*time.Second)
	waitMonitor(t, n)
	local, tunnel := n.State().Addr, n.State().TunnelAddr
	do := func(addr, method, path, key, body string, header ...string) (int, http.Header) {
		status, h, _ := request(t, addr, method, path, key, body, header...)
		return status, h
	}
	prune := `{}`
	for _, c := range []struct {
		name, addr, method, path, key, body string
		want                                int
	}{
		{"local, no key", local, "GET", "/health.json", "", "", 200},
		{"tunnel, no key", tunnel, "GET", "/health.json", "", "", 401},
		{"tunnel, wrong key", tunnel, "GET", "/health.json", "dvp_wrong", "", 401},
		{"tunnel, read-only key reads", tunnel, "GET", "/health.json", readKey, "", 200},
		{"tunnel, read-only key on a write", tunnel, "POST", "/devproxy/api/health/prune", readKey, prune, 403},
		{"tunnel, admin key writes", tunnel, "POST", "/devproxy/api/health/prune", adminKey, prune, 200},
		{"tunnel, the dashboard without a key", tunnel, "GET", "/devproxy/", "", "", 401},
		{"tunnel, the dashboard with a key", tunnel, "GET", "/devproxy/", readKey, "", 200},
		{"tunnel, /routes.json without a key", tunnel, "GET", "/routes.json", "", "", 401},
		{"tunnel, an app's route needs nothing", tunnel, "GET", "/a/x", "", "", 200},
		{"tunnel, liveness needs nothing", tunnel, "GET", "/devproxy/healthz", "", "", 200},
	} {
		if got, _ := do(c.addr, c.method, c.path, c.key, c.body); got != c.want {
			t.Errorf("%s: %s %s = %d, want %d", c.name, c.method, c.path, got, c.want)
		}
	}
	// Sign in once with the key; the session cookie opens the dashboard.
	status, h := do(tunnel, "POST", "/devproxy/api/session", "", `{"key": "`+readKey+`"}`)
	cookie := ""
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "devproxy_session" {
			cookie = c.Name + "=" + c.Value
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("the session cookie is not HttpOnly, Secure and SameSite=Strict: %+v", c)
			}
		}
	}
	if status != 200 || cookie == "" {
		t.Fatalf("sign-in: %d, cookie %q", status, cookie)
	}
	if got, _ := do(tunnel, "GET", "/devproxy/", "", "", "Cookie", cookie); got != 200 {
		t.Errorf("the dashboard with the session: %d", got)
	}
}

// testKeys creates a read-only key ("teammate") and an admin key ("me")
// in dataDir's keys file.
func testKeys(t *testing.T, dataDir string) (readKey, adminKey string) {
	t.Helper()
	keys, err := auth.OpenKeys(filepath.Join(dataDir, auth.KeysFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	if readKey, _, err = keys.Create(auth.ReadOnly, "teammate"); err != nil {
		t.Fatal(err)
	}
	if adminKey, _, err = keys.Create(auth.Admin, "me"); err != nil {
		t.Fatal(err)
	}
	return readKey, adminKey
}

// waitMonitor waits for the owner's health monitor, which starts once the
// health store is open (off the proxy's goroutine): until then the
// store's endpoints answer that there is none.
func waitMonitor(t *testing.T, n *Node) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); n.Health().Source != monitor.SourceOwner; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the health monitor did not start")
		}
	}
}

// request sends method path to addr with key as its Bearer token (none
// when ""), body as JSON (when not "") and header's name, value pairs,
// which may replace the Content-Type; it returns the answer's status,
// headers and body.
func request(t *testing.T, addr, method, path, key, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
