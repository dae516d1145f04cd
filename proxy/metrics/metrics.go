// Package metrics turns the proxy's access-log entries
// (httpproxy.AccessEntry) into per-route analytics: request counts by
// status class, response bytes, latency histograms for the upstream and
// for the time the proxy added, and counts per time bucket kept for a
// while for charts and exports.
//
// A Registry is fed by the access-log hook (Observe) and read by the
// Prometheus exposition (WritePrometheus), charts (Series) and exports
// (Export); Handler serves the exposition and the exports over HTTP.
// Routes are labelled as the health reports name them
// (AccessEntry.Location). The package only reads entries: it knows
// nothing of the proxy's internals, and the host decides where the
// handler is mounted.
//
// Observe runs once per request on the proxy's goroutines, so it takes
// one short lock and allocates nothing in steady state. Memory is
// bounded: at most Options.MaxRoutes distinct routes (the rest count
// under "(other)"), and time buckets only for Options.Keep, allocated a
// page at a time as a route is used.
package metrics

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// The labels of requests that have no route of their own.
const (
	// NoRoute labels requests no location took (a 404 for an unknown
	// path, a refused Host).
	NoRoute = "(none)"
	// OtherRoute labels the requests of routes beyond Options.MaxRoutes.
	OtherRoute = "(other)"
)

// Defaults of Options.
const (
	DefaultResolution = time.Minute
	DefaultKeep       = 24 * time.Hour
	DefaultMaxRoutes  = 500
)

// Options configure a Registry; the zero value takes the defaults.
type Options struct {
	// Resolution is the width of a time bucket (default 1 minute).
	Resolution time.Duration
	// Keep is how long time buckets are kept (default 24 hours).
	Keep time.Duration
	// MaxRoutes bounds the distinct routes counted apart (default 500);
	// requests of further routes count under OtherRoute.
	MaxRoutes int
	// Now is the clock (default time.Now); tests pass a fake one.
	Now func() time.Time
}

// Class is a response's status class.
type Class int

// The status classes. ClassNone is for a request that got no status (the
// connection closed without an answer) or one outside 100..599.
const (
	ClassNone Class = iota
	Class1xx
	Class2xx
	Class3xx
	Class4xx
	Class5xx
	NumClasses = 6
)

var classNames = [NumClasses]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

// String is the class's label value: "1xx".."5xx" or "none".
func (c Class) String() string {
	if c < 0 || c >= NumClasses {
		return "none"
	}
	return classNames[c]
}

// ClassOf is the class of a status code.
func ClassOf(status int) Class {
	if status < 100 || status > 599 {
		return ClassNone
	}
	return Class(status / 100)
}

// LatencyBuckets are the upper bounds of the latency histograms, as
// Prometheus' "le" labels: 1 ms to 10 s.
var LatencyBuckets = [...]time.Duration{
	1 * time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	1 * time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// histogram counts durations in LatencyBuckets (not cumulative; the last
// count is above the largest bound).
type histogram struct {
	counts [len(LatencyBuckets) + 1]uint64
	sum    time.Duration
	n      uint64
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(LatencyBuckets) && d > LatencyBuckets[i] {
		i++
	}
	h.counts[i]++
	h.sum += d
	h.n++
}

// totals are a route's counts since the registry started.
type totals struct {
	byClass  [NumClasses]uint64
	bytes    uint64
	tunnel   uint64 // requests through the tunnel listener; the rest were local
	upstream histogram
	proxy    histogram
}

func (t *totals) requests() uint64 {
	var n uint64
	for _, c := range t.byClass {
		n += c
	}
	return n
}

// slot is one route's counts in one time bucket.
type slot struct {
	bucket    int64 // the bucket's number (time / Resolution); slots are reused
	byClass   [NumClasses]uint32
	bytes     uint64
	upstreamN uint32
	proxyN    uint32
	upstream  time.Duration // sums, for the means
	proxy     time.Duration
}

// pageSize is how many slots a route's ring allocates at once: a route
// used for a few minutes costs one page, not a day's worth.
const pageSize = 64

type page [pageSize]slot

// route is one label's counts.
type route struct {
	name  string
	total totals
	// ring holds the time buckets, bucket b in slot b mod Registry.slots;
	// its pages are allocated as they are first used.
	ring []*page
}

// Registry collects the analytics of one proxy. Its methods are safe for
// concurrent use.
type Registry struct {
	res       time.Duration
	keep      time.Duration
	slots     int64 // time buckets kept
	maxRoutes int
	now       func() time.Time

	mu     sync.Mutex
	routes map[string]*route // by label, OtherRoute and NoRoute included
	named  int               // routes counted against maxRoutes
}

// New returns an empty Registry.
func New(o Options) *Registry {
	r := &Registry{res: o.Resolution, keep: o.Keep, maxRoutes: o.MaxRoutes, now: o.Now}
	if r.res <= 0 {
		r.res = DefaultResolution
	}
	if r.keep <= 0 {
		r.keep = DefaultKeep
	}
	if r.maxRoutes <= 0 {
		r.maxRoutes = DefaultMaxRoutes
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.slots = int64((r.keep + r.res - 1) / r.res)
	r.routes = make(map[string]*route)
	return r
}

// Resolution is the width of a time bucket.
func (r *Registry) Resolution() time.Duration { return r.res }

// Observe counts one finished request. It is meant as the proxy's access
// log hook (httpproxy.ServeOptions.AccessLog), alone or beside another.
func (r *Registry) Observe(e httpproxy.AccessEntry) {
	b := r.bucketOf(r.now())
	class := ClassOf(e.Status)
	bytes := uint64(max(e.Bytes, 0))
	// The time the proxy added: only for answers whose head was written.
	timedProxy := e.FirstByte > 0
	added := max(e.FirstByte-e.UpstreamTime, 0)

	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.routeLocked(e.Location)
	t := &rt.total
	t.byClass[class]++
	t.bytes += bytes
	if e.Tunnel {
		t.tunnel++
	}
	if e.UpstreamTime > 0 {
		t.upstream.observe(e.UpstreamTime)
	}
	if timedProxy {
		t.proxy.observe(added)
	}

	s := r.slotFor(rt, b)
	s.byClass[class]++
	s.bytes += bytes
	if e.UpstreamTime > 0 {
		s.upstreamN++
		s.upstream += e.UpstreamTime
	}
	if timedProxy {
		s.proxyN++
		s.proxy += added
	}
}

// routeLocked finds or adds the route for a location.
func (r *Registry) routeLocked(loc string) *route {
	if loc == "" {
		loc = NoRoute
	}
	if rt := r.routes[loc]; rt != nil {
		return rt
	}
	if loc != NoRoute && loc != OtherRoute {
		if r.named >= r.maxRoutes {
			return r.routeLocked(OtherRoute)
		}
		r.named++
	}
	// A copy: the label must not keep the route table it came from alive.
	rt := &route{name: strings.Clone(loc)}
	r.routes[rt.name] = rt
	return rt
}

// bucketOf is the number of the time bucket t falls in.
func (r *Registry) bucketOf(t time.Time) int64 {
	n := t.UnixNano()
	b := n / int64(r.res)
	if n < 0 && n%int64(r.res) != 0 {
		b-- // floor, for times before 1970 (fake clocks)
	}
	return b
}

// slotFor is rt's slot for bucket b, cleared if it last held an older
// bucket.
func (r *Registry) slotFor(rt *route, b int64) *slot {
	if rt.ring == nil {
		rt.ring = make([]*page, (r.slots+pageSize-1)/pageSize)
	}
	i := b % r.slots
	if i < 0 {
		i += r.slots
	}
	p := rt.ring[i/pageSize]
	if p == nil {
		p = new(page)
		for j := range p {
			p[j].bucket = -1 << 63
		}
		rt.ring[i/pageSize] = p
	}
	s := &p[i%pageSize]
	if s.bucket != b {
		*s = slot{bucket: b}
	}
	return s
}

// peekLocked is rt's slot for bucket b, or nil when it holds none.
func (r *Registry) peekLocked(rt *route, b int64) *slot {
	if rt.ring == nil {
		return nil
	}
	i := b % r.slots
	if i < 0 {
		i += r.slots
	}
	p := rt.ring[i/pageSize]
	if p == nil || p[i%pageSize].bucket != b {
		return nil
	}
	return &p[i%pageSize]
}

// Routes lists the route labels seen so far, sorted.
func (r *Registry) Routes() []string {
	r.mu.Lock()
	out := make([]string, 0, len(r.routes))
	for name := range r.routes {
		out = append(out, name)
	}
	r.mu.Unlock()
	slices.Sort(out)
	return out
}

// Point is one time bucket of a route's traffic.
type Point struct {
	Start    time.Time
	Requests int64
	// ByClass counts the requests by status class, indexed by Class.
	ByClass [NumClasses]int64
	Bytes   int64
	// UpstreamMs is the mean time upstreams took (connect to response
	// head) over the requests that went to one; 0 when none did.
	UpstreamMs float64
	// ProxyMs is the mean time the proxy added (time to the response
	// head, less the upstream's) over the requests answered with a head.
	ProxyMs float64

	upstreamN, proxyN int64
	upstream, proxy   time.Duration
}

func (p *Point) add(s *slot) {
	for c, n := range s.byClass {
		p.ByClass[c] += int64(n)
		p.Requests += int64(n)
	}
	p.Bytes += int64(s.bytes)
	p.upstreamN += int64(s.upstreamN)
	p.proxyN += int64(s.proxyN)
	p.upstream += s.upstream
	p.proxy += s.proxy
}

func (p *Point) finish() {
	if p.upstreamN > 0 {
		p.UpstreamMs = float64(p.upstream) / float64(p.upstreamN) / 1e6
	}
	if p.proxyN > 0 {
		p.ProxyMs = float64(p.proxy) / float64(p.proxyN) / 1e6
	}
}

// bucketRange is the kept buckets whose start lies in [from, to), first
// and last included; first > last when there are none.
func (r *Registry) bucketRange(from, to time.Time) (first, last int64) {
	now := r.now()
	// Clamped to what is kept first: UnixNano is undefined for times
	// centuries away, which a query string may well ask for.
	if oldest := now.Add(-r.keep - r.res); from.Before(oldest) {
		from = oldest
	}
	if newest := now.Add(r.res); to.After(newest) {
		to = newest
	}
	nowB := r.bucketOf(now)
	first = r.bucketOf(from)
	if r.startOf(first).Before(from) {
		first++ // a bucket that starts before from is not in the range
	}
	first = max(first, nowB-r.slots+1)
	last = min(r.bucketOf(to.Add(-1)), nowB)
	return first, last
}

// Series returns a route's traffic in every kept time bucket whose start
// lies in [from, to), oldest first, empty buckets included (for a chart's
// continuous axis). label is a route as Routes lists it; "" sums every
// route. A route never seen gives nil.
func (r *Registry) Series(label string, from, to time.Time) []Point {
	first, last := r.bucketRange(from, to)
	if first > last {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rts := r.selectLocked(label)
	if len(rts) == 0 {
		return nil
	}
	out := make([]Point, 0, last-first+1)
	for b := first; b <= last; b++ {
		p := Point{Start: r.startOf(b)}
		for _, rt := range rts {
			if s := r.peekLocked(rt, b); s != nil {
				p.add(s)
			}
		}
		p.finish()
		out = append(out, p)
	}
	return out
}

// selectLocked is the route labelled label, or every route for "".
func (r *Registry) selectLocked(label string) []*route {
	if label == "" {
		rts := make([]*route, 0, len(r.routes))
		for _, rt := range r.routes {
			rts = append(rts, rt)
		}
		return rts
	}
	if rt := r.routes[label]; rt != nil {
		return []*route{rt}
	}
	return nil
}

func (r *Registry) startOf(b int64) time.Time {
	return time.Unix(0, b*int64(r.res)).UTC()
}
