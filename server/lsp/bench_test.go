package lsp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The language server's benchmarks (docs/benchmarks.md): a workspace of 200
// route files, 6 blocks each; files come in groups of four that all claim
// /shared-G/, so every file has three conflict partners.
const (
	benchFiles = 200
	benchGroup = 4
)

func benchConf(i int, claimShared bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "location = /app%d { return 301 /app%d/; }\n", i, i)
	fmt.Fprintf(&b, "location ^~ /app%d/ {\n    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection \"upgrade\";\n    proxy_set_header X-Forwarded-Prefix /app%d;\n    proxy_pass http://127.0.0.1:%d/;\n}\n", i, i, 3000+i)
	fmt.Fprintf(&b, "location ~ ^/app%d/_next/(.+)$ { proxy_pass http://127.0.0.1:%d/_next/$1; }\n", i, 3000+i)
	fmt.Fprintf(&b, "location /app%d/api/ { rewrite ^/app%d/api/(.*)$ /v1/$1 break; proxy_pass http://127.0.0.1:%d; }\n", i, i, 4000+i)
	fmt.Fprintf(&b, "location = /app%d/health { add_header Content-Type application/json always; return 200 '{\"ok\":true}'; }\n", i)
	if claimShared {
		fmt.Fprintf(&b, "location /shared-%d/ { proxy_pass http://127.0.0.1:%d/; }\n", i/benchGroup, 5000+i)
	}
	return b.String()
}

func benchWorkspace(b *testing.B) string {
	var archive strings.Builder
	for i := range benchFiles {
		fmt.Fprintf(&archive, "-- apps/app%03d.conf --\n%s", i, benchConf(i, true))
	}
	return workspace(b, archive.String())
}

// waitURIs waits until every file in rels has had diagnostics published
// after message index from. It decodes each message once (the client's
// own cost stays small next to the server's).
func (c *client) waitURIs(from int, rels []string) {
	want := map[string]bool{}
	for _, rel := range rels {
		want[string(c.uri(rel))] = true
	}
	next := from
	c.waitFor(fmt.Sprintf("diagnostics for %d files", len(rels)), func(ms []message) bool {
		for ; next < len(ms); next++ {
			if ms[next].method != "textDocument/publishDiagnostics" {
				continue
			}
			var p struct{ URI string }
			json.Unmarshal(ms[next].params, &p)
			delete(want, p.URI)
		}
		return len(want) == 0
	})
}

func allBenchFiles() []string {
	rels := make([]string, benchFiles)
	for i := range rels {
		rels[i] = fmt.Sprintf("apps/app%03d.conf", i)
	}
	return rels
}

// BenchmarkInitializeToDiagnostics: one op is a session start: initialize,
// initialized, and every one of the 200 files' diagnostics published.
func BenchmarkInitializeToDiagnostics(b *testing.B) {
	root := benchWorkspace(b)
	rels := allBenchFiles()
	for b.Loop() {
		c, _ := start(b, root, nil)
		c.waitURIs(0, rels)
		b.StopTimer()
		c.stop()
		b.StartTimer()
	}
}

// BenchmarkDidChangeRepublish: one op is an edit of app000.conf that adds
// or removes its /shared-0/ block, until it and its three partners (whose
// conflict findings change with it) are republished. The debounce is set to
// 1ns so that the figure is the server's own work; p50 and p95 of the ops
// are reported next to the mean.
func BenchmarkDidChangeRepublish(b *testing.B) {
	root := benchWorkspace(b)
	c, _ := startServer(b, root, nil, Options{Version: "bench", Debounce: time.Nanosecond, DisableProxy: true})
	c.waitURIs(0, allBenchFiles())
	c.open("apps/app000.conf")
	partners := []string{"apps/app000.conf", "apps/app001.conf", "apps/app002.conf", "apps/app003.conf"}
	texts := [2]string{benchConf(0, false), benchConf(0, true)}
	var took []time.Duration
	var version int32 = 1
	for b.Loop() {
		version++
		from := c.mark()
		began := time.Now()
		c.change("apps/app000.conf", version, texts[version%2])
		c.waitURIs(from, partners)
		took = append(took, time.Since(began))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(took[len(took)*95/100].Nanoseconds()), "p95-ns")
	if testing.Verbose() {
		b.Logf("p90 %v p99 %v max %v", took[len(took)*90/100], took[len(took)*99/100], took[len(took)-1])
	}
}
