package httpproxy

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

const noCache = "no-cache, no-store, must-revalidate"

// The messages of the proxy's own JSON answers, which `devproxy export
// nginx` writes too. UnavailableMessage is the spec's §7 text, which
// clients of the old product match on.
const (
	UnavailableMessage = "The requested application is not currently running. Please start the service and try again."
	TimeoutMessage     = "The application did not answer in time (proxy_read_timeout). Check that it is not stuck, or raise the timeout."
)

// NoRouteMessage is the message of the 404 for a path no route matches.
func NoRouteMessage(path string) string { return "No route matches " + path + "." }

// ErrorBody is the JSON shape of every error the proxy itself writes: the
// spec's three fields first, then details that help to fix it.
type ErrorBody struct {
	Error    string `json:"error"`
	Message  string `json:"message"`
	Status   int    `json:"status"`
	Path     string `json:"path,omitempty"`
	Location string `json:"location,omitempty"`
	Upstream string `json:"upstream,omitempty"`
}

// jsonFields are the headers of every JSON answer the proxy writes itself.
// nosniff keeps a browser from reading one as HTML.
var jsonFields = []headerField{
	{"Content-Type", "application/json"},
	{"Cache-Control", noCache},
	{"X-Content-Type-Options", "nosniff"},
}

func writeJSON(x *exchange, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"Internal Server Error","status":500}`)
	}
	if closesAfter(status) {
		x.keepAlive = false
	}
	x.respond(status, jsonFields, append(b, '\n'))
}

func errorFor(status int, title, message string, d *routing.Decision) ErrorBody {
	e := ErrorBody{Error: title, Message: message, Status: status}
	if d != nil {
		e.Path = d.URI
		if d.Location != nil {
			e.Location = d.Location.File + ":" + strconv.Itoa(d.Location.Line)
		}
		e.Upstream = d.Upstream
	}
	return e
}

// writeError answers with one of the proxy's own errors: a small HTML page
// for a browser's navigation (Accept prefers text/html), the JSON body for
// everyone else. Both carry the same fields, none of them copied from the
// request's headers or body; the status, Cache-Control and nosniff are
// the same.
func writeError(x *exchange, status int, title, message string, d *routing.Decision) {
	e := errorFor(status, title, message, d)
	if prefersHTML(x.req) {
		writeErrorPage(x, e)
		return
	}
	writeJSON(x, status, e)
}

// writeJSONFor is writeJSON, indented for a person when a browser asks
// (Accept prefers text/html), compact otherwise.
func writeJSONFor(x *exchange, status int, v any) {
	if !prefersHTML(x.req) {
		writeJSON(x, status, v)
		return
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeJSON(x, http.StatusInternalServerError, ErrorBody{Error: "Internal Server Error", Status: 500})
		return
	}
	x.respond(status, jsonFields, append(b, '\n'))
}

// htmlFields are the headers of the proxy's own HTML pages.
var htmlFields = []headerField{
	{"Content-Type", "text/html; charset=utf-8"},
	{"Cache-Control", noCache},
	{"X-Content-Type-Options", "nosniff"},
}

var errorPageTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Status}} {{.Error}} · Dev Tunnel Proxy</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2rem;color:#222;max-width:48rem}
code{font-size:13px}.muted{color:#888}
</style></head><body>
<h1>{{.Status}} {{.Error}}</h1>
<p>{{.Message}}</p>
{{if or .Path .Location .Upstream}}<ul class="muted">
{{- if .Path}}<li>Path: <code>{{.Path}}</code></li>{{end}}
{{- if .Location}}<li>Location: <code>{{.Location}}</code></li>{{end}}
{{- if .Upstream}}<li>Upstream: <code>{{.Upstream}}</code></li>{{end -}}
</ul>{{end}}
<p><a href="/">Home</a> · <a href="/devproxy/">Dev Tunnel Proxy's routes</a></p>
<p class="muted">Answered by Dev Tunnel Proxy, not by the application.</p>
</body></html>
`))

// writeErrorPage is the HTML form of an error; the template escapes every
// field.
func writeErrorPage(x *exchange, e ErrorBody) {
	var page bytes.Buffer
	if err := errorPageTemplate.Execute(&page, e); err != nil {
		writeJSON(x, e.Status, e)
		return
	}
	if closesAfter(e.Status) {
		x.keepAlive = false
	}
	x.respond(e.Status, htmlFields, page.Bytes())
}

// prefersHTML reports a request whose Accept header ranks text/html above
// JSON: a browser's navigation ("text/html,...,*/*;q=0.8"). A request
// without Accept, with "*/*" (curl, fetch) or one that ranks them equal
// gets JSON, as before HTML pages existed.
func prefersHTML(h *requestHead) bool {
	if h == nil {
		return false
	}
	var accept string
	for _, f := range h.Fields {
		if asciiEqualFold(f.Name, "Accept") {
			accept = f.Value
			break
		}
	}
	if accept == "" {
		return false
	}
	htmlQ, jsonQ := -1.0, -1.0
	jsonSpecific := 0 // 3: application/json, 2: application/*, 1: */*
	for len(accept) > 0 {
		var item string
		item, accept, _ = strings.Cut(accept, ",")
		mt, params, _ := strings.Cut(item, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch mt {
		case "text/html":
			htmlQ = max(htmlQ, q)
		case "application/json":
			if jsonSpecific < 3 {
				jsonSpecific, jsonQ = 3, q
			}
		case "application/*":
			if jsonSpecific < 2 {
				jsonSpecific, jsonQ = 2, q
			}
		case "*/*":
			if jsonSpecific < 1 {
				jsonSpecific, jsonQ = 1, q
			}
		}
	}
	return htmlQ > 0 && htmlQ > jsonQ
}

// writeUnavailable is the 503 for an upstream that is not running.
func writeUnavailable(x *exchange, d *routing.Decision) {
	writeError(x, http.StatusServiceUnavailable, "Service Unavailable", UnavailableMessage, d)
}

// ConfigInfo is /devproxy/api/config.
type ConfigInfo struct {
	APIBasePath string `json:"apiBasePath"`
	Version     string `json:"version"`
}

// RoutesDocument is /routes.json (schemas/routes.schema.json): the
// engine's report with when it was built and by which version.
type RoutesDocument struct {
	GeneratedAt time.Time `json:"generatedAt"`
	Version     string    `json:"version"`
	// PublicURL is the tunnel's public URL while one is known: the one
	// the running tunnel reported, else tunnel.publicUrl.
	PublicURL string `json:"publicUrl,omitempty"`
	routing.Report
	// Problems are the route files' errors and warnings, as `devproxy
	// check` prints them.
	Problems []Problem `json:"problems"`
}

// Problem is one finding about a route file (or devproxy.json).
type Problem struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"` // error, warning, information, hint
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// NewRoutesDocument describes a table for /routes.json.
func NewRoutesDocument(t *routing.RouteTable) RoutesDocument {
	doc := RoutesDocument{GeneratedAt: t.Built.UTC(), Version: Version, PublicURL: t.Config.Tunnel.PublicURL, Report: t.Report(), Problems: make([]Problem, 0, len(t.Diagnostics))}
	for _, d := range t.Diagnostics {
		doc.Problems = append(doc.Problems, Problem{File: d.File, Line: d.Range.Start.Line, Column: d.Range.Start.Col,
			Severity: d.Severity.String(), Code: d.Code, Message: d.Message})
	}
	return doc
}

// servePage answers the proxy's own paths. Through the tunnel they are not
// served at all: they describe the developer's machine.
func (p *Proxy) servePage(x *exchange, req *routing.Request, t *routing.RouteTable, d *routing.Decision) {
	switch {
	case d.Path == HealthzPath:
		// Liveness, for a container's HEALTHCHECK or a cluster's probes:
		// no credential, on either listener, and nothing but "ok".
		writeJSON(x, http.StatusOK, struct {
			Status string `json:"status"`
		}{"ok"})
		return
	case p.headless:
		writeError(x, http.StatusNotFound, "Not Found", d.Path+" belongs to the proxy, which serves only its routes and "+HealthzPath+" here (--headless).", nil)
		return
	}
	if h := p.localHandler(x.method, d.Path); h != nil && (!req.Tunnel || p.tunnelGate.Load() != nil) {
		// Through the tunnel the handler authenticates the request
		// itself (its context says ThroughTunnel).
		p.serveLocal(x, d.Path, req.Header, req.Tunnel, h)
		return
	}
	if req.Tunnel && !p.tunnelAllowed(x, d.Path, req.Header) {
		return
	}
	switch d.Path {
	case "/", "/devproxy/":
		// The dashboard: always at /devproxy/, and at / while no route
		// claims the root.
		p.landing(x, t, req.Tunnel && signedIn(req.Header))
	case "/devproxy/dashboard.js":
		x.respond(http.StatusOK, assetFields("text/javascript; charset=utf-8"), dashboardJS)
	case "/devproxy/dashboard.css":
		x.respond(http.StatusOK, assetFields("text/css; charset=utf-8"), dashboardCSS)
	case "/devproxy", "/status", "/status/", "/dashboard", "/dashboard/", "/health", "/health/", "/reports", "/reports/":
		// The old product's page paths lead to the dashboard.
		x.respond(http.StatusMovedPermanently, []headerField{{"Location", "/devproxy/"}, {"Cache-Control", noCache}}, nil)
	case "/routes.json":
		// No Access-Control-Allow-Origin: a web page the developer visits
		// must not read the route table.
		writeJSONFor(x, http.StatusOK, NewRoutesDocument(t))
	case "/devproxy/api/config":
		writeJSON(x, http.StatusOK, ConfigInfo{APIBasePath: "/devproxy/api", Version: Version})
	default:
		writeError(x, http.StatusNotFound, "Not Found", d.Path+" belongs to the proxy and is not available in this version.", nil)
	}
}

// HealthzPath is the proxy's liveness endpoint.
const HealthzPath = "/devproxy/healthz"

type landingRow struct {
	Label, Link, Upstream, Owner, Note string
}

// landingBroken is a route file with errors and what to say about it:
// the stale warning of one whose last good version serves (spec §4), else
// its first error.
type landingBroken struct {
	Path, Message string
}

// brokenMessage says what is wrong with a file that has errors.
func brokenMessage(t *routing.RouteTable, f *routing.SourceFile) string {
	first, errors := "", 0
	for _, d := range t.Diagnostics {
		if d.File != f.Path {
			continue
		}
		if f.Stale && d.Code == routefile.CodeStale {
			return d.Message
		}
		if d.Severity == routefile.Error {
			if errors == 0 {
				first = "line " + strconv.Itoa(d.Range.Start.Line) + ": " + d.Message
			}
			errors++
		}
	}
	switch {
	case errors > 1:
		return "not loaded; " + first + " (and " + strconv.Itoa(errors-1) + " more; run devproxy check)"
	case errors == 1:
		return "not loaded; " + first
	}
	return "not loaded; run devproxy check"
}

// signedIn reports whether a request the tunnel gate let through came
// with a session (proxy/auth's cookie) rather than a Bearer key, which
// the gate tries first: only a session can be signed out of.
func signedIn(h http.Header) bool {
	scheme, token, _ := strings.Cut(h.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != "" {
		return false
	}
	_, err := (&http.Request{Header: h}).Cookie(auth.CookieName)
	return err == nil
}

// landing renders the dashboard; signOut adds the Sign out button.
func (p *Proxy) landing(x *exchange, t *routing.RouteTable, signOut bool) {
	data := struct {
		Root             string
		FileCount        int
		Active, Inactive []landingRow
		Broken           []landingBroken
		Conflicts        []routing.ConflictReport
		SignOut          bool
	}{Root: t.Root, FileCount: len(t.Files), Conflicts: t.ConflictReports(), SignOut: signOut}
	for _, f := range t.Files {
		if f.Stale || !f.Parsed.OK {
			data.Broken = append(data.Broken, landingBroken{Path: f.Path, Message: brokenMessage(t, f)})
		}
	}
	for _, b := range t.Blocks {
		row := landingRow{Label: b.Loc.Label(), Upstream: b.Upstream, Owner: b.File.Path + ":" + strconv.Itoa(b.Loc.Line())}
		if !b.Active {
			row.Note = b.InactiveSentence()
			data.Inactive = append(data.Inactive, row)
			continue
		}
		if b.Loc.Modifier.IsPrefix() || b.Loc.Modifier == "=" {
			row.Link = b.Loc.Spec
		}
		if b.Conflict != nil {
			row.Note = "wins " + b.Conflict.Route + " (" + b.Conflict.Phrase() + ")"
		}
		if row.Upstream == "" {
			row.Upstream = "(answers itself)"
		}
		data.Active = append(data.Active, row)
	}
	sort.SliceStable(data.Active, func(i, j int) bool {
		return strings.TrimLeft(data.Active[i].Label, "=^~ ") < strings.TrimLeft(data.Active[j].Label, "=^~ ")
	})
	var page bytes.Buffer
	if err := landingTemplate.Execute(&page, data); err != nil {
		p.log.Error("landing page", "err", err)
	}
	x.respond(http.StatusOK, dashboardFields, page.Bytes())
}
