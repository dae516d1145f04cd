package httpproxy

// Benchmarks of the reverse proxy as a person meets it: how long `devproxy
// serve` takes to answer its first request, how long a saved route file
// takes to reach requests, and what one proxied request costs.
// scripts/bench-proxy.sh (`make bench`) runs the first two next to wrk runs
// against nginx and caddy and prints each number beside its goal; the goals
// and results are in docs/benchmarks-proxy.md.
//
//	DEVPROXY_BIN=$PWD/bin/devproxy go test -run '^$' -bench StartToFirstRequest -benchtime=10x ./proxy/httpproxy
//	go test -run '^$' -bench 'ReloadSwap100Files|ProxyRequest|UpstreamRequest' ./proxy/httpproxy
//	go test -run '^$' -bench ProxyRequest -cpuprofile /tmp/cpu.out ./proxy/httpproxy
//
// Every benchmark uses the same workspace as the script: 100 app files of one
// to three locations each, one of which routes /app/ to a loopback upstream
// that answers a fixed 1 KB body. Each one checks that the answer really came
// from that upstream: a benchmark that measures a 404 is worthless.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/internal/testpeer"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// benchFiles is the number of route files in the benchmark workspace.
const benchFiles = 100

// benchBody is the upstream's answer: 1 KB of a..z, the same bytes the
// script's nginx upstream returns.
var benchBody = func() []byte {
	b := make([]byte, 1024)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// benchRouteFile is apps/appNNN.conf. Files have one to three locations;
// app000 also routes /app/, the path every benchmark requests. Version 1
// adds /appNNN/v1/, so a reload can be checked to have reached the table.
func benchRouteFile(n int, up string, version int) string {
	name := fmt.Sprintf("app%03d", n)
	var s strings.Builder
	fmt.Fprintf(&s, "# %s: a benchmark app\n", name)
	if n == 0 {
		fmt.Fprintf(&s, "location /app/ { proxy_pass http://%s/; }\n", up)
	}
	fmt.Fprintf(&s, "location /%s/ { proxy_pass http://%s/; }\n", name, up)
	if n%3 >= 1 {
		fmt.Fprintf(&s, "location = /%s { return 301 /%s/; }\n", name, name)
	}
	if n%3 == 2 {
		fmt.Fprintf(&s, "location /%s/api/ { proxy_pass http://%s; }\n", name, up)
	}
	if version == 1 {
		fmt.Fprintf(&s, "location /%s/v1/ { proxy_pass http://%s/; }\n", name, up)
	}
	return s.String()
}

// writeBenchWorkspace writes the 100-file workspace routing to up
// ("127.0.0.1:port") and returns its root.
func writeBenchWorkspace(tb testing.TB, up string) string {
	tb.Helper()
	root := tb.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "apps"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for n := range benchFiles {
		p := filepath.Join(root, "apps", fmt.Sprintf("app%03d.conf", n))
		if err := os.WriteFile(p, []byte(benchRouteFile(n, up, 0)), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

// benchUpstream serves benchBody on a loopback port until the benchmark
// ends and returns "127.0.0.1:port".
func benchUpstream(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	length := fmt.Sprint(len(benchBody))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{"text/plain"}
			h["Content-Length"] = []string{length}
			w.Write(benchBody)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// errNotUpstream is an answer that did not come from the benchmark upstream.
var errNotUpstream = errors.New("the answer did not come from the benchmark upstream")

// benchGet requests url and checks that the upstream answered. A
// transport error (nothing listening yet) is returned as is; an answer
// from anyone else wraps errNotUpstream.
func benchGet(c *http.Client, url string, buf *bytes.Buffer) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(buf.Bytes(), benchBody) {
		return fmt.Errorf("GET %s: %w: status %d, body %.200q", url, errNotUpstream, resp.StatusCode, buf.Bytes())
	}
	return nil
}

// BenchmarkStartToFirstRequest measures, with the real binary, the time from
// starting `devproxy serve` on the 100-file workspace to the first proxied
// answer from the upstream: process start, reading and composing every
// route file, listening. It polls every millisecond, so the figure is up to
// 1 ms late. Goal: under 300 ms.
func BenchmarkStartToFirstRequest(b *testing.B) {
	bin := os.Getenv("DEVPROXY_BIN")
	if bin == "" {
		b.Skip("DEVPROXY_BIN is not set: build the binary (make build) and run with DEVPROXY_BIN=$PWD/bin/devproxy")
	}
	root := writeBenchWorkspace(b, benchUpstream(b))
	// A fresh connection for every poll: a refused dial must not be
	// remembered, and no connection may outlive the process it went to.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	var buf bytes.Buffer
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		listen := testpeer.FreeAddr(b)
		cmd := exec.Command(bin, "serve", "--root", root, "--listen", listen,
			"--tunnel-listen", testpeer.FreeAddr(b), "--log-level", "warn")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		url := "http://" + listen + "/app/x"
		b.StartTimer()

		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := start.Add(10 * time.Second)
		for {
			err := benchGet(client, url, &buf)
			if err == nil {
				break
			}
			fail := ""
			switch {
			case errors.Is(err, errNotUpstream):
				fail = err.Error()
			case time.Now().After(deadline):
				fail = "no answer within 10s: " + err.Error()
			}
			if fail != "" {
				cmd.Process.Kill()
				<-exited
				b.Fatalf("%s\ndevproxy's stderr:\n%s", fail, stderr.String())
			}
			select {
			case err := <-exited:
				b.Fatalf("devproxy exited before answering (%v); its stderr:\n%s", err, stderr.String())
			case <-time.After(time.Millisecond):
			}
		}
		total += time.Since(start)

		b.StopTimer()
		cmd.Process.Kill()
		<-exited
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/first-request")
}

// BenchmarkReloadSwap100Files measures what a save costs once the watcher
// has noticed it: re-read and re-parse the one file, compose the 100 files
// into a new table and swap it into the proxy. It excludes the watcher's
// debounce (routing.WatchDebounce, which waits for an editor's several writes to
// settle) and the write itself. Goal: under 20 ms.
func BenchmarkReloadSwap100Files(b *testing.B) {
	const n = 50        // the file that is saved again and again
	up := "127.0.0.1:9" // never contacted
	root := writeBenchWorkspace(b, up)
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		b.Fatal(err)
	}
	p := New(ws.Table(), nil)
	defer p.Close()
	path := filepath.Join(root, "apps", fmt.Sprintf("app%03d.conf", n))
	probe := fmt.Sprintf("/app%03d/v1/x", n)
	mtime := time.Now()

	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		version := (i + 1) % 2 // the workspace starts at version 0
		if err := os.WriteFile(path, []byte(benchRouteFile(n, up, version)), 0o644); err != nil {
			b.Fatal(err)
		}
		// A distinct mtime, so the reload sees a change even on a file
		// system with coarse timestamps.
		mtime = mtime.Add(time.Second)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		p.Swap(ws.Reload(path))

		b.StopTimer()
		blk, _ := p.Table().Lookup(probe)
		want := fmt.Sprintf("/app%03d/", n)
		if version == 1 {
			want += "v1/"
		}
		if blk == nil || blk.Loc.Spec != want {
			got := "no location"
			if blk != nil {
				got = blk.Loc.Spec
			}
			b.Fatalf("after reload %d, %s goes to %s, want %s", i, probe, got, want)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/reload")
}

// BenchmarkProxyRequest sends requests through a real loopback listener
// (Proxy.NewServer) to the loopback upstream, over keep-alive
// connections from 8 goroutines per core, the in-process equivalent of the
// script's wrk run. It is the one to profile:
//
//	go test -run '^$' -bench ProxyRequest -cpuprofile /tmp/cpu.out ./proxy/httpproxy
//	go tool pprof -top /tmp/cpu.out
//
// The client and the upstream run in the same process, so ns/op and
// allocs/op include their share; BenchmarkUpstreamRequest measures that
// share alone, and the difference is the proxy's.
func BenchmarkProxyRequest(b *testing.B) { benchProxy(b, nil) }

// BenchmarkProxyRequestAccessLog is BenchmarkProxyRequest with the access
// log on, as `devproxy serve` runs by default: the compact text lines, or
// slog's JSON, written to io.Discard (the cost of measuring and
// formatting, not of the terminal).
func BenchmarkProxyRequestAccessLog(b *testing.B) {
	b.Run("text", func(b *testing.B) {
		benchProxy(b, LogAccess(slog.New(NewAccessTextHandler(io.Discard, nil))))
	})
	b.Run("json", func(b *testing.B) {
		benchProxy(b, LogAccess(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	})
}

func benchProxy(b *testing.B, accessLog func(AccessEntry)) {
	up := benchUpstream(b)
	ws, err := routing.NewWorkspace(writeBenchWorkspace(b, up))
	if err != nil {
		b.Fatal(err)
	}
	p := New(ws.Table(), nil)
	p.SetAccessLog(accessLog)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := p.NewServer(false)
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close(); p.Close() })
	benchRequests(b, "http://"+ln.Addr().String()+"/app/x")
}

// BenchmarkUpstreamRequest is BenchmarkProxyRequest without the proxy: the
// client talks to the upstream directly. It is the baseline to subtract.
func BenchmarkUpstreamRequest(b *testing.B) {
	benchRequests(b, "http://"+benchUpstream(b)+"/x")
}

// benchRequests runs b.N GETs of url in parallel on keep-alive connections
// and checks every answer.
func benchRequests(b *testing.B, url string) {
	const perCore = 8
	client := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 1024, // one connection per goroutine, kept alive
		DisableCompression:  true,
	}}
	defer client.CloseIdleConnections()
	var buf bytes.Buffer
	if err := benchGet(client, url, &buf); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(perCore)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		buf.Grow(2 * len(benchBody))
		for pb.Next() {
			if err := benchGet(client, url, &buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAccessLogEntry is the access log's own cost per request: one
// entry formatted and written to io.Discard, without the network.
func BenchmarkAccessLogEntry(b *testing.B) {
	e := AccessEntry{Method: "GET", Path: "/api/users?…", Route: "apps/api.conf:3", Upstream: "http://127.0.0.1:4000",
		Status: 200, Duration: 3200 * time.Microsecond, Bytes: 512}
	for _, h := range []struct {
		name string
		h    slog.Handler
	}{{"text", NewAccessTextHandler(io.Discard, nil)}, {"json", slog.NewJSONHandler(io.Discard, nil)}} {
		b.Run(h.name, func(b *testing.B) {
			log := LogAccess(slog.New(h.h))
			b.ReportAllocs()
			for b.Loop() {
				log(e)
			}
		})
	}
}
