package metrics

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// startProxy runs the proxy on loopback for the route files files
// (relative path -> content), with accessLog as its hook (nil for none).
func startProxy(tb testing.TB, files map[string]string, accessLog func(httpproxy.AccessEntry)) httpproxy.ServeInfo {
	tb.Helper()
	return proxytest.Serve(tb, files, httpproxy.ServeOptions{AccessLog: accessLog})
}

// fixedBody is the upstream's answer: 1 KB.
var fixedBody = bytes.Repeat([]byte("abcdefghijklmnop"), 64)

// fixedUpstream serves fixedBody on loopback and returns host:port.
func fixedUpstream(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	length := fmt.Sprint(len(fixedBody))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Length"] = []string{length}
			w.Write(fixedBody)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func routeFile(up string) map[string]string {
	return map[string]string{"apps/app.conf": "location /app/ { proxy_pass http://" + up + "; }\nlocation /ok/ { return 200 \"fine\"; }\n"}
}

// TestObserveFromProxy feeds a registry from a real proxy: what the
// proxy answers shows up under the route the health reports use.
func TestObserveFromProxy(t *testing.T) {
	reg := New(Options{})
	info := startProxy(t, routeFile(fixedUpstream(t)), reg.Observe)
	get := func(path string) {
		t.Helper()
		resp, err := http.Get("http://" + info.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 3 {
		get("/app/x")
	}
	get("/ok/")
	get("/missing")
	// The hook runs after the answer is written: wait for the last one.
	deadline := time.Now().Add(5 * time.Second)
	for len(reg.Routes()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := exposition(t, reg)
	want(t, got, `devproxy_requests_total{route="/app/",code_class="2xx"}`, "3")
	want(t, got, `devproxy_response_bytes_total{route="/app/"}`, fmt.Sprint(3*len(fixedBody)))
	want(t, got, `devproxy_upstream_seconds_count{route="/app/"}`, "3")
	want(t, got, `devproxy_requests_total{route="/ok/",code_class="2xx"}`, "1")
	want(t, got, `devproxy_upstream_seconds_count{route="/ok/"}`, "0")
	want(t, got, `devproxy_proxy_seconds_count{route="/ok/"}`, "1")
	want(t, got, `devproxy_requests_total{route="(none)",code_class="4xx"}`, "1")
	want(t, got, `devproxy_listener_requests_total{route="/app/",listener="local"}`, "3")
}

// BenchmarkProxyMetrics is the cost of analytics on the proxy's
// throughput: the same keep-alive GETs through a real proxy to a loopback
// upstream, without an access-log hook (off) and with Registry.Observe as
// the hook (on). Goal: on within 5% of off. scripts/bench-metrics.sh
// prints the ratio.
//
// On a shared machine the load drifts more between off and on than the
// cost being measured, so paired runs both proxies side by side,
// alternating batches of requests, and reports each one's time per
// request and on/off as a percentage: the drift falls on both alike.
func BenchmarkProxyMetrics(b *testing.B) {
	up := fixedUpstream(b)
	b.Run("off", func(b *testing.B) {
		info := startProxy(b, routeFile(up), nil)
		benchGets(b, "http://"+info.Addr+"/app/x")
	})
	b.Run("on", func(b *testing.B) {
		reg := New(Options{})
		info := startProxy(b, routeFile(up), reg.Observe)
		benchGets(b, "http://"+info.Addr+"/app/x")
		if reg.Routes()[0] != "/app/" {
			b.Errorf("routes %q", reg.Routes())
		}
	})
	b.Run("paired", func(b *testing.B) {
		reg := New(Options{})
		off, on := startProxy(b, routeFile(up), nil), startProxy(b, routeFile(up), reg.Observe)
		sides := [2]*batcher{newBatcher(b, "http://"+off.Addr+"/app/x"), newBatcher(b, "http://"+on.Addr+"/app/x")}
		var spent [2]time.Duration
		const batch = 500
		b.ReportAllocs()
		b.ResetTimer()
		for n, round := 0, 0; n < b.N; round++ {
			k := min(batch, b.N-n)
			for i := range 2 {
				side := (i + round) % 2 // alternate which goes first
				spent[side] += sides[side].run(b, k)
			}
			n += k
		}
		b.StopTimer()
		b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "off-ns/req")
		b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "on-ns/req")
		b.ReportMetric(100*float64(spent[1])/float64(spent[0]), "on/off-%")
	})
}

// batcher sends batches of GETs to one URL from 16 goroutines on
// keep-alive connections.
type batcher struct {
	url    string
	client *http.Client
}

func newBatcher(b *testing.B, url string) *batcher {
	c := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	b.Cleanup(c.CloseIdleConnections)
	bt := &batcher{url, c}
	bt.run(b, 64) // connections open before the clock starts
	return bt
}

// run sends n GETs and returns how long they took.
func (bt *batcher) run(b *testing.B, n int) time.Duration {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			var buf bytes.Buffer
			for next.Add(1) <= int64(n) {
				if err := get(bt.client, bt.url, &buf); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// benchGets runs b.N GETs of url in parallel on keep-alive connections,
// as httpproxy's benchRequests does, and checks every answer.
func benchGets(b *testing.B, url string) {
	client := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 1024,
		DisableCompression:  true,
	}}
	defer client.CloseIdleConnections()
	var buf bytes.Buffer
	if err := get(client, url, &buf); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			if err := get(client, url, &buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// get fetches url and checks that the upstream answered.
func get(client *http.Client, url string, buf *bytes.Buffer) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode != 200 || !bytes.Equal(buf.Bytes(), fixedBody)) {
		err = fmt.Errorf("GET %s: status %d, body %.100q", url, resp.StatusCode, strings.TrimSpace(buf.String()))
	}
	return err
}
