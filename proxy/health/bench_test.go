package health

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// benchWorkspace is n prefix routes, each to its own loopback upstream
// that answers a small HTML page after delay.
func benchWorkspace(b *testing.B, n int, delay time.Duration) map[string]string {
	var conf strings.Builder
	for i := range n {
		addr := upstream(b, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(delay)
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<!doctype html><title>x</title>")
		})
		fmt.Fprintf(&conf, "location /r%d/ { proxy_pass http://%s; }\n", i, addr)
	}
	return map[string]string{"apps/bench.conf": conf.String()}
}

func benchScan(b *testing.B, files map[string]string, concurrency int) {
	info := startProxy(b, files)
	s, err := New("http://"+info.Addr, Options{Concurrency: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Scan(context.Background(), info.Table) // warm the pools
	b.ResetTimer()
	for b.Loop() {
		rep := s.Scan(context.Background(), info.Table)
		if !rep.AllOK() {
			b.Fatalf("not all ok: %+v", rep.Summary)
		}
	}
}

// BenchmarkScanSlow100 is the goal: 100 routes whose upstreams
// answer after 50 ms, at concurrency 1 and 10 (goal: at least 8x faster).
//
//	go test -run '^$' -bench ScanSlow100 -benchtime 3x ./proxy/health
func BenchmarkScanSlow100(b *testing.B) {
	for _, c := range []int{1, 10} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			benchScan(b, benchWorkspace(b, 100, 50*time.Millisecond), c)
		})
	}
}

// BenchmarkScanFast10 is 10 healthy fast routes at the default
// concurrency (goal: under 50 ms).
func BenchmarkScanFast10(b *testing.B) {
	benchScan(b, benchWorkspace(b, 10, 0), DefaultConcurrency)
}
