package lsp

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

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

	runMu sync.Mutex // one run at a time; guards published
	// published holds the findings last published, by URI: a file's
	// display path changes when folders are added or removed.
	published map[uri.URI][]routefile.Diagnostic
}

func newDiagnostics(s *Server, debounce time.Duration) *diagnostics {
	return &diagnostics{s: s, debounce: debounce, timers: map[string]*time.Timer{}, forced: map[string]bool{}, published: map[uri.URI][]routefile.Diagnostic{}}
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
	for u := range d.published {
		d.s.publishDiagnostics(&protocol.PublishDiagnosticsParams{URI: u, Diagnostics: []protocol.Diagnostic{}})
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
	uris := make(map[uri.URI]bool, len(sets))
	for rel := range sets {
		uris[d.s.uriOf(rel)] = true
		if all || forced[rel] || !sameFindings(d.published[d.s.uriOf(rel)], sets[rel]) {
			rels = append(rels, rel)
		}
	}
	slices.SortFunc(rels, func(a, b string) int {
		if forced[a] != forced[b] {
			if forced[a] {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
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
		u := d.s.uriOf(rel)
		p := &protocol.PublishDiagnosticsParams{URI: u, Diagnostics: make([]protocol.Diagnostic, 0, len(sets[rel]))}
		for _, f := range sets[rel] {
			p.Diagnostics = append(p.Diagnostics, d.s.toLSP(f))
		}
		if v, open := snap.docVersion(rel); open {
			p.Version = protocol.NewOptional(v)
		}
		d.s.publishDiagnostics(p)
		d.published[u] = sets[rel]
	}
	// Files that went away (deleted, closed standalone buffers, a folder
	// removed): clear.
	for u := range d.published {
		if !uris[u] && ctx.Err() == nil {
			d.s.publishDiagnostics(&protocol.PublishDiagnosticsParams{URI: u, Diagnostics: []protocol.Diagnostic{}})
			delete(d.published, u)
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

// publishDiagnostics sends one file's set; failures are logged.
func (s *Server) publishDiagnostics(p *protocol.PublishDiagnosticsParams) {
	ctx, cancel := s.outbound()
	defer cancel()
	if err := s.client.PublishDiagnostics(ctx, p); err != nil && s.ctx.Err() == nil {
		s.log.Debug("publishing diagnostics failed", "uri", p.URI, "err", err)
	}
}

// findingSets groups the table's findings by file, a non-nil list per
// file: every route file, devproxy.json and resolutions.json when they
// have findings, and open .conf buffers that are not route files (checked
// on their own).
func (s *Server) findingSets(snap *snapshot) map[string][]routefile.Diagnostic {
	sets := map[string][]routefile.Diagnostic{}
	for _, f := range snap.table.Files {
		sets[f.Path] = []routefile.Diagnostic{}
	}
	for _, d := range snap.table.Diagnostics {
		sets[d.File] = append(sets[d.File], d)
	}
	for rel, b := range snap.buffers {
		if _, ok := sets[rel]; ok || routing.IsSettingsFile(rel) {
			continue
		}
		if strings.HasSuffix(rel, ".conf") {
			sets[rel] = append([]routefile.Diagnostic{}, routefile.Parse(rel, []byte(b.text)).Diagnostics...)
		}
	}
	// Joined folders belong to other windows, which show their findings.
	for rel := range sets {
		if !s.ownFolder(snap.table, rel) {
			delete(sets, rel)
		}
	}
	return sets
}

var lspSeverity = map[routefile.Severity]protocol.DiagnosticSeverity{
	routefile.Error: protocol.DiagnosticSeverityError, routefile.Warning: protocol.DiagnosticSeverityWarning,
	routefile.Information: protocol.DiagnosticSeverityInformation, routefile.Hint: protocol.DiagnosticSeverityHint,
}

// toLSP converts one engine finding. Optional fields the finding does not
// have are left out, as the engine's JSON reports leave them out.
func (s *Server) toLSP(d routefile.Diagnostic) protocol.Diagnostic {
	out := protocol.Diagnostic{Range: lspRange(d.Range), Severity: lspSeverity[d.Severity],
		Source: protocol.NewOptional("devproxy"), Message: protocol.String(d.Message)}
	if d.Code != "" {
		out.Code = protocol.String(d.Code)
	}
	if slices.Contains(d.Tags, routefile.TagUnnecessary) {
		out.Tags = protocol.NewDiagnosticTags(protocol.DiagnosticTagUnnecessary)
	}
	for _, r := range d.Related {
		out.RelatedInformation = append(out.RelatedInformation, protocol.DiagnosticRelatedInformation{
			Location: protocol.Location{URI: s.uriOf(r.File), Range: lspRange(r.Range)}, Message: r.Message,
		})
	}
	return out
}

// diagnosticCode is a diagnostic's code as devproxy writes it (a string).
func diagnosticCode(d protocol.Diagnostic) string {
	switch c := d.Code.(type) {
	case protocol.String:
		return string(c)
	case protocol.Integer:
		return strconv.Itoa(int(c))
	}
	return ""
}
