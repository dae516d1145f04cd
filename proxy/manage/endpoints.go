package manage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// ListResult is GET apps/list's answer: every app and override file the
// proxy serves, with its routes and errors.
type ListResult struct {
	Files []ListedFile `json:"files"`
}

// ListedFile is one route file.
type ListedFile struct {
	Path   string        `json:"path"`
	Kind   string        `json:"kind"` // app or override
	OK     bool          `json:"ok"`
	Stale  bool          `json:"stale"`
	Routes []ListedRoute `json:"routes"`
	Errors []Finding     `json:"errors"`
}

// ListedRoute is one location block of a file.
type ListedRoute struct {
	Route    *string `json:"route"` // nil for blocks without one (regexes, named)
	Modifier string  `json:"modifier"`
	Spec     string  `json:"spec"`
	Line     int     `json:"line"`
	Active   bool    `json:"active"`
	Upstream *string `json:"upstream"`
	Conflict *string `json:"conflict"`
}

func (a *API) list(*http.Request) (any, *Error) {
	t := a.opts.Workspace.Served()
	rep := t.Report()
	out := ListResult{Files: []ListedFile{}}
	byPath := map[string]int{}
	for _, f := range rep.Files {
		byPath[f.Path] = len(out.Files)
		out.Files = append(out.Files, ListedFile{Path: f.Path, Kind: f.Kind, OK: f.OK, Stale: f.Stale, Routes: []ListedRoute{}, Errors: []Finding{}})
	}
	for _, r := range rep.Routes {
		if i, ok := byPath[r.File]; ok {
			out.Files[i].Routes = append(out.Files[i].Routes, ListedRoute{Route: r.Route, Modifier: r.Modifier, Spec: r.Spec, Line: r.Line,
				Active: r.Active, Upstream: r.Upstream, Conflict: r.Conflict})
		}
	}
	for _, d := range t.Diagnostics {
		if i, ok := byPath[d.File]; ok && d.Severity == routefile.Error {
			out.Files[i].Errors = append(out.Files[i].Errors, findingOf(d))
		}
	}
	return out, nil
}

// DiagnosticsResult is GET apps/diagnostics's answer.
type DiagnosticsResult struct {
	Errors      int       `json:"errors"`
	Diagnostics []Finding `json:"diagnostics"`
}

func (a *API) diagnostics(*http.Request) (any, *Error) {
	t := a.opts.Workspace.Served()
	out := DiagnosticsResult{Diagnostics: []Finding{}}
	for _, d := range t.Diagnostics {
		if d.Severity == routefile.Error {
			out.Errors++
		}
		out.Diagnostics = append(out.Diagnostics, findingOf(d))
	}
	return out, nil
}

// ResolveRequest is POST resolve-conflict's body.
type ResolveRequest struct {
	Route  string `json:"route"`
	Winner string `json:"winner"`
}

// ResolveResult is its answer.
type ResolveResult struct {
	OK          bool   `json:"ok"`
	Route       string `json:"route"`
	Winner      string `json:"winner"`
	Resolutions string `json:"resolutions"` // the file written
}

func (a *API) resolveConflict(r *http.Request) (any, *Error, string) {
	var req ResolveRequest
	if e := decode(r, &req, false); e != nil {
		return nil, e, ""
	}
	if req.Route == "" {
		return nil, errorf(http.StatusBadRequest, "route", "route is required, such as \"/api/\""), ""
	}
	if req.Winner == "" {
		return nil, errorf(http.StatusBadRequest, "winner", "winner is required: the file that should win, such as \"apps/b.conf\""), req.Route
	}
	if e := checkRelPath("winner", req.Winner); e != nil {
		return nil, e, req.Route
	}
	route, err := routing.NormaliseRoute(req.Route)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "route", "route %q: %v", req.Route, err), req.Route
	}
	t := a.opts.Workspace.Served()
	var c *routing.Conflict
	for _, x := range t.Conflicts {
		if x.Route == route {
			c = x
		}
	}
	if c == nil {
		return nil, errorf(http.StatusConflict, "route", "%s is not contested: only one file claims it", route), route
	}
	var files []string
	var winner *routing.SourceFile
	for _, b := range c.Claims {
		if !slices.Contains(files, b.File.Path) {
			files = append(files, b.File.Path)
		}
		if b.File.Path == req.Winner || (!strings.Contains(req.Winner, "/") && filepath.Base(b.File.Path) == req.Winner) {
			if winner != nil && winner != b.File {
				return nil, errorf(http.StatusBadRequest, "winner", "winner %q names several files; give its path, one of %s", req.Winner, strings.Join(files, ", ")), route
			}
			winner = b.File
		}
	}
	if winner == nil {
		return nil, errorf(http.StatusBadRequest, "winner", "winner %q does not claim %s; it must be one of %s", req.Winner, route, strings.Join(files, ", ")), route
	}
	for _, b := range c.Claims {
		if b.File.Kind == routing.OverrideFile && b.File != winner {
			return nil, errorf(http.StatusConflict, "winner", "%s claims %s and overrides beat any pin", b.File.Path, route), route
		}
	}
	resFile := t.ResolutionsFileFor(winner.Path)
	abs, ok := t.AbsPath(resFile)
	if !ok || !within(a.root, abs) && !inFolders(t, abs) {
		return nil, errorf(http.StatusInternalServerError, "", "cannot place %s", resFile), route
	}
	pins := map[string]any{}
	if text := t.ResolutionsTextOf(resFile); text != nil {
		json.Unmarshal(text, &pins) // a broken file is replaced whole, as the editor's quick fix does
	}
	_, _, own, _ := t.FolderOf(winner.Path)
	pins[route] = own
	content, err := routing.FormatResolutions(pins)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "", "%v", err), route
	}
	if err := a.commit([]change{{abs: abs, data: content}}); err != nil {
		return nil, commitError(err, "write "+resFile), route
	}
	return ResolveResult{OK: true, Route: route, Winner: winner.Path, Resolutions: resFile}, nil, route
}

func inFolders(t *routing.RouteTable, abs string) bool {
	for _, f := range t.Folders {
		if within(f.Root, abs) {
			return true
		}
	}
	return false
}

// checkRelPath refuses what is not a plain relative path inside the
// workspace: absolute paths, .. segments, NUL and backslashes.
func checkRelPath(field, p string) *Error {
	if strings.ContainsAny(p, "\x00\\") || strings.HasPrefix(p, "/") || filepath.IsAbs(p) {
		return errorf(http.StatusBadRequest, field, "%s %q must be a path relative to the workspace, such as \"apps/web.conf\"", field, p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return errorf(http.StatusBadRequest, field, "%s %q climbs out of the workspace (..)", field, p)
		}
	}
	return nil
}

// RenameRequest is POST rename-route's body. File names the route file
// when several claim the route.
type RenameRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	File string `json:"file,omitempty"`
	// The old product's names for the same: {oldRoute, newRoute,
	// configFile}, accepted so that its scripts keep working.
	OldRoute   string `json:"oldRoute,omitempty"`
	NewRoute   string `json:"newRoute,omitempty"`
	ConfigFile string `json:"configFile,omitempty"`
}

// RenameResult is its answer.
type RenameResult struct {
	OK       bool     `json:"ok"`
	Route    string   `json:"route"`
	NewRoute string   `json:"newRoute"`
	File     string   `json:"file"`
	Edits    int      `json:"edits"`
	Written  []string `json:"written"` // the route file, and resolutions files whose pin moved
}

func (a *API) renameRoute(r *http.Request) (any, *Error, string) {
	var req RenameRequest
	if e := decode(r, &req, false); e != nil {
		return nil, e, ""
	}
	for _, alias := range []struct{ dst, src *string }{{&req.From, &req.OldRoute}, {&req.To, &req.NewRoute}, {&req.File, &req.ConfigFile}} {
		if *alias.dst == "" {
			*alias.dst = *alias.src
		}
	}
	if req.From == "" {
		return nil, errorf(http.StatusBadRequest, "from", "from is required: the route to rename, such as \"/web/\""), ""
	}
	if req.To == "" {
		return nil, errorf(http.StatusBadRequest, "to", "to is required: the new route, such as \"/shop/\""), req.From
	}
	from, err := routing.NormaliseRoute(req.From)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "from", "from %q: %v", req.From, err), req.From
	}
	to, err := routing.NormaliseRoute(req.To)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "to", "to %q: %v", req.To, err), from
	}
	for _, seg := range strings.Split(strings.Trim(to, "/"), "/") {
		if seg == "." || seg == ".." || !pathSegment.MatchString(seg) {
			return nil, errorf(http.StatusBadRequest, "to", "to %q may hold only letters, digits and . _ ~ - between slashes, and no . or .. segments", req.To), from
		}
	}
	if req.File != "" {
		if e := checkRelPath("file", req.File); e != nil {
			return nil, e, from
		}
	}
	t := a.opts.Workspace.Served()
	var files []*routing.SourceFile
	for _, b := range t.Blocks {
		if b.Loc.HasRoute && b.Loc.Route == from && !slices.Contains(files, b.File) {
			files = append(files, b.File)
		}
	}
	if req.File != "" {
		files = slices.DeleteFunc(files, func(f *routing.SourceFile) bool { return f.Path != req.File })
	}
	switch {
	case len(files) == 0 && req.File != "":
		return nil, errorf(http.StatusConflict, "file", "%s has no route %s", req.File, from), from
	case len(files) == 0:
		return nil, errorf(http.StatusConflict, "from", "no file claims the route %s", from), from
	case len(files) > 1:
		var names []string
		for _, f := range files {
			names = append(names, f.Path)
		}
		return nil, errorf(http.StatusConflict, "file", "%s is claimed by %s: say which file in \"file\"", from, strings.Join(names, ", ")), from
	}
	sf := files[0]
	if sf.Stale || sf.Text == nil {
		return nil, errorf(http.StatusConflict, "file", "%s does not parse now; fix it before renaming its routes", sf.Path), from
	}
	rn, err := routing.RenameRoute(sf.Parsed, string(sf.Text), from, to)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "to", "%v", err), from
	}
	if len(rn.Edits) == 0 {
		return nil, errorf(http.StatusConflict, "from", "no occurrences of %s to rename in %s", from, sf.Path), from
	}
	newText := applyEdits(sf.Text, rn.Edits)
	if p := routefile.Parse(sf.Path, newText); !p.OK {
		e := errorf(http.StatusUnprocessableEntity, "to", "renaming %s to %s would break %s; nothing was written", from, to, sf.Path)
		for _, d := range p.Diagnostics {
			if d.Severity == routefile.Error {
				e.Findings = append(e.Findings, findingOf(d))
			}
		}
		return nil, e, from
	}
	abs, ok := t.AbsPath(sf.Path)
	if !ok || abs != sf.Abs {
		return nil, errorf(http.StatusInternalServerError, "", "cannot place %s", sf.Path), from
	}
	changes := []change{{abs: abs, data: newText}}
	written := []string{sf.Path}
	// The route's pin follows it, in every folder.
	for _, f := range t.Folders {
		resFile := t.ResolutionsFileFor(f.Label + "/" + routing.ResolutionsFile)
		if len(t.Folders) == 1 {
			resFile = routing.ResolutionsFile
		}
		text := t.ResolutionsTextOf(resFile)
		if text == nil {
			continue
		}
		if content, pinned := routing.RenamePin(text, rn.Route, rn.NewRoute); pinned {
			if resAbs, ok := t.AbsPath(resFile); ok {
				changes = append(changes, change{abs: resAbs, data: content})
				written = append(written, resFile)
			}
		}
	}
	if err := a.commit(changes); err != nil {
		return nil, commitError(err, "rename"), from
	}
	return RenameResult{OK: true, Route: rn.Route, NewRoute: rn.NewRoute, File: sf.Path, Edits: len(rn.Edits), Written: written}, nil, from
}

// applyEdits applies non-overlapping replacements, given in file order.
func applyEdits(src []byte, edits []routing.Replacement) []byte {
	sorted := slices.Clone(edits)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Range.Start.Offset < sorted[j].Range.Start.Offset })
	var b bytes.Buffer
	at := 0
	for _, e := range sorted {
		b.Write(src[at:e.Range.Start.Offset])
		b.WriteString(e.NewText)
		at = e.Range.End.Offset
	}
	b.Write(src[at:])
	return b.Bytes()
}

// Settings are the settings of devproxy.json the API may change: none
// that could open the proxy to the network (listen, tunnel) or point it
// at other files (apps, overrides, dataDir).
type Settings struct {
	Retention    *Retention `json:"retention,omitempty"`
	AllowedHosts *[]string  `json:"allowedHosts,omitempty"`
	// Private are the route prefixes the tunnel does not show (404).
	Private *[]string `json:"private,omitempty"`
}

// Retention is devproxy.json's "retention".
type Retention struct {
	Reports *int `json:"reports,omitempty"`
	Days    *int `json:"days,omitempty"`
}

// SettingsResult is GET and POST settings' answer: the settings in effect.
type SettingsResult struct {
	Retention    RetentionValues `json:"retention"`
	AllowedHosts []string        `json:"allowedHosts"`
	Private      []string        `json:"private"`
}

// RetentionValues are the retention in effect (0: the default).
type RetentionValues struct {
	Reports int `json:"reports"`
	Days    int `json:"days"`
}

func settingsOf(c routing.Config) SettingsResult {
	hosts := c.AllowedHosts
	if hosts == nil {
		hosts = []string{}
	}
	private := c.Private
	if private == nil {
		private = []string{}
	}
	return SettingsResult{Retention: RetentionValues{Reports: c.Retention.Reports, Days: c.Retention.Days}, AllowedHosts: hosts, Private: private}
}

func (a *API) settings(*http.Request) (any, *Error) {
	return settingsOf(a.opts.Workspace.Served().Config), nil
}

func (a *API) setSettings(r *http.Request) (any, *Error, string) {
	var req Settings
	if e := decode(r, &req, false); e != nil {
		return nil, e, routing.ConfigFile
	}
	if ret := req.Retention; ret != nil {
		if ret.Reports != nil && (*ret.Reports < 1 || *ret.Reports > 100000) {
			return nil, errorf(http.StatusBadRequest, "retention.reports", "retention.reports must be between 1 and 100000"), routing.ConfigFile
		}
		if ret.Days != nil && (*ret.Days < 0 || *ret.Days > 36500) {
			return nil, errorf(http.StatusBadRequest, "retention.days", "retention.days must be between 0 (no age limit) and 36500"), routing.ConfigFile
		}
	}
	if req.Retention == nil && req.AllowedHosts == nil && req.Private == nil {
		return nil, errorf(http.StatusBadRequest, "", "nothing to change: send \"retention\", \"allowedHosts\" or \"private\""), routing.ConfigFile
	}
	if req.Private != nil && len(*req.Private) > 256 {
		return nil, errorf(http.StatusBadRequest, "private", "private holds more than 256 prefixes"), routing.ConfigFile
	}
	if req.AllowedHosts != nil && len(*req.AllowedHosts) > 256 {
		return nil, errorf(http.StatusBadRequest, "allowedHosts", "allowedHosts holds more than 256 names"), routing.ConfigFile
	}
	abs := filepath.Join(a.root, routing.ConfigFile)
	raw := map[string]json.RawMessage{}
	old, err := os.ReadFile(abs)
	switch {
	case err == nil:
		if err := json.Unmarshal(old, &raw); err != nil {
			return nil, errorf(http.StatusConflict, "", "%s does not parse (%v); fix it by hand first, nothing was written", routing.ConfigFile, err), routing.ConfigFile
		}
	case !os.IsNotExist(err):
		return nil, errorf(http.StatusInternalServerError, "", "read %s: %v", routing.ConfigFile, err), routing.ConfigFile
	}
	if ret := req.Retention; ret != nil {
		cur := map[string]json.RawMessage{}
		json.Unmarshal(raw["retention"], &cur)
		if ret.Reports != nil {
			cur["reports"], _ = json.Marshal(*ret.Reports)
		}
		if ret.Days != nil {
			cur["days"], _ = json.Marshal(*ret.Days)
		}
		raw["retention"], _ = json.Marshal(cur)
	}
	if req.AllowedHosts != nil {
		if len(*req.AllowedHosts) == 0 {
			delete(raw, "allowedHosts")
		} else {
			raw["allowedHosts"], _ = json.Marshal(*req.AllowedHosts)
		}
	}
	if req.Private != nil {
		if len(*req.Private) == 0 {
			delete(raw, "private")
		} else {
			raw["private"], _ = json.Marshal(*req.Private)
		}
	}
	content, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "", "%v", err), routing.ConfigFile
	}
	content = append(content, '\n')
	cfg, diags := routing.CheckConfig(a.root, content)
	// Only findings about what this request changes refuse it: a setting
	// already broken in the file is the user's to fix.
	_, oldDiags := routing.CheckConfig(a.root, old)
	if old == nil {
		oldDiags = nil
	}
	seen := map[string]bool{}
	for _, d := range oldDiags {
		seen[d.Message] = true
	}
	var errs []Finding
	for _, d := range diags {
		if d.Severity == routefile.Error && !seen[d.Message] {
			errs = append(errs, findingOf(d))
		}
	}
	if len(errs) > 0 {
		e := errorf(http.StatusUnprocessableEntity, settingField(req), "the engine refuses these settings; nothing was written")
		e.Findings = errs
		return nil, e, routing.ConfigFile
	}
	if err := a.commit([]change{{abs: abs, data: content}}); err != nil {
		return nil, commitError(err, "write "+routing.ConfigFile), routing.ConfigFile
	}
	return settingsOf(cfg), nil, routing.ConfigFile
}

func settingField(s Settings) string {
	switch {
	case s.Private != nil:
		return "private"
	case s.AllowedHosts != nil:
		return "allowedHosts"
	}
	return "retention"
}

// ReportsResult is GET reports' answer: the newest health report of each
// route (schemas/health-report.schema.json), by route.
type ReportsResult struct {
	Stored  bool                       `json:"stored"` // false without a store
	Reports map[string]json.RawMessage `json:"reports"`
}

func (a *API) reports(*http.Request) (any, *Error) {
	out := ReportsResult{Reports: map[string]json.RawMessage{}}
	if a.opts.Reports == nil {
		return out, nil
	}
	latest, err := a.opts.Reports.Latest()
	if errors.Is(err, ErrNoStore) {
		return out, nil
	}
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "", "read the health store: %v", err)
	}
	out.Stored = true
	for _, route := range slices.Sorted(maps.Keys(latest)) {
		if json.Valid(latest[route]) {
			out.Reports[route] = latest[route]
		}
	}
	return out, nil
}

// PruneResult is POST reports/prune's answer.
type PruneResult struct {
	Removed int `json:"removed"`
}

func (a *API) prune(r *http.Request) (any, *Error, string) {
	var body struct{}
	if e := decode(r, &body, true); e != nil {
		return nil, e, "reports"
	}
	if a.opts.Reports == nil {
		return nil, errorf(http.StatusConflict, "", "health is kept in memory only here (no store): nothing to prune"), "reports"
	}
	n, err := a.opts.Reports.Prune(a.now())
	if errors.Is(err, ErrNoStore) {
		return nil, errorf(http.StatusConflict, "", "%v: nothing to prune", err), "reports"
	}
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "", "prune: %v", err), "reports"
	}
	return PruneResult{Removed: n}, nil, fmt.Sprintf("reports (%d removed)", n)
}

// ConfigResult is GET config's answer (schemas/manage-config.schema.json):
// where the API is, as the old product's GET /config said, and the
// settings the proxy runs with (devproxy.json over the editor's, with the
// running tunnel's public URL), without the data folder's path.
type ConfigResult struct {
	OK          bool           `json:"ok"`
	APIBasePath string         `json:"apiBasePath"`
	Version     string         `json:"version"`
	Settings    routing.Config `json:"settings"`
}

func (a *API) config(*http.Request) (any, *Error) {
	cfg := a.opts.Workspace.Served().Config
	cfg.DataDir = ""
	return ConfigResult{OK: true, APIBasePath: "/devproxy/api", Version: a.opts.Version, Settings: cfg}, nil
}
