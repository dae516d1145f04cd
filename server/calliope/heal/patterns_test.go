package heal

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/node"
)

// viteUnderPrefix is a Vite dev server started with base /app/: its page
// loads /app/@vite/client, and its HMR socket at /app/ is a gorilla
// WebSocket with the default CheckOrigin, which refuses an Origin whose
// host is not the request's Host, as Vite and webpack-dev-server do.
func viteUnderPrefix(prefix string) http.Handler {
	up := websocket.Upgrader{Subprotocols: []string{"vite-hmr"}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case websocket.IsWebSocketUpgrade(r):
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return // Upgrade answered 403
			}
			c.Close()
		case strings.HasSuffix(r.URL.Path, "/@vite/client"), strings.HasSuffix(r.URL.Path, ".ts"):
			js(w)
		default:
			html(w, fmt.Sprintf(`<!doctype html><html><head><script type="module" src="%s@vite/client"></script></head>
<body><div id="app"></div><script type="module" src="%ssrc/main.ts"></script></body></html>`, prefix, prefix))
		}
	})
}

func TestHMRRefusedDetectedAndFixVerified(t *testing.T) {
	up := upstream(t, viteUnderPrefix("/app/"))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + up + ";\n}\n"})
	in := w.inputs(t)
	if r := in.Reports[0]; r.HMR == nil || r.HMR.OK {
		t.Fatalf("the scan should see the HMR socket refused: %+v", r)
	}
	f := only(t, Detect(context.Background(), in), HMRRefused)
	if f.Route != "/app/" || f.File != "apps/app.conf" || f.Line != 1 || f.Framework != "vite" || !contains(f.Evidence, "403") {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil {
		t.Fatal(err)
	}
	if !fix.Verified || fix.After != "hot reload ok" {
		t.Fatalf("the fix is not verified: %+v", fix)
	}
	want := "location /app/ {\n    proxy_pass http://" + up + ";\n    proxy_set_header Upgrade $http_upgrade;\n" +
		"    proxy_set_header Connection \"upgrade\";\n    proxy_set_header Host $http_host;\n}\n"
	if got := applied(t, w.info.Table, fix, "apps/app.conf"); got != want {
		t.Errorf("edited file:\n%s\nwant:\n%s", got, want)
	}
	e := fix.Edit.Changes["apps/app.conf"][0]
	if e.Range.Start != (Position{Line: 2, Character: 0}) || e.Range.End != e.Range.Start {
		t.Errorf("LSP range %+v, want an insertion at 2:0", e.Range)
	}
}

// A one-line block gets the directives before its closing brace.
func TestHMRRefusedOneLineBlock(t *testing.T) {
	up := upstream(t, viteUnderPrefix("/app/"))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ { proxy_pass http://" + up + "; }\n"})
	f := only(t, Detect(context.Background(), w.inputs(t)), HMRRefused)
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || !fix.Verified {
		t.Fatalf("%v %+v", err, fix)
	}
	want := "location /app/ { proxy_pass http://" + up + "; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\"; proxy_set_header Host $http_host; }\n"
	if got := applied(t, w.info.Table, fix, "apps/app.conf"); got != want {
		t.Errorf("edited file:\n%s\nwant:\n%s", got, want)
	}
}

// An upstream that checks nothing: the socket works, nothing is found.
func TestHMRAcceptedNoFinding(t *testing.T) {
	up := upstream(t, viteUnderPrefix("/app/"))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + up + ";\n    proxy_set_header Host $http_host;\n}\n"})
	fs := Detect(context.Background(), w.inputs(t))
	none(t, fs, HMRRefused)
	none(t, fs, ViteStorybookSubpth)
}

func TestSlashPitfallDetectedAndFixVerified(t *testing.T) {
	// An API that, like Express, has no route for //users.
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	w := serve(t, map[string]string{"apps/api.conf": "location /api {\n    proxy_pass http://" + up + "/;\n}\n"})
	f := only(t, Detect(context.Background(), w.inputs(t)), SlashPitfall)
	if f.File != "apps/api.conf" || f.Line != 1 || !strings.Contains(f.Summary, "//users") {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || !fix.Verified {
		t.Fatalf("%v %+v", err, fix)
	}
	if got := applied(t, w.info.Table, fix, "apps/api.conf"); !strings.HasPrefix(got, "location /api/ {") {
		t.Errorf("edited file:\n%s", got)
	}
	if !strings.Contains(fix.Before, "//users (HTTP 404)") || !strings.Contains(fix.After, "/users (HTTP 200)") {
		t.Errorf("before %q after %q", fix.Before, fix.After)
	}
}

// nextAtRoot is a Next.js app without basePath: its page asks for
// /_next/static/... at the root.
func nextAtRoot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/_next/static/") && strings.HasSuffix(r.URL.Path, ".js"):
			js(w)
		case strings.HasPrefix(r.URL.Path, "/_next/static/") && strings.HasSuffix(r.URL.Path, ".css"):
			w.Header().Set("Content-Type", "text/css")
			w.Write([]byte("body{}"))
		case r.URL.Path == "/":
			html(w, `<!DOCTYPE html><html><head><link rel="stylesheet" href="/_next/static/css/app.css" data-precedence="next"/>
<script src="/_next/static/chunks/main-app.js" async=""></script></head><body><div id="__next"></div></body></html>`)
		default:
			http.NotFound(w, r)
		}
	})
}

func TestAssetsAtRootNextDetectedAndFixVerified(t *testing.T) {
	up := upstream(t, nextAtRoot())
	w := serve(t, map[string]string{"apps/shop.conf": "location /shop/ {\n    proxy_pass http://" + up + "/;\n}\n"})
	in := w.inputs(t)
	if in.Reports[0].Status != "ok" {
		t.Fatalf("the scanner should find the page ok (its root assets are another route's business): %+v", in.Reports[0])
	}
	f := only(t, Detect(context.Background(), in), AssetsUnderPrefix)
	if f.Framework != "next" || f.AssetRoot != "/_next/" || !contains(f.Evidence, "/_next/static/chunks/main-app.js (script): HTTP 404") {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil {
		t.Fatal(err)
	}
	if fix.AppChange == nil || fix.AppChange.File != "next.config.js" || !strings.Contains(fix.AppChange.Snippet, "basePath: '/shop'") {
		t.Errorf("app change %+v", fix.AppChange)
	}
	if !fix.Verified || fix.After != "0 of 2 root assets failing" {
		t.Fatalf("the route-side alternative is not verified: %+v", fix)
	}
	if got := applied(t, w.info.Table, fix, "apps/shop.conf"); !strings.Contains(got, "location ^~ /_next/ {\n    proxy_pass http://"+up+";\n}") {
		t.Errorf("edited file:\n%s", got)
	}
	// Detection without the extra page probe cannot see it: the finding
	// comes from Detect's own look at the page.
	in.Base = ""
	none(t, Detect(context.Background(), in), AssetsUnderPrefix)
}

// viteBuiltForPrefix is a Vite app built with base /web/ behind a route
// that strips the prefix: the page (SPA fallback) loads, its assets under
// /web/ reach the server as /assets/..., which falls back to index.html.
func viteBuiltForPrefix() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/web/assets/") {
			js(w)
			return
		}
		html(w, `<!doctype html><html><head><script type="module" crossorigin src="/web/assets/index-4f2a.js"></script></head><body><div id="root"></div></body></html>`)
	})
}

func TestAssetsUnderPrefixKeepPrefixVerified(t *testing.T) {
	up := upstream(t, viteBuiltForPrefix())
	w := serve(t, map[string]string{"apps/web.conf": "location /web/ {\n    proxy_pass http://" + up + "/;\n}\n"})
	in := w.inputs(t)
	f := only(t, Detect(context.Background(), in), AssetsUnderPrefix)
	if !contains(f.Evidence, "/web/assets/index-4f2a.js (script): an HTML page") {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || !fix.Verified || fix.AppChange != nil {
		t.Fatalf("%v %+v", err, fix)
	}
	if got := applied(t, w.info.Table, fix, "apps/web.conf"); got != "location /web/ {\n    proxy_pass http://"+up+";\n}\n" {
		t.Errorf("edited file:\n%s", got)
	}
}

// viteAtRoot is a Vite dev server without base: everything at the root.
func viteAtRoot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/@vite/client", strings.HasPrefix(r.URL.Path, "/src/"):
			js(w)
		default:
			html(w, `<!doctype html><html><head><script type="module" src="/@vite/client"></script></head><body><script type="module" src="/src/main.ts"></script></body></html>`)
		}
	})
}

func TestViteUnderSubpathDetected(t *testing.T) {
	up := upstream(t, viteAtRoot())
	w := serve(t, map[string]string{"apps/vite.conf": "location /vite/ {\n    proxy_pass http://" + up + "/;\n}\n"})
	fs := Detect(context.Background(), w.inputs(t))
	f := only(t, fs, ViteStorybookSubpth)
	none(t, fs, AssetsUnderPrefix)
	none(t, fs, HMRRefused)
	if f.Framework != "vite" {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil {
		t.Fatal(err)
	}
	if fix.Verified || fix.Edit != nil || fix.AppChange == nil || fix.AppChange.File != "vite.config.js" || !strings.Contains(fix.AppChange.Snippet, "base: '/vite/'") || fix.Why == "" {
		t.Errorf("fix %+v", fix)
	}
}

// portal builds absolute redirects from X-Forwarded-Proto and
// X-Forwarded-Host, as frameworks that trust their proxy do.
func portal() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			scheme := r.Header.Get("X-Forwarded-Proto")
			if scheme == "" {
				scheme = "http"
			}
			http.Redirect(w, r, scheme+"://"+r.Header.Get("X-Forwarded-Host")+"/portal/login", http.StatusFound)
			return
		}
		html(w, "<!doctype html><p>login</p>")
	})
}

func TestMixedContentDetectedAndFixVerified(t *testing.T) {
	up := upstream(t, portal())
	// Copied from an nginx in front of plain http: the scheme hard-coded.
	w := serve(t, map[string]string{"apps/portal.conf": "location /portal/ {\n    proxy_pass http://" + up + "/;\n    proxy_set_header X-Forwarded-Proto http;\n}\n"})
	f := only(t, Detect(context.Background(), w.inputs(t)), MixedContentTunnel)
	if !contains(f.Evidence, "Location http://") {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || !fix.Verified {
		t.Fatalf("%v %+v", err, fix)
	}
	if got := applied(t, w.info.Table, fix, "apps/portal.conf"); !strings.Contains(got, "proxy_set_header X-Forwarded-Proto $scheme;") {
		t.Errorf("edited file:\n%s", got)
	}
	if fix.AppChange == nil {
		t.Error("the app-side note is missing")
	}
}

// Without the hard-coded scheme the proxy already says https: the
// route-side edit cannot help and is not offered.
func TestMixedContentAppSideOnly(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "http://"+r.Header.Get("X-Forwarded-Host")+"/portal/login", http.StatusFound)
			return
		}
		html(w, "<p>login</p>")
	}))
	w := serve(t, map[string]string{"apps/portal.conf": "location /portal/ {\n    proxy_pass http://" + up + "/;\n}\n"})
	f := only(t, Detect(context.Background(), w.inputs(t)), MixedContentTunnel)
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || fix.Verified || fix.Edit != nil || fix.AppChange == nil || !strings.Contains(fix.Why, "not offered") {
		t.Fatalf("%v %+v", err, fix)
	}
}

func TestRedirectLoopDetected(t *testing.T) {
	// Next.js with basePath /app and no trailingSlash: /app/ → 308 /app;
	// the proxy answers /app with 301 /app/ (the route ends in a slash).
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app/" {
			w.Header().Set("Location", "/app")
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		html(w, `<script src="/app/_next/static/chunks/main.js"></script>`)
	}))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + up + ";\n}\n"})
	in := w.inputs(t)
	f := only(t, Detect(context.Background(), in), RedirectLoop)
	if !strings.Contains(f.Summary, "redirect to each other") || len(f.Evidence) != 2 {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || fix.Verified || fix.AppChange == nil {
		t.Fatalf("%v %+v", err, fix)
	}
}

func TestAPIAnswersHTMLDetectedAndPinVerified(t *testing.T) {
	spa := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><div id="root"></div>`) // the SPA's fallback, for every path
	}))
	api := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	w := serve(t, map[string]string{
		"apps/api.conf": "location /api/ {\n    proxy_pass http://" + api + ";\n}\n",
		"apps/web.conf": "location / {\n    proxy_pass http://" + spa + ";\n}\nlocation /api/ {\n    proxy_pass http://" + spa + ";\n}\n",
	}, func(root string) { olderFile(t, root, "apps/api.conf") })
	f := only(t, Detect(context.Background(), w.inputs(t)), APIAnswersHTML)
	if f.File != "apps/web.conf" || !contains(f.Evidence, "apps/api.conf:1") {
		t.Fatalf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || !fix.Verified {
		t.Fatalf("%v %+v", err, fix)
	}
	if got := applied(t, w.info.Table, fix, ".devproxy/resolutions.json"); !strings.Contains(got, `"/api/": "apps/api.conf"`) {
		t.Errorf("resolutions:\n%s", got)
	}
	if fix.Before != "HTTP 200 text/html" || fix.After != "HTTP 200 application/json" {
		t.Errorf("before %q after %q", fix.Before, fix.After)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	down := refusedAddr(t)
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + down + ";\n}\n"})
	in := w.inputs(t)
	f := only(t, Detect(context.Background(), in), UpstreamUnreachable)
	if !strings.Contains(f.Summary, down) {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || fix.Edit != nil || fix.Title != "Start the dev server on "+down {
		t.Fatalf("%v %+v", err, fix)
	}
}

// A dev server that came up on another port (Vite's 5174 when 5173 is
// taken): the port found by dialling is offered once the route probes ok.
func TestUpstreamUnreachableOtherPortVerified(t *testing.T) {
	down := refusedAddr(t)
	live := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { html(w, "<p>app</p>") }))
	silent := refusedAddr(t)
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + down + ";\n}\n"})
	f := only(t, Detect(context.Background(), w.inputs(t)), UpstreamUnreachable)
	env := w.env()
	env.CandidatePorts = []int{portOf(t, silent), portOf(t, live)}
	fix, err := Propose(context.Background(), f, env)
	if err != nil || !fix.Verified {
		t.Fatalf("%v %+v", err, fix)
	}
	if got := applied(t, w.info.Table, fix, "apps/app.conf"); got != "location /app/ {\n    proxy_pass http://"+live+";\n}\n" {
		t.Errorf("edited file:\n%s", got)
	}
}

// The proxy's recent errors alone (no report) are enough: the access
// log's entry for a real request.
func TestUpstreamUnreachableFromProxyErrors(t *testing.T) {
	down := refusedAddr(t)
	logged := make(chan httpproxy.AccessEntry, 1)
	w := serveWith(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + down + ";\n}\n"},
		httpproxy.ServeOptions{AccessLog: func(e httpproxy.AccessEntry) { logged <- e }})
	resp, err := http.Get(w.base() + "/app/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e, ok := node.ErrorOf(<-logged, time.Now())
	if !ok {
		t.Fatalf("a 503 is an error: %+v", e)
	}
	f := only(t, Detect(context.Background(), Inputs{Table: w.info.Table, Errors: []ProxyError{e}}), UpstreamUnreachable)
	if f.File != "apps/app.conf" || f.Route != "/app/" {
		t.Errorf("finding %+v", f)
	}
}

// Storybook 8 at the root behind a prefix: its manager bundle is asked
// for at /sb-manager/, outside the route.
func TestStorybookUnderSubpathDetected(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/sb-manager/") {
			js(w)
			return
		}
		html(w, `<!doctype html><html><head><script>window['__STORYBOOK_ADDONS_CHANNEL__'] = {};</script>
<script type="module" src="/sb-manager/globals-runtime.js"></script></head><body><div id="root"></div></body></html>`)
	}))
	w := serve(t, map[string]string{"apps/sb.conf": "location /storybook/ {\n    proxy_pass http://" + up + "/;\n}\n"})
	fs := Detect(context.Background(), w.inputs(t))
	f := only(t, fs, ViteStorybookSubpth)
	none(t, fs, AssetsUnderPrefix)
	if f.Framework != "storybook" || !contains(f.Evidence, "/sb-manager/globals-runtime.js (script): HTTP 404") {
		t.Errorf("finding %+v", f)
	}
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || fix.AppChange == nil || fix.AppChange.File != ".storybook/main.js" || !strings.Contains(fix.AppChange.Snippet, "base: '/storybook/'") {
		t.Fatalf("%v %+v", err, fix)
	}
}

func TestRedirectToItselfDetected(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/app/", http.StatusFound) // a login guard that sends the login page to itself
	}))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + up + ";\n}\n"})
	in := w.inputs(t)
	for _, base := range []string{in.Base, ""} { // fetched, then from the report alone
		in.Base = base
		f := only(t, Detect(context.Background(), in), RedirectLoop)
		if !strings.Contains(f.Summary, "redirects to itself") {
			t.Errorf("finding %+v", f)
		}
	}
}

// A page that, through the tunnel, references scripts by http:// URLs of
// the host it was asked for.
func TestMixedContentInPageDetected(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><script src="http://`+r.Header.Get("X-Forwarded-Host")+`/portal/app.js"></script>`)
	}))
	w := serve(t, map[string]string{"apps/portal.conf": "location /portal/ {\n    proxy_pass http://" + up + "/;\n}\n"})
	in := w.inputs(t)
	f := only(t, Detect(context.Background(), in), MixedContentTunnel)
	if !strings.Contains(f.Summary, "references http://") {
		t.Errorf("finding %+v", f)
	}
	in.TunnelBase = ""
	none(t, Detect(context.Background(), in), MixedContentTunnel)
}

// The block sets a Host the dev server does not accept: adding the
// upgrade lines changes nothing, so no edit is offered, and the failed
// verification is recorded.
func TestUnverifiedEditNotOffered(t *testing.T) {
	up := upstream(t, viteUnderPrefix("/app/"))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + up + ";\n    proxy_set_header Host localhost;\n}\n"})
	f := only(t, Detect(context.Background(), w.inputs(t)), HMRRefused)
	env := w.env()
	env.Records = openRecords(t, filepath.Join(t.TempDir(), "heal.db"))
	fix, err := Propose(context.Background(), f, env)
	if err != nil {
		t.Fatal(err)
	}
	if fix.Verified || fix.Edit != nil || !strings.Contains(fix.Why, "does not fix") || !strings.Contains(fix.After, "403") {
		t.Fatalf("fix %+v", fix)
	}
	if s := statsOf(t, env.Records, HMRRefused); s.Attempts != 1 || s.Successes != 0 {
		t.Errorf("stats %+v", s)
	}
}

// nextDevAtRoot is `next dev` without basePath: the dev runtime's chunks
// and the webpack-hmr socket at /_next/.
func nextDevAtRoot() http.Handler {
	up := websocket.Upgrader{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/_next/webpack-hmr" && websocket.IsWebSocketUpgrade(r):
			if c, err := up.Upgrade(w, r, nil); err == nil {
				c.Close()
			}
		case strings.HasPrefix(r.URL.Path, "/_next/static/"):
			js(w)
		case r.URL.Path == "/":
			html(w, `<!DOCTYPE html><html><head><script src="/_next/static/chunks/webpack.js" defer=""></script>
<script src="/_next/static/chunks/main.js" defer=""></script></head><body><div id="__next"></div></body></html>`)
		default:
			http.NotFound(w, r)
		}
	})
}

func TestNextDevAtRootHMRAndAssets(t *testing.T) {
	up := upstream(t, nextDevAtRoot())
	w := serve(t, map[string]string{"apps/shop.conf": "location /shop/ {\n    proxy_pass http://" + up + "/;\n    proxy_set_header Host $http_host;\n}\n"})
	in := w.inputs(t)
	if h := in.Reports[0].HMR; h == nil || h.OK || h.Framework != "next" {
		t.Fatalf("the scan should find the Next.js HMR socket failing: %+v", in.Reports[0])
	}
	// With the page fetched, the assets name the problem.
	fs := Detect(context.Background(), in)
	none(t, fs, HMRRefused)
	f := only(t, fs, AssetsUnderPrefix)
	if f.AssetRoot != "/_next/" || !contains(f.Evidence, "/_next/static/chunks/main.js") {
		t.Fatalf("finding %+v", f)
	}
	// From the report alone, the HMR channel does; the fix is checked by
	// the channel then.
	in.Base, in.TunnelBase = "", ""
	g := only(t, Detect(context.Background(), in), AssetsUnderPrefix)
	if g.AssetRoot != "/_next/" || g.Framework != "next" {
		t.Fatalf("finding %+v", g)
	}
	for _, f := range []Finding{f, g} {
		fix, err := Propose(context.Background(), f, w.env())
		if err != nil || !fix.Verified || !strings.Contains(applied(t, w.info.Table, fix, "apps/shop.conf"), "location ^~ /_next/ {") {
			t.Fatalf("%v %+v", err, fix)
		}
	}
}

// Without fetching anything, the report's redirect and the engine's
// answer for the twin path find the ping-pong.
func TestRedirectLoopFromReportAndEngine(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app/" {
			http.Redirect(w, r, "/app", http.StatusFound)
			return
		}
		html(w, "<p>app</p>")
	}))
	w := serve(t, map[string]string{"apps/app.conf": "location /app/ {\n    proxy_pass http://" + up + ";\n}\n"})
	in := w.inputs(t)
	in.Base, in.TunnelBase = "", ""
	f := only(t, Detect(context.Background(), in), RedirectLoop)
	if !contains(f.Evidence, "the engine answers /app with 301 to /app/") {
		t.Errorf("finding %+v", f)
	}
}

// The proxy's own port answers too, but proxying to itself would loop:
// it is never a candidate.
func TestUpstreamUnreachableSkipsTheProxysOwnPort(t *testing.T) {
	down := refusedAddr(t)
	self := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { html(w, "<p>the proxy</p>") }))
	w := serve(t, map[string]string{
		"apps/app.conf": "location /app/ {\n    proxy_pass http://" + down + ";\n}\n",
		"devproxy.json": `{"listen": "` + self + `"}`,
	})
	f := only(t, Detect(context.Background(), w.inputs(t)), UpstreamUnreachable)
	env := w.env()
	env.CandidatePorts = []int{portOf(t, self)}
	fix, err := Propose(context.Background(), f, env)
	if err != nil || fix.Edit != nil {
		t.Fatalf("%v %+v", err, fix)
	}
}
