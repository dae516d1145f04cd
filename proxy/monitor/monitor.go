// Package monitor keeps the health of the routes a running proxy serves:
// it schedules the scanner (proxy/health), watches the upstreams between
// scans, folds real traffic into each route's health (passive health),
// keeps the reports in the store (proxy/store) and tells subscribers when
// health changes. The process that owns the proxy's port runs one
// Monitor; the others read its Document over /devproxy/ws.
//
// # Schedule
//
// Probing a route loads its page, its assets and its hot-reload socket
// through the proxy, which a dev server notices (Next.js logs every
// request), so full probes are spaced out: every Fast (about 2 s) while a
// route is not ok or its file was just edited, every Slow (about 30 s)
// while it is ok. Every interval is jittered by a fifth so that routes and
// processes spread out. Between probes a cheap watch dials each loopback
// upstream every Watch (about 1 s): when one stops or starts accepting
// connections, its routes are probed at once, so a route's health follows
// its upstream within about a second, without a request to the app.
// Real requests do the same: a dial error on a route that looked ok, or a
// success on one that did not, probes it at once.
package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/store"
)

// Defaults for Options.
const (
	DefaultFast  = 2 * time.Second
	DefaultSlow  = 30 * time.Second
	DefaultWatch = 1 * time.Second
	// editedFor is how long a route counts as just edited after its file
	// (or its upstream) changed: it is probed at the fast pace meanwhile.
	editedFor = 30 * time.Second
	// storeEvery is how often an unchanged report is written again; a
	// change of status is written at once.
	storeEvery = time.Minute
	// passiveWindow is how long passive counts accumulate before they
	// start again.
	passiveWindow = 5 * time.Minute
	// settle is how long a change (an edit, a dial error) waits before the
	// probe, so that a burst is probed once.
	settle = 150 * time.Millisecond
)

// Source says where a Document's health comes from.
const (
	SourceOwner  = "owner"  // this process probes the routes
	SourceJoined = "joined" // read from the owner of the port
	SourceNone   = "none"   // no proxy runs: nothing probed
)

// Document is the latest health of every route (schemas/health.schema.json):
// /health.json, devproxy/health and devproxy/healthChanged.
type Document struct {
	GeneratedAt time.Time               `json:"generatedAt"`
	Source      string                  `json:"source"`
	Summary     health.Summary          `json:"summary"`
	Routes      []health.Report         `json:"routes"`
	Upstreams   []health.UpstreamReport `json:"upstreams"`
}

// NoDocument is the health of a process where no proxy runs.
func NoDocument(now time.Time) Document {
	return Document{GeneratedAt: now.UTC(), Source: SourceNone, Routes: []health.Report{}, Upstreams: []health.UpstreamReport{}}
}

// Options configure a Monitor.
type Options struct {
	// Workspace's served table is what the proxy serves and what is probed.
	Workspace *routing.Workspace
	// Base is the proxy's local address ("http://127.0.0.1:8080").
	Base string
	// ProbeToken is the proxy's httpproxy.ProbeToken: the probes carry
	// it, so the proxy tells them from real traffic (passive health counts
	// real traffic only).
	ProbeToken string
	// Store keeps the reports; nil keeps them in memory only.
	Store *store.Store
	// Scan configures the scanner (concurrency, per-probe timeout).
	Scan health.Options
	// Fast, Slow and Watch are the schedule's intervals (the package
	// comment); zero takes the defaults.
	Fast, Slow, Watch time.Duration
	Log               *slog.Logger
}

// Monitor keeps the health of a workspace's served routes. Start it with
// Start; Close stops it.
type Monitor struct {
	opts    Options
	scanner *health.Scanner
	log     *slog.Logger
	now     func() time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	wake    chan struct{}

	scanMu sync.Mutex // one scan at a time
	// tunnel probes pages through the tunnel's public URL (tunnelURL);
	// guarded by scanMu.
	tunnel    *health.Scanner
	tunnelURL string

	mu      sync.Mutex
	table   *routing.RouteTable
	routes  []health.Report           // in table order
	index   map[string]int            // key → position in routes
	state   map[string]*routeState    // key → schedule and passive counts
	up      map[string]*upstreamWatch // host:port → last watch
	subs    map[int]func(Document)
	nextSub int
	doc     Document
	pending bool          // doc changed and the subscribers have not heard
	deliver chan struct{} // wakes the delivering goroutine
}

type routeState struct {
	due         time.Time // next probe
	editedUntil time.Time // probed fast until then
	storedAt    time.Time
	storedAs    health.Status
	passive     health.Passive
	lastErr     time.Time
}

type upstreamWatch struct {
	reachable bool
	known     bool
}

// key identifies a route across tables: an active one by its identity and
// modifier (an exact and a prefix route may share a path; two active
// blocks never share both), an inactive one by its place too (it shares
// its route with the block that won it).
func key(r *health.Report) string {
	if !r.Active {
		return "inactive " + r.File + ":" + strconv.Itoa(r.Line) + " " + r.Modifier + " " + r.Route
	}
	return r.Modifier + " " + r.Route
}

// Start loads the last known reports from the store, probes every route
// at once and keeps probing until Close.
func Start(opts Options) (*Monitor, error) {
	if opts.ProbeToken != "" {
		opts.Scan.Header = opts.Scan.Header.Clone()
		if opts.Scan.Header == nil {
			opts.Scan.Header = http.Header{}
		}
		opts.Scan.Header.Set(httpproxy.ProbeHeader, opts.ProbeToken)
	}
	s, err := health.New(opts.Base, opts.Scan)
	if err != nil {
		return nil, err
	}
	if opts.Fast <= 0 {
		opts.Fast = DefaultFast
	}
	if opts.Slow <= 0 {
		opts.Slow = DefaultSlow
	}
	if opts.Watch <= 0 {
		opts.Watch = DefaultWatch
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Monitor{
		opts: opts, scanner: s, log: opts.Log, now: time.Now, cancel: cancel,
		done: make(chan struct{}), wake: make(chan struct{}, 1),
		index: map[string]int{}, state: map[string]*routeState{}, up: map[string]*upstreamWatch{},
		subs: map[int]func(Document){}, deliver: make(chan struct{}, 1),
	}
	m.loadStored()
	m.setTable(opts.Workspace.Served())
	unsubscribe := opts.Workspace.SubscribeServed(m.setTable)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		m.deliverLoop(ctx)
	}()
	go func() {
		defer close(m.done)
		defer func() { <-delivered }()
		defer unsubscribe()
		m.run(ctx)
	}()
	return m, nil
}

// Close stops probing and waits for the running probe to end. It does
// not close the store.
func (m *Monitor) Close() {
	m.cancel()
	<-m.done
	m.scanner.Close()
	m.scanMu.Lock()
	if m.tunnel != nil {
		m.tunnel.Close()
	}
	m.scanMu.Unlock()
}

// Document is the latest health of every route.
func (m *Monitor) Document() Document {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.doc
}

// Subscribe calls fn with the new Document after every change of health
// (status, reason, HTTP status, the set of routes). Calls are in order and
// never overlap; when changes come faster than fn returns, it sees the
// latest. It returns the unsubscribe.
func (m *Monitor) Subscribe(fn func(Document)) (unsubscribe func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextSub++
	id := m.nextSub
	m.subs[id] = fn
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, id)
	}
}

// Rescan probes the routes now (every route when routes is empty; a
// route is named by its identity, "/app/", or its spec) and returns the
// Document with their new reports.
func (m *Monitor) Rescan(ctx context.Context, routes ...string) Document {
	m.scan(ctx, routes)
	return m.Document()
}

// History returns a route's stored reports since since, newest first, at
// most limit (all when limit <= 0); none without a store.
func (m *Monitor) History(route string, since time.Time, limit int) ([]health.Report, error) {
	if m.opts.Store == nil {
		return nil, nil
	}
	entries, err := m.opts.Store.History(route, since, limit)
	if err != nil {
		return nil, err
	}
	out := make([]health.Report, 0, len(entries))
	for _, e := range entries {
		var r health.Report
		if json.Unmarshal(e.Report, &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// Observe folds one finished request into its route's passive health
// (httpproxy.ServeOptions.AccessLog). It is cheap: a map lookup under a
// lock; a failure on a route that looked ok (or the reverse) wakes the
// scheduler to probe it.
func (m *Monitor) Observe(e httpproxy.AccessEntry) {
	if e.Location == "" || e.Probe {
		return
	}
	now := m.now()
	m.mu.Lock()
	st, i := m.findLocked(e.Location)
	if st == nil {
		m.mu.Unlock()
		return
	}
	p := &st.passive
	if now.Sub(p.Since) > passiveWindow {
		*p = health.Passive{Since: now.UTC(), LastError: p.LastError, LastErrorAt: p.LastErrorAt}
	}
	p.Requests++
	ms := float64(e.Duration.Microseconds()) / 1000
	if p.LatencyMs == 0 {
		p.LatencyMs = ms
	} else {
		p.LatencyMs = 0.8*p.LatencyMs + 0.2*ms
	}
	failed := e.Status == 0 || e.Status >= 500
	dial := e.Reason != "" && (e.Status == 502 || e.Status == 503 || e.Status == 504)
	if failed {
		p.Errors++
		if dial {
			p.DialErrors++
		}
		at := now.UTC()
		p.LastErrorAt = &at
		p.LastError = passiveReason(e)
	}
	// Traffic that disagrees with the last probe: probe again soon.
	status := m.routes[i].Status
	if (dial && status != health.StatusError) || (!failed && status == health.StatusError) {
		if d := now.Add(settle); st.due.After(d) {
			st.due = d
			m.wakeLocked()
		}
	}
	m.mu.Unlock()
}

func passiveReason(e httpproxy.AccessEntry) string {
	switch {
	case e.Reason != "":
		return e.Reason
	case e.Status == 0:
		return e.Method + " " + e.Path + ": closed without an answer"
	}
	return e.Method + " " + e.Path + ": answered " + itoa(e.Status)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// findLocked is the state and position of the active route a request's
// location identity names.
func (m *Monitor) findLocked(location string) (*routeState, int) {
	for _, mod := range [...]string{"", "^~", "="} {
		if i, ok := m.index[mod+" "+location]; ok && m.routes[i].Active {
			return m.state[key(&m.routes[i])], i
		}
	}
	return nil, 0
}

func (m *Monitor) wakeLocked() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// loadStored seeds the reports with the store's latest, so that a
// restarted proxy shows the last known health until its first probe.
func (m *Monitor) loadStored() {
	if m.opts.Store == nil {
		return
	}
	latest, err := m.opts.Store.Latest()
	if err != nil {
		m.log.Warn("cannot read the last health reports", "err", err)
		return
	}
	for _, raw := range latest {
		var r health.Report
		if json.Unmarshal(raw, &r) != nil {
			continue
		}
		k := key(&r)
		m.index[k] = len(m.routes)
		m.routes = append(m.routes, r)
		m.state[k] = &routeState{storedAt: r.CheckedAt, storedAs: r.Status}
	}
}

// setTable takes a new served table: routes that appeared, changed their
// upstream or file, or whose file was edited are probed soon and fast for
// a while; routes that left are dropped.
func (m *Monitor) setTable(t *routing.RouteTable) {
	now := m.now()
	fresh := health.Unprobed(t)
	m.mu.Lock()
	edited := editedFiles(m.table, t)
	// devproxy.json (the tunnel's URL, hosts) changes how every route is
	// reached.
	configChanged := m.table != nil && !reflect.DeepEqual(m.table.Config, t.Config)
	m.table = t
	index := make(map[string]int, len(fresh))
	state := make(map[string]*routeState, len(fresh))
	for i := range fresh {
		r := &fresh[i]
		k := key(r)
		index[k] = i
		st := m.state[k]
		if st == nil {
			st = &routeState{}
		}
		state[k] = st
		old, had := m.index[k]
		changed := !had || m.routes[old].Upstream != r.Upstream || m.routes[old].File != r.File ||
			m.routes[old].Active != r.Active || edited[r.File] || configChanged
		if had && r.Active && m.routes[old].Active {
			// Keep the runtime health until the next probe.
			o := m.routes[old]
			cfg := *r
			*r = o
			r.File, r.Line, r.Modifier, r.Upstream = cfg.File, cfg.Line, cfg.Modifier, cfg.Upstream
			r.Active, r.InactiveCode = cfg.Active, cfg.InactiveCode
		}
		if changed && r.Active {
			st.due = now.Add(settle)
			st.editedUntil = now.Add(editedFor)
		}
	}
	m.routes, m.index, m.state = fresh, index, state
	m.publishLocked(true)
	m.wakeLocked()
	m.mu.Unlock()
}

// editedFiles are the files whose contents differ between two tables.
func editedFiles(old, cur *routing.RouteTable) map[string]bool {
	out := map[string]bool{}
	if old == nil {
		return out
	}
	before := map[string][]byte{}
	for _, f := range old.Files {
		before[f.Path] = f.Text
	}
	for _, f := range cur.Files {
		if text, ok := before[f.Path]; !ok || !bytes.Equal(text, f.Text) {
			out[f.Path] = true
		}
	}
	return out
}

// run is the scheduler: it probes the routes that are due, and watches the
// upstreams, until ctx ends.
func (m *Monitor) run(ctx context.Context) {
	watch := time.NewTimer(0)
	defer watch.Stop()
	probe := time.NewTimer(0)
	defer probe.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-watch.C:
			m.watchUpstreams(ctx)
			watch.Reset(jitter(m.opts.Watch))
		case <-probe.C:
		case <-m.wake:
		}
		if due := m.dueRoutes(); len(due) > 0 {
			m.scan(ctx, due)
		}
		probe.Reset(m.untilNext())
	}
}

// dueRoutes are the routes whose probe is due now.
func (m *Monitor) dueRoutes() []string {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []string
	for _, r := range m.routes {
		if st := m.state[key(&r)]; r.Active && st != nil && !st.due.After(now) {
			due = append(due, r.Route)
		}
	}
	return due
}

// untilNext is how long until the next route is due.
func (m *Monitor) untilNext() time.Duration {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	next := m.opts.Slow
	for _, r := range m.routes {
		if st := m.state[key(&r)]; r.Active && st != nil {
			next = min(next, st.due.Sub(now))
		}
	}
	return max(next, 10*time.Millisecond)
}

// jitter spreads d by ±20%.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}

// watchUpstreams dials every loopback upstream once; a change of
// reachability makes its routes due now.
func (m *Monitor) watchUpstreams(ctx context.Context) {
	m.mu.Lock()
	hosts := map[string]bool{}
	for _, r := range m.routes {
		if h := health.HostPort(r.Upstream); r.Active && h != "" && isLoopback(h) {
			hosts[h] = true
		}
	}
	m.mu.Unlock()
	reach := make(map[string]bool, len(hosts))
	for h := range hosts {
		reach[h] = health.DialReason(ctx, h, 300*time.Millisecond) == ""
	}
	if ctx.Err() != nil {
		return
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for h := range m.up {
		if !hosts[h] {
			delete(m.up, h)
		}
	}
	for h, ok := range reach {
		w := m.up[h]
		if w == nil {
			w = &upstreamWatch{}
			m.up[h] = w
		}
		if w.known && w.reachable != ok {
			for _, r := range m.routes {
				if health.HostPort(r.Upstream) == h {
					m.state[key(&r)].due = now
				}
			}
		}
		w.known, w.reachable = true, ok
	}
}

func isLoopback(hostport string) bool {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// scan probes routes (all when empty) and folds the results in.
func (m *Monitor) scan(ctx context.Context, routes []string) {
	m.scanMu.Lock()
	defer m.scanMu.Unlock()
	m.mu.Lock()
	t := m.table
	m.mu.Unlock()
	if t == nil {
		return
	}
	rep := m.scanner.Scan(ctx, t, routes...)
	if ctx.Err() != nil {
		return
	}
	m.probeTunnel(ctx, t, rep)
	now := m.now()
	type put struct {
		route string
		at    time.Time
		raw   []byte
	}
	var puts []put
	m.mu.Lock()
	if m.table != t {
		// The table changed during the scan; the new one is probed
		// anew (setTable made its changed routes due).
		m.mu.Unlock()
		return
	}
	for _, r := range rep.Routes {
		if !r.Active {
			continue
		}
		k := key(&r)
		i, ok := m.index[k]
		if !ok {
			continue
		}
		st := m.state[k]
		r.Passive = passiveOf(st)
		m.routes[i] = r
		pace := m.opts.Slow
		if r.Status != health.StatusOK || now.Before(st.editedUntil) {
			pace = m.opts.Fast
		}
		st.due = now.Add(jitter(pace))
		if m.opts.Store != nil && (r.Status != st.storedAs || now.Sub(st.storedAt) >= storeEvery) {
			if raw, err := json.Marshal(r); err == nil {
				puts = append(puts, put{r.Route, r.CheckedAt, raw})
				st.storedAt, st.storedAs = now, r.Status
			}
		}
	}
	m.publishLocked(false)
	m.mu.Unlock()
	for _, p := range puts {
		if err := m.opts.Store.Put(p.route, p.at, p.raw); err != nil {
			m.log.Warn("cannot store a health report", "route", p.route, "err", err)
		}
	}
}

// probeTunnel probes, through the tunnel's public URL when one is known,
// the page of every route the local probe found ok; a route that fails
// there is a warning ("works here, not through the tunnel"). The token of
// the local probes is not sent: it would cross the internet.
func (m *Monitor) probeTunnel(ctx context.Context, t *routing.RouteTable, rep *health.ScanReport) {
	public := t.Config.Tunnel.PublicURL
	if public != m.tunnelURL {
		if m.tunnel != nil {
			m.tunnel.Close()
		}
		m.tunnel, m.tunnelURL = nil, public
		if public != "" {
			s, err := health.New(public, health.Options{Timeout: m.opts.Scan.Timeout, Concurrency: m.opts.Scan.Concurrency, PageOnly: true})
			if err != nil {
				m.log.Warn("cannot probe through the tunnel", "publicUrl", public, "err", err)
			}
			m.tunnel = s
		}
	}
	if m.tunnel == nil {
		return
	}
	var ok []string
	for _, r := range rep.Routes {
		if r.Active && r.Status == health.StatusOK {
			ok = append(ok, r.Route)
		}
	}
	if len(ok) == 0 {
		return
	}
	through := map[string]health.Report{}
	for _, r := range m.tunnel.Scan(ctx, t, ok...).Routes {
		through[key(&r)] = r
	}
	for i := range rep.Routes {
		r := &rep.Routes[i]
		tr, found := through[key(r)]
		if !found || r.Status != health.StatusOK {
			continue
		}
		r.Tunnel = &health.TargetReport{URL: tr.URL, Status: tr.Status, HTTPStatus: tr.HTTPStatus,
			LatencyMs: tr.LatencyMs, Reason: tr.Reason, CheckedAt: tr.CheckedAt}
		if tr.Status != health.StatusOK {
			r.Status = health.StatusWarning
			r.Reason = "through the tunnel (" + public + "): " + tr.Reason
		}
	}
}

func passiveOf(st *routeState) *health.Passive {
	if st.passive.Requests == 0 && st.passive.LastErrorAt == nil {
		return nil
	}
	p := st.passive
	return &p
}

// publishLocked builds the Document and tells the subscribers when health
// changed (always when force: the set of routes may have).
func (m *Monitor) publishLocked(force bool) {
	routes := slices.Clone(m.routes)
	for i := range routes {
		if st := m.state[key(&routes[i])]; st != nil {
			routes[i].Passive = passiveOf(st)
		}
	}
	doc := Document{
		GeneratedAt: m.now().UTC(), Source: SourceOwner, Summary: health.Summarize(routes),
		Routes: routes, Upstreams: health.Upstreams(routes),
	}
	if doc.Upstreams == nil {
		doc.Upstreams = []health.UpstreamReport{}
	}
	changed := force || !sameHealth(m.doc.Routes, routes)
	m.doc = doc
	if !changed {
		return
	}
	m.pending = true
	select {
	case m.deliver <- struct{}{}:
	default:
	}
}

// deliverLoop calls the subscribers with the latest Document after each
// change, outside the lock.
func (m *Monitor) deliverLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.deliver:
		}
		m.mu.Lock()
		if !m.pending {
			m.mu.Unlock()
			continue
		}
		m.pending = false
		doc := m.doc
		subs := m.subscribersLocked()
		m.mu.Unlock()
		for _, fn := range subs {
			fn(doc)
		}
	}
}

func (m *Monitor) subscribersLocked() []func(Document) {
	ids := make([]int, 0, len(m.subs))
	for id := range m.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]func(Document), len(ids))
	for i, id := range ids {
		out[i] = m.subs[id]
	}
	return out
}

// sameHealth reports whether two lists say the same to a person: the same
// routes with the same status, reason and HTTP status.
func sameHealth(a, b []health.Report) bool {
	return slices.EqualFunc(a, b, func(x, y health.Report) bool {
		return x.Route == y.Route && x.File == y.File && x.Line == y.Line && x.Status == y.Status &&
			x.Reason == y.Reason && x.HTTPStatus == y.HTTPStatus && x.Active == y.Active
	})
}
