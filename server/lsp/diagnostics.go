package lsp

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// diagnostics is the one pipeline that publishes findings (habit 3): a
// change to a file starts that file's debounce timer; when it fires, a run
// cancels any run still going, converts the current table's findings for
// every route file (open or not) and publishes the sets that changed, and
// always the edited files. A run checks its context again right before
// publishing, so a stale run never overwrites a newer one.
type diagnostics struct {
	s        *Server
	debounce time.Duration

	mu        sync.Mutex
	timers    map[string]*time.Timer
	forced    map[string]bool // edited files: published even when unchanged
	cancelRun context.CancelFunc

	runMu     sync.Mutex                        // one run at a time; guards published
	published map[string][]routefile.Diagnostic // file -> the findings last published
}

func newDiagnostics(s *Server, debounce time.Duration) *diagnostics {
	return &diagnostics{s: s, debounce: debounce, timers: map[string]*time.Timer{}, forced: map[string]bool{}, published: map[string][]routefile.Diagnostic{}}
}

// changed schedules a run for the given files after the debounce.
func (d *diagnostics) changed(rels ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rel := range rels {
		d.forced[rel] = true
		if t, ok := d.timers[rel]; ok {
			t.Reset(d.debounce)
			continue
		}
		d.timers[rel] = time.AfterFunc(d.debounce, d.run)
	}
}

// run publishes what changed; a newer run cancels this one.
func (d *diagnostics) run() {
	d.mu.Lock()
	if d.cancelRun != nil {
		d.cancelRun()
	}
	ctx, cancel := context.WithCancel(d.s.ctx)
	d.cancelRun = cancel
	d.mu.Unlock()
	defer cancel()

	d.runMu.Lock()
	defer d.runMu.Unlock()
	d.publish(ctx, false)
}

// publishAll publishes every file's set now (the first diagnostics after
// initialize, and after the settings change).
func (d *diagnostics) publishAll() {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	d.publish(d.s.ctx, true)
}

// clearAll publishes [] for everything published (shutdown).
func (d *diagnostics) clearAll() {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	for rel := range d.published {
		d.s.notify("textDocument/publishDiagnostics", PublishDiagnosticsParams{URI: d.s.uriOf(rel), Diagnostics: []Diagnostic{}})
	}
	clear(d.published)
}

func (d *diagnostics) publish(ctx context.Context, all bool) {
	snap := d.s.snap.Load()
	if snap == nil {
		return
	}
	d.mu.Lock()
	forced := d.forced
	d.forced = map[string]bool{}
	d.mu.Unlock()

	sets := d.s.findingSets(snap)
	// The edited files go first, then the others whose findings changed
	// (their conflict partners, typically), each group in path order.
	rels := make([]string, 0, len(sets))
	for rel := range sets {
		if all || forced[rel] || !sameFindings(d.published[rel], sets[rel]) {
			rels = append(rels, rel)
		}
	}
	sort.Slice(rels, func(i, j int) bool {
		if forced[rels[i]] != forced[rels[j]] {
			return forced[rels[i]]
		}
		return rels[i] < rels[j]
	})
	for i, rel := range rels {
		if ctx.Err() != nil {
			// A newer run takes over; hand it what this one did not do.
			d.mu.Lock()
			for _, r := range rels[i:] {
				if forced[r] {
					d.forced[r] = true
				}
			}
			d.mu.Unlock()
			return
		}
		uri := d.s.uriOf(rel)
		set := make([]Diagnostic, 0, len(sets[rel]))
		for _, f := range sets[rel] {
			set = append(set, d.s.toLSP(f))
		}
		d.s.notify("textDocument/publishDiagnostics", PublishDiagnosticsParams{URI: uri, Version: d.s.docVersion(rel), Diagnostics: set})
		d.published[rel] = sets[rel]
	}
	// Files that went away (deleted, or closed standalone buffers): clear.
	for rel := range d.published {
		if sets[rel] == nil && ctx.Err() == nil {
			d.s.notify("textDocument/publishDiagnostics", PublishDiagnosticsParams{URI: d.s.uriOf(rel), Diagnostics: []Diagnostic{}})
			delete(d.published, rel)
		}
	}
}

// sameFindings reports whether two findings lists would publish the same
// diagnostics.
func sameFindings(a, b []routefile.Diagnostic) bool {
	return a != nil && b != nil && slices.EqualFunc(a, b, func(x, y routefile.Diagnostic) bool {
		return x.File == y.File && x.Severity == y.Severity && x.Code == y.Code && x.Message == y.Message &&
			x.Range == y.Range && slices.Equal(x.Related, y.Related) && slices.Equal(x.Tags, y.Tags)
	})
}

func (s *Server) docVersion(rel string) *int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.docs[rel]; ok {
		v := d.version
		return &v
	}
	return nil
}

// findingSets groups the table's findings by file, a non-nil list per file: every route file, devproxy.json and resolutions.json when
// they have findings, and open .conf buffers that are not route files
// (checked on their own).
func (s *Server) findingSets(snap *snapshot) map[string][]routefile.Diagnostic {
	sets := map[string][]routefile.Diagnostic{}
	for _, f := range snap.table.Files {
		sets[f.Path] = []routefile.Diagnostic{}
	}
	for _, d := range snap.table.Diagnostics {
		sets[d.File] = append(sets[d.File], d)
	}
	for rel, text := range snap.texts {
		if _, ok := sets[rel]; ok || rel == routing.ConfigFile || rel == routing.ResolutionsFile {
			continue
		}
		if len(rel) > 5 && rel[len(rel)-5:] == ".conf" {
			sets[rel] = append([]routefile.Diagnostic{}, routefile.Parse(rel, []byte(text)).Diagnostics...)
		}
	}
	return sets
}

var lspSeverity = map[routefile.Severity]int{
	routefile.Error: SeverityError, routefile.Warning: SeverityWarning,
	routefile.Information: SeverityInformation, routefile.Hint: SeverityHint,
}

func (s *Server) toLSP(d routefile.Diagnostic) Diagnostic {
	out := Diagnostic{Range: lspRange(d.Range), Severity: lspSeverity[d.Severity], Code: d.Code, Source: "devproxy", Message: d.Message}
	for _, t := range d.Tags {
		if t == routefile.TagUnnecessary {
			out.Tags = append(out.Tags, TagUnnecessary)
		}
	}
	for _, r := range d.Related {
		out.RelatedInformation = append(out.RelatedInformation, DiagnosticRelatedInformation{
			Location: Location{URI: s.uriOf(r.File), Range: lspRange(r.Range)}, Message: r.Message,
		})
	}
	return out
}
