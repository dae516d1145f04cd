package heal

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Propose builds the fix for a finding and checks it (VerifyEnv.verify):
// a route-file edit is offered only when verified; when it is not, the
// Fix keeps the app-side change (if any) and says in Why what the check
// found. Verifications are recorded in env.Records. An error means no fix
// at all can be offered (a disabled pattern, a finding whose block is
// gone).
func Propose(ctx context.Context, f Finding, env VerifyEnv) (Fix, error) {
	if env.Records != nil && env.Records.Disabled(f.Pattern) {
		return Fix{}, fmt.Errorf("pattern %s is disabled by its record (confidence below %.1f); re-enable it to use it", f.Pattern, DisableBelow)
	}
	if f.Advice != "" {
		return userFix(f), nil
	}
	if env.Table == nil {
		return Fix{}, fmt.Errorf("no route table to verify against")
	}
	b := blockOf(env.Table, f.File, f.Line, f.Route)
	if b == nil {
		return Fix{}, fmt.Errorf("%s:%d (%s) is no longer in the route table", f.File, f.Line, f.Route)
	}
	p := &proposer{ctx: ctx, f: f, env: env, b: b, text: b.File.Text}
	var fix Fix
	switch f.Pattern {
	case HMRRefused:
		fix = p.hmrRefused()
	case SlashPitfall:
		fix = p.slashPitfall()
	case AssetsUnderPrefix:
		fix = p.assets()
	case ViteStorybookSubpth:
		fix = p.viteSubpath()
	case MixedContentTunnel:
		fix = p.mixedContent()
	case RedirectLoop:
		fix = p.redirectLoop()
	case APIAnswersHTML:
		fix = p.apiHTML()
	case UpstreamUnreachable:
		fix = p.unreachable()
	default:
		return Fix{}, fmt.Errorf("unknown pattern %q", f.Pattern)
	}
	fix.Pattern = f.Pattern
	// One attempt per proposal, however many candidates were tried (the
	// ports of an unreachable upstream): a pattern is judged by whether it
	// found a fix, and a verification that never probed (no proxy could
	// start) is no outcome at all.
	if p.probed && env.Records != nil && ctx.Err() == nil {
		if err := env.Records.Record(f.Pattern, f.Route, fix.Verified); err != nil {
			return fix, fmt.Errorf("record the attempt: %w", err)
		}
	}
	return fix, nil
}

type proposer struct {
	ctx  context.Context
	f    Finding
	env  VerifyEnv
	b    *routing.Block
	text []byte
	// probed is set once a verification has probed both proxies.
	probed bool
}

// try verifies edit; on success it goes into fix, else fix.Why says why.
func (p *proposer) try(fix *Fix, edit *Edit, fewer bool, check probe) bool {
	v := p.env.verify(p.ctx, edit, fewer, check)
	p.probed = p.probed || v.probed
	fix.Before, fix.After = v.before, v.after
	if !v.improved {
		if fix.Why == "" {
			fix.Why = "the route-side edit was not offered: " + v.why
		} else {
			fix.Why += "; the route-side edit was not offered: " + v.why
		}
		return false
	}
	fix.Edit, fix.Verified, fix.Why = edit, true, v.why
	return true
}

func (p *proposer) edit(es ...TextEdit) *Edit {
	e := &Edit{Changes: map[string][]TextEdit{p.b.File.Path: es}}
	if p.b.File.Open {
		e.Versions = map[string]int32{p.b.File.Path: p.b.File.Version}
	}
	return e
}

// --- inserting directives into a block ---

// insertDirectives adds lines to the block before its closing brace: on
// lines of their own, indented like the block's first directive, when
// the brace starts its line; else (a one-line block) just before it.
func (p *proposer) insertDirectives(lines ...string) (TextEdit, bool) {
	blk := p.b.Loc.Directive.Block
	if blk == nil || !blk.Closed || p.text == nil {
		return TextEdit{}, false
	}
	closeOff := blk.Close.Start.Offset
	lineStart := strings.LastIndexByte(string(p.text[:closeOff]), '\n') + 1
	if strings.TrimSpace(string(p.text[lineStart:closeOff])) != "" {
		return insertAt(p.text, closeOff, strings.Join(lines, " ")+" "), true
	}
	indent := string(p.text[lineStart:closeOff]) + "    "
	if len(blk.Directives) > 0 {
		d := blk.Directives[0].Name.Range.Start.Offset
		ls := strings.LastIndexByte(string(p.text[:d]), '\n') + 1
		if strings.TrimSpace(string(p.text[ls:d])) == "" {
			indent = string(p.text[ls:d])
		}
	}
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(indent + l + "\n")
	}
	return insertAt(p.text, lineStart, sb.String()), true
}

func (p *proposer) header(name string) *routefile.Directive {
	if p.b.Loc.Directive.Block == nil {
		return nil
	}
	for _, d := range p.b.Loc.Directive.Block.Directives {
		if d.Name.Value == "proxy_set_header" && len(d.Args) == 2 && strings.EqualFold(d.Args[0].Value, name) {
			return d
		}
	}
	return nil
}

func (p *proposer) proxyPass() *routefile.Directive {
	if p.b.Loc.Directive.Block == nil {
		return nil
	}
	for _, d := range p.b.Loc.Directive.Block.Directives {
		if d.Name.Value == "proxy_pass" && len(d.Args) == 1 {
			return d
		}
	}
	return nil
}

// --- hmr-refused ---

// hmrRefused forwards the upgrade as nginx needs it and the browser's
// Host. devproxy passes upgrades whatever the block says (route-files.md
// §6), so what a dev server refuses is the Host: it compares the page's
// Origin with it. $http_host, not $host: it keeps the port, which Origin
// carries (routing.WebSocketHostFix, the engine's websocket-host
// finding). proxy_http_version is left out: devproxy ignores it and the
// engine would add a no-effect hint.
func (p *proposer) hmrRefused() Fix {
	fix := Fix{Title: "Forward the WebSocket upgrade and the browser's Host for " + p.f.Route}
	var lines []string
	if p.header("Upgrade") == nil {
		lines = append(lines, "proxy_set_header Upgrade $http_upgrade;")
	}
	if p.header("Connection") == nil {
		lines = append(lines, `proxy_set_header Connection "upgrade";`)
	}
	if h := p.header("Host"); h == nil {
		lines = append(lines, routing.WebSocketHostFix)
	}
	if len(lines) == 0 {
		fix.Why = "the block already forwards the upgrade and sets Host; the dev server refuses for another reason (its allowed hosts or origins)"
		return fix
	}
	te, ok := p.insertDirectives(lines...)
	if !ok {
		fix.Why = "the block cannot be edited (unclosed or unread)"
		return fix
	}
	p.try(&fix, p.edit(te), false, p.scanCheck(p.f.Route, func(r health.Report) (bool, string) {
		if r.HMR == nil {
			return false, "no hot-reload channel found (" + string(r.Status) + ")"
		}
		if !r.HMR.OK {
			return false, "hot reload: " + r.HMR.Reason
		}
		return true, "hot reload ok"
	}))
	return fix
}

// scanCheck probes route on the throwaway proxy as a browser would and
// judges its report with judge.
func (p *proposer) scanCheck(route string, judge func(health.Report) (bool, string)) probe {
	return func(ctx context.Context, tp *throwaway) (bool, string) {
		rep, err := BrowserScan(ctx, tp.base, tp.table, p.env.timeout(), route)
		if err != nil {
			return false, err.Error()
		}
		r, ok := reportOf(rep, route)
		if !ok {
			return false, "the route " + route + " is not in the table"
		}
		return judge(r)
	}
}

// --- slash-pitfall ---

func (p *proposer) slashPitfall() Fix {
	sp := p.b.SlashPitfall
	fix := Fix{Title: "Change the location to " + fixedSpec(p.b)}
	if sp == nil {
		fix.Why = "the engine no longer reports the slash pitfall on this block"
		return fix
	}
	for _, o := range p.b.File.Parsed.Locations {
		if o != p.b.Loc && o.Modifier.IsPrefix() && o.Spec == sp.FixedSpec {
			fix.Why = fmt.Sprintf("the file already has location %s (line %d); ending this one with a slash would duplicate it", sp.FixedSpec, o.Line())
			return fix
		}
	}
	at := p.b.Loc.SpecRange.End.Offset
	if at > 0 && at <= len(p.text) && (p.text[at-1] == '"' || p.text[at-1] == '\'') {
		at--
	}
	check := func(ctx context.Context, tp *throwaway) (bool, string) {
		st, err := getStatus(ctx, tp.base+sp.Example, p.env.timeout())
		if err != nil {
			return false, sp.Example + ": " + err.Error()
		}
		// The upstream gets the double slash: what it makes of it is its
		// business, so the engine's decision is the judge, the status the
		// evidence.
		d := tp.table.Resolve(&routing.Request{Target: sp.Example})
		ok := d != nil && d.Action == routing.ActionProxy && !strings.Contains(strings.SplitN(d.UpstreamURI, "?", 2)[0], "//")
		uri := ""
		if d != nil {
			uri = d.UpstreamURI
		}
		return ok, fmt.Sprintf("%s reaches the upstream as %s (HTTP %d)", sp.Example, uri, st)
	}
	p.try(&fix, p.edit(insertAt(p.text, at, "/")), true, check)
	return fix
}

func fixedSpec(b *routing.Block) string {
	if b.SlashPitfall != nil {
		return b.SlashPitfall.FixedSpec
	}
	return b.Loc.Spec + "/"
}

func getStatus(ctx context.Context, u string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	c := probeClient(timeout)
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// --- assets ---

func basePath(route string) string {
	if route == "/" {
		return ""
	}
	return strings.TrimSuffix(route, "/")
}

// appBaseChange is the framework's base-path setting for the route's
// prefix.
func appBaseChange(framework, route string) *AppChange {
	bp := basePath(route)
	switch framework {
	case "next":
		return &AppChange{File: "next.config.js",
			Description: fmt.Sprintf("Build the Next.js app for %s: basePath prefixes its pages and /_next/ assets; keep the prefix in the route (proxy_pass without a path, so the upstream sees %s)", route, route),
			Snippet:     fmt.Sprintf("module.exports = {\n  basePath: '%s',\n  assetPrefix: '%s',\n};\n", bp, bp)}
	case "vite":
		return &AppChange{File: "vite.config.js",
			Description: fmt.Sprintf("Serve the Vite app under %s: base prefixes its modules, assets and the HMR client", route),
			Snippet:     fmt.Sprintf("export default defineConfig({\n  base: '%s',\n});\n", route)}
	case "cra":
		return &AppChange{File: "package.json",
			Description: fmt.Sprintf("Build the Create React App under %s (or set PUBLIC_URL=%s in .env)", route, bp),
			Snippet:     fmt.Sprintf("\"homepage\": \"%s\",\n", bp)}
	case "storybook":
		return &AppChange{File: ".storybook/main.js",
			Description: fmt.Sprintf("Serve Storybook (Vite builder) under %s", route),
			Snippet:     fmt.Sprintf("viteFinal: async (config) => ({\n  ...config,\n  base: '%s',\n}),\n", route)}
	}
	return &AppChange{File: "the app's build configuration",
		Description: fmt.Sprintf("Make the app build its asset URLs under %s (its base path, public path or asset prefix setting)", route),
		Snippet:     fmt.Sprintf("base path: %s\n", bp)}
}

func (p *proposer) assets() Fix {
	fix := Fix{Title: fmt.Sprintf("Serve %s's assets under %s", p.f.Route, p.f.Route), AppChange: appBaseChange(p.f.Framework, p.f.Route),
		Why: "the app-side change cannot be verified here: it needs the app rebuilt or its dev server restarted"}
	if p.f.AssetRoot != "" {
		p.rootPassThrough(&fix)
		return fix
	}
	// The assets under the prefix fail. When the block strips the prefix
	// (proxy_pass with a path) while the page asks for its assets under
	// it, the app already knows its base: keep the prefix.
	pp := p.proxyPass()
	st := p.b.Loc.ProxyPass
	if pp == nil || st == nil || st.Static == nil || !st.Static.HasURI || st.Static.URI != "/" {
		return fix
	}
	origin := strings.TrimSuffix(pp.Args[0].Value, "/")
	edit := p.edit(replaceRange(pp.Args[0].Range, origin))
	if p.try(&fix, edit, false, p.scanCheck(p.f.Route, assetsJudge)) {
		fix.Title = fmt.Sprintf("Keep the prefix %s when proxying (the app is built for it)", p.f.Route)
		fix.AppChange = nil
	}
	return fix
}

func assetsJudge(r health.Report) (bool, string) {
	bad := 0
	for _, a := range r.Assets {
		if !a.OK {
			bad++
		}
	}
	if r.HTTPStatus < 200 || r.HTTPStatus > 299 {
		return false, fmt.Sprintf("page HTTP %d", r.HTTPStatus)
	}
	return bad == 0, fmt.Sprintf("%d of %d assets failing", bad, len(r.Assets))
}

// rootPassThrough is the route-side alternative for an app hard-wired to
// the root: a location for its asset folder (/_next/) to the same
// upstream, when no other block takes that folder.
func (p *proposer) rootPassThrough(fix *Fix) {
	root := p.f.AssetRoot
	up := p.b.Loc.ProxyPass
	if up == nil || up.Static == nil {
		fix.Why += "; no route-side alternative: the upstream is not a plain host:port"
		return
	}
	if b, _ := p.env.Table.Lookup(root + "x"); b != nil && b != p.b {
		fix.Why += fmt.Sprintf("; no route-side alternative: %s already belongs to %s", root, b.Label())
		return
	}
	origin := fmt.Sprintf("%s://%s:%d", up.Static.Scheme, up.Static.Host, up.Static.Port)
	end := p.b.Loc.Directive.Range.End.Offset
	// The same upstream with the same request headers (a Host the dev
	// server accepts, the upgrade for its HMR socket).
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n# %s is hard-wired to the root: its %s goes to the same upstream\nlocation ^~ %s {\n    proxy_pass %s;\n", p.f.Route, root, root, origin)
	for _, d := range p.b.Loc.Directive.Block.Directives {
		if d.Name.Value == "proxy_set_header" && len(d.Args) > 0 {
			fmt.Fprintf(&sb, "    %s;\n", p.text[d.Name.Range.Start.Offset:d.Args[len(d.Args)-1].Range.End.Offset])
		}
	}
	sb.WriteString("}")
	block := sb.String()
	edit := p.edit(insertAt(p.text, end, block))
	var paths []string
	for _, e := range p.f.Evidence {
		if path, _, ok := strings.Cut(e, " "); ok && strings.HasPrefix(path, root) {
			paths = append(paths, path)
		}
	}
	var check probe = func(ctx context.Context, tp *throwaway) (bool, string) {
		bad := 0
		for _, path := range paths {
			st, ct, err := getType(ctx, tp.base+path, p.env.timeout())
			if err != nil || st == http.StatusNotFound || st >= 200 && st < 300 && mediaType(ct) == "text/html" || st >= 400 {
				bad++
			}
		}
		return bad == 0 && len(paths) > 0, fmt.Sprintf("%d of %d root assets failing", bad, len(paths))
	}
	if len(paths) == 0 {
		// Found by the hot-reload channel alone: judge by it.
		check = p.scanCheck(p.f.Route, func(r health.Report) (bool, string) {
			if r.HMR == nil {
				return false, "no hot-reload channel found"
			}
			if !r.HMR.OK {
				return false, "hot reload: " + r.HMR.Reason
			}
			return true, "hot reload ok"
		})
	}
	if p.try(fix, edit, false, check) {
		fix.Title = fmt.Sprintf("Serve the app's %s (it is hard-wired to the root) from its upstream; better: set its base path", root)
		fix.Why += " (the app-side change remains the cleaner fix: it frees " + root + " for other apps)"
	}
}

func getType(ctx context.Context, u string, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	c := probeClient(timeout)
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Content-Type"), nil
}

// --- vite or storybook under a subpath ---

func (p *proposer) viteSubpath() Fix {
	fw := p.f.Framework
	if fw != "storybook" {
		fw = "vite"
	}
	return Fix{Title: fmt.Sprintf("Set %s's base to %s", frameworkName(fw), p.f.Route), AppChange: appBaseChange(fw, p.f.Route),
		Why: "app-side: the dev server must be restarted with the new base, which cannot be done or checked from here; " +
			"no route-side alternative is offered: the root paths it uses (/@vite/, /@id/, /node_modules/) would be claimed for one app"}
}

// --- mixed content ---

func (p *proposer) mixedContent() Fix {
	fix := Fix{Title: "Tell the app the page is https: X-Forwarded-Proto $scheme",
		AppChange: &AppChange{File: "the app's server setup",
			Description: "Make the app trust the proxy's X-Forwarded-Proto and build absolute URLs from it, or emit relative URLs (Express: app.set('trust proxy', true); NextAuth: NEXTAUTH_URL set to the tunnel's https URL; Django: SECURE_PROXY_SSL_HEADER; Rails: config.assume_ssl)",
			Snippet:     "app.set('trust proxy', true);\n"},
		Why: "app-side: cannot be verified here"}
	var te TextEdit
	if h := p.header("X-Forwarded-Proto"); h != nil {
		if h.Args[1].Value == "$scheme" {
			fix.Why = "the block already sends X-Forwarded-Proto $scheme (https through the tunnel): the app ignores it; app-side only"
			return fix
		}
		te = replaceRange(h.Args[1].Range, "$scheme")
	} else {
		var ok bool
		if te, ok = p.insertDirectives("proxy_set_header X-Forwarded-Proto $scheme;"); !ok {
			return fix
		}
	}
	path := p.f.Route
	check := func(ctx context.Context, tp *throwaway) (bool, string) {
		d := &detector{in: Inputs{TunnelBase: tp.tunnelBase, Timeout: p.env.timeout()}, seen: map[string]bool{}, client: probeClient(p.env.timeout())}
		defer d.client.CloseIdleConnections()
		pg, err := d.fetch(ctx, tp.tunnelBase, path, "text/html,*/*;q=0.8")
		if err != nil {
			return false, "through the tunnel: " + err.Error()
		}
		d.mixedContent(health.Report{Route: path}, pg)
		if len(d.out) > 0 {
			return false, "through the tunnel: " + d.out[0].Evidence[0]
		}
		return true, fmt.Sprintf("through the tunnel: HTTP %d, no http:// URL", pg.status)
	}
	p.try(&fix, p.edit(te), false, check)
	return fix
}

// --- redirect loop ---

func (p *proposer) redirectLoop() Fix {
	fix := Fix{Title: "Make the app keep the trailing slash of " + p.f.Route,
		Why: "app-side: the app redirects the route's path, which no route edit can stop without breaking the route's own slash redirect; cannot be verified here"}
	switch p.f.Framework {
	case "next":
		fix.AppChange = &AppChange{File: "next.config.js", Description: "Next.js drops the trailing slash by default; the route adds it back",
			Snippet: fmt.Sprintf("module.exports = {\n  basePath: '%s',\n  trailingSlash: true,\n};\n", basePath(p.f.Route))}
	default:
		fix.AppChange = &AppChange{File: "the app's routing or server setup",
			Description: fmt.Sprintf("Serve %s with its trailing slash instead of redirecting it to %s (the proxy answers %s with a redirect to %s, as nginx does)", p.f.Route, basePath(p.f.Route), basePath(p.f.Route), p.f.Route),
			Snippet:     fmt.Sprintf("# %s must answer 200, not redirect to %s\n", p.f.Route, basePath(p.f.Route))}
	}
	return fix
}

// --- API answering HTML ---

func (p *proposer) apiHTML() Fix {
	fix := Fix{Title: "Send " + p.f.Route + " to the API"}
	c := p.b.Conflict
	if c == nil {
		fix.Why = "no other file claims " + p.f.Route + ": its own upstream (" + p.b.Upstream + ") answers HTML; check the API server serves this path"
		return fix
	}
	for _, o := range c.Claims {
		if o.File == p.b.File || o.Upstream == p.b.Upstream {
			continue
		}
		if c.Winner != nil && c.Winner.Kind == routing.OverrideFile && o.File != c.Winner {
			fix.Why = "an override file wins " + p.f.Route + "; a pin cannot change that: edit " + c.Winner.Path
			return fix
		}
		edit, err := p.pinEdit(c.Route, o.File.Path)
		if err != nil {
			fix.Why = err.Error()
			return fix
		}
		route := p.f.Route
		check := func(ctx context.Context, tp *throwaway) (bool, string) {
			st, ct, err := getAccept(ctx, tp.base+route, "application/json", p.env.timeout())
			if err != nil {
				return false, err.Error()
			}
			return st < 400 && mediaType(ct) != "text/html", fmt.Sprintf("HTTP %d %s", st, mediaType(ct))
		}
		fix.Title = fmt.Sprintf("Pin %s to %s (its upstream %s)", c.Route, o.File.Path, o.Upstream)
		fix.Why = ""
		if p.try(&fix, edit, false, check) {
			return fix
		}
	}
	if fix.Why == "" {
		fix.Why = "no other claim of " + p.f.Route + " has another upstream"
	}
	return fix
}

// pinEdit sets route's pin in .devproxy/resolutions.json to file.
func (p *proposer) pinEdit(route, file string) (*Edit, error) {
	t := p.env.Table
	pins := map[string]any{}
	old := t.ResolutionsText
	if len(strings.TrimSpace(string(old))) > 0 {
		if err := json.Unmarshal(old, &pins); err != nil {
			return nil, fmt.Errorf("%s does not parse: %w", routing.ResolutionsFile, err)
		}
	}
	pins[route] = file
	content, err := routing.FormatResolutions(pins)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return &Edit{Changes: map[string][]TextEdit{routing.ResolutionsFile: {{NewText: string(content)}}}, Create: []string{routing.ResolutionsFile}}, nil
	}
	end := lspPos(routefile.PosAt(old, len(old)))
	return &Edit{Changes: map[string][]TextEdit{routing.ResolutionsFile: {{Range: Range{End: end}, NewText: string(content), EndOffset: len(old)}}}}, nil
}

func getAccept(ctx context.Context, u, accept string, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", accept)
	c := probeClient(timeout)
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Content-Type"), nil
}

// --- upstream unreachable ---

// unreachable says to start the dev server. When a usual dev port on the
// same host accepts connections, pointing proxy_pass there is tried and
// offered only if the route then probes ok: a port typo, or a server
// that fell back to the next free port (Vite's 5174).
func (p *proposer) unreachable() Fix {
	hp := health.HostPort(p.f.Upstream)
	fix := Fix{Title: "Start the dev server on " + hp,
		Why: "nothing listens on " + hp + "; start the app's dev server there (no edit can help)"}
	pp := p.proxyPass()
	st := p.b.Loc.ProxyPass
	if pp == nil || st == nil || st.Static == nil {
		return fix
	}
	ports := p.env.CandidatePorts
	if ports == nil {
		ports = DefaultCandidatePorts
	}
	arg := pp.Args[0]
	oldPort := ":" + strconv.Itoa(st.Static.Port)
	i := strings.Index(arg.Value, oldPort)
	if i < 0 || arg.Quote != 0 {
		return fix
	}
	// The proxy's own ports are never a candidate: proxying to itself
	// would loop (8080 is both a dev server's and devproxy's default).
	own := map[int]bool{st.Static.Port: true}
	for _, l := range []string{p.env.Table.Config.Listen, p.env.Table.Config.Tunnel.Listen} {
		if _, port, err := net.SplitHostPort(l); err == nil {
			n, _ := strconv.Atoi(port)
			own[n] = true
		}
	}
	for _, port := range ports {
		if own[port] || p.ctx.Err() != nil {
			continue
		}
		addr := net.JoinHostPort(st.Static.Host, strconv.Itoa(port))
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			continue
		}
		c.Close()
		newArg := arg.Value[:i] + ":" + strconv.Itoa(port) + arg.Value[i+len(oldPort):]
		edit := p.edit(replaceRange(arg.Range, newArg))
		try := Fix{Title: fmt.Sprintf("Point %s at %s (something answers there; nothing on %s)", p.f.Route, addr, hp)}
		if p.try(&try, edit, false, p.scanCheck(p.f.Route, func(r health.Report) (bool, string) {
			return r.Status == health.StatusOK, fmt.Sprintf("%s %d %s", r.Status, r.HTTPStatus, r.Reason)
		})) {
			try.Why = "nothing listens on " + hp + " but " + addr + " serves the route: " + try.Why
			return try
		}
	}
	return fix
}

// --- user patterns ---

func userFix(f Finding) Fix {
	return Fix{Title: f.Summary, Pattern: f.Pattern, AppChange: f.AppChange, Why: "a workspace pattern's advice, not verified:\n\n" + f.Advice}
}
