package heal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Detect matches the catalogue, and the user's patterns, against in. The
// findings come in report order (engine-only findings last), at most one
// per pattern and route. Disabled patterns (Records) are skipped.
func Detect(ctx context.Context, in Inputs) []Finding {
	d := &detector{in: in, seen: map[string]bool{}, client: probeClient(in.timeout())}
	defer d.client.CloseIdleConnections()
	if in.Records != nil {
		d.disabled = in.Records.disabledSet()
	}
	for _, r := range in.Reports {
		if ctxDone(ctx) {
			break
		}
		if !r.Active || r.Status == health.StatusUnknown {
			continue
		}
		d.report(ctx, r)
	}
	d.engine()
	d.errors(ctx)
	return d.out
}

type detector struct {
	in       Inputs
	out      []Finding
	seen     map[string]bool
	disabled map[string]bool
	client   *http.Client
}

func (d *detector) add(f Finding) {
	key := f.Pattern + "\x00" + f.File + "\x00" + f.Route
	if d.seen[key] || d.disabled[f.Pattern] {
		return
	}
	d.seen[key] = true
	d.out = append(d.out, f)
}

func findingOf(id string, r health.Report) Finding {
	return Finding{Pattern: id, Route: r.Route, File: r.File, Line: r.Line, Upstream: r.Upstream}
}

// page is a route's page fetched by Detect itself.
type page struct {
	status      int
	contentType string
	location    string
	body        string
}

func (d *detector) fetch(ctx context.Context, base, path, accept string) (*page, error) {
	ctx, cancel := context.WithTimeout(ctx, d.in.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range d.in.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "devproxy-calliope")
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2<<20))
	return &page{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), location: resp.Header.Get("Location"), body: string(b)}, nil
}

func mediaType(ct string) string {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt
}

// routePath is the path Detect fetches for a report: its URL's path.
func routePath(r health.Report) string {
	if u, err := url.Parse(r.URL); err == nil && u.Path != "" {
		return u.RequestURI()
	}
	return r.Route
}

// prefixOf is the route's prefix for a prefix location; "" for an exact one.
func prefixOf(r health.Report) string {
	if r.Modifier == "=" || !strings.HasSuffix(r.Route, "/") {
		return ""
	}
	return r.Route
}

func (d *detector) report(ctx context.Context, r health.Report) {
	d.unreachable(ctx, r)
	d.assetsUnderPrefix(r)
	d.redirect(ctx, r)
	// The page's own look comes before the hot-reload channel: it names
	// the failing assets, which a fix for an app built for the root
	// checks.
	defer d.hmr(r)
	var pg *page
	if d.in.Base != "" && r.HTTPStatus > 0 && r.HTTPStatus < 500 {
		accept := "text/html,application/xhtml+xml,*/*;q=0.8"
		if looksLikeAPI(r.Route) {
			accept = "application/json, */*;q=0.5"
		}
		pg, _ = d.fetch(ctx, d.in.Base, routePath(r), accept)
	}
	if pg != nil {
		d.apiHTML(r, pg)
		if pg.status >= 200 && pg.status < 300 && mediaType(pg.contentType) == "text/html" {
			d.rootAssets(ctx, r, pg)
		}
	}
	if d.in.TunnelBase != "" && r.HTTPStatus > 0 && r.HTTPStatus < 500 {
		if tp, err := d.fetch(ctx, d.in.TunnelBase, routePath(r), "text/html,*/*;q=0.8"); err == nil {
			d.mixedContent(r, tp)
		}
	}
	d.user(r, pg)
}

// --- upstream-unreachable ---

// dialFailure dials the upstream itself and says, from the error's type
// rather than any sentence, whether nothing can be reached there:
// refused, or a name that does not resolve. A timeout is not claimed (a
// slow or filtered host is another problem).
func dialFailure(ctx context.Context, hostport string, timeout time.Duration) (string, bool) {
	if hostport == "" {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", hostport)
	if err == nil {
		c.Close()
		return "", false
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused on " + hostport, true
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the host %q does not resolve", dnsErr.Name), true
	}
	return "", false
}

func (d *detector) unreachable(ctx context.Context, r health.Report) {
	// Only the proxy's own 502-504: with no answer at all (status 0) it
	// is the proxy that is down, not the upstream.
	if r.Upstream == "" || r.HTTPStatus < 502 || r.HTTPStatus > 504 {
		return
	}
	hp := health.HostPort(r.Upstream)
	why, down := dialFailure(ctx, hp, d.in.timeout())
	if !down {
		return
	}
	f := findingOf(UpstreamUnreachable, r)
	f.Summary = fmt.Sprintf("nothing answers at %s, the upstream of %s", hp, r.Route)
	f.Evidence = []string{fmt.Sprintf("probe %s: HTTP %d, %s", r.URL, r.HTTPStatus, r.Reason), "dialled " + hp + " now: " + why}
	if r.Passive != nil && r.Passive.DialErrors > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%d of %d requests since %s could not reach it", r.Passive.DialErrors, r.Passive.Requests, r.Passive.Since.Format(time.Kitchen)))
	}
	d.add(f)
}

// --- hot reload ---

func (d *detector) hmr(r health.Report) {
	h := r.HMR
	if h == nil || h.OK {
		return
	}
	prefix := prefixOf(r)
	if hp := wsPath(h.URL); (h.Framework == "vite" || h.Framework == "storybook") && prefix != "" && !strings.HasPrefix(hp, prefix) {
		f := findingOf(ViteStorybookSubpth, r)
		f.Framework = h.Framework
		f.Summary = fmt.Sprintf("%s's hot-reload channel is at %s, outside the route %s: the app is built for the root", frameworkName(h.Framework), hp, r.Route)
		f.Evidence = []string{fmt.Sprintf("hot reload %s: %s", h.URL, h.Reason)}
		d.add(f)
		return
	}
	if hp := wsPath(h.URL); h.Framework == "next" && prefix != "" && !strings.HasPrefix(hp, prefix) {
		// Next.js without basePath: its /_next/ (HMR included) at the root.
		f := findingOf(AssetsUnderPrefix, r)
		f.Framework, f.AssetRoot = "next", firstSegment(hp)
		f.Summary = fmt.Sprintf("Next.js's hot-reload channel is at %s, outside the route %s: the app has no basePath", hp, r.Route)
		f.Evidence = []string{fmt.Sprintf("hot reload %s: %s", h.URL, h.Reason)}
		d.add(f)
		return
	}
	if !upgradeRefused(h) {
		return
	}
	f := findingOf(HMRRefused, r)
	f.Framework = h.Framework
	f.Summary = fmt.Sprintf("the %s dev server behind %s refuses the hot-reload WebSocket", frameworkName(h.Framework), r.Route)
	f.Evidence = []string{fmt.Sprintf("hot reload %s: %s", h.URL, h.Reason)}
	if b := blockOf(d.in.Table, r.File, r.Line, r.Route); b != nil && b.WebSocketHost != nil {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s:%d: the block forwards upgrades with Host left at proxy_pass's host (engine code websocket-host)", r.File, b.WebSocketHost.Name.Range.Start.Line))
	}
	d.add(f)
}

// upgradeRefused tells an upgrade the server answered with an HTTP
// status from one that never got an answer. health.HMRReport carries no
// status field, only its sentence ("the WebSocket upgrade was refused
// with HTTP 403 Forbidden", proxy/health/scanner.go probeHMR): this is
// the one place heal reads it, and the tests, which scan for real, break
// if it changes.
func upgradeRefused(h *health.HMRReport) bool {
	return strings.Contains(h.Reason, "refused with HTTP")
}

func wsPath(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Path
	}
	return u
}

func frameworkName(f string) string {
	switch f {
	case "vite":
		return "Vite"
	case "next":
		return "Next.js"
	case "storybook":
		return "Storybook"
	case "cra":
		return "Create React App"
	case "socket.io":
		return "socket.io"
	}
	return "dev"
}

// --- assets ---

// assetsUnderPrefix: the scanner's own asset reports, which cover the
// assets under the route's prefix.
func (d *detector) assetsUnderPrefix(r health.Report) {
	var bad []string
	for _, a := range r.Assets {
		if !a.OK && (a.Status == http.StatusNotFound || mediaType(a.ContentType) == "text/html") {
			bad = append(bad, fmt.Sprintf("%s (%s): %s", a.URL, a.Kind, a.Reason))
		}
	}
	if len(bad) == 0 {
		return
	}
	f := findingOf(AssetsUnderPrefix, r)
	f.Framework = frameworkOfAssets(r)
	f.Summary = fmt.Sprintf("the page of %s loads, but %d of its assets under the prefix answer 404 or an HTML page", r.Route, len(bad))
	f.Evidence = bad
	d.add(f)
}

func frameworkOfAssets(r health.Report) string {
	if r.HMR != nil {
		return r.HMR.Framework
	}
	for _, a := range r.Assets {
		if fw := frameworkOfPath(a.URL); fw != "" {
			return fw
		}
	}
	return ""
}

func frameworkOfPath(p string) string {
	switch {
	case strings.Contains(p, "/_next/"):
		return "next"
	case strings.Contains(p, "/@vite/") || strings.Contains(p, "/@react-refresh") || strings.Contains(p, "/@id/") || strings.Contains(p, "/@fs/"):
		return "vite"
	case strings.Contains(p, "/sb-manager/") || strings.Contains(p, "/sb-addons/") || strings.Contains(p, "/sb-common-assets/"):
		return "storybook"
	case strings.Contains(p, "/static/js/") || strings.Contains(p, "/static/css/"):
		return "cra"
	}
	return ""
}

var assetRef = regexp.MustCompile(`(?is)<(script|link)\b([^>]*)>`)
var attrRef = regexp.MustCompile(`(?is)\b(src|href)\s*=\s*["']([^"']+)["']`)

// rootAssets fetches the page's scripts and styles that lie outside the
// route's prefix, which the scanner leaves to other routes: for an app
// built for the root they are the app's own assets, and they fail.
func (d *detector) rootAssets(ctx context.Context, r health.Report, pg *page) {
	prefix := prefixOf(r)
	if prefix == "" || prefix == "/" {
		return
	}
	type ref struct{ path, kind string }
	var refs []ref
	seen := map[string]bool{}
	for _, m := range assetRef.FindAllStringSubmatch(pg.body, -1) {
		tag, attrs := strings.ToLower(m[1]), m[2]
		if tag == "link" && !strings.Contains(strings.ToLower(attrs), "stylesheet") && !strings.Contains(strings.ToLower(attrs), "preload") {
			continue
		}
		a := attrRef.FindStringSubmatch(attrs)
		if a == nil {
			continue
		}
		p := a[2]
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, prefix) || seen[p] {
			continue
		}
		seen[p] = true
		kind := "script"
		if tag == "link" {
			kind = "style"
		}
		refs = append(refs, ref{p, kind})
		if len(refs) >= 8 {
			break
		}
	}
	var bad []string
	var firstBad string
	vite := false
	for _, rf := range refs {
		if strings.Contains(rf.path, "/@vite/client") {
			vite = true
		}
		a, err := d.fetch(ctx, d.in.Base, rf.path, "*/*")
		if err != nil {
			continue
		}
		mt := mediaType(a.contentType)
		if a.status == http.StatusNotFound || a.status >= 200 && a.status < 300 && mt == "text/html" {
			bad = append(bad, fmt.Sprintf("%s (%s): HTTP %d %s", rf.path, rf.kind, a.status, mt))
			if firstBad == "" {
				firstBad = rf.path
			}
		}
	}
	if len(bad) == 0 {
		return
	}
	fw := frameworkOfPage(pg.body, firstBad)
	if vite || fw == "storybook" {
		f := findingOf(ViteStorybookSubpth, r)
		f.Framework = fw
		if vite {
			f.Framework = "vite"
		}
		f.Summary = fmt.Sprintf("the page of %s loads %s's client and modules from the root, outside the route: the app is built for /", r.Route, frameworkName(f.Framework))
		f.Evidence = bad
		d.add(f)
		return
	}
	f := findingOf(AssetsUnderPrefix, r)
	f.Framework = fw
	f.AssetRoot = firstSegment(firstBad)
	f.Summary = fmt.Sprintf("the page of %s loads, but it asks for its assets under / rather than %s, and %d of them fail", r.Route, prefix, len(bad))
	f.Evidence = bad
	d.add(f)
}

func frameworkOfPage(body, asset string) string {
	switch {
	case strings.Contains(body, "__STORYBOOK_") || strings.Contains(body, "sb-manager"):
		return "storybook"
	case strings.Contains(body, "/@vite/client"):
		return "vite"
	}
	if fw := frameworkOfPath(asset); fw != "" {
		return fw
	}
	if strings.Contains(body, "/_next/") {
		return "next"
	}
	if strings.Contains(asset, "/assets/") && strings.Contains(body, `type="module"`) {
		return "vite"
	}
	return ""
}

// firstSegment is "/_next/" for "/_next/static/x.js"; "" for a file at
// the root.
func firstSegment(p string) string {
	rest := strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(rest, '/'); i > 0 {
		return "/" + rest[:i+1]
	}
	return ""
}

// --- redirects ---

// redirect finds a page that redirects to itself, or to its twin with or
// without the trailing slash that redirects back.
func (d *detector) redirect(ctx context.Context, r health.Report) {
	if r.HTTPStatus < 300 || r.HTTPStatus > 399 || r.HTTPStatus == http.StatusNotModified {
		return
	}
	// The Location, from the page itself when Detect may look (a 308 is
	// ok to the scanner, how a prefix route adds its slash, and its
	// report has no Location), else from the scanner's sentence ("HTTP
	// 302 Found: redirects to /x", proxy/health classifyStatus).
	loc := ""
	if d.in.Base != "" {
		if p, err := d.fetch(ctx, d.in.Base, routePath(r), "text/html,*/*"); err == nil && p.status >= 300 && p.status < 400 {
			loc = p.location
		}
	} else {
		_, loc, _ = strings.Cut(r.Reason, "redirects to ")
	}
	if loc == "" {
		return
	}
	from, err := url.Parse(r.URL)
	if err != nil {
		return
	}
	to, err := from.Parse(loc)
	if err != nil {
		return
	}
	if to.Host != from.Host && to.Host != "" {
		return
	}
	f := findingOf(RedirectLoop, r)
	f.Evidence = []string{fmt.Sprintf("%s answers HTTP %d with Location %s", from.RequestURI(), r.HTTPStatus, loc)}
	switch {
	case to.Path == from.Path:
		f.Summary = fmt.Sprintf("%s redirects to itself", from.Path)
	case strings.TrimSuffix(to.Path, "/") == strings.TrimSuffix(from.Path, "/"):
		// Ping-pong: does the twin come back?
		back := ""
		if d.in.Base != "" {
			if p, err := d.fetch(ctx, d.in.Base, to.RequestURI(), "text/html,*/*"); err == nil && p.status >= 300 && p.status < 400 {
				back = p.location
				f.Evidence = append(f.Evidence, fmt.Sprintf("%s answers HTTP %d with Location %s", to.RequestURI(), p.status, p.location))
			}
		} else if d.in.Table != nil {
			if dec := d.in.Table.Resolve(&routing.Request{Target: to.RequestURI()}); dec != nil && dec.Action == routing.ActionRedirect {
				back = dec.ResponseHeaders["Location"]
				f.Evidence = append(f.Evidence, fmt.Sprintf("the engine answers %s with %d to %s", to.RequestURI(), dec.Status, back))
			}
		}
		bu, err := to.Parse(back)
		if back == "" || err != nil || bu.Path != from.Path {
			return
		}
		f.Summary = fmt.Sprintf("%s and %s redirect to each other: the app drops the trailing slash the route adds", from.Path, to.Path)
	default:
		return
	}
	d.add(f)
}

// --- mixed content ---

func (d *detector) mixedContent(r health.Report, pg *page) {
	f := findingOf(MixedContentTunnel, r)
	if pg.status >= 300 && pg.status < 400 && strings.HasPrefix(strings.ToLower(pg.location), "http://") {
		f.Summary = fmt.Sprintf("through the https tunnel, %s redirects to an http:// URL, which the browser blocks or downgrades", r.Route)
		f.Evidence = []string{fmt.Sprintf("tunnel %s: HTTP %d, Location %s", r.Route, pg.status, pg.location)}
		d.add(f)
		return
	}
	tunnelHost := strings.TrimPrefix(strings.TrimPrefix(d.in.TunnelBase, "http://"), "https://")
	if mediaType(pg.contentType) == "text/html" && tunnelHost != "" && strings.Contains(pg.body, "http://"+strings.TrimSuffix(tunnelHost, "/")) {
		f.Summary = fmt.Sprintf("through the https tunnel, the page of %s references http:// URLs of the proxy's host (mixed content)", r.Route)
		f.Evidence = []string{fmt.Sprintf("tunnel %s: the page contains http://%s", r.Route, tunnelHost)}
		d.add(f)
	}
}

// --- API answering HTML ---

func looksLikeAPI(route string) bool {
	r := strings.ToLower(route)
	return strings.HasPrefix(r, "/api/") || strings.Contains(r, "/api/") || strings.HasSuffix(r, "/graphql/") || r == "/api"
}

func (d *detector) apiHTML(r health.Report, pg *page) {
	if !looksLikeAPI(r.Route) || mediaType(pg.contentType) != "text/html" || pg.status >= 300 {
		return
	}
	f := findingOf(APIAnswersHTML, r)
	f.Summary = fmt.Sprintf("the API route %s answers an HTML page (HTTP %d text/html) to a request for JSON", r.Route, pg.status)
	f.Evidence = []string{fmt.Sprintf("%s with Accept: application/json: HTTP %d, %s, upstream %s", r.Route, pg.status, pg.contentType, r.Upstream)}
	if b := blockOf(d.in.Table, r.File, r.Line, r.Route); b != nil && b.Conflict != nil {
		for _, c := range b.Conflict.Claims {
			if c.File != b.File {
				f.Evidence = append(f.Evidence, fmt.Sprintf("%s also claims %s (upstream %s) and loses: %s", c.Label(), r.Route, c.Upstream, b.Conflict.Settlement))
			}
		}
	}
	d.add(f)
}

// --- engine findings ---

func (d *detector) engine() {
	t := d.in.Table
	if t == nil {
		return
	}
	for _, b := range t.Blocks {
		if b.SlashPitfall == nil {
			continue
		}
		p := b.SlashPitfall
		d.add(Finding{Pattern: SlashPitfall, Route: health.RouteOf(b), File: b.File.Path, Line: b.Loc.Line(), Upstream: b.Upstream,
			Summary:  fmt.Sprintf("%s sends %s upstream as %s (a double slash)", b.Loc.Label(), p.Example, p.UpstreamURI),
			Evidence: []string{fmt.Sprintf("%s: engine code slash-pitfall; with location %s the upstream gets %s", b.Label(), p.FixedSpec, p.FixedURI)}})
	}
}

// errors turns the proxy's recent dial failures into unreachable
// findings for routes the reports did not cover.
func (d *detector) errors(ctx context.Context) {
	if d.in.Table == nil {
		return
	}
	for _, e := range d.in.Errors {
		if e.Location == "" || e.Status < 502 || e.Status > 504 {
			continue
		}
		for _, b := range d.in.Table.Blocks {
			if !b.Active || health.RouteOf(b) != e.Location {
				continue
			}
			hp := health.HostPort(b.Upstream)
			why, down := dialFailure(ctx, hp, d.in.timeout())
			if down {
				d.add(Finding{Pattern: UpstreamUnreachable, Route: e.Location, File: b.File.Path, Line: b.Loc.Line(), Upstream: b.Upstream,
					Summary:  fmt.Sprintf("nothing answers at %s, the upstream of %s", hp, e.Location),
					Evidence: []string{fmt.Sprintf("%s %s: HTTP %d, %s", e.At.Format(time.TimeOnly), e.Path, e.Status, e.Reason), "dialled " + hp + " now: " + why}})
			}
			break
		}
	}
}
