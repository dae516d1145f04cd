package monitor

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU this process has used, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIdleCPU measures what keeping 10 healthy routes' health costs
// while nothing else happens, at the default schedule (the upstream watch
// every second, full probes every 30 s): the CPU the whole process used
// over a window, as a percentage of one core. The process holds the
// monitor, the proxy answering its probes and the 10 upstreams, so this
// is an upper bound of the monitor's own share.
//
//	go test -run '^$' -bench IdleCPU -benchtime 1x ./proxy/monitor
func BenchmarkIdleCPU(b *testing.B) {
	var conf strings.Builder
	for i := range 10 {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<!doctype html><title>app %d</title><p>hello</p>", i)
		}))
		b.Cleanup(up.Close)
		fmt.Fprintf(&conf, "location /app%d/ { proxy_pass %s; }\n", i, up.URL)
	}
	s := startSite(b, map[string]string{"apps/apps.conf": conf.String()}, Options{})
	deadline := time.Now().Add(10 * time.Second)
	for s.mon.Document().Summary.OK != 10 {
		if time.Now().After(deadline) {
			b.Fatalf("not every route became ok: %+v", s.mon.Document().Summary)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The routes were just loaded, so they are probed fast for a while
	// (editedFor); the idle state starts after that.
	time.Sleep(editedFor + DefaultFast)
	const window = 10 * time.Second
	b.ResetTimer()
	for range b.N {
		start, cpu := time.Now(), cpuTime(b)
		time.Sleep(window)
		used := cpuTime(b) - cpu
		b.ReportMetric(100*float64(used)/float64(time.Since(start)), "cpu-%")
	}
	if s.mon.Document().Summary.OK != 10 {
		b.Errorf("routes went wrong while idle: %+v", s.mon.Document().Summary)
	}
}
