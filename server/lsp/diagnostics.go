package lsp

import (
	"context"
	"encoding/json"
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

	runMu     sync.Mutex        // one run at a time; guards published
	published map[string]string // uri -> fingerprint of the last published set
}

func newDiagnostics(s *Server, debounce time.Duration) *diagnostics {
	return &diagnostics{s: s, debounce: debounce, timers: map[string]*time.Timer{}, forced: map[string]bool{}, published: map[string]string{}}
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
	for uri := range d.published {
		d.s.notify("textDocument/publishDiagnostics", PublishDiagnosticsParams{URI: uri, Diagnostics: []Diagnostic{}})
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

	sets := d.s.diagnosticSets(snap)
	rels := make([]string, 0, len(sets))
	for rel := range sets {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	keep := map[string]bool{}
	for i, rel := range rels {
		uri := d.s.uriOf(rel)
		keep[uri] = true
		set := sets[rel]
		fp := fingerprint(set)
		if !all && !forced[rel] && d.published[uri] == fp {
			continue
		}
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
		d.s.notify("textDocument/publishDiagnostics", PublishDiagnosticsParams{URI: uri, Version: d.s.docVersion(rel), Diagnostics: set})
		d.published[uri] = fp
	}
	// Files that went away (deleted, or closed standalone buffers): clear.
	for uri := range d.published {
		if !keep[uri] && ctx.Err() == nil {
			d.s.notify("textDocument/publishDiagnostics", PublishDiagnosticsParams{URI: uri, Diagnostics: []Diagnostic{}})
			delete(d.published, uri)
		}
	}
}

func fingerprint(set []Diagnostic) string {
	b, _ := json.Marshal(set)
	return string(b)
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

// diagnosticSets converts the table's findings into LSP diagnostics, one
// set per file: every route file, devproxy.json and resolutions.json when
// they have findings, and open .conf buffers that are not route files
// (checked on their own).
func (s *Server) diagnosticSets(snap *snapshot) map[string][]Diagnostic {
	sets := map[string][]Diagnostic{}
	for _, f := range snap.table.Files {
		sets[f.Path] = []Diagnostic{}
	}
	for _, d := range snap.table.Diagnostics {
		sets[d.File] = append(sets[d.File], s.toLSP(d))
	}
	for rel, text := range snap.texts {
		if _, ok := sets[rel]; ok || rel == routing.ConfigFile || rel == routing.ResolutionsFile {
			continue
		}
		if len(rel) > 5 && rel[len(rel)-5:] == ".conf" {
			set := []Diagnostic{}
			for _, d := range routefile.Parse(rel, []byte(text)).Diagnostics {
				set = append(set, s.toLSP(d))
			}
			sets[rel] = set
		}
	}
	return sets
}

func lspPos(p routefile.Pos) Position {
	return Position{Line: max(p.Line-1, 0), Character: max(p.Col-1, 0)}
}

func lspRange(r routefile.Range) Range { return Range{Start: lspPos(r.Start), End: lspPos(r.End)} }

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
