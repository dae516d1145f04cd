package routing_test

// BenchmarkRegexTableMemory measures what a workspace of many regex
// locations keeps in memory: a security review found 100,000 regex
// locations taking 558 MB. It is a benchmark, not a test: heap figures
// depend on the Go version and the garbage collector, so they are reported
// (B/loc) and compared with the goal in docs/benchmarks.md, never asserted.
//
//	go test -run='^$' -bench=RegexTableMemory -benchtime=1x ./proxy/routing
//
// all-run-B/loc is the same once every location's regex has run (and so
// been compiled): what a client that requests a path under every location
// can make the proxy hold.
//
// ns/op is the time to build the workspace: read and parse every file on
// all cores and compose the table. To see where the memory goes, have the
// benchmark write a heap profile while the workspace is alive:
//
//	DEVPROXY_HEAPPROFILE=heap.prof go test -run='^$' -bench='RegexTableMemory/locs=100000' \
//	    -benchtime=1x -o routing.test ./proxy/routing
//	go tool pprof -sample_index=inuse_space -top routing.test heap.prof

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// memLocsPerFile is how many regex locations each generated file holds.
const memLocsPerFile = 100

// memRegexLocation is regex location i of the memory workspace. The five
// shapes are the ones app snippets use: a named capture passed on, a
// case-insensitive extension match, a numbered capture, and two shared
// first segments (/api, /static) that many locations file under. Every
// regex is distinct (no two locations can share a compiled regex), and
// groups of three share the literal prefix /appK/.
func memRegexLocation(i int) string {
	k := i / 5
	switch i % 5 {
	case 0:
		return fmt.Sprintf("location ~ ^/app%d/(?<rest>.*)$ { proxy_pass http://127.0.0.1:%d/$rest; }\n", k, 3000+k%5000)
	case 1:
		return fmt.Sprintf("location ~* ^/app%d/api/.+\\.(csv|xlsx)$ { proxy_pass http://app%d-exports:9000; }\n", k, k)
	case 2:
		return fmt.Sprintf("location ~ ^/app%d/_next/(.+)$ { proxy_pass http://127.0.0.1:%d/_next/$1; }\n", k, 3000+k%5000)
	case 3:
		return fmt.Sprintf("location ~ ^/api/v%d/users/(\\d+)$ { proxy_pass http://users-%d:8080/users/$1; }\n", k, k)
	default:
		return fmt.Sprintf("location ~* ^/static/app%d/.+\\.(png|jpe?g|svg)$ { proxy_pass http://assets:8080; }\n", k)
	}
}

// writeRegexWorkspace writes n regex locations, memLocsPerFile per file.
func writeRegexWorkspace(b testing.TB, n int) string {
	b.Helper()
	dir := b.TempDir()
	apps := filepath.Join(dir, "apps")
	if err := os.MkdirAll(apps, 0o755); err != nil {
		b.Fatal(err)
	}
	for f := 0; f*memLocsPerFile < n; f++ {
		var src strings.Builder
		for i := f * memLocsPerFile; i < min(n, (f+1)*memLocsPerFile); i++ {
			src.WriteString(memRegexLocation(i))
		}
		p := filepath.Join(apps, fmt.Sprintf("r%05d.conf", f))
		if err := os.WriteFile(p, []byte(src.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// checkRegexTable fails unless all n regex locations loaded and are active.
func checkRegexTable(b testing.TB, t *routing.RouteTable, n int) {
	b.Helper()
	if len(t.Blocks) != n {
		b.Fatalf("table has %d blocks, want %d", len(t.Blocks), n)
	}
	for _, d := range t.Diagnostics {
		if d.Severity == routefile.Error {
			b.Fatalf("memory workspace has an error: %s", d)
		}
	}
	for _, blk := range t.Blocks {
		if !blk.Active || blk.Loc.Regex == nil {
			b.Fatalf("block %s is not an active regex location (%s)", blk.Label(), blk.Inactive)
		}
	}
}

// heapAfterGC is the live heap once the collector has run.
func heapAfterGC() runtime.MemStats {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC() // a second cycle also frees what finalizers released
	runtime.ReadMemStats(&ms)
	return ms
}

func BenchmarkRegexTableMemory(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("locs=%d", n), func(b *testing.B) {
			if n > 1000 && testing.Short() {
				b.Skip("short mode")
			}
			dir := writeRegexWorkspace(b, n)
			var alloc, inuse, allRun float64
			for b.Loop() {
				b.StopTimer()
				before := heapAfterGC()
				b.StartTimer()
				ws, err := routing.NewWorkspace(dir)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				after := heapAfterGC()
				checkRegexTable(b, ws.Table(), n)
				// Probe one location so lazily built state, if any, is
				// counted for at least the paths a request touches.
				if blk, _ := ws.Table().Lookup("/app7/x"); blk == nil {
					b.Fatal("/app7/x matched nothing")
				}
				if p := os.Getenv("DEVPROXY_HEAPPROFILE"); p != "" {
					writeHeapProfile(b, p)
				}
				alloc = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
				inuse = float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(n)
				// The worst case: a client that requests a path under
				// every location makes every regex program exist.
				for _, blk := range ws.Table().Blocks {
					blk.Loc.Regex.MatchString(blk.Loc.Regex.Prefix + "x")
				}
				ran := heapAfterGC()
				runtime.KeepAlive(ws)
				allRun = float64(int64(ran.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
				b.StartTimer()
			}
			b.ReportMetric(alloc, "B/loc")
			b.ReportMetric(inuse, "inuse-B/loc")
			b.ReportMetric(allRun, "all-run-B/loc")
		})
	}
}

func writeHeapProfile(b testing.TB, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
