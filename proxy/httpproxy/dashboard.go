package httpproxy

// The dashboard (/devproxy/, and / while no route claims it): the proxy
// renders the route table, and dashboard/dashboard.js keeps it live over
// /devproxy/ws (health, traffic, route changes) where the host serves the
// live hub. Without the script the page still lists every route.
//
// The tunnel's state (topic tunnel, devproxy/tunnel) shows when the hub
// knows it; a hub that does not hides it. A page opened through the
// tunnel with a session cookie has a Sign out button: the cookie is
// HttpOnly, so only the proxy can tell the script that there is one.

import (
	_ "embed"
	"html/template"
)

//go:embed dashboard/dashboard.js
var dashboardJS []byte

//go:embed dashboard/dashboard.css
var dashboardCSS []byte

// dashboardCSP keeps the dashboard to its own script, style and socket.
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// dashboardFields are the dashboard page's headers.
var dashboardFields = []headerField{
	{"Content-Type", "text/html; charset=utf-8"},
	{"Cache-Control", noCache},
	{"X-Content-Type-Options", "nosniff"},
	{"Content-Security-Policy", dashboardCSP},
	{"Referrer-Policy", "no-referrer"},
}

func assetFields(contentType string) []headerField {
	return []headerField{{"Content-Type", contentType}, {"Cache-Control", noCache}, {"X-Content-Type-Options", "nosniff"}}
}

var landingTemplate = template.Must(template.New("landing").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dev Tunnel Proxy</title>
<link rel="stylesheet" href="/devproxy/dashboard.css">
</head><body>
<header>
<h1>Dev Tunnel Proxy</h1>
<p id="summary" role="status" aria-live="polite">Checking the routes' health…</p>
<p class="muted"><span id="counts">{{len .Active}} active routes from {{.FileCount}} route files</span> in <code>{{.Root}}</code>.
<a href="/routes.json">/routes.json</a> · <a href="/health.json">/health.json</a> · <a href="/devproxy/metrics">/devproxy/metrics</a> · <span id="live" data-state="off">static page</span></p>
<p id="tunnel" role="status" aria-live="polite" hidden><span class="muted">Tunnel:</span> <span id="tunnel-state" data-status="off">off</span> <span id="tunnel-detail"></span></p>
{{if .SignOut}}<p><button type="button" id="signout">Sign out</button> <span id="signout-message" role="status" aria-live="polite"></span></p>
{{end}}</header>
<main>
<section aria-labelledby="routes-title">
<h2 id="routes-title">Routes</h2>
<table><thead><tr><th scope="col">Health</th><th scope="col">Location</th><th scope="col">Upstream</th><th scope="col">Latency</th><th scope="col">Traffic</th><th scope="col">Route file</th><th scope="col"><span class="muted">Actions</span></th></tr></thead>
<tbody id="routes-body">
{{range .Active}}<tr data-key="{{.Owner}}"><td data-label="Health"><span class="health" data-status="unknown">? unknown</span></td><td data-label="Location">{{if .Link}}<a href="{{.Link}}">{{.Label}}</a>{{else}}<code>{{.Label}}</code>{{end}}</td><td data-label="Upstream"><code>{{.Upstream}}</code></td><td data-label="Latency">–</td><td data-label="Traffic"><span class="muted">–</span></td><td data-label="Route file"><code>{{.Owner}}</code>{{if .Note}} <span class="muted">{{.Note}}</span>{{end}}</td><td></td></tr>
{{end}}</tbody></table>
</section>
<section aria-labelledby="conflicts-title"{{if not .Conflicts}} hidden{{end}}>
<h2 id="conflicts-title">Conflicts and how they were settled</h2>
<ul id="conflicts">{{range .Conflicts}}<li><code>{{.Route}}</code>: <code>{{.Winner}}</code> wins ({{.Reason}})</li>{{end}}</ul>
</section>
<section aria-labelledby="broken-title"{{if not .Broken}} hidden{{end}}>
<h2 id="broken-title" class="bad">Route files with errors</h2>
<ul id="broken">{{range .Broken}}<li><code>{{.Path}}</code> — {{.Message}}</li>{{end}}</ul>
</section>
<section aria-labelledby="inactive-title"{{if not .Inactive}} hidden{{end}}>
<h2 id="inactive-title">Inactive blocks</h2>
<ul id="inactive">{{range .Inactive}}<li><code>{{.Label}}</code> in <code>{{.Owner}}</code>: {{.Note}}</li>{{end}}</ul>
</section>
</main>
<script src="/devproxy/dashboard.js" defer></script>
</body></html>
`))
