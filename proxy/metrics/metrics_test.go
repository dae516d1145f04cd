package metrics

import (
	"bufio"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func newAt(t time.Time, o Options) (*Registry, *fakeClock) {
	c := &fakeClock{t: t}
	o.Now = c.Now
	return New(o), c
}

// exposition parses WritePrometheus's output into sample -> value, the
// sample written as it appears (name and labels), checking that every
// family has HELP and TYPE before its samples.
func exposition(t *testing.T, r *Registry) map[string]string {
	t.Helper()
	var b strings.Builder
	if err := r.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			typed[strings.Fields(rest)[0]] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		sample, value := line[:i], line[i+1:]
		name, _, _ := strings.Cut(sample, "{")
		family := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f, ok := strings.CutSuffix(name, suffix); ok && typed[f] {
				family = f
			}
		}
		if !typed[family] {
			t.Errorf("sample %s before its TYPE line", sample)
		}
		if _, dup := out[sample]; dup {
			t.Errorf("sample %s written twice", sample)
		}
		out[sample] = value
	}
	return out
}

func want(t *testing.T, got map[string]string, sample, value string) {
	t.Helper()
	if v, ok := got[sample]; !ok {
		t.Errorf("no sample %s", sample)
	} else if v != value {
		t.Errorf("%s = %s, want %s", sample, v, value)
	}
}

func TestCountsByClassAndBytes(t *testing.T) {
	r, _ := newAt(t0, Options{})
	for _, e := range []httpproxy.AccessEntry{
		{Location: "/app/", Status: 200, Bytes: 100},
		{Location: "/app/", Status: 204},
		{Location: "/app/", Status: 101, Tunnel: true},
		{Location: "/app/", Status: 302, Bytes: 5},
		{Location: "/app/", Status: 404, Bytes: 7, Tunnel: true},
		{Location: "/app/", Status: 502},
		{Location: "/app/", Status: 503},
		{Location: "/app/", Status: 0},
		{Location: "/api/", Status: 200, Bytes: 1},
		{Location: "", Status: 404, Bytes: 3},
	} {
		r.Observe(e)
	}
	got := exposition(t, r)
	for class, n := range map[string]string{"1xx": "1", "2xx": "2", "3xx": "1", "4xx": "1", "5xx": "2", "none": "1"} {
		want(t, got, `devproxy_requests_total{route="/app/",code_class="`+class+`"}`, n)
	}
	want(t, got, `devproxy_requests_total{route="/api/",code_class="2xx"}`, "1")
	want(t, got, `devproxy_requests_total{route="/api/",code_class="5xx"}`, "0")
	want(t, got, `devproxy_requests_total{route="(none)",code_class="4xx"}`, "1")
	want(t, got, `devproxy_response_bytes_total{route="/app/"}`, "112")
	want(t, got, `devproxy_response_bytes_total{route="(none)"}`, "3")
	want(t, got, `devproxy_listener_requests_total{route="/app/",listener="tunnel"}`, "2")
	want(t, got, `devproxy_listener_requests_total{route="/app/",listener="local"}`, "6")
	if routes := r.Routes(); fmt.Sprint(routes) != "[(none) /api/ /app/]" {
		t.Errorf("Routes() = %q", routes)
	}
}

func TestClassOf(t *testing.T) {
	for status, c := range map[int]Class{0: ClassNone, 99: ClassNone, 100: Class1xx, 199: Class1xx, 200: Class2xx,
		399: Class3xx, 418: Class4xx, 599: Class5xx, 600: ClassNone, 999: ClassNone, -1: ClassNone} {
		if got := ClassOf(status); got != c {
			t.Errorf("ClassOf(%d) = %v, want %v", status, got, c)
		}
	}
}

// TestHistogramBuckets: "le" bounds are inclusive and cumulative, the
// proxy's time is the first byte less the upstream's and never negative,
// and requests without an upstream (or without an answer) are left out.
func TestHistogramBuckets(t *testing.T) {
	r, _ := newAt(t0, Options{})
	ms := time.Millisecond
	for _, e := range []httpproxy.AccessEntry{
		{UpstreamTime: 1 * ms, FirstByte: 1*ms + 500*time.Microsecond},   // upstream le 0.001, proxy 0.5ms
		{UpstreamTime: 1500 * time.Microsecond, FirstByte: 4 * ms},       // upstream le 0.0025, proxy 2.5ms
		{UpstreamTime: 20 * time.Second, FirstByte: 20*time.Second + ms}, // upstream +Inf only
		{UpstreamTime: 3 * ms, FirstByte: 2 * ms},                        // clock skew: proxy 0
		{FirstByte: 30 * ms}, // the proxy answered: proxy 30ms
		{Status: 0},          // no answer: neither
	} {
		e.Location = "/h/"
		r.Observe(e)
	}
	got := exposition(t, r)
	up := func(le, n string) {
		t.Helper()
		want(t, got, `devproxy_upstream_seconds_bucket{route="/h/",le="`+le+`"}`, n)
	}
	up("0.001", "1")
	up("0.0025", "2")
	up("0.005", "3")
	up("10", "3")
	up("+Inf", "4")
	want(t, got, `devproxy_upstream_seconds_count{route="/h/"}`, "4")
	want(t, got, `devproxy_upstream_seconds_sum{route="/h/"}`, "20.0055")

	px := func(le, n string) {
		t.Helper()
		want(t, got, `devproxy_proxy_seconds_bucket{route="/h/",le="`+le+`"}`, n)
	}
	px("0.001", "3") // 0.5 ms, 1 ms, 0
	px("0.0025", "4")
	px("0.025", "4")
	px("0.05", "5")
	px("+Inf", "5")
	want(t, got, `devproxy_proxy_seconds_count{route="/h/"}`, "5")
	want(t, got, `devproxy_proxy_seconds_sum{route="/h/"}`, "0.034")

	for i := 1; i < len(LatencyBuckets); i++ {
		if LatencyBuckets[i] <= LatencyBuckets[i-1] {
			t.Errorf("LatencyBuckets not increasing at %d", i)
		}
	}
}

// TestRouteCardinality: hostile traffic (or a huge workspace) cannot grow
// the registry without bound; the excess is still counted.
func TestRouteCardinality(t *testing.T) {
	r, _ := newAt(t0, Options{})
	for i := range 2 * DefaultMaxRoutes {
		r.Observe(httpproxy.AccessEntry{Location: fmt.Sprintf("/r%d/", i), Status: 200})
	}
	r.Observe(httpproxy.AccessEntry{Location: "", Status: 404})
	r.Observe(httpproxy.AccessEntry{Location: "/r0/", Status: 200})
	routes := r.Routes()
	if len(routes) != DefaultMaxRoutes+2 {
		t.Fatalf("%d routes, want %d named + (none) + (other)", len(routes), DefaultMaxRoutes)
	}
	got := exposition(t, r)
	want(t, got, `devproxy_requests_total{route="(other)",code_class="2xx"}`, fmt.Sprint(DefaultMaxRoutes))
	want(t, got, `devproxy_requests_total{route="/r0/",code_class="2xx"}`, "2")
	want(t, got, `devproxy_requests_total{route="(none)",code_class="4xx"}`, "1")

	small, _ := newAt(t0, Options{MaxRoutes: 2})
	for _, l := range []string{"/a/", "/b/", "/c/", "/a/", "/d/"} {
		small.Observe(httpproxy.AccessEntry{Location: l, Status: 200})
	}
	if got := fmt.Sprint(small.Routes()); got != "[(other) /a/ /b/]" {
		t.Errorf("MaxRoutes 2: Routes() = %s", got)
	}
}

// TestSeriesBuckets: requests land in the bucket of the time they were
// observed; buckets older than Keep are forgotten, also when their slot is
// reused.
func TestSeriesBuckets(t *testing.T) {
	r, clock := newAt(t0, Options{Resolution: time.Minute, Keep: 10 * time.Minute})
	at := func(d time.Duration, e httpproxy.AccessEntry) {
		clock.Set(t0.Add(d))
		r.Observe(e)
	}
	ms := time.Millisecond
	at(0, httpproxy.AccessEntry{Location: "/a/", Status: 200, Bytes: 10, UpstreamTime: 10 * ms, FirstByte: 12 * ms})
	at(59*time.Second, httpproxy.AccessEntry{Location: "/a/", Status: 500, Bytes: 20, UpstreamTime: 30 * ms, FirstByte: 36 * ms})
	at(time.Minute, httpproxy.AccessEntry{Location: "/a/", Status: 404})
	at(5*time.Minute+time.Second, httpproxy.AccessEntry{Location: "/a/", Status: 200})
	at(5*time.Minute+2*time.Second, httpproxy.AccessEntry{Location: "/b/", Status: 200})

	s := r.Series("/a/", t0, t0.Add(6*time.Minute))
	if len(s) != 6 {
		t.Fatalf("%d points, want 6: %+v", len(s), s)
	}
	reqs := make([]int64, len(s))
	for i, p := range s {
		reqs[i] = p.Requests
		if want := t0.Add(time.Duration(i) * time.Minute); !p.Start.Equal(want) {
			t.Errorf("point %d starts %v, want %v", i, p.Start, want)
		}
	}
	if fmt.Sprint(reqs) != "[2 1 0 0 0 1]" {
		t.Errorf("requests per minute %v, want [2 1 0 0 0 1]", reqs)
	}
	p := s[0]
	if p.ByClass[Class2xx] != 1 || p.ByClass[Class5xx] != 1 || p.Bytes != 30 || p.UpstreamMs != 20 || p.ProxyMs != 4 {
		t.Errorf("first minute %+v; want 1 2xx, 1 5xx, 30 bytes, upstream 20ms, proxy 4ms", p)
	}
	if s[1].ByClass[Class4xx] != 1 || s[1].UpstreamMs != 0 {
		t.Errorf("second minute %+v", s[1])
	}
	// A range starting mid-bucket leaves that bucket out; "" sums routes.
	if all := r.Series("", t0.Add(30*time.Second), t0.Add(6*time.Minute)); len(all) != 5 || all[4].Requests != 2 {
		t.Errorf("all routes from 0:30: %+v; want 5 points, the last with 2 requests", all)
	}
	if r.Series("/nope/", t0, t0.Add(time.Hour)) != nil {
		t.Error("an unknown route has a series")
	}

	// Twelve minutes on, with Keep 10 minutes: minute 0's slot is reused,
	// and what was there is forgotten.
	at(12*time.Minute, httpproxy.AccessEntry{Location: "/a/", Status: 200})
	s = r.Series("/a/", t0, t0.Add(13*time.Minute))
	if len(s) != 10 || !s[0].Start.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("after 12 minutes: %d points from %v; want the last 10 minutes (from 0:03)", len(s), s[0].Start)
	}
	var sum int64
	for _, p := range s {
		sum += p.Requests
	}
	if sum != 2 || s[len(s)-1].Requests != 1 {
		t.Errorf("after 12 minutes: %d requests kept, want 2 (minute 5 and minute 12)", sum)
	}
	if got := r.Series("/a/", t0, t0.Add(2*time.Minute)); len(got) != 0 {
		t.Errorf("a range older than Keep gives %+v", got)
	}
	// Times centuries away are clamped, not overflowed.
	if got := r.Series("/a/", time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); len(got) != 10 {
		t.Errorf("range year 1 to 9999: %d points, want 10", len(got))
	}
}

// TestObserveAllocs: in steady state (a known route, a bucket already in
// use) Observe allocates nothing.
func TestObserveAllocs(t *testing.T) {
	r := New(Options{})
	e := httpproxy.AccessEntry{Location: "/app/", Status: 200, Bytes: 512, UpstreamTime: 3 * time.Millisecond, FirstByte: 3200 * time.Microsecond}
	r.Observe(e)
	if n := testing.AllocsPerRun(1000, func() { r.Observe(e) }); n != 0 {
		t.Errorf("Observe allocates %v times per call, want 0", n)
	}
}

// TestConcurrent runs every method at once, for the race detector.
func TestConcurrent(t *testing.T) {
	r := New(Options{Resolution: time.Millisecond, Keep: 50 * time.Millisecond})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				r.Observe(httpproxy.AccessEntry{Location: fmt.Sprintf("/r%d/", (g+i)%7), Status: 200 + i%4*100, Bytes: 1})
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			r.WritePrometheus(discard{})
			r.Series("", time.Now().Add(-time.Second), time.Now())
			r.Export(discard{}, "csv", time.Now().Add(-time.Second), time.Now(), "")
			r.Routes()
		}
	})
	wg.Wait()
	var total int64
	got := exposition(t, r)
	for k, v := range got {
		if strings.HasPrefix(k, "devproxy_requests_total{") {
			var n int64
			fmt.Sscan(v, &n)
			total += n
		}
	}
	if total != 8000 {
		t.Errorf("%d requests counted, want 8000", total)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkObserve(b *testing.B) {
	r := New(Options{})
	routes := []string{"/app/", "/api/", "/web/", "", "~ ^/assets/"}
	es := make([]httpproxy.AccessEntry, len(routes))
	for i, l := range routes {
		es[i] = httpproxy.AccessEntry{Method: "GET", Path: "/x", Location: l, Status: 200, Bytes: 1024,
			UpstreamTime: time.Duration(i+1) * time.Millisecond, FirstByte: time.Duration(i+1)*time.Millisecond + 80*time.Microsecond}
		r.Observe(es[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Observe(es[i%len(es)])
		i++
	}
}

// BenchmarkObserveParallel is Observe from every core at once: the lock's
// contention.
func BenchmarkObserveParallel(b *testing.B) {
	r := New(Options{})
	e := httpproxy.AccessEntry{Location: "/app/", Status: 200, Bytes: 1024, UpstreamTime: time.Millisecond, FirstByte: 2 * time.Millisecond}
	r.Observe(e)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Observe(e)
		}
	})
}
