package routing

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Request is what routing needs to know about an incoming request.
type Request struct {
	Method string // GET when empty
	// Target is the request target as sent: "/path?query". An absolute URL
	// ("http://host/path") is accepted too; its host becomes the Host.
	Target     string
	Host       string      // the Host header; the listen address when empty
	Header     http.Header // other request headers
	RemoteAddr string      // "ip:port" or "ip"; 127.0.0.1 when empty
	// Tunnel marks a request that arrived through the tunnel listener: it
	// counts as coming from the internet over https.
	Tunnel     bool
	ServerPort int // the port the request arrived on; 8080 when zero
}

// Actions a Decision can take.
const (
	ActionProxy    = "proxy"    // forward to the upstream
	ActionReturn   = "return"   // answer from the route file (return, empty_gif)
	ActionRedirect = "redirect" // answer with a Location
	ActionReserved = "reserved" // the proxy's own pages
	ActionNone     = "none"     // nothing handles the path: 404
	ActionError    = "error"    // the request or the configuration fails
)

// LocationRef names the location that handled a request.
type LocationRef struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Modifier string `json:"modifier"`
	Spec     string `json:"spec"`
}

// Decision is the full answer for one request: which location handles it,
// how (the trace a person can follow), and what the client or the upstream
// receives. Its JSON form is `devproxy explain`'s output
// (schemas/explain.schema.json).
type Decision struct {
	Path string `json:"path"`
	// URI is the path as the decision ended with it, after the rewrites
	// that changed it: nginx's $uri. The proxy's own answers name it.
	URI             string            `json:"-"`
	Matched         bool              `json:"matched"`
	Location        *LocationRef      `json:"location"`
	Trace           []string          `json:"trace"`
	Action          string            `json:"action"`
	Status          int               `json:"status"`
	ResponseHeaders map[string]string `json:"response_headers"` // repeated add_header values joined with ", "
	Body            string            `json:"body"`
	Upstream        string            `json:"upstream,omitempty"`
	UpstreamURI     string            `json:"upstream_uri,omitempty"`
	UpstreamHeaders map[string]string `json:"upstream_headers,omitempty"`

	// For the proxy (not part of the JSON form).
	Block      *Block                 `json:"-"`
	Target     *routefile.UpstreamURL `json:"-"`
	OutHeader  http.Header            `json:"-"` // request headers for the upstream, Host excluded
	OutHost    string                 `json:"-"` // the Host the upstream sees
	AddHeaders []ResponseHeader       `json:"-"`
	// ResponseFields are the headers of an answer the route file gives
	// (return, redirects, empty_gif), in order, names as written.
	ResponseFields []ResponseHeader `json:"-"`
	BinaryBody     []byte           `json:"-"` // empty_gif
	// Private is the devproxy.json "private" prefix that made a request
	// through the tunnel a 404 (ActionNone), "" otherwise: the proxy then
	// answers exactly as for a path no route serves, revealing nothing.
	Private     string `json:"-"`
	CloseClient bool   `json:"-"` // return 444
	// vars is the evaluator that proxied the request: proxy_redirect
	// reads the request's variables when the response arrives
	// (RewriteLocation, redirect.go).
	vars *evaluator
	// explained is the evaluator of an Explain, for Variable.
	explained *evaluator
}

// Variable is the value a variable (lower case, without '$') has for the
// request in the block that answered it, as the proxy computes it; false
// when the decision does not keep its evaluator (Resolve without proxying).
func (d *Decision) Variable(name string) (string, bool) {
	e := d.explained
	if e == nil {
		e = d.vars
	}
	if e == nil {
		return "", false
	}
	return e.lookup(strings.ToLower(name)), true
}

// ResponseHeader is an evaluated add_header.
type ResponseHeader struct {
	Name, Value string
	Always      bool
}

// maxURIChanges is nginx's limit on rewrite ... last restarts.
const maxURIChanges = 10

// emptyGIF is the 1x1 transparent GIF nginx's empty_gif serves.
var emptyGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x01\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// Explain resolves a request and records every step in Trace.
func (t *RouteTable) Explain(req *Request) *Decision { return t.resolve(req, true) }

// Resolve resolves a request without the trace (the proxy's path).
func (t *RouteTable) Resolve(req *Request) *Decision { return t.resolve(req, false) }

// ResolveNamed runs the named location an error_page in block from points
// at (@name), for the same request, as nginx does. It prefers a named
// location of from's own file. It returns nil when there is none.
func (t *RouteTable) ResolveNamed(req *Request, from *Block, name string) *Decision {
	nb := t.namedFor(from, name)
	if nb == nil {
		return nil
	}
	return t.resolveFrom(req, false, nb)
}

// Lookup finds the location for a normalised path, without running the
// location's rewrites: the fast path, which allocates nothing.
func (t *RouteTable) Lookup(path string) (*Block, MatchKind) {
	b, kind, _ := t.find(path, false)
	return b, kind
}

// MatchKind says how a location was found.
type MatchKind int

const (
	MatchNone     MatchKind = iota
	MatchExact              // = location
	MatchPrefix             // longest prefix (plain or ^~)
	MatchRegex              // first matching regex in composed order
	MatchRedirect           // nginx's missing-slash 301
)

func (k MatchKind) String() string {
	return [...]string{"none", "exact", "prefix", "regex", "redirect"}[k]
}

// find runs nginx's location search (spec §5 steps 2-5). With trace, it
// also returns the notes for Decision.Trace.
func (t *RouteTable) find(uri string, trace bool) (*Block, MatchKind, []string) {
	b, rc := findStatic(t.tree, uri)
	var notes []string
	switch rc {
	case staticExact:
		if trace {
			notes = append(notes, fmt.Sprintf("exact match: location %s in %s:%d wins at once", b.Loc.Label(), b.File.Path, b.Loc.Line()))
		}
		return b, MatchExact, notes
	case staticRedirect:
		if trace {
			notes = append(notes, fmt.Sprintf("no location is named %s, but location %s in %s:%d proxies; nginx answers the path without its trailing slash with a 301",
				uri, b.Loc.Label(), b.File.Path, b.Loc.Line()))
		}
		return b, MatchRedirect, notes
	}
	if rc == staticInclusive && b.Loc.Modifier == routefile.ModNoRegex {
		if trace {
			notes = append(notes, fmt.Sprintf("longest prefix: location %s in %s:%d; ^~ skips the regex locations", b.Loc.Label(), b.File.Path, b.Loc.Line()))
		}
		return b, MatchPrefix, notes
	}
	if trace {
		if rc == staticInclusive {
			notes = append(notes, fmt.Sprintf("longest prefix: location %s in %s:%d; regex locations are checked first, in composed order", b.Loc.Label(), b.File.Path, b.Loc.Line()))
		} else {
			notes = append(notes, "no exact or prefix location matches; checking regex locations in composed order")
		}
	}
	if r := t.regexes.first(uri); r != nil {
		if trace {
			notes = append(notes, fmt.Sprintf("regex location %s in %s:%d matches", r.Loc.Label(), r.File.Path, r.Loc.Line()))
		}
		return r, MatchRegex, notes
	}
	if rc == staticInclusive {
		if trace && len(t.regexes.all) > 0 {
			notes = append(notes, fmt.Sprintf("no regex location matches; the longest prefix %s wins", b.Loc.Label()))
		}
		return b, MatchPrefix, notes
	}
	return nil, MatchNone, notes
}

// evaluator holds the per-request state of nginx's rewrite and proxy
// modules: the current $uri and $args, captures, and the flags that decide
// how the upstream URI is built.
type evaluator struct {
	t      *RouteTable
	req    *Request
	orig   ParsedURI
	host   string // Host header value
	uri    string
	args   string
	block  *Block
	caps   []string
	named  map[string]string
	target *routefile.UpstreamURL
	// nginx's flags: internal (the URI was rewritten), valid_unparsed_uri
	// (the raw target can be sent as is), valid_location (the location
	// prefix can be replaced by proxy_pass's URI part).
	internal      bool
	validUnparsed bool
	validLocation bool
	trace         bool
	d             *Decision
	sets          setValues // the block's set variables, each evaluated once
}

func (e *evaluator) note(format string, args ...any) {
	if e.trace {
		e.d.Trace = append(e.d.Trace, fmt.Sprintf(format, args...))
	}
}

func (t *RouteTable) resolve(req *Request, trace bool) *Decision {
	return t.resolveFrom(req, trace, nil)
}

// resolveFrom resolves a request; with start set, the first location is
// start instead of the result of the search (error_page to @name).
func (t *RouteTable) resolveFrom(req *Request, trace bool, start *Block) *Decision {
	d := &Decision{}
	if trace {
		d.Trace = []string{}
		defer func() {
			if d.ResponseHeaders == nil {
				d.ResponseHeaders = map[string]string{} // the JSON form lists none as {}
			}
		}()
	}
	e := &evaluator{t: t, req: req, d: d, trace: trace, validUnparsed: true, validLocation: true}
	defer e.finish()
	if trace {
		d.explained = e
	}
	target := req.Target
	e.host = req.Host
	emptyPath := false // "http://host?args": nginx's empty_path_in_uri
	if i := strings.Index(target, "://"); i > 0 && !strings.HasPrefix(target, "/") {
		rest := target[i+3:]
		slash := strings.IndexAny(rest, "/?")
		hostPart := rest
		if slash >= 0 {
			hostPart, target = rest[:slash], rest[slash:]
			if target[0] == '?' {
				target, emptyPath = "/"+target, true
			}
		} else {
			target = "/"
		}
		if e.host == "" {
			e.host = hostPart
		}
		if strings.EqualFold(req.Target[:i], "https") {
			e.req = cloneWithTunnel(req)
		}
	}
	if e.host == "" {
		e.host = "localhost:" + strconv.Itoa(e.serverPort())
	}
	pu, err := ParseURI(target)
	if emptyPath {
		// $request_uri is the target as sent ("?args"); the upstream gets
		// the path built from $uri and $args.
		pu.Raw, e.validUnparsed = target[1:], false
	}
	e.orig = pu
	if err != nil {
		d.Path = target
		d.Action, d.Status = ActionError, http.StatusBadRequest
		e.note("request target %q is malformed or climbs above /: 400", target)
		return d
	}
	e.uri, e.args = pu.Path, pu.Args
	d.Path = pu.Path
	if trace && (pu.Path != target || pu.HasArgs) {
		e.note("request target %q: path %q, query %q", target, pu.Path, pu.Args)
	}
	if routefile.IsReservedPath(pu.Path) && start == nil {
		d.Action, d.Status = ActionReserved, http.StatusOK
		e.note("%s belongs to the proxy itself (/devproxy/, /routes.json, /health, /status, /reports, /dashboard); route files cannot claim it", pu.Path)
		return d
	}
	for changes := 0; ; changes++ {
		if changes > maxURIChanges {
			d.Action, d.Status = ActionError, http.StatusInternalServerError
			e.note("more than %d rewrites restarted the search: rewrite cycle, 500", maxURIChanges)
			return d
		}
		if start == nil && e.req.Tunnel {
			// Checked again after each rewrite that restarts the search,
			// so no public path can be rewritten into a private one.
			if p := t.Config.PrivatePrefix(e.uri); p != "" {
				d.Matched, d.Location, d.Block = false, nil, nil
				d.Action, d.Status, d.Private = ActionNone, http.StatusNotFound, p
				e.note("%s is private (devproxy.json \"private\": %q): through the tunnel it answers 404 as a path no route serves; on the local listener it is served", e.uri, p)
				return d
			}
		}
		var b *Block
		var kind MatchKind
		if start != nil {
			b, kind, start = start, MatchExact, nil
		} else {
			var notes []string
			b, kind, notes = t.find(e.uri, trace)
			d.Trace = append(d.Trace, notes...)
		}
		if b == nil {
			d.Matched, d.Location, d.Block = false, nil, nil
			if e.uri == "/" && changes == 0 && start == nil {
				// The root is the user's; while no route claims it, it
				// shows the dashboard.
				d.Action, d.Status = ActionReserved, http.StatusOK
				e.note("no location matches /, so the proxy shows its dashboard there (it is always at /devproxy/)")
				return d
			}
			d.Action, d.Status = ActionNone, http.StatusNotFound
			e.note("no location matches %s: 404", e.uri)
			return d
		}
		e.enter(b)
		if b.Conflict != nil && trace {
			e.note("route %s is also claimed by other files; %s wins (%s)", b.Conflict.Route, b.Conflict.Winner.Path, b.Conflict.Phrase())
		}
		if kind == MatchRedirect {
			loc := e.uri + "/"
			if e.args != "" {
				loc += "?" + e.args
			}
			e.redirect(http.StatusMovedPermanently, loc)
			e.note("301 to %s (relative, so it works through the https tunnel)", loc)
			return d
		}
		if kind == MatchRegex {
			e.caps, e.named, _ = b.Loc.Regex.Captures(e.uri)
			if trace && len(e.caps) > 1 {
				e.note("captures: %s", formatCaptures(e.caps, e.named))
			}
		}
		if max := b.Loc.MaxBodySize; max > 0 {
			if cl, err := strconv.ParseInt(e.header("Content-Length"), 10, 64); err == nil && cl > max {
				d.Action, d.Status = ActionError, http.StatusRequestEntityTooLarge
				e.note("Content-Length %d is over client_max_body_size %d: 413", cl, max)
				return d
			}
		}
		switch e.runScript() {
		case scriptDone:
			return d
		case scriptRestart:
			e.note("matching again with %s (restart %d of at most %d)", e.uri, changes+1, maxURIChanges)
			continue
		}
		e.content()
		return d
	}
}

func cloneWithTunnel(r *Request) *Request {
	c := *r
	c.Tunnel = true
	return &c
}

func (e *evaluator) enter(b *Block) {
	e.block = b
	e.d.Block = b
	e.d.Matched = true
	e.d.Location = &LocationRef{File: b.File.Path, Line: b.Loc.Line(), Modifier: string(b.Loc.Modifier), Spec: b.Loc.Spec}
	e.caps, e.named = nil, nil
	e.target = nil
}

func formatCaptures(caps []string, named map[string]string) string {
	var parts []string
	for i, c := range caps {
		if i == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("$%d=%q", i, c))
	}
	for _, k := range slices.Sorted(maps.Keys(named)) {
		parts = append(parts, fmt.Sprintf("$%s=%q", k, named[k]))
	}
	return strings.Join(parts, ", ")
}

type scriptResult int

const (
	scriptContinue scriptResult = iota // go on to proxy_pass / empty_gif
	scriptRestart                      // the URI changed: search again
	scriptDone                         // a response was decided
)

// runScript executes the block's rewrite-module steps in file order.
func (e *evaluator) runScript() scriptResult {
	b := e.block
	changed := false
	for _, op := range b.Loc.Script {
		line := op.Directive.Name.Range.Start.Line
		switch op.Kind {
		case routefile.OpReturn:
			e.doReturn(op.Return, line)
			return scriptDone
		case routefile.OpBreak:
			if changed {
				e.validLocation = false
				changed = false
			}
			return scriptContinue
		case routefile.OpRewrite:
			rw := op.Rewrite
			caps, named, ok := rw.Regex.Captures(e.uri)
			if !ok {
				e.note("rewrite %s (line %d) does not match %s", rw.Regex.Source, line, e.uri)
				continue
			}
			e.caps, e.named = caps, named
			out, argsAt := e.renderReplacement(rw)
			addArgs := !strings.HasSuffix(rw.Replacement.Raw, "?")
			if rw.Redirect {
				loc := unescapeRedirect(out)
				if addArgs && e.args != "" {
					sep := "?"
					if argsAt >= 0 {
						sep = "&"
					}
					loc += sep + e.args
				}
				status := http.StatusFound
				if rw.Flag == "permanent" {
					status = http.StatusMovedPermanently
				}
				e.redirect(status, loc)
				e.note("rewrite %s %s (line %d) redirects %s with %d to %s", rw.Regex.Source, rw.Replacement.Raw, line, e.uri, status, loc)
				return scriptDone
			}
			from := e.uri
			if argsAt >= 0 {
				newArgs := out[argsAt:]
				if addArgs && e.args != "" {
					newArgs += "&" + e.args
				}
				e.uri, e.args = out[:argsAt-1], newArgs
			} else {
				e.uri = out
				if !addArgs {
					e.args = ""
				}
			}
			e.internal, e.validUnparsed = true, false
			if e.uri == "" {
				e.d.Action, e.d.Status = ActionError, http.StatusInternalServerError
				e.note("rewrite (line %d) produced an empty URI: 500", line)
				return scriptDone
			}
			e.note("rewrite %s %s %s (line %d): %s -> %s%s", rw.Regex.Source, rw.Replacement.Raw, rw.Flag, line, from, e.uri, queryNote(e.args))
			switch rw.Flag {
			case "last":
				return scriptRestart
			case "break":
				e.validLocation = false
				return scriptContinue
			}
			changed = true
		}
	}
	if changed {
		return scriptRestart
	}
	return scriptContinue
}

func queryNote(args string) string {
	if args == "" {
		return ""
	}
	return " (query " + args + ")"
}

// renderReplacement evaluates a rewrite replacement like nginx's script
// engine: a '?' in the literal text starts the new arguments (the returned
// index is where they begin, -1 without), a trailing '?' is dropped, and
// captures are escaped when they land in the arguments or in a redirect
// and the request path carried escapes or '+'.
func (e *evaluator) renderReplacement(rw *routefile.Rewrite) (string, int) {
	parts := rw.Replacement.Parts
	var sb strings.Builder
	argsAt := -1
	escapeCaps := e.orig.Quoted || e.orig.Plus
	for i, p := range parts {
		switch {
		case p.Capture >= 0:
			v := e.capture(p.Capture)
			if (argsAt >= 0 || rw.Redirect) && escapeCaps {
				v = escape(v, escapeArgsTable)
			}
			sb.WriteString(v)
		case p.Var != "":
			sb.WriteString(e.lookup(p.Var))
		default:
			lit := p.Lit
			if i == len(parts)-1 && strings.HasSuffix(lit, "?") {
				lit = lit[:len(lit)-1]
			}
			if argsAt < 0 && !rw.Redirect {
				if q := strings.IndexByte(lit, '?'); q >= 0 {
					sb.WriteString(lit[:q+1])
					argsAt = sb.Len()
					sb.WriteString(lit[q+1:])
					continue
				}
			}
			sb.WriteString(lit)
		}
	}
	out := sb.String()
	if rw.Redirect {
		if q := strings.IndexByte(out, '?'); q >= 0 {
			argsAt = q + 1
		}
	}
	return out, argsAt
}

// setResponseHeader records a header of an answer the route file gives,
// replacing an earlier one of that name.
func (d *Decision) setResponseHeader(name, value string) {
	if d.ResponseHeaders == nil {
		d.ResponseHeaders = map[string]string{}
	}
	d.ResponseHeaders[name] = value
	for i := range d.ResponseFields {
		if strings.EqualFold(d.ResponseFields[i].Name, name) {
			d.ResponseFields[i].Value = value
			return
		}
	}
	d.ResponseFields = append(d.ResponseFields, ResponseHeader{Name: name, Value: value})
}

// appendResponseHeader adds an add_header line to an answer the route file
// gives: every value is sent, in order, with the name as written. The
// explain form joins repeated values.
func (d *Decision) appendResponseHeader(name, value string) {
	if d.ResponseHeaders == nil {
		d.ResponseHeaders = map[string]string{}
	}
	key := textproto.CanonicalMIMEHeaderKey(name)
	if prev, ok := d.ResponseHeaders[key]; ok {
		d.ResponseHeaders[key] = prev + ", " + value
	} else {
		d.ResponseHeaders[key] = value
	}
	d.ResponseFields = append(d.ResponseFields, ResponseHeader{Name: name, Value: value})
}

func (e *evaluator) redirect(status int, location string) {
	e.d.Action, e.d.Status = ActionRedirect, status
	e.d.setResponseHeader("Location", sanitizeHeader(location))
	e.setStatusPage(status)
	e.addResponseHeaders(status)
}

// sanitizeHeader escapes control characters so that a decoded %0A in a
// path can never split a response header.
func sanitizeHeader(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return escape(s, makeEscapeTable(""))
		}
	}
	return s
}

func (e *evaluator) doReturn(r *routefile.Return, line int) {
	d := e.d
	text := ""
	if r.HasText {
		text = e.eval(r.Text)
	}
	switch {
	case r.IsRedirect():
		// Without text the Location is empty, as in nginx.
		e.redirect(r.Code, text)
		e.note("return %d %s (line %d)", r.Code, text, line)
		return
	case r.Code >= 400 && !returnHasText(r):
		e.statusPageReturn(r.Code, line)
		return
	}
	d.Action, d.Status = ActionReturn, r.Code
	switch {
	case r.Code == http.StatusNoContent:
		// nginx sends a 204 without body or Content-Type, text or not.
	case text != "" && r.Code != http.StatusNotModified: // a 304 has no body
		d.Body = text
		d.setResponseHeader("Content-Type", "text/plain; charset=utf-8")
	default:
		d.setResponseHeader("Content-Type", "text/plain") // nginx's default_type
	}
	e.addResponseHeaders(r.Code)
	e.note("return %d (line %d)", r.Code, line)
}

// addResponseHeaders applies add_header: to 2xx and 3xx answers, or to any
// answer with "always". For proxied requests the status is not known yet,
// so every rule is recorded and the proxy filters by status.
func (e *evaluator) addResponseHeaders(status int) {
	for _, h := range e.block.Loc.AddHeaders {
		v := e.eval(h.Value)
		e.d.AddHeaders = append(e.d.AddHeaders, ResponseHeader{Name: h.Name, Value: v, Always: h.Always})
		if status == 0 || h.Always || AddHeaderApplies(status) {
			if v != "" {
				e.d.appendResponseHeader(h.Name, v)
			}
		}
	}
}

// AddHeaderApplies reports whether add_header without "always" applies to a
// response status (nginx's list).
func AddHeaderApplies(status int) bool {
	switch status {
	case 200, 201, 204, 206, 301, 302, 303, 304, 307, 308:
		return true
	}
	return false
}

// content runs the block's handler: proxy_pass or empty_gif.
func (e *evaluator) content() {
	d, l := e.d, e.block.Loc
	switch {
	case l.ProxyPass != nil:
		e.proxy()
	case l.EmptyGIF:
		d.Action, d.Status = ActionReturn, http.StatusOK
		d.BinaryBody = emptyGIF
		d.setResponseHeader("Content-Type", "image/gif")
		e.addResponseHeaders(http.StatusOK)
		e.note("empty_gif: a 1x1 transparent GIF")
	default:
		d.Action, d.Status = ActionNone, http.StatusNotFound
		e.note("location %s has no proxy_pass, return or empty_gif: 404", l.Label())
	}
}

func (e *evaluator) proxy() {
	d, l := e.d, e.block.Loc
	u := l.ProxyPass.Static
	if u == nil {
		raw := e.proxyPassURL(l.ProxyPass.URL)
		var err error
		u, err = routefile.ParseUpstreamURL(raw)
		if err != nil {
			d.Action, d.Status = ActionError, http.StatusInternalServerError
			e.note("proxy_pass %s evaluates to %q: %v; 500", l.ProxyPass.URL.Raw, raw, err)
			return
		}
		e.note("proxy_pass %s evaluates to %s", l.ProxyPass.URL.Raw, raw)
	}
	if to, env, ok := e.block.MapUpstream(u); ok {
		e.note("environment %s: %s goes to %s instead", env, u.Origin(), to.Origin())
		u = to
	}
	e.target = u
	d.Target = u
	d.vars = e
	d.Action, d.Status = ActionProxy, http.StatusOK
	d.Upstream = u.Origin()
	uri, decodedPath := e.upstreamURI(u)
	d.UpstreamURI = uri
	e.upstreamHeaders(u, decodedPath)
	e.addResponseHeaders(0)
	if e.trace {
		d.UpstreamHeaders = flattenHeaders(d.OutHeader, d.OutHost)
	}
}

// proxyPassURL evaluates a proxy_pass with variables. In its URI part
// (after the host), a value that holds the decoded path ($uri, a capture,
// a named capture) is escaped as nginx escapes captures, and any other
// value has its control characters and spaces escaped: no variable can
// break the upstream request line. (nginx sends $uri and captures there
// unescaped, which lets a request with %0d%0a in its path split the
// upstream request.)
func (e *evaluator) proxyPassURL(t routefile.Template) string {
	var sb strings.Builder
	inURI := false
	quoted := e.orig.Quoted || e.internal
	for _, p := range t.Parts {
		v := p.Value(e.lookup, e.capture)
		_, isSet := e.block.Loc.Sets[p.Var]
		_, isNamed := e.named[p.Var]
		decoded := p.Capture >= 0 || p.Var == "uri" || p.Var == "document_uri" || isNamed && !isSet
		if !inURI && p.IsVar() && (strings.HasPrefix(v, "/") || strings.HasPrefix(v, "?")) && strings.Contains(sb.String(), "://") {
			inURI = true // http://host$uri: the value is the whole URI part
		}
		if inURI && p.IsVar() {
			if decoded && quoted {
				v = escape(v, escapeURITable)
			} else {
				v = escape(v, escapeUnsafeTable)
			}
		}
		sb.WriteString(v)
		if !inURI {
			s := sb.String()
			if i := strings.Index(s, "://"); i >= 0 && strings.ContainsAny(s[i+3:], "/?") {
				inURI = true
			}
		}
	}
	return sb.String()
}

// upstreamURI builds the URI the upstream receives (spec §6) and the decoded
// path it stands for.
func (e *evaluator) upstreamURI(u *routefile.UpstreamURL) (string, string) {
	l := e.block.Loc
	withArgs := func(s string) string {
		if e.args != "" {
			return s + "?" + e.args
		}
		return s
	}
	escaped := func(s string) string {
		if e.orig.Quoted || e.internal {
			return escape(s, escapeURITable)
		}
		return s
	}
	switch {
	case !u.HasURI && e.validUnparsed:
		e.note("proxy_pass has no URI part: the upstream gets the request target unchanged, %s", e.orig.Raw)
		return e.orig.Raw, e.uri
	case !u.HasURI, !e.validLocation:
		if u.HasURI {
			e.note("after rewrite ... break, nginx ignores proxy_pass's URI part %s and sends the rewritten URI", u.URI)
		}
		out := withArgs(escaped(e.uri))
		e.note("the upstream gets %s", out)
		return out, e.uri
	case l.Modifier.IsRegex() || l.Modifier == routefile.ModNamed:
		// [intent] captures substituted; the query kept unless the URI
		// part brings its own.
		out := u.URI
		if !strings.Contains(out, "?") {
			out = withArgs(out)
		}
		e.note("regex location: the upstream gets proxy_pass's URI part with captures, %s", out)
		path, _ := splitQuery(u.URI)
		return out, unescapePath(path)
	}
	rest := ""
	if len(e.uri) >= len(l.Spec) {
		rest = e.uri[len(l.Spec):]
	}
	out := withArgs(u.URI + escaped(rest))
	e.note("proxy_pass replaces the location prefix %s with %s: the upstream gets %s", l.Spec, u.URI, out)
	return out, unescapePath(u.URI) + rest
}

func splitQuery(s string) (string, string) {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func unescapePath(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if pu, err := ParseURI(s); err == nil {
		return pu.Path
	}
	return s
}

// hopByHop headers describe one connection and are never forwarded as they
// came (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// upstreamHeaders computes the request headers the upstream sees (spec §6):
// the client's headers without hop-by-hop ones, Host = $proxy_host, our
// X-Forwarded-* headers, then the block's proxy_set_header rules (an empty
// value removes a header, as in nginx).
func (e *evaluator) upstreamHeaders(u *routefile.UpstreamURL, upstreamPath string) {
	d, l := e.d, e.block.Loc
	out := http.Header{}
	for name, vals := range e.req.Header {
		if strings.ContainsRune(name, '_') || strings.EqualFold(name, "Host") {
			continue // nginx ignores header names with underscores
		}
		if e.req.Tunnel && isIdentityHeader(name) {
			// The internet cannot vouch for itself: an app that trusts
			// its loopback proxy would take these for the truth.
			continue
		}
		out[textproto.CanonicalMIMEHeaderKey(name)] = append([]string(nil), vals...)
	}
	if c := e.req.Header.Get("Connection"); c != "" {
		for _, tok := range strings.Split(c, ",") {
			out.Del(strings.TrimSpace(tok))
		}
	}
	upgrade := IsWebSocketUpgrade(e.req.Header)
	for _, h := range hopByHop {
		out.Del(h)
	}
	if upgrade {
		out.Set("Upgrade", e.req.Header.Get("Upgrade"))
		out.Set("Connection", "Upgrade")
	}
	host := u.ProxyHost()
	out.Set("X-Forwarded-For", e.lookup("proxy_add_x_forwarded_for"))
	out.Set("X-Forwarded-Host", e.host)
	out.Set("X-Forwarded-Proto", e.scheme())
	if prefix := strippedPrefix(e.orig.Path, upstreamPath); prefix != "" {
		out.Set("X-Forwarded-Prefix", prefix)
	}
	for _, rule := range l.ProxySetHeaders {
		v := e.eval(rule.Value)
		if strings.EqualFold(rule.Name, "Host") {
			host = v
			continue
		}
		if v == "" {
			out.Del(rule.Name)
			continue
		}
		out.Set(rule.Name, v)
	}
	d.OutHeader, d.OutHost = out, host
}

// isIdentityHeader reports the headers that tell an app who the client is
// and how it arrived: X-Forwarded-*, Forwarded and X-Real-IP. Through the
// tunnel listener, the client's own copies are dropped, and devproxy's (or
// the route file's) take their place.
func isIdentityHeader(name string) bool {
	return len(name) > 12 && strings.EqualFold(name[:12], "X-Forwarded-") ||
		strings.EqualFold(name, "Forwarded") || strings.EqualFold(name, "X-Real-Ip")
}

// tunnelClientIP is the client address a request through the tunnel
// listener carries: the last X-Forwarded-For entry, the one the tunnel
// agent (ngrok, cloudflared) appended, when it is an IP address; else the
// agent's own address. Entries before it are the client's claims.
func (e *evaluator) tunnelClientIP() string {
	xff := e.req.Header.Values("X-Forwarded-For")
	if len(xff) > 0 {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
			return ip.String()
		}
	}
	return e.remoteIP()
}

// IsWebSocketUpgrade reports a request that asks to become a WebSocket
// (Upgrade: websocket, with "upgrade" among the Connection tokens).
func IsWebSocketUpgrade(h http.Header) bool {
	return strings.EqualFold(h.Get("Upgrade"), "websocket") && headerHasToken(h.Get("Connection"), "upgrade")
}

func headerHasToken(v, tok string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

// strippedPrefix is the part of the original path the upstream does not
// see: "/myapp" when /myapp/a/b is sent as /a/b. Empty when nothing was
// stripped (or the path was not simply stripped).
func strippedPrefix(orig, upstream string) string {
	if upstream == "" || len(upstream) >= len(orig) || !strings.HasSuffix(orig, upstream) {
		return ""
	}
	p := strings.TrimSuffix(orig[:len(orig)-len(upstream)], "/")
	if p == "" || p[0] != '/' {
		return ""
	}
	return p
}

func flattenHeaders(h http.Header, host string) map[string]string {
	out := make(map[string]string, len(h)+1)
	if host != "" {
		out["Host"] = host
	}
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

// --- variables ---------------------------------------------------------

func (e *evaluator) eval(t routefile.Template) string {
	return t.Eval(e.lookup, e.capture)
}

// setCapture is a capture inside a set value: nginx's rewrite module runs
// set with captures escaped as query arguments when the request path
// carried escapes or '+' (ngx_http_script_copy_capture_code, e->quote), so
// "set $x $1" holds "a%20b" for /c1/a%20b.
func (e *evaluator) setCapture(n int) string {
	v := e.capture(n)
	if e.orig.Quoted || e.orig.Plus {
		v = escape(v, escapeArgsTable)
	}
	return v
}

func (e *evaluator) capture(n int) string {
	if n < len(e.caps) {
		return e.caps[n]
	}
	return ""
}

func (e *evaluator) header(name string) string {
	if e.req.Header == nil {
		return ""
	}
	return e.req.Header.Get(name)
}

func (e *evaluator) serverPort() int {
	if e.req.ServerPort != 0 {
		return e.req.ServerPort
	}
	return 8080
}

func (e *evaluator) scheme() string {
	if e.req.Tunnel {
		return "https"
	}
	return "http"
}

func (e *evaluator) remoteIP() string {
	a := e.req.RemoteAddr
	if a == "" {
		return "127.0.0.1"
	}
	if h, _, err := net.SplitHostPort(a); err == nil {
		return h
	}
	return a
}

// lookup evaluates a variable. [intent] set is a declaration: a variable
// set anywhere in the block has its value wherever it is used, including
// one that overrides a built-in prefix variable such as $http_x_user.
func (e *evaluator) lookup(name string) string {
	if e.block != nil {
		if t, ok := e.block.Loc.Sets[name]; ok {
			return e.setValue(name, t)
		}
		if v, ok := e.named[name]; ok {
			return v
		}
	}
	switch name {
	case "host":
		h := e.host
		if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
			h = h[:i]
		}
		if h == "" {
			return "localhost"
		}
		return strings.ToLower(h)
	case "http_host":
		return e.host
	case "scheme":
		return e.scheme()
	case "https":
		if e.req.Tunnel {
			return "on"
		}
		return ""
	case "remote_addr":
		return e.remoteIP()
	case "remote_port":
		if _, p, err := net.SplitHostPort(e.req.RemoteAddr); err == nil {
			return p
		}
		return ""
	case "proxy_host":
		if e.target != nil {
			return e.target.ProxyHost()
		}
		return ""
	case "proxy_port":
		if e.target != nil {
			return strconv.Itoa(e.target.Port)
		}
		return ""
	case "uri", "document_uri":
		return e.uri
	case "request_uri":
		return e.orig.Raw
	case "args", "query_string":
		return e.args
	case "is_args":
		if e.args != "" {
			return "?"
		}
		return ""
	case "server_port":
		return strconv.Itoa(e.serverPort())
	case "server_name", "hostname":
		return "localhost"
	case "server_addr":
		return "127.0.0.1"
	case "server_protocol":
		return "HTTP/1.1"
	case "request_method":
		return e.method()
	case "request":
		return e.method() + " " + e.orig.Raw + " HTTP/1.1"
	case "content_type":
		return e.header("Content-Type")
	case "content_length":
		return e.header("Content-Length")
	case "proxy_add_x_forwarded_for":
		if e.req.Tunnel {
			return e.tunnelClientIP()
		}
		if xff := e.header("X-Forwarded-For"); xff != "" {
			return xff + ", " + e.remoteIP()
		}
		return e.remoteIP()
	case "nginx_version":
		return "devproxy"
	}
	switch {
	case strings.HasPrefix(name, "http_"):
		return e.header(strings.ReplaceAll(name[5:], "_", "-"))
	case strings.HasPrefix(name, "arg_"):
		return argValue(e.args, name[4:])
	case strings.HasPrefix(name, "cookie_"):
		return cookieValue(e.header("Cookie"), name[7:])
	}
	return ""
}

func (e *evaluator) method() string {
	if e.req.Method == "" {
		return http.MethodGet
	}
	return e.req.Method
}

func argValue(args, name string) string {
	for _, kv := range strings.Split(args, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func cookieValue(header, name string) string {
	for _, c := range strings.Split(header, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(c), "=")
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
