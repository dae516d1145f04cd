package calliope

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/calliope/knowledge"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

// table composes route files given as path, text pairs; later files are
// newer.
func table(t testing.TB, pairs ...string) *routing.RouteTable {
	t.Helper()
	var files []*routing.SourceFile
	base := time.Unix(1_700_000_000, 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		kind := routing.AppFile
		if strings.HasPrefix(pairs[i], "overrides/") {
			kind = routing.OverrideFile
		}
		files = append(files, &routing.SourceFile{Path: pairs[i], Kind: kind, ModTime: base.Add(time.Duration(i) * time.Minute),
			Text: []byte(pairs[i+1]), Parsed: routefile.Parse(pairs[i], []byte(pairs[i+1]))})
	}
	return routing.Compose(routing.Config{Listen: "127.0.0.1:8080"}, files, nil)
}

// fakeEngine answers from a fixed table and health document.
type fakeEngine struct {
	table *routing.RouteTable
	mu    sync.Mutex
	doc   monitor.Document
	// rescanned are the routes Rescan was asked for; afterRescan, when
	// set, is the health a rescan finds.
	rescanned   []string
	afterRescan *monitor.Document
	errors      map[string][]ProxyError
}

func (e *fakeEngine) Table() *routing.RouteTable { return e.table }
func (e *fakeEngine) Health() monitor.Document {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.doc
}
func (e *fakeEngine) Rescan(_ context.Context, route string) (monitor.Document, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rescanned = append(e.rescanned, route)
	if e.afterRescan != nil {
		e.doc = *e.afterRescan
	}
	return e.doc, nil
}
func (e *fakeEngine) RecentErrors(route string, n int) []ProxyError {
	errs := e.errors[route]
	return errs[:min(n, len(errs))]
}

// healthDoc is a Document with the given routes' status and reason.
func healthDoc(reports ...health.Report) monitor.Document {
	d := monitor.Document{GeneratedAt: time.Unix(1_700_000_000, 0).UTC(), Source: monitor.SourceOwner, Routes: reports, Upstreams: []health.UpstreamReport{}}
	for i := range d.Routes {
		d.Routes[i].Active = true
		d.Routes[i].CheckedAt = d.GeneratedAt
		if d.Routes[i].Assets == nil {
			d.Routes[i].Assets = []health.AssetReport{}
		}
	}
	return d
}

// round is what the fake model answers to one request.
type round struct {
	deltas []string
	calls  []provider.ToolCall
	err    error
	// block makes the model stream its deltas, then wait until the
	// request is cancelled.
	block bool
}

// fakeModel is a provider.Provider that records every request and answers
// the scripted rounds in order (the last one repeats).
type fakeModel struct {
	name     string
	rounds   []round
	mu       sync.Mutex
	requests []provider.Request
	streamed chan struct{} // closed once a blocking round streamed
}

func (m *fakeModel) Name() string { return m.name }

func (m *fakeModel) Chat(ctx context.Context, req provider.Request, onDelta func(string)) (provider.Response, error) {
	// A deep copy, as the wire would carry it.
	var rec provider.Request
	b, _ := json.Marshal(req)
	json.Unmarshal(b, &rec)
	m.mu.Lock()
	n := len(m.requests)
	m.requests = append(m.requests, rec)
	m.mu.Unlock()
	r := m.rounds[min(n, len(m.rounds)-1)]
	if r.err != nil {
		return provider.Response{}, r.err
	}
	var text strings.Builder
	for _, d := range r.deltas {
		text.WriteString(d)
		onDelta(d)
	}
	if r.block {
		close(m.streamed)
		<-ctx.Done()
		return provider.Response{}, ctx.Err()
	}
	return provider.Response{Text: text.String(), ToolCalls: r.calls, Provider: m.name, Model: "fake-1"}, nil
}

func (m *fakeModel) Embed(context.Context, []string) ([][]float32, error) {
	return nil, provider.ErrNoEmbeddings
}

func (m *fakeModel) recorded() []provider.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.requests)
}

// fakeDocs answers every search with the same hits.
type fakeDocs []knowledge.Hit

func (d fakeDocs) Search(_ context.Context, _ string, k int) ([]knowledge.Hit, error) {
	return d[:min(k, len(d))], nil
}

// recorder collects a turn's events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) emit(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) text(kind string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e.Text)
		}
	}
	return out
}
