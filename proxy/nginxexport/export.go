// Package nginxexport writes a workspace's composed route table as an
// nginx configuration that routes every request the way devproxy does:
// the active blocks only (conflict losers, duplicates and reserved paths
// become comments saying why), regex locations in composed order, and the
// documented improvements of the route-file contract (spec §5-§7)
// translated into plain nginx where nginx can say them. What nginx cannot
// say is returned as a Warning with the file and line.
package nginxexport

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Options shape the output.
type Options struct {
	// Listen is the address of the server's listen directive
	// ("127.0.0.1:8080"); the table's configured listen address when empty.
	Listen string
	// ServerOnly writes one server { ... } block to include inside
	// http { }, rather than a complete nginx.conf.
	ServerOnly bool
}

// Warning is something nginx cannot express the way devproxy serves it.
type Warning struct {
	File    string
	Line    int
	Message string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message) }

// Result is an export.
type Result struct {
	// Text is the configuration: a complete nginx.conf, or one server
	// block with Options.ServerOnly.
	Text string
	// ServerBody is what goes inside server { } after listen: the
	// directives and locations, for callers that write their own server.
	ServerBody string
	Warnings   []Warning
}

const noCache = "no-cache, no-store, must-revalidate"

// The named locations of devproxy's JSON 503 and 504, and the variable
// each proxying block sets to the fields they add for it (blockFields);
// route files cannot claim names that start with devproxy_ without the
// export saying so.
const (
	unavailableLoc = "@devproxy_unavailable"
	timeoutLoc     = "@devproxy_timeout"
	answerVar      = "$devproxy_answer"
)

// uriMark stands for $uri in an answer's JSON until it is written.
const uriMark = "\x00uri\x00"

// jsonSafeURI matches the paths nginx can put into a JSON string as they
// are: printable ASCII but '"' and '\\'. nginx cannot escape a
// variable's value, so an answer for any other path leaves the path out.
const jsonSafeURI = `^[\x20\x21\x23-\x5b\x5d-\x7e]*$`

// Export writes t as nginx configuration.
func Export(t *routing.RouteTable, opts Options) Result {
	listen := opts.Listen
	if listen == "" {
		listen = t.Config.Listen
	}
	if listen == "" {
		listen = routing.DefaultListen
	}
	if strings.Trim(listen, "0123456789") == "" {
		// A port alone means loopback, as for devproxy serve --listen;
		// nginx would take it as every interface.
		listen = "127.0.0.1:" + listen
	}
	var r Result
	var b strings.Builder
	b.WriteString("# Missing-slash redirects are relative, as devproxy sends them (spec §5).\n")
	b.WriteString("absolute_redirect off;\n")
	b.WriteString("# Requests of any size pass, as through devproxy, unless a location sets a limit.\n")
	b.WriteString("client_max_body_size 0;\n")
	b.WriteString("# Upstreams that are down or slow answer with devproxy's JSON (spec §7):\n")
	b.WriteString("# each proxying location sends nginx's 502 (refused) and 504 here.\n")
	writeAnswer(&b, unavailableLoc, httpproxy.ErrorBody{Error: "Service Unavailable", Message: httpproxy.UnavailableMessage, Status: 503}, false, answerVar)
	writeAnswer(&b, timeoutLoc, httpproxy.ErrorBody{Error: "Gateway Timeout", Message: httpproxy.TimeoutMessage, Status: 504}, false, answerVar)
	for _, f := range t.Files {
		// A file with errors contributes no routes (spec §4): say so, as
		// the routes someone expects may be missing from the export.
		switch {
		case f.Stale:
			r.Warnings = append(r.Warnings, Warning{f.Path, 1, "has errors; its last good version is exported"})
		case f.Parsed != nil && !f.Parsed.OK:
			r.Warnings = append(r.Warnings, Warning{f.Path, 1, "has errors and contributes no routes (devproxy check shows them)"})
			fmt.Fprintf(&b, "\n# %s is left out: it has errors.\n", f.Path)
		}
	}
	hasRoot := false
	for _, blk := range t.Blocks {
		loc := blk.Loc
		if !blk.Active {
			fmt.Fprintf(&b, "\n# %s:%d location %s is left out: %s\n", blk.File.Path, loc.Line(), loc.Label(), oneLine(blk.InactiveSentence()))
			continue
		}
		if loc.Spec == "/" && (loc.Modifier == routefile.ModPrefix || loc.Modifier == routefile.ModNoRegex) {
			hasRoot = true
		}
		if loc.Modifier == routefile.ModNamed && strings.HasPrefix(loc.Spec, "@devproxy_") {
			r.Warnings = append(r.Warnings, Warning{blk.File.Path, loc.Line(), fmt.Sprintf("location %s has a name the export uses for its own error pages; nginx will refuse the duplicate", loc.Spec)})
		}
		writeBlock(&b, blk, &r.Warnings)
	}
	if !hasRoot {
		b.WriteString("\n# No route claims /: unmatched paths get devproxy's JSON 404 (spec §5).\n")
		writeAnswer(&b, "/", httpproxy.ErrorBody{Error: "Not Found", Status: 404}, true, "")
	}
	r.ServerBody = b.String()

	var out strings.Builder
	out.WriteString("# Generated by `devproxy export nginx` from the composed route table.\n")
	out.WriteString("# Edit the route files and export again rather than editing this file.\n")
	server := "server {\n" + indent("listen "+listen+";\n"+r.ServerBody, 1) + "}\n"
	if opts.ServerOnly {
		out.WriteString("# Include this server block inside the http block of nginx.conf.\n")
		out.WriteString(server)
	} else {
		out.WriteString("worker_processes 1;\n\nevents {\n    worker_connections 1024;\n}\n\nhttp {\n")
		out.WriteString(indent(server, 1))
		out.WriteString("}\n")
	}
	r.Text = out.String()
	return r
}

// writeAnswer writes a location that answers with devproxy's JSON e (its
// own answers, spec §5 and §7), with the request's path, as devproxy
// writes it, where nginx can put it into JSON. noRoute is the 404 for a
// path no route matches, whose message names the path. tail, when not
// "", is a variable holding the block's own fields (blockFields), added
// at the end.
func writeAnswer(b *strings.Builder, loc string, e httpproxy.ErrorBody, noRoute bool, tail string) {
	with := e
	with.Path = uriMark
	if noRoute {
		with.Message, e.Message = httpproxy.NoRouteMessage(uriMark), httpproxy.NoRouteMessage("this path")
	}
	text := func(e httpproxy.ErrorBody) string {
		t := jsonText(e)
		return quote(t[:len(t)-1] + tail + "}")
	}
	fmt.Fprintf(b, "location %s {\n    default_type application/json;\n    add_header Cache-Control %s always;\n", loc, quote(noCache))
	fmt.Fprintf(b, "    if ($uri ~ %s) {\n        return %d %s;\n    }\n", quote(jsonSafeURI), e.Status, text(with))
	fmt.Fprintf(b, "    return %d %s;\n}\n", e.Status, text(e))
}

// jsonText is e's JSON as nginx must be given it: '$' escaped, so that
// nginx does not read a variable in a file name or upstream, and uriMark
// replaced by $uri.
func jsonText(e any) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(e) // strings and an int: no error
	text := strings.ReplaceAll(strings.TrimSuffix(buf.String(), "\n"), "$", `\u0024`)
	return strings.ReplaceAll(text, `\u0000uri\u0000`, "$uri")
}

// writeBlock writes one active location: its directives as written, with
// set declarations first in dependency order (spec §2 [intent]) and
// proxy_pass rewritten where nginx would execute the written form
// differently (spec §6 [intent]).
func writeBlock(b *strings.Builder, blk *routing.Block, warns *[]Warning) {
	loc := blk.Loc
	text := blk.File.Text
	fmt.Fprintf(b, "\n# %s:%d\n", blk.File.Path, loc.Line())
	fmt.Fprintf(b, "location %s {\n", specText(loc, text))
	var body []string
	for _, name := range setOrder(loc) {
		body = append(body, directiveText(loc.SetDirectives[name], text))
	}
	for _, d := range loc.Directive.Block.Directives {
		switch d.Name.Value {
		case "set":
			continue
		case "proxy_pass":
			if pp, ok := proxyPass(blk, warns); ok {
				body = append(body, pp...)
				continue
			}
		}
		body = append(body, directiveText(d, text))
	}
	if loc.ProxyPass != nil {
		body = append(body, forwardedHeaders(loc)...)
		if loc.InterceptErrors {
			// nginx cannot tell its own 502 from the upstream's once
			// errors are intercepted: leave the upstream's answers alone.
			*warns = append(*warns, Warning{blk.File.Path, loc.Line(), "with proxy_intercept_errors on, nginx answers its own 502 page when the upstream is down, where devproxy answers its JSON 503"})
		} else {
			// Only where the block proxies: a server-wide error_page would
			// also take a location's own "return 503".
			body = append(body, defaultErrorPages(blk)...)
		}
	}
	for _, line := range body {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("}\n")
}

// forwardedHeaders are the X-Forwarded-* headers devproxy adds to every
// proxied request unless the block sets them (spec §6). X-Forwarded-Prefix
// depends on the request in devproxy and is not carried.
func forwardedHeaders(loc *routefile.Location) []string {
	var out []string
	for _, h := range [][2]string{
		{"X-Forwarded-For", "$proxy_add_x_forwarded_for"},
		{"X-Forwarded-Host", "$http_host"},
		{"X-Forwarded-Proto", "$scheme"},
	} {
		if !slices.ContainsFunc(loc.ProxySetHeaders, func(r routefile.HeaderRule) bool { return strings.EqualFold(r.Name, h[0]) }) {
			out = append(out, "proxy_set_header "+h[0]+" "+h[1]+";")
		}
	}
	return out
}

// defaultErrorPages sends a proxying block's failures to devproxy's JSON
// answers (spec §7): nginx's 502 and 503 (refused) to the 503, its 504 to
// the 504. They name the block and its upstream as devproxy does, from
// the variable the block sets (a proxy_pass with variables has no fixed
// upstream to name). Codes the block's own error_page covers are left to
// it.
func defaultErrorPages(blk *routing.Block) []string {
	loc := blk.Loc
	var out []string
	covered := map[int]bool{}
	for _, e := range loc.ErrorPages {
		for _, c := range e.Codes {
			covered[c] = true
		}
	}
	var unavailable []string
	for _, c := range []int{502, 503} {
		if !covered[c] {
			unavailable = append(unavailable, fmt.Sprint(c))
		}
	}
	if len(unavailable) > 0 {
		out = append(out, fmt.Sprintf("error_page %s = %s;", strings.Join(unavailable, " "), unavailableLoc))
	}
	if !covered[504] {
		out = append(out, fmt.Sprintf("error_page 504 = %s;", timeoutLoc))
	}
	if len(out) > 0 {
		out = append([]string{"set " + answerVar + " " + quote(blockFields(blk)) + ";"}, out...)
	}
	return out
}

// blockFields are the fields devproxy's 503 and 504 add for a block, as
// JSON text to put before the closing brace: its file and line, and its
// upstream when proxy_pass names a fixed one.
func blockFields(blk *routing.Block) string {
	f := struct {
		Location string `json:"location"`
		Upstream string `json:"upstream,omitempty"`
	}{Location: blk.File.Path + ":" + strconv.Itoa(blk.Loc.Line())}
	if u := blk.Loc.ProxyPass.Static; u != nil {
		if m, _, ok := blk.MapUpstream(u); ok {
			u = m
		}
		f.Upstream = u.Origin()
	}
	t := jsonText(f)
	return "," + t[1:len(t)-1]
}

// proxyPass returns the directives nginx must be given to send what
// devproxy sends (a proxy_pass, possibly after a rewrite), and false when
// the written proxy_pass already does.
//
//   - A host held in a set variable with a constant value is written as the
//     literal host: nginx treats any variable in proxy_pass as "the whole
//     URI is given", which sends every request to the URI part and drops
//     the query, and needs a resolver for host names (spec §6 [intent]).
//   - A regex location's proxy_pass with captures keeps the query unless
//     its URI part has one: nginx needs $is_args$args for that.
func proxyPass(blk *routing.Block, warns *[]Warning) ([]string, bool) {
	loc := blk.Loc
	if loc.ProxyPass == nil {
		return nil, false
	}
	pass := func(url string) []string { return []string{"proxy_pass " + quote(mapUpstream(blk, url)) + ";"} }
	if loc.ProxyPass.Static != nil {
		if m, _, ok := blk.MapUpstream(loc.ProxyPass.Static); ok {
			return []string{"proxy_pass " + quote(m.Origin()+m.URI) + ";"}, true // --env: the profile's upstream
		}
		return nil, false
	}
	var s strings.Builder
	for _, p := range loc.ProxyPass.URL.Parts {
		if p.Var != "" {
			if v, ok := constantSet(loc, p.Var, 0); ok {
				s.WriteString(v)
				continue
			}
		}
		s.WriteString(partText(p))
	}
	url := s.String()
	rest := url[strings.Index(url, "://")+3:]
	host, uri, hasURI := strings.Cut(rest, "/")
	if !strings.Contains(host, "$") && !strings.Contains(uri, "$") {
		return pass(url), true // now static: nginx maps the URI as devproxy does
	}
	regex := loc.Modifier == routefile.ModRegex || loc.Modifier == routefile.ModRegexCI
	switch {
	case !hasURI:
		if strings.Contains(host, "$") {
			*warns = append(*warns, Warning{blk.File.Path, loc.Line(), "proxy_pass has a variable host nginx resolves per request: add a resolver to the exported server"})
		}
		return pass(url), true
	case regex && !strings.Contains(uri, "?"):
		if strings.Contains(host, "$") {
			*warns = append(*warns, Warning{blk.File.Path, loc.Line(), "proxy_pass has a variable host nginx resolves per request: add a resolver to the exported server"})
		}
		if len(loc.Script) == 0 && loc.Regex != nil {
			// Captures substituted into proxy_pass reach the upstream as
			// decoded text in nginx (a space breaks the request line);
			// devproxy escapes them and keeps the query (spec §6). A
			// rewrite with the location's own regex, then proxy_pass
			// without a URI, makes nginx do both: it escapes a rewritten
			// URI and appends the arguments.
			re := loc.Regex.Source
			if loc.Regex.Caseless {
				re = "(?i)" + re
			}
			return []string{"rewrite " + quote(re) + " " + quote("/"+uri) + " break;", "proxy_pass " + quote(scheme(url)+host) + ";"}, true
		}
		if len(loc.Script) > 0 {
			*warns = append(*warns, Warning{blk.File.Path, loc.Line(), "proxy_pass with captures or variables in a regex location that rewrites: after rewrite ... break nginx sends the proxy_pass URI, devproxy the rewritten one, and nginx does not escape the captures"})
		}
		return pass(url + "$is_args$args"), true
	case regex:
		return pass(url), true
	}
	*warns = append(*warns, Warning{blk.File.Path, loc.Line(), "proxy_pass with a variable and a URI part in a prefix location: nginx sends every request to that URI and drops the query, devproxy replaces the location prefix"})
	return pass(url), true
}

// mapUpstream is url sent where the block's environment profile maps its
// host:port (--env, devproxy.json's environments), as devproxy sends it;
// url itself otherwise.
func mapUpstream(blk *routing.Block, url string) string {
	u, err := routefile.ParseUpstreamURL(url)
	if err != nil {
		return url
	}
	if m, _, ok := blk.MapUpstream(u); ok {
		return m.Origin() + m.URI
	}
	return url
}

// scheme is "http://" or "https://", as url starts.
func scheme(url string) string { return url[:strings.Index(url, "://")+3] }

// constantSet is the value of a set variable whose template holds no
// request variables (following other set variables).
func constantSet(loc *routefile.Location, name string, depth int) (string, bool) {
	t, ok := loc.Sets[name]
	if !ok || depth > 16 {
		return "", false
	}
	var s strings.Builder
	for _, p := range t.Parts {
		switch {
		case p.Capture >= 0:
			return "", false
		case p.Var != "":
			v, ok := constantSet(loc, p.Var, depth+1)
			if !ok {
				return "", false
			}
			s.WriteString(v)
		default:
			s.WriteString(p.Lit)
		}
	}
	return s.String(), true
}

func partText(p routefile.TemplatePart) string {
	switch {
	case p.Capture >= 0:
		return fmt.Sprintf("$%d", p.Capture)
	case p.Var != "":
		return "${" + p.Var + "}"
	}
	return p.Lit
}

// setOrder lists the block's set variables so that each comes after the
// variables its value uses (nginx runs set in order; for devproxy set is
// a declaration). Ties keep the file's order.
func setOrder(loc *routefile.Location) []string {
	names := make([]string, 0, len(loc.Sets))
	for n := range loc.Sets {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return loc.SetDirectives[a].Range.Start.Offset - loc.SetDirectives[b].Range.Start.Offset
	})
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string)
	visit = func(n string) {
		if state[n] != 0 {
			return // done, or a cycle the parser reports as an error
		}
		state[n] = 1
		for _, dep := range loc.Sets[n].Vars() {
			if _, ok := loc.Sets[dep]; ok {
				visit(dep)
			}
		}
		state[n] = 2
		out = append(out, n)
	}
	for _, n := range names {
		visit(n)
	}
	return out
}

func specText(loc *routefile.Location, text []byte) string {
	r := loc.SpecRange
	if text != nil && r.End.Offset <= len(text) && r.Start.Offset < r.End.Offset {
		return string(text[r.Start.Offset:r.End.Offset])
	}
	if loc.Modifier == routefile.ModPrefix || loc.Modifier == routefile.ModNamed {
		return quote(loc.Spec)
	}
	return string(loc.Modifier) + " " + quote(loc.Spec)
}

// directiveText is the directive as written in the route file, or rebuilt
// from its tokens when the text is not at hand or spans lines (a newline
// inside quotes must not take the indentation of the output).
func directiveText(d *routefile.Directive, text []byte) string {
	r := d.Range
	if text != nil && r.End.Offset <= len(text) && r.Start.Offset < r.End.Offset {
		s := strings.TrimSpace(string(text[r.Start.Offset:r.End.Offset]))
		if !strings.HasSuffix(s, ";") {
			s += ";"
		}
		if !strings.Contains(s, "\n") {
			return s
		}
	}
	parts := []string{d.Name.Value}
	for _, a := range d.Args {
		parts = append(parts, quote(a.Value))
	}
	return strings.Join(parts, " ") + ";"
}

// quote writes an nginx argument: bare when it needs no quoting.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n;{}\"'\\#") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func indent(s string, n int) string {
	pad := strings.Repeat("    ", n)
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString(pad)
		}
		b.WriteString(line)
	}
	return b.String()
}
