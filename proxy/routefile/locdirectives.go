package routefile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// locationBuilder validates the directives of one location block.
type locationBuilder struct {
	*builder
	loc  *Location
	seen map[string]*Directive // first occurrence of each directive name
	// breakSeen is the rewrite ... break (or break) after which nginx stops
	// running rewrite-module directives; a later set differs from nginx.
	breakSeen *Directive
	// templates collects every value with variables, to check the names
	// once all set directives are known.
	templates []templateUse
}

type templateUse struct {
	t      Template
	r      Range
	set    bool   // the value of a set directive
	header string // the header a proxy_set_header value is for
}

func (lb *locationBuilder) err(code string, r Range, format string, args ...any) {
	lb.diags.add(Error, code, r, format, args...)
}

func (lb *locationBuilder) directive(d *Directive) {
	name := d.Name.Value
	switch name {
	case "location", "if":
		lb.err(CodeNested, d.HeaderRange(), "%q inside a location is not supported in route files; write it as a separate top-level block", name)
		return
	}
	spec, ok := implemented[name]
	if !ok {
		if knownToNginx[name] {
			lb.diags.add(Warning, CodeIgnored, d.Name.Range, "%q is accepted but ignored: devproxy does not implement it", name)
			return
		}
		lb.err(CodeUnknownDirective, d.Name.Range, "unknown directive %q%s", shorten(name, 40), lb.suggest(name))
		return
	}
	if d.Block != nil {
		lb.err(CodeSyntax, d.HeaderRange(), "%q does not take a { ... } block", name)
		return
	}
	n := len(d.Args)
	if n < spec.min || (spec.max >= 0 && n > spec.max) {
		lb.err(CodeArguments, d.Range, "%q takes %s, got %d", name, argCount(spec), n)
		return
	}
	if prev, dup := lb.seen[name]; dup && spec.single {
		lb.err(CodeDuplicate, d.Range, "%q is duplicate: line %d already sets it", name, prev.Name.Range.Start.Line)
		return
	}
	if _, dup := lb.seen[name]; !dup {
		lb.seen[name] = d
	}
	if spec.noEffect != "" {
		lb.diags.add(Hint, CodeNoEffect, d.Range, "%q has no effect in devproxy: %s", name, spec.noEffect)
	}
	lb.apply(d)
}

func argCount(s directiveSpec) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case s.max == s.min:
		if s.min == 0 {
			return "no arguments"
		}
		return plural(s.min)
	case s.max < 0:
		return "at least " + plural(s.min)
	}
	return fmt.Sprintf("%d to %d arguments", s.min, s.max)
}

// template compiles an argument as a value with variables.
func (lb *locationBuilder) template(tok Token) (Template, bool) {
	t, err := ParseTemplate(tok.Value)
	if err != nil {
		lb.err(CodeVariable, tok.Range, "%v", err)
		return t, false
	}
	if t.HasVars() {
		lb.templates = append(lb.templates, templateUse{t: t, r: tok.Range})
	}
	return t, true
}

func (lb *locationBuilder) onOff(tok Token) (bool, bool) {
	switch tok.Value {
	case "on":
		return true, true
	case "off":
		return false, true
	}
	lb.err(CodeInvalidValue, tok.Range, "invalid value %q: use on or off", shorten(tok.Value, 30))
	return false, false
}

func (lb *locationBuilder) apply(d *Directive) {
	l := lb.loc
	a := d.Args
	switch d.Name.Value {
	case "proxy_pass":
		lb.proxyPass(d)
	case "set":
		name := a[0].Value
		if len(name) < 2 || name[0] != '$' || !allVarChars(name[1:]) {
			lb.err(CodeVariable, a[0].Range, "invalid variable name %q: set takes $name", shorten(name, 40))
			return
		}
		name = strings.ToLower(name[1:])
		// nginx lets set override a prefix-family variable such as
		// $http_x_user (in this block only, as here), but refuses the
		// variables it defines by full name, $host or $uri.
		switch why, refused := settableVar(name); {
		case refused:
			lb.err(CodeVariable, a[0].Range, "$%s %s", name, why)
			return
		case why != "":
			lb.diags.add(Warning, CodeIgnored, a[0].Range, "set $%s is accepted but ignored: %s", name, why)
			return
		}
		t, ok := lb.template(a[1])
		if !ok {
			return
		}
		if t.HasVars() {
			lb.templates[len(lb.templates)-1].set = true
		}
		if prev, dup := l.SetDirectives[name]; dup {
			lb.diags.add(Warning, CodeDuplicate, d.Range, "$%s is also set on line %d; devproxy treats set as a declaration, so this later value wins", name, prev.Name.Range.Start.Line)
		}
		if lb.breakSeen != nil {
			lb.diags.add(Hint, CodeNginxDiffers, d.Range,
				"nginx runs set in order and stops after the rewrite ... break on line %d, so there $%s would stay empty; devproxy treats set as a declaration. Put set first to behave the same under nginx",
				lb.breakSeen.Name.Range.Start.Line, name)
		}
		l.Sets[name] = t
		l.SetDirectives[name] = d
	case "proxy_set_header":
		if strings.ContainsAny(a[0].Value, "$: \t") || a[0].Value == "" {
			lb.err(CodeInvalidValue, a[0].Range, "invalid header name %q", shorten(a[0].Value, 40))
			return
		}
		if t, ok := lb.template(a[1]); ok {
			l.ProxySetHeaders = append(l.ProxySetHeaders, HeaderRule{Name: a[0].Value, Value: t})
			if t.HasVars() {
				lb.templates[len(lb.templates)-1].header = a[0].Value
			}
		}
	case "rewrite":
		lb.rewrite(d)
	case "return":
		lb.ret(d)
	case "add_header":
		if len(a) == 3 && a[2].Value != "always" {
			lb.err(CodeInvalidValue, a[2].Range, "invalid parameter %q: the only option is always", shorten(a[2].Value, 30))
			return
		}
		if t, ok := lb.template(a[1]); ok {
			l.AddHeaders = append(l.AddHeaders, AddHeader{Name: a[0].Value, Value: t, Always: len(a) == 3})
		}
	case "proxy_hide_header":
		l.HideHeaders = append(l.HideHeaders, a[0].Value)
	case "proxy_redirect":
		lb.proxyRedirect(d)
	case "proxy_read_timeout", "proxy_send_timeout", "proxy_connect_timeout":
		dur, err := ParseDuration(a[0].Value)
		if err != nil {
			lb.err(CodeInvalidValue, a[0].Range, "%s: %v", d.Name.Value, err)
			return
		}
		switch d.Name.Value {
		case "proxy_read_timeout":
			l.ReadTimeout = dur
		case "proxy_send_timeout":
			l.SendTimeout = dur
		default:
			l.ConnectTimeout = dur
		}
	case "proxy_buffering", "proxy_request_buffering":
		if on, ok := lb.onOff(a[0]); ok && on {
			lb.diags.add(Hint, CodeNoEffect, d.Range, "%q has no effect in devproxy: it always streams bodies as they arrive", d.Name.Value)
		}
	case "proxy_intercept_errors":
		l.InterceptErrors, _ = lb.onOff(a[0])
	case "absolute_redirect", "port_in_redirect":
		lb.onOff(a[0])
	case "proxy_http_version":
		if v := a[0].Value; v != "1.0" && v != "1.1" {
			lb.err(CodeInvalidValue, a[0].Range, "invalid value %q: use 1.0 or 1.1", shorten(v, 20))
		}
	case "resolver_timeout":
		if _, err := ParseDuration(a[0].Value); err != nil {
			lb.err(CodeInvalidValue, a[0].Range, "resolver_timeout: %v", err)
		}
	case "error_page":
		lb.errorPage(d)
	case "empty_gif":
		l.EmptyGIF = true
	case "break":
		if lb.breakSeen == nil {
			lb.breakSeen = d
		}
		l.Script = append(l.Script, ScriptOp{Kind: OpBreak, Directive: d})
	case "client_max_body_size":
		size, err := ParseSize(a[0].Value)
		if err != nil {
			lb.err(CodeInvalidValue, a[0].Range, "client_max_body_size: %v", err)
			return
		}
		l.MaxBodySize = size
	}
}

func (lb *locationBuilder) proxyPass(d *Directive) {
	l := lb.loc
	tok := d.Args[0]
	t, ok := lb.template(tok)
	if !ok {
		return
	}
	pp := &ProxyPass{URL: t, Range: tok.Range}
	if !t.HasVars() {
		u, err := ParseUpstreamURL(tok.Value)
		if err != nil {
			lb.err(CodeInvalidValue, tok.Range, "proxy_pass: %v", err)
			return
		}
		if u.HasURI && (l.Modifier.IsRegex() || l.Modifier == ModNamed) {
			lb.err(CodeInvalidValue, tok.Range,
				"proxy_pass cannot have a URI part (%q) in a regex or named location; nginx refuses this. Drop the URI part, or use captures such as $1", u.URI)
			return
		}
		pp.Static = u
	} else {
		// The literal start must be (a prefix of) a valid scheme, or a
		// variable that holds the whole URL.
		if first := t.Parts[0]; !first.IsVar() {
			lit := strings.ToLower(first.Lit)
			if !strings.HasPrefix(lit, "http://") && !strings.HasPrefix(lit, "https://") &&
				!strings.HasPrefix("http://", lit) && !strings.HasPrefix("https://", lit) {
				lb.err(CodeInvalidValue, tok.Range, "proxy_pass: invalid URL prefix in %q: use http:// or https://", shorten(tok.Value, 60))
				return
			}
		}
		if lb.variableURIPart(t) {
			msg := "under nginx, proxy_pass with a variable and a URI part sends every request to that exact URI and drops the query; devproxy maps it like a literal host would (prefix replaced, query kept)."
			if l.Modifier.IsRegex() && t.Captures() {
				msg = "under nginx, proxy_pass with captures sends the substituted URI without the request's query; devproxy keeps the query unless the URI part has its own"
			}
			lb.diags.add(Hint, CodeNginxDiffers, tok.Range, "%s", msg)
		}
	}
	l.ProxyPass = pp
}

// variableURIPart reports whether a proxy_pass with variables has a URI
// part: a '/' after the host in its literal text, or a set value for the
// host that carries a path.
func (lb *locationBuilder) variableURIPart(t Template) bool {
	afterScheme := false
	for i, p := range t.Parts {
		if p.IsVar() {
			if i == 0 || afterScheme {
				afterScheme = true
			}
			if p.Capture >= 0 {
				return true
			}
			continue
		}
		lit := p.Lit
		if i == 0 {
			low := strings.ToLower(lit)
			switch {
			case strings.HasPrefix(low, "https://"):
				lit = lit[8:]
			case strings.HasPrefix(low, "http://"):
				lit = lit[7:]
			}
			afterScheme = true
		}
		if strings.ContainsAny(lit, "/?") {
			return true
		}
	}
	// A host variable whose declared value carries a path. Each is looked
	// at once, however often the URL names it.
	seen := map[string]bool{}
	for _, name := range t.Vars() {
		if seen[name] {
			continue
		}
		seen[name] = true
		if v, ok := lb.loc.Sets[name]; ok {
			raw := v.Raw
			if i := strings.Index(raw, "://"); i >= 0 {
				raw = raw[i+3:]
			}
			if strings.ContainsAny(raw, "/?") {
				return true
			}
		}
	}
	return false
}

func isRedirectTarget(s string) bool {
	low := strings.ToLower(s)
	return strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://") || strings.HasPrefix(low, "$scheme")
}

func (lb *locationBuilder) rewrite(d *Directive) {
	a := d.Args
	re, err := lb.compileRegex(a[0].Value, false, a[0].Range)
	if err != nil {
		lb.err(CodeRegex, a[0].Range, "%v", err)
		return
	}
	repl, ok := lb.template(a[1])
	if !ok {
		return
	}
	rw := &Rewrite{Regex: re, Replacement: repl}
	if len(a) == 3 {
		switch f := a[2].Value; f {
		case "last", "break", "redirect", "permanent":
			rw.Flag = f
		default:
			lb.err(CodeInvalidValue, a[2].Range, "invalid rewrite flag %q: use last, break, redirect or permanent", shorten(f, 30))
			return
		}
	}
	rw.Redirect = rw.Flag == "redirect" || rw.Flag == "permanent" || isRedirectTarget(a[1].Value)
	for _, n := range re.SubexpNames() {
		if n != "" {
			if lb.loc.NamedCaptures == nil {
				lb.loc.NamedCaptures = map[string]bool{}
			}
			lb.loc.NamedCaptures[strings.ToLower(n)] = true
		}
	}
	if rw.Flag == "break" && lb.breakSeen == nil {
		lb.breakSeen = d
	}
	lb.loc.Script = append(lb.loc.Script, ScriptOp{Kind: OpRewrite, Rewrite: rw, Directive: d})
}

func (lb *locationBuilder) ret(d *Directive) {
	a := d.Args
	r := &Return{}
	code, err := strconv.Atoi(a[0].Value)
	switch {
	case err == nil:
		if code < 0 || code > 999 {
			lb.err(CodeInvalidValue, a[0].Range, "invalid return code %q", a[0].Value)
			return
		}
		r.Code = code
		if len(a) == 2 {
			t, ok := lb.template(a[1])
			if !ok {
				return
			}
			r.Text, r.HasText = t, true
		}
	case len(a) == 1 && isRedirectTarget(a[0].Value):
		t, ok := lb.template(a[0])
		if !ok {
			return
		}
		r.Code, r.Text, r.HasText = 302, t, true
	default:
		lb.err(CodeInvalidValue, a[0].Range, "invalid return code %q: use return CODE [TEXT] or return http(s)://URL", shorten(a[0].Value, 40))
		return
	}
	lb.loc.Script = append(lb.loc.Script, ScriptOp{Kind: OpReturn, Return: r, Directive: d})
}

func (lb *locationBuilder) proxyRedirect(d *Directive) {
	l := lb.loc
	a := d.Args
	if len(a) == 1 {
		switch a[0].Value {
		case "off", "false":
			l.RedirectOff = true
			l.ProxyRedirects = nil
		case "default":
			l.ProxyRedirects = append(l.ProxyRedirects, ProxyRedirect{Default: true})
		default:
			lb.err(CodeInvalidValue, a[0].Range, "invalid value %q: proxy_redirect takes off, default, or FROM TO", shorten(a[0].Value, 40))
		}
		return
	}
	pr := ProxyRedirect{}
	from := a[0].Value
	switch {
	case strings.HasPrefix(from, "~*"), strings.HasPrefix(from, "~"):
		ci := strings.HasPrefix(from, "~*")
		src := strings.TrimPrefix(strings.TrimPrefix(from, "~*"), "~")
		re, err := lb.compileRegex(src, ci, a[0].Range)
		if err != nil {
			lb.err(CodeRegex, a[0].Range, "%v", err)
			return
		}
		pr.FromRe = re
		// Its named groups are variables in TO (nginx sets them when the
		// regex matches).
		for _, n := range re.SubexpNames() {
			if n != "" {
				if l.NamedCaptures == nil {
					l.NamedCaptures = map[string]bool{}
				}
				l.NamedCaptures[strings.ToLower(n)] = true
			}
		}
	default:
		t, ok := lb.template(a[0])
		if !ok {
			return
		}
		pr.From = t
	}
	t, ok := lb.template(a[1])
	if !ok {
		return
	}
	pr.To = t
	l.ProxyRedirects = append(l.ProxyRedirects, pr)
}

func (lb *locationBuilder) errorPage(d *Directive) {
	a := d.Args
	ep := ErrorPage{Target: a[len(a)-1].Value, Range: d.Range}
	codes := a[:len(a)-1]
	if n := len(codes); n > 0 && strings.HasPrefix(codes[n-1].Value, "=") {
		resp := codes[n-1].Value[1:]
		if resp == "" {
			ep.Response = -1
		} else {
			c, err := strconv.Atoi(resp)
			if err != nil || c < 100 || c > 999 {
				lb.err(CodeInvalidValue, codes[n-1].Range, "invalid response code %q", codes[n-1].Value)
				return
			}
			ep.Response = c
		}
		codes = codes[:n-1]
	}
	if len(codes) == 0 {
		lb.err(CodeArguments, d.Range, "error_page needs at least one status code before the target")
		return
	}
	for _, c := range codes {
		v, err := strconv.Atoi(c.Value)
		if err != nil || v < 300 || v > 599 {
			lb.err(CodeInvalidValue, c.Range, "error_page code %q must be between 300 and 599", shorten(c.Value, 20))
			return
		}
		ep.Codes = append(ep.Codes, v)
	}
	if ep.Target == "" {
		lb.err(CodeInvalidValue, a[len(a)-1].Range, "error_page needs a target: @name or a URI")
		return
	}
	lb.loc.ErrorPages = append(lb.loc.ErrorPages, ep)
}

// finish runs the checks that need the whole block.
func (lb *locationBuilder) finish() {
	l := lb.loc
	header := l.Directive.HeaderRange()
	if !l.HasHandler() && len(l.Script) == 0 && l.Modifier != ModNamed {
		lb.diags.add(Warning, CodeNoHandler, header,
			"location %s has no proxy_pass, return or empty_gif, so requests that reach it get 404", shorten(l.Label(), 60))
	}
	if l.ProxyPass != nil && l.ProxyPass.Static == nil {
		for _, pr := range l.ProxyRedirects {
			if pr.Default {
				lb.err(CodeInvalidValue, header, "proxy_redirect default cannot be used with a proxy_pass that has variables; write proxy_redirect FROM TO")
				break
			}
		}
	}
	lb.checkVariables()
	l.Upstream = staticUpstream(l)
}

// staticUpstream renders a block's upstream origin when no request is needed
// to know it: a literal proxy_pass, or one whose variables are set to
// constants in the block ("set $u api:8000; proxy_pass http://$u;").
func staticUpstream(l *Location) string {
	if l.ProxyPass == nil {
		return ""
	}
	if u := l.ProxyPass.Static; u != nil {
		return u.Origin()
	}
	constant := true
	s, short := l.ProxyPass.URL.EvalLimit(func(name string) string {
		v, ok := l.Sets[name]
		if !ok || v.HasVars() {
			constant = false
			return "$" + name
		}
		return v.Raw
	}, func(int) string { return "" }, MaxValueLen)
	if !constant || !short {
		return l.ProxyPass.URL.Raw
	}
	if u, err := ParseUpstreamURL(s); err == nil {
		return u.Origin()
	}
	return l.ProxyPass.URL.Raw
}

// checkVariables reports variables that are neither built in, captured by
// a regex of this block, nor set in this block. nginx would either refuse
// to start (unknown name) or use an empty value at run time (a variable set
// only in another location), which breaks proxy_pass with a 500.
func (lb *locationBuilder) checkVariables() {
	l := lb.loc
	reported := map[string]bool{}
	for _, use := range lb.templates {
		lb.charge(workValues, use.r, 2*int64(len(use.t.Parts)))
		for _, name := range use.t.Vars() {
			if IsBuiltinVar(name) || l.NamedCaptures[name] || reported[name] {
				continue
			}
			if _, ok := l.Sets[name]; ok {
				continue
			}
			reported[name] = true
			where := lb.setElsewhere(name)
			if where != "" {
				lb.err(CodeVariable, use.r, "$%s is set in %s but not in this block; nginx gives it an empty value here. Add set $%s ...; to this block", name, where, name)
			} else {
				lb.err(CodeVariable, use.r, "unknown variable $%s; set it in this block with set $%s VALUE;", name, name)
			}
		}
	}
	// A set whose value refers to itself, directly or through others,
	// would never finish. Each cycle is reported once, on the set the
	// search entered it by. Every analysis of the graph is linear in its
	// variables and references.
	steps := int64(len(l.Sets))
	for _, t := range l.Sets {
		steps += int64(len(t.Parts))
	}
	lb.charge(workSets, l.Directive.HeaderRange(), 4*steps)
	g := newSetGraph(l.Sets)
	res := g.search()
	for _, c := range res.cycles {
		lb.err(CodeVariable, l.SetDirectives[c.start].Range, "$%s is defined in terms of itself: %s", c.start, c.path)
	}
	lb.checkExpansion(g, res)
	lb.checkDecodedHeaders(g, res)
}

// checkDecodedHeaders hints at request headers built from the decoded path:
// $uri, $document_uri, a capture, or a set variable built from one. The
// path is percent-decoded before matching, so a request for /a%0d%0ab puts
// a line break in such a header, and the proxy answers 400 rather than
// send it upstream. $request_uri is the raw form.
func (lb *locationBuilder) checkDecodedHeaders(g *setGraph, res dfsResult) {
	l := lb.loc
	captures := l.Regex != nil
	for _, op := range l.Script {
		captures = captures || op.Kind == OpRewrite
	}
	// decoded names, for each part, the decoded value it holds directly
	// ("$uri", "$1") or "" when it holds none.
	decoded := func(p TemplatePart) string {
		switch {
		case p.Capture >= 0:
			if captures {
				return "$" + strconv.Itoa(p.Capture)
			}
		case p.Var == "uri" || p.Var == "document_uri":
			return "$" + p.Var
		case l.NamedCaptures[p.Var]:
			if _, isSet := g.index[p.Var]; !isSet {
				return "$" + p.Var
			}
		}
		return ""
	}
	// from[v] is the decoded value set variable v is built from, found in
	// post-order, so once per variable.
	from := make([]string, len(g.names))
	for _, u := range res.post {
		for _, p := range l.Sets[g.names[u]].Parts {
			if v, isSet := g.index[p.Var]; isSet {
				from[u] = from[v]
			} else {
				from[u] = decoded(p)
			}
			if from[u] != "" {
				break
			}
		}
	}
	for _, use := range lb.templates {
		if use.header == "" {
			continue
		}
		for _, p := range use.t.Parts {
			what := ""
			if v, isSet := g.index[p.Var]; isSet && from[v] != "" {
				what = fmt.Sprintf("$%s, built from %s, %s", p.Var, from[v], describeDecoded(from[v]))
			} else if src := decoded(p); src != "" && !isSet {
				what = src + ", " + describeDecoded(src)
			}
			if what != "" {
				lb.diags.add(Hint, CodeDecodedInHeader, use.r,
					"%s gets %s: a request whose path has %%0d%%0a or other control characters gets a 400 instead of reaching the app. Send $request_uri (the raw path and query) or escape the value",
					use.header, what)
				break
			}
		}
	}
}

func describeDecoded(src string) string {
	if src == "$uri" || src == "$document_uri" {
		return "which carries the decoded path"
	}
	return "a capture of the decoded path"
}

// checkExpansion refuses set values that expand beyond what a request may
// evaluate (MaxValueLen, MaxValueCopies): a chain of sets that each repeat
// the next doubles the value at every line. The error sits where the
// bound is crossed: on a set whose references are all within it, and on a
// value (a header, a proxy_pass...) that multiplies sets within it.
func (lb *locationBuilder) checkExpansion(g *setGraph, res dfsResult) {
	exp, ok := g.expansions(res)
	for _, u := range res.post {
		if !ok[u] || !exp[u].over() {
			continue
		}
		crossed := true
		for _, e := range g.deps[u] {
			crossed = crossed && !exp[e.to].over()
		}
		if crossed {
			name := g.names[u]
			lb.err(CodeVariable, lb.loc.SetDirectives[name].Range,
				"$%s expands to %s; simplify the chain of set variables it is built from", name, exp[u].describe())
		}
	}
	// A value's own literal text is already in the file; what it can
	// multiply is its set variables and request values.
	for _, use := range lb.templates {
		if use.set {
			continue
		}
		var x expansion
		usable := true
		for _, p := range use.t.Parts {
			if !p.IsVar() {
				continue
			}
			v, isSet := g.index[p.Var]
			switch {
			case !isSet:
				x.copies++
			case !ok[v] || exp[v].over():
				usable = false // reported on the set
			default:
				x = x.add(exp[v], 1)
			}
		}
		if usable && x.over() {
			lb.err(CodeVariable, use.r, "this value expands to %s; use fewer set variables in it", x.describe())
		}
	}
}

func (lb *locationBuilder) setElsewhere(name string) string {
	if other, ok := lb.setIn[name]; ok {
		return fmt.Sprintf("the location on line %d", other.Line())
	}
	return ""
}

// ParseDuration reads an nginx time value: "60", "60s", "500ms", "1m",
// "1h 30m" (units ms, s, m, h, d, w, M, y; no unit means seconds).
func ParseDuration(s string) (time.Duration, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, fmt.Errorf("invalid time %q", s)
	}
	var total time.Duration
	for _, f := range fields {
		i := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, fmt.Errorf("invalid time %q", s)
		}
		n, _ := strconv.Atoi(f[:i])
		unit := time.Second
		switch f[i:] {
		case "", "s":
		case "ms":
			unit = time.Millisecond
		case "m":
			unit = time.Minute
		case "h":
			unit = time.Hour
		case "d":
			unit = 24 * time.Hour
		case "w":
			unit = 7 * 24 * time.Hour
		case "M":
			unit = 30 * 24 * time.Hour
		case "y":
			unit = 365 * 24 * time.Hour
		default:
			return 0, fmt.Errorf("invalid time %q: units are ms, s, m, h, d, w, M, y", s)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

// ParseSize reads an nginx size: "1024", "10k", "1m", "1g" (case-insensitive).
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	mult := int64(1)
	num := s
	switch s[len(s)-1] {
	case 'k', 'K':
		mult, num = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		mult, num = 1<<20, s[:len(s)-1]
	case 'g', 'G':
		mult, num = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: use bytes or a k, m or g suffix", s)
	}
	return n * mult, nil
}
