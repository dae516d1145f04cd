package manage

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Finding is one of the engine's findings, as the API shows it.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"` // error, warning, information, hint
	Code     string `json:"code"`
	Message  string `json:"message"`
}

func findingOf(d routefile.Diagnostic) Finding {
	return Finding{File: d.File, Line: d.Range.Start.Line, Column: d.Range.Start.Col, Severity: d.Severity.String(), Code: d.Code, Message: d.Message}
}

// InstallRequest is POST apps/install's body.
type InstallRequest struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// InstallResult is the answer of install and create-route.
type InstallResult struct {
	OK        bool   `json:"ok"`
	Installed string `json:"installed"` // "apps/web.conf"
	// Backup is where the previous version was kept ("" for a new file).
	Backup string `json:"backup,omitempty"`
	// Routes are the routes the file claims.
	Routes []string `json:"routes"`
	// Warnings are the engine's findings about the file once composed
	// with the workspace (conflicts among them): the install went ahead.
	Warnings []Finding `json:"warnings"`
	// Content is the file written (create-route's generated text).
	Content string `json:"content,omitempty"`
}

// BackupDir is where previous versions of installed files are kept,
// relative to the root: inside .devproxy/, which the route engine never
// reads route files from, and with names that do not end in .conf.
const BackupDir = ".devproxy/backups/apps"

// MaxBackups is how many previous versions of one app file are kept.
const MaxBackups = 3

var appName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// reservedNames are the names an app file may not take: the proxy's own
// pages and API sections, whose files would confuse people and tools.
var reservedNames = map[string]bool{
	"devproxy": true, "routes": true, "health": true, "status": true, "reports": true, "dashboard": true,
	"api": true, "config": true, "apps": true, "overrides": true, "settings": true, "backups": true,
	"con": true, "nul": true, "prn": true, "aux": true,
}

// CheckName validates an app name as install and create-route take it:
// [a-z0-9][a-z0-9-]{0,62}, not a reserved name. A trailing ".conf" is not
// accepted: the name is the file's name without it.
func CheckName(name string) *Error {
	switch {
	case name == "":
		return errorf(http.StatusBadRequest, "name", "name is required: the app file's name, such as \"web\" for apps/web.conf")
	case strings.ContainsAny(name, "/\\\x00") || strings.Contains(name, ".."):
		return errorf(http.StatusBadRequest, "name", "name %q is not a plain name: no slashes, dots or NUL (the file is always apps/NAME.conf)", name)
	case !appName.MatchString(name):
		return errorf(http.StatusBadRequest, "name", "name %q must be 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit", name)
	case reservedNames[name]:
		return errorf(http.StatusBadRequest, "name", "name %q is reserved by the proxy; choose another", name)
	}
	return nil
}

func (a *API) install(r *http.Request) (any, *Error, string) {
	var req InstallRequest
	if e := decode(r, &req, false); e != nil {
		return nil, e, ""
	}
	if e := CheckName(req.Name); e != nil {
		return nil, e, ""
	}
	res, e := a.installContent(req.Name, []byte(req.Content))
	return res, e, "apps/" + req.Name + ".conf"
}

// installContent validates content as apps/NAME.conf composed with the
// rest of the workspace, then writes it with a backup of the previous
// version. w.mu is held.
func (a *API) installContent(name string, content []byte) (*InstallResult, *Error) {
	if len(content) == 0 || strings.TrimSpace(string(content)) == "" {
		return nil, errorf(http.StatusBadRequest, "content", "content is required: the route file's text")
	}
	if strings.ContainsRune(string(content), 0) {
		return nil, errorf(http.StatusBadRequest, "content", "content holds a NUL byte")
	}
	ws := a.opts.Workspace
	abs := filepath.Join(a.root, "apps", name+".conf")
	if !ws.IsRouteFile(abs) {
		return nil, errorf(http.StatusConflict, "name", "apps/%s.conf would not be read as a route file: devproxy.json's \"apps\" globs do not name it", name)
	}
	table := ws.Served()
	display, ok := table.DisplayPath(abs)
	if !ok {
		display = "apps/" + name + ".conf"
	}
	parsed := routefile.Parse(display, content)
	var errs []Finding
	for _, d := range parsed.Diagnostics {
		if d.Severity == routefile.Error {
			errs = append(errs, findingOf(d))
		}
	}
	if !parsed.OK || len(errs) > 0 {
		e := errorf(http.StatusUnprocessableEntity, "content", "%s does not parse; nothing was written", display)
		e.Findings = errs
		return nil, e
	}
	composed := composeWith(table, &routing.SourceFile{Path: display, Abs: abs, Kind: routing.AppFile, ModTime: a.now(),
		Size: int64(len(content)), Text: content, Parsed: parsed})
	var warnings []Finding
	for _, d := range composed.Diagnostics {
		if d.File != display {
			continue
		}
		if d.Severity == routefile.Error {
			errs = append(errs, findingOf(d))
		} else {
			warnings = append(warnings, findingOf(d))
		}
	}
	var routes []string
	for _, b := range composed.Blocks {
		if b.File.Path != display {
			continue
		}
		if b.Inactive == routing.InactiveReserved && !slices.ContainsFunc(errs, func(f Finding) bool { return f.Line == b.Loc.Line() }) {
			errs = append(errs, Finding{File: display, Line: b.Loc.Line(), Column: 1, Severity: "error", Code: "reserved",
				Message: fmt.Sprintf("%s belongs to the proxy itself", b.Loc.Label())})
		}
		if b.Loc.HasRoute && !slices.Contains(routes, b.Loc.Route) {
			routes = append(routes, b.Loc.Route)
		}
		if c := b.Conflict; c != nil && c.Winner != nil && c.Winner.Path != display {
			warnings = append(warnings, Finding{File: display, Line: b.Loc.Line(), Column: 1, Severity: "warning", Code: "conflict",
				Message: fmt.Sprintf("%s is also claimed by %s, which wins it (%s)", c.Route, c.Winner.Path, c.Settlement)})
		}
	}
	if len(errs) > 0 {
		e := errorf(http.StatusUnprocessableEntity, "content", "the engine refuses %s; nothing was written", display)
		e.Findings = errs
		return nil, e
	}
	changes := []change{}
	res := &InstallResult{OK: true, Installed: display, Routes: routes, Warnings: warnings}
	if res.Routes == nil {
		res.Routes = []string{}
	}
	if res.Warnings == nil {
		res.Warnings = []Finding{}
	}
	if old, err := os.ReadFile(abs); err == nil {
		stamp := a.now().UTC().Format("20060102T150405.000000000Z")
		rel := BackupDir + "/" + name + ".conf." + stamp
		changes = append(changes, change{abs: filepath.Join(a.root, filepath.FromSlash(rel)), data: old})
		res.Backup = rel
	}
	changes = append(changes, change{abs: abs, data: content})
	if err := a.commit(changes); err != nil {
		return nil, commitError(err, "install "+display)
	}
	a.pruneBackups(name)
	return res, nil
}

// composeWith composes table's files with f in place of the file of the
// same path: the table the workspace will have once f is written.
func composeWith(table *routing.RouteTable, f *routing.SourceFile) *routing.RouteTable {
	files := make([]*routing.SourceFile, 0, len(table.Files)+1)
	for _, o := range table.Files {
		if o.Path != f.Path {
			files = append(files, o)
		}
	}
	files = append(files, f)
	var res routing.Resolutions
	json.Unmarshal(table.ResolutionsText, &res)
	return routing.Compose(table.Config, files, res)
}

// pruneBackups keeps the newest MaxBackups backups of apps/NAME.conf.
func (a *API) pruneBackups(name string) {
	dir := filepath.Join(a.root, filepath.FromSlash(BackupDir))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var mine []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), name+".conf.") && e.Type().IsRegular() {
			mine = append(mine, e.Name())
		}
	}
	sort.Strings(mine) // the stamps sort by time
	for len(mine) > MaxBackups {
		if err := os.Remove(filepath.Join(dir, mine[0])); err != nil {
			a.log.Warn("management API: cannot remove an old backup", "file", mine[0], "err", err)
		}
		mine = mine[1:]
	}
}

// CreateRouteRequest is POST apps/create-route's body.
type CreateRouteRequest struct {
	Name     string             `json:"name"`
	BasePath string             `json:"basePath"`
	Upstream string             `json:"upstream"`
	Options  CreateRouteOptions `json:"options"`
}

// CreateRouteOptions tune the generated file; a preset sets the defaults
// of the other two.
type CreateRouteOptions struct {
	Preset      string `json:"preset,omitempty"`
	WebSocket   *bool  `json:"websocket,omitempty"`
	StripPrefix *bool  `json:"stripPrefix,omitempty"`
}

// preset is what a framework's dev server needs behind a path prefix.
type preset struct {
	websocket bool // HMR or live-reload socket under the prefix
	strip     bool // the app does not know its prefix
	note      string
}

var presets = map[string]preset{
	"next":      {websocket: true, note: "Next.js with basePath set to the prefix: the prefix is kept, and /_next/webpack-hmr under it is a WebSocket"},
	"vite":      {websocket: true, note: "Vite with base set to the prefix: the prefix is kept, and the HMR client upgrades under it"},
	"storybook": {websocket: true, strip: true, note: "Storybook serves from /: the prefix is stripped; its channel socket upgrades"},
	"cra":       {websocket: true, note: "Create React App with PUBLIC_URL set to the prefix: the WDS socket (/ws, /sockjs-node) upgrades"},
	"express":   {strip: true, note: "Express: a plain proxy; the app reads X-Forwarded-* and X-Forwarded-Prefix"},
	"rails":     {strip: true, note: "Rails: a plain proxy; the app reads X-Forwarded-* and X-Forwarded-Prefix"},
	"django":    {strip: true, note: "Django: a plain proxy; the app reads X-Forwarded-* (SCRIPT_NAME from X-Forwarded-Prefix)"},
}

// Presets are create-route's framework presets, sorted.
func Presets() []string {
	var out []string
	for k := range presets {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var pathSegment = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)

// CheckBasePath validates a route prefix of the form /x/ or /x/y/.
func CheckBasePath(p string) *Error {
	if p == "" {
		return errorf(http.StatusBadRequest, "basePath", "basePath is required, such as \"/web/\"")
	}
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || p == "/" {
		return errorf(http.StatusBadRequest, "basePath", "basePath %q must be a path prefix of the form /name/", p)
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." || !pathSegment.MatchString(seg) {
			return errorf(http.StatusBadRequest, "basePath", "basePath %q may hold only letters, digits and . _ ~ - between slashes, and no . or .. segments", p)
		}
	}
	if routefile.IsReservedPath(strings.TrimSuffix(p, "/")) || routefile.IsReservedPath(p) {
		return errorf(http.StatusBadRequest, "basePath", "basePath %q belongs to the proxy itself (reserved path)", p)
	}
	if _, found := routefile.ReservedClaim(routefile.ModPrefix, p); found {
		return errorf(http.StatusBadRequest, "basePath", "basePath %q belongs to the proxy itself (reserved path)", p)
	}
	return nil
}

var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`)

// CheckUpstream validates an upstream of the form http://host:port.
func CheckUpstream(s string) (*url.URL, *Error) {
	bad := func(why string) (*url.URL, *Error) {
		return nil, errorf(http.StatusBadRequest, "upstream", "upstream %q must be http://host:port: %s", s, why)
	}
	if s == "" {
		return nil, errorf(http.StatusBadRequest, "upstream", "upstream is required, such as \"http://127.0.0.1:5173\"")
	}
	u, err := url.Parse(s)
	if err != nil || strings.ContainsAny(s, " \t\r\n;{}'\"$\\") {
		return bad("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("the scheme must be http or https")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return bad("no user, path, query or fragment")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return bad("a port is required")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("the port must be a number from 1 to 65535")
	}
	if net.ParseIP(host) == nil && !hostName.MatchString(host) {
		return bad("the host is not a host name or IP address")
	}
	return u, nil
}

// GenerateRoute writes the route file create-route installs.
func GenerateRoute(req CreateRouteRequest) (string, *Error) {
	p, ok := presets[req.Options.Preset]
	if req.Options.Preset != "" && !ok {
		return "", errorf(http.StatusBadRequest, "options.preset", "options.preset %q is not one of %s", req.Options.Preset, strings.Join(Presets(), ", "))
	}
	if e := CheckBasePath(req.BasePath); e != nil {
		return "", e
	}
	u, e := CheckUpstream(req.Upstream)
	if e != nil {
		return "", e
	}
	ws, strip := p.websocket, p.strip
	if req.Options.WebSocket != nil {
		ws = *req.Options.WebSocket
	}
	if req.Options.StripPrefix != nil {
		strip = *req.Options.StripPrefix
	}
	origin := u.Scheme + "://" + u.Host
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by devproxy's create-route for %s", req.Name)
	if req.Options.Preset != "" {
		fmt.Fprintf(&b, " (preset %s)", req.Options.Preset)
	}
	b.WriteString(".\n")
	if p.note != "" {
		fmt.Fprintf(&b, "# %s.\n", p.note)
	}
	fmt.Fprintf(&b, "location %s {\n", req.BasePath)
	if strip {
		fmt.Fprintf(&b, "    proxy_pass %s/;\n", origin)
	} else {
		fmt.Fprintf(&b, "    proxy_pass %s;\n", origin)
	}
	if ws {
		// Dev servers compare Host with the page's Origin on their HMR
		// socket: $http_host keeps the browser's host:port. nginx needs
		// HTTP/1.1 for an upgrade (devproxy does not), so an export of the
		// file to nginx works too.
		b.WriteString("    proxy_http_version 1.1;\n")
		b.WriteString("    proxy_set_header Host $http_host;\n")
		b.WriteString("    proxy_set_header Upgrade $http_upgrade;\n")
		b.WriteString("    proxy_set_header Connection \"upgrade\";\n")
	}
	b.WriteString("    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n")
	b.WriteString("    proxy_set_header X-Forwarded-Proto $scheme;\n")
	b.WriteString("    proxy_set_header X-Forwarded-Host $host;\n")
	if strip {
		fmt.Fprintf(&b, "    proxy_set_header X-Forwarded-Prefix %s;\n", strings.TrimSuffix(req.BasePath, "/"))
	}
	b.WriteString("}\n")
	return b.String(), nil
}

func (a *API) createRoute(r *http.Request) (any, *Error, string) {
	var req CreateRouteRequest
	if e := decode(r, &req, false); e != nil {
		return nil, e, ""
	}
	if e := CheckName(req.Name); e != nil {
		return nil, e, ""
	}
	content, e := GenerateRoute(req)
	if e != nil {
		return nil, e, ""
	}
	res, e := a.installContent(req.Name, []byte(content))
	if e != nil {
		return nil, e, "apps/" + req.Name + ".conf"
	}
	res.Content = content
	return res, nil, res.Installed
}
