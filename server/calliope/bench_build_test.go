package calliope

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/docs"
	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider/providertest"
)

// BenchmarkFirstTokenAdded is the first-token latency Calliope adds on
// top of its model's (issue 12's goal: under 50 ms). The same fake
// OpenAI-compatible server answers a request sent straight through the
// provider and a chat turn through the assistant Build makes (the docs
// indexed in the data directory, 50 routes, the healer, history); the
// metric is the difference of the medians, and its p95.
//
//	go test -run '^$' -bench FirstTokenAdded -benchtime 200x ./server/calliope
func BenchmarkFirstTokenAdded(b *testing.B) {
	fake := providertest.New(b)
	root, data := b.TempDir(), b.TempDir()
	var conf strings.Builder
	var reports []health.Report
	for i := range 50 {
		fmt.Fprintf(&conf, "location /app%d/ { proxy_pass http://127.0.0.1:%d; }\n", i, 3000+i)
		reports = append(reports, health.Report{Route: fmt.Sprintf("/app%d/", i), File: "apps/apps.conf", Line: i + 1, Status: health.StatusOK})
	}
	os.MkdirAll(filepath.Join(root, "apps"), 0o755)
	e := &fakeEngine{table: table(b, "apps/apps.conf", conf.String()), doc: healthDoc(reports...)}
	a, closeAll := Build(context.Background(), Config{Root: root, DataDir: data, Engine: e, Docs: docs.FS, Getenv: noEnv,
		Settings: provider.Settings{Order: []string{"local"}, LocalName: "fake", LocalBaseURL: fake.URL(), LocalModel: "fake-chat"}})
	defer closeAll()
	// Wait for the docs index: a turn cites a doc.
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, _ := a.Chat(context.Background(), ChatParams{Message: "how do I serve a vite app under /app3/?"}, nil)
		if len(res.Sources) > 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the docs were not indexed in 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	direct := provider.NewOpenAICompatible(fake.Endpoint("fake"))
	question := "how do I serve a vite app under /app3/? its styles 404"
	firstDelta := func(run func(onDelta func())) time.Duration {
		start := time.Now()
		var first time.Duration
		run(func() {
			if first == 0 {
				first = time.Since(start)
			}
		})
		return first
	}
	var straight, through []time.Duration
	b.ResetTimer()
	for range b.N {
		straight = append(straight, firstDelta(func(on func()) {
			direct.Chat(context.Background(), provider.Request{Messages: []provider.Message{{Role: "user", Content: question}}}, func(string) { on() })
		}))
		through = append(through, firstDelta(func(on func()) {
			a.Chat(context.Background(), ChatParams{Message: question}, func(ev Event) {
				if ev.Kind == EventDelta {
					on()
				}
			})
		}))
	}
	b.StopTimer()
	median := func(d []time.Duration) time.Duration { s := slices.Clone(d); slices.Sort(s); return s[len(s)/2] }
	p95 := func(d []time.Duration) time.Duration { s := slices.Clone(d); slices.Sort(s); return s[len(s)*95/100] }
	b.ReportMetric(float64(median(straight).Microseconds())/1000, "provider-ms")
	b.ReportMetric(float64(median(through).Microseconds())/1000, "calliope-ms")
	b.ReportMetric(float64((median(through)-median(straight)).Microseconds())/1000, "added-ms")
	b.ReportMetric(float64((p95(through)-p95(straight)).Microseconds())/1000, "added-p95-ms")
}
