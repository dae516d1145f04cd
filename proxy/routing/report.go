package routing

import "time"

// Report is the route table as people and tools read it: every route file,
// every block and every contested route, with the engine's decisions as
// codes and, beside them, as sentences. /routes.json, devproxy/routes and
// `devproxy check --format json` are views of it: they add fields of their
// own (a version, editor ranges, diagnostics) and never re-derive these.
type Report struct {
	Files     []FileReport     `json:"files"`
	Routes    []RouteReport    `json:"routes"`
	Conflicts []ConflictReport `json:"conflicts"`
}

// FileReport is a route file and whether it loaded.
type FileReport struct {
	Path string `json:"path"`
	// Folder is the label of the workspace folder that holds the file;
	// omitted when the workspace has one folder.
	Folder string `json:"folder,omitempty"`
	Kind   string `json:"kind"` // "app" or "override"
	// OK is false when the file has errors: it contributes no routes
	// (unless it is stale), and every other file keeps serving.
	OK bool `json:"ok"`
	// Stale is set when the file stopped parsing and the proxy serves its
	// last good version, modified at StaleSince (RFC 3339, UTC; omitted
	// when not stale).
	Stale      bool   `json:"stale"`
	StaleSince string `json:"staleSince,omitempty"`
	// Unsaved is set when the table reads an editor's buffer that differs
	// from the file on disk.
	Unsaved bool `json:"unsaved,omitempty"`
}

// RouteReport is one location block.
type RouteReport struct {
	// Route is the block's identity for conflicts ("/api/"); nil for
	// blocks without one (spec §3).
	Route    *string `json:"route"`
	File     string  `json:"file"`
	Line     int     `json:"line"`
	Modifier string  `json:"modifier"`
	Spec     string  `json:"spec"`
	Active   bool    `json:"active"`
	// Upstream is the proxy_pass origin when it is known without a
	// request, else the proxy_pass text; nil without proxy_pass.
	Upstream *string `json:"upstream"`
	// InactiveCode says why an inactive block takes no requests, nil
	// while it is active; InactiveReason is the same in words, for people.
	InactiveCode   *InactiveReason `json:"inactiveCode"`
	InactiveReason *string         `json:"inactiveReason"`
	// Conflict is the contested route when other files claim it too; the
	// report's Conflicts say who wins and how that was settled.
	Conflict *string `json:"conflict"`
	// Health is the health scanner's place (a later issue); nil until it
	// reports.
	Health *RouteHealth `json:"health"`
}

// RouteHealth is reserved for what the health scanner will find about a
// route's upstream. Nothing fills it yet: every report carries null.
type RouteHealth struct{}

// ConflictReport is one route claimed by blocks of several files.
type ConflictReport struct {
	Route  string `json:"route"`
	Winner string `json:"winner"`
	// Settlement says how Winner was chosen; Reason is the same in words.
	Reason     string     `json:"reason"`
	Settlement Settlement `json:"reasonCode"`
	// Files are the claiming files, in composed order, the winner among
	// them.
	Files []string `json:"files"`
}

// Report describes the whole table.
func (t *RouteTable) Report() Report {
	r := Report{Files: t.FileReports(), Routes: make([]RouteReport, 0, len(t.Blocks)), Conflicts: t.ConflictReports()}
	for _, b := range t.Blocks {
		r.Routes = append(r.Routes, b.Report())
	}
	return r
}

// FileReports describes the route files, in composed order.
func (t *RouteTable) FileReports() []FileReport {
	out := make([]FileReport, 0, len(t.Files))
	for _, f := range t.Files {
		r := FileReport{Path: f.Path, Kind: f.Kind.String(), OK: f.Parsed.OK && f.Current == nil, Stale: f.Stale, Unsaved: f.Unsaved}
		if len(t.Folders) > 1 {
			r.Folder = f.Folder
		}
		if f.Stale {
			r.StaleSince = f.GoodSince.UTC().Format(time.RFC3339)
		}
		out = append(out, r)
	}
	return out
}

// ConflictReports describes the contested routes, sorted by route.
func (t *RouteTable) ConflictReports() []ConflictReport {
	out := make([]ConflictReport, 0, len(t.Conflicts))
	for _, c := range t.Conflicts {
		cr := ConflictReport{Route: c.Route, Winner: c.Winner.Path, Reason: c.Phrase(), Settlement: c.Settlement}
		for _, f := range claimingFiles(c.Claims) {
			cr.Files = append(cr.Files, f.Path)
		}
		out = append(out, cr)
	}
	return out
}

// Report describes one block.
func (b *Block) Report() RouteReport {
	r := RouteReport{File: b.File.Path, Line: b.Loc.Line(), Modifier: string(b.Loc.Modifier), Spec: b.Loc.Spec, Active: b.Active}
	if b.Loc.HasRoute {
		r.Route = ref(b.Loc.Route)
	}
	if b.Upstream != "" {
		r.Upstream = ref(b.Upstream)
	}
	if !b.Active {
		r.InactiveCode = ref(b.Inactive)
		r.InactiveReason = ref(b.InactiveSentence())
	}
	if b.Conflict != nil {
		r.Conflict = ref(b.Conflict.Route)
	}
	return r
}

func ref[T any](v T) *T { return &v }
