package routefile

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxFileSize bounds what devproxy reads as a route file. Real snippets are
// a few kilobytes; a file this large is a mistake (a log, a binary) and is
// rejected in constant time instead of being tokenized.
const MaxFileSize = 1 << 20

// File is one parsed route file.
type File struct {
	Path        string // relative to the workspace root, forward slashes
	Directives  []*Directive
	Comments    []Range
	Locations   []*Location
	Diagnostics []Diagnostic
	// OK is false when the file has an error: such a file contributes no
	// routes at all (spec §4), while every other file keeps serving.
	OK bool
}

// Location is one location block, validated and compiled.
type Location struct {
	Index     int // 0-based among the file's locations
	Modifier  Modifier
	Spec      string // path, regex, or @name
	Directive *Directive
	SpecRange Range // the modifier and spec as written
	// Route is the location's identity for conflicts ("" when HasRoute is
	// false); see RouteOf.
	Route    string
	HasRoute bool
	Regex    *Regex // for ~ and ~*

	ProxyPass *ProxyPass
	// Sets are the block's set directives ([intent] declarations: order
	// does not matter). Both maps are nil when the block has none.
	Sets            map[string]Template
	SetDirectives   map[string]*Directive
	Script          []ScriptOp // rewrite, return and break, in file order
	ProxySetHeaders []HeaderRule
	AddHeaders      []AddHeader
	HideHeaders     []string
	ProxyRedirects  []ProxyRedirect // empty means "default"
	RedirectOff     bool
	ReadTimeout     time.Duration // zero means the default
	SendTimeout     time.Duration
	ConnectTimeout  time.Duration
	InterceptErrors bool
	ErrorPages      []ErrorPage
	EmptyGIF        bool
	MaxBodySize     int64 // -1 when not set; 0 disables the check
	// NamedCaptures lists the named groups of the location regex and the
	// rewrite regexes, usable as $name.
	NamedCaptures map[string]bool
	// Upstream is the proxy_pass origin when it can be known without a
	// request ("http://api:8000"), else the proxy_pass text; "" without
	// proxy_pass.
	Upstream string

	// DuplicateOf is set when an earlier block of the same file has the same
	// spec and kind; this block is then inactive.
	DuplicateOf *Location
	// Reserved is set when the block claims a path the proxy serves itself;
	// the block is then inactive.
	Reserved bool
}

// Inactive reports whether the file itself switches this block off
// (duplicate or reserved). Conflicts between files are decided later.
func (l *Location) Inactive() bool { return l.DuplicateOf != nil || l.Reserved }

// Range is the whole block.
func (l *Location) Range() Range { return l.Directive.Range }

// Line is the 1-based line of the "location" keyword.
func (l *Location) Line() int { return l.Directive.Name.Range.Start.Line }

// Label renders the location as written: "^~ /api/", "= /x", "@fallback".
func (l *Location) Label() string {
	switch l.Modifier {
	case ModPrefix, ModNamed:
		return l.Spec
	}
	return string(l.Modifier) + " " + l.Spec
}

// HasHandler reports whether the block produces a response by itself.
func (l *Location) HasHandler() bool {
	if l.ProxyPass != nil || l.EmptyGIF {
		return true
	}
	for _, op := range l.Script {
		if op.Return != nil {
			return true
		}
	}
	return false
}

// ProxyPass is a proxy_pass target. URL is evaluated per request when it has
// variables; otherwise Static holds the parsed form.
type ProxyPass struct {
	URL    Template
	Range  Range
	Static *UpstreamURL // nil when URL has variables
}

// UpstreamURL is a parsed proxy_pass URL.
type UpstreamURL struct {
	Scheme string // http or https
	Host   string // host name or address, without port
	Port   int
	HasURI bool   // a URI part follows the host, even just "/"
	URI    string // the URI part, "" when HasURI is false

	hostPort, origin string // computed once; the proxy asks on every request
}

// HostPort is "host:port" with the port always present.
func (u *UpstreamURL) HostPort() string {
	if u.hostPort == "" {
		u.hostPort = joinHostPort(u.Host, u.Port)
	}
	return u.hostPort
}

// ProxyHost is nginx's $proxy_host: host, plus ":port" when the port is not
// the scheme's default.
func (u *UpstreamURL) ProxyHost() string {
	if (u.Scheme == "http" && u.Port == 80) || (u.Scheme == "https" && u.Port == 443) {
		return bracketHost(u.Host)
	}
	return u.HostPort()
}

// Origin is "scheme://host:port".
func (u *UpstreamURL) Origin() string {
	if u.origin == "" {
		u.origin = u.Scheme + "://" + u.HostPort()
	}
	return u.origin
}

func bracketHost(h string) string {
	if strings.IndexByte(h, ':') >= 0 {
		return "[" + h + "]"
	}
	return h
}

func joinHostPort(h string, port int) string { return bracketHost(h) + ":" + strconv.Itoa(port) }

// ParseUpstreamURL parses "http(s)://host[:port][/uri]" as nginx's
// proxy_pass does.
func ParseUpstreamURL(s string) (*UpstreamURL, error) {
	u := &UpstreamURL{}
	switch {
	case len(s) >= 7 && strings.EqualFold(s[:7], "http://"):
		u.Scheme, u.Port, s = "http", 80, s[7:]
	case len(s) >= 8 && strings.EqualFold(s[:8], "https://"):
		u.Scheme, u.Port, s = "https", 443, s[8:]
	default:
		return nil, fmt.Errorf("invalid URL prefix in %q: proxy_pass needs http:// or https://", s)
	}
	hostport := s
	if i := strings.IndexAny(s, "/?"); i >= 0 {
		hostport = s[:i]
		u.HasURI = true
		u.URI = s[i:]
		if u.URI[0] == '?' {
			u.URI = "/" + u.URI
		}
	}
	if strings.HasPrefix(strings.ToLower(hostport), "unix:") {
		return nil, fmt.Errorf("unix socket upstreams (%q) are not supported by devproxy; use host:port", hostport)
	}
	host := hostport
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return nil, fmt.Errorf("invalid IPv6 address in %q", hostport)
		}
		host = hostport[1:end]
		rest := hostport[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return nil, fmt.Errorf("invalid host in %q", hostport)
			}
			p, err := parsePort(rest[1:])
			if err != nil {
				return nil, err
			}
			u.Port = p
		}
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host = hostport[:i]
		p, err := parsePort(hostport[i+1:])
		if err != nil {
			return nil, err
		}
		u.Port = p
	}
	if host == "" {
		return nil, fmt.Errorf("no host in upstream %q", hostport)
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c == 0x7f || c == '@' || c == '#' {
			return nil, fmt.Errorf("invalid host %q", host)
		}
	}
	u.Host = host
	u.HostPort()
	u.Origin() // filled now: a parsed URL is shared by concurrent requests
	return u, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return p, nil
}

// OpKind is the kind of a rewrite-module step.
type OpKind int

const (
	OpRewrite OpKind = iota + 1
	OpReturn
	OpBreak
)

// ScriptOp is one rewrite-module step of a location, run in file order.
type ScriptOp struct {
	Kind      OpKind
	Rewrite   *Rewrite
	Return    *Return
	Directive *Directive
}

// Rewrite is "rewrite REGEX REPLACEMENT [FLAG]".
type Rewrite struct {
	Regex       *Regex
	Replacement Template
	Flag        string // "", "last", "break", "redirect" or "permanent"
	// Redirect is true when the answer is a redirect: the flag says so, or
	// the replacement starts with http://, https:// or $scheme.
	Redirect bool
}

// Return is "return CODE [TEXT|URL]" or "return URL".
type Return struct {
	Code    int
	Text    Template
	HasText bool
}

// IsRedirect reports whether Text is a Location (301, 302, 303, 307, 308).
func (r *Return) IsRedirect() bool {
	switch r.Code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// HeaderRule is proxy_set_header NAME VALUE. An empty value removes the
// header.
type HeaderRule struct {
	Name  string
	Value Template
}

// AddHeader is add_header NAME VALUE [always].
type AddHeader struct {
	Name   string
	Value  Template
	Always bool
}

// ProxyRedirect is "proxy_redirect FROM TO" or the expanded "default".
type ProxyRedirect struct {
	Default bool
	From    Template
	FromRe  *Regex // when FROM is ~regex or ~*regex
	To      Template
}

// ErrorPage is error_page CODES [=[RESPONSE]] TARGET.
type ErrorPage struct {
	Codes    []int
	Response int // 0: keep the code; -1: "=" (take the target's status)
	Target   string
	Range    Range
}

// Parse reads one route file. path is used in diagnostics only. Its work
// is bounded: a file that needs more than MaxFileWork steps to check
// becomes one "too complex" error and contributes no routes.
func Parse(path string, src []byte) (result *File) {
	if len(src) > MaxFileSize {
		return TooLarge(path, int64(len(src)))
	}
	f := &File{Path: path}
	diags := &diagList{file: path}
	if !utf8.Valid(src) {
		off := firstInvalidUTF8(src)
		p := PosAt(src, off)
		diags.add(Warning, CodeEncoding, Range{Start: p, End: Pos{Offset: off + 1, Line: p.Line, Col: p.Col + 1}},
			"invalid UTF-8 at byte %d; save the file as UTF-8", off)
	}
	f.Directives, f.Comments = parse(src, diags)
	b := &builder{file: f, diags: diags, setIn: map[string]*Location{}}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(budgetExhausted); !ok {
				panic(r)
			}
			result = tooComplex(f, &b.budget)
		}
	}()
	for _, d := range f.Directives {
		if d.Name.Value == "location" {
			b.location(d)
			continue
		}
		b.topLevel(d)
	}
	// Errors so far break the file as a whole. The findings below only
	// switch single blocks off, so they come after the verdict.
	f.OK = !diags.hasErrors()
	b.checkDuplicates()
	b.checkBlockRules()
	f.Diagnostics = diags.items
	return f
}

// TooLarge is the result for a file over MaxFileSize: one error, no
// routes. Loaders call it with the size on disk without reading the file.
func TooLarge(path string, size int64) *File {
	return &File{Path: path, Diagnostics: []Diagnostic{{
		File: path, Severity: Error, Code: CodeTooLarge,
		Range:   Range{Start: Pos{Line: 1, Col: 1}, End: Pos{Line: 1, Col: 1}},
		Message: fmt.Sprintf("file is %d bytes; route files are small snippets, and devproxy reads at most %d bytes", size, MaxFileSize),
	}}}
}

// quote renders user text (a regex, a path) in double quotes for messages
// without Go's escaping, which would double every backslash of a regex;
// only control characters are escaped.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

type builder struct {
	file  *File
	diags *diagList
	// setIn is the first location so far that sets each variable, for
	// "set in another block" reports.
	setIn  map[string]*Location
	budget workBudget
}

func (b *builder) topLevel(d *Directive) {
	name := d.Name.Value
	if !topLevelKnown(name) {
		b.diags.add(Error, CodeUnknownDirective, d.Name.Range, "unknown directive %q%s", shorten(name, 40), b.suggest(name))
		return
	}
	r := d.Range
	if d.Block != nil {
		r = d.HeaderRange()
	}
	msg := "%q is not applied: route files hold location blocks only"
	if name == "server" {
		msg += "; move the location blocks out of the server block"
	}
	b.diags.add(Warning, CodeTopLevel, r, msg, name)
}

// location validates one location block and, when its header is usable,
// adds it to the file.
func (b *builder) location(d *Directive) {
	args := d.Args
	var mod Modifier
	var spec string
	var specRange Range
	switch len(args) {
	case 1:
		spec = args[0].Value
		specRange = args[0].Range
		switch {
		case strings.HasPrefix(spec, "^~"):
			mod, spec = ModNoRegex, spec[2:]
		case strings.HasPrefix(spec, "~*"):
			mod, spec = ModRegexCI, spec[2:]
		case strings.HasPrefix(spec, "="):
			mod, spec = ModExact, spec[1:]
		case strings.HasPrefix(spec, "~"):
			mod, spec = ModRegex, spec[1:]
		case strings.HasPrefix(spec, "@"):
			mod = ModNamed
		}
	case 2:
		specRange = Range{Start: args[0].Range.Start, End: args[1].Range.End}
		switch m := Modifier(args[0].Value); m {
		case ModExact, ModNoRegex, ModRegex, ModRegexCI:
			mod, spec = m, args[1].Value
		default:
			b.diags.add(Error, CodeInvalidValue, args[0].Range, "invalid location modifier %q; use =, ^~, ~ or ~*", shorten(args[0].Value, 20))
			return
		}
	default:
		r := d.Name.Range
		if len(args) > 0 {
			r = d.HeaderRange()
		}
		b.diags.add(Error, CodeArguments, r, "location takes a modifier (optional) and a path, got %d arguments", len(args))
		return
	}
	if d.Block == nil {
		b.diags.add(Error, CodeSyntax, d.HeaderRange(), "location %s needs a { ... } block", shorten(spec, 40))
		return
	}
	if spec == "" {
		b.diags.add(Error, CodeInvalidValue, specRange, "location has an empty path")
		return
	}
	loc := &Location{
		Index:       len(b.file.Locations),
		Modifier:    mod,
		Spec:        spec,
		Directive:   d,
		SpecRange:   specRange,
		MaxBodySize: -1,
	}
	// Two empty maps cost about 100 bytes, in every location of a large
	// workspace; only blocks with a set directive get them.
	if slices.ContainsFunc(d.Block.Directives, func(inner *Directive) bool { return inner.Name.Value == "set" }) {
		loc.Sets = map[string]Template{}
		loc.SetDirectives = map[string]*Directive{}
	}
	loc.Route, loc.HasRoute = RouteOf(mod, spec)
	switch {
	case mod.IsRegex():
		re, err := b.compileRegex(spec, mod == ModRegexCI, specRange)
		if err != nil {
			b.diags.add(Error, CodeRegex, specRange, "%v", err)
		} else {
			loc.Regex = re
			b.addNamedCaptures(loc, re)
		}
	case mod == ModNamed:
		if len(spec) < 2 {
			b.diags.add(Error, CodeInvalidValue, specRange, "named location needs a name after '@'")
		}
	default:
		if spec[0] != '/' {
			b.diags.add(Warning, CodeInvalidValue, specRange, "location %q does not start with '/', so no request can match it", shorten(spec, 40))
		}
	}
	lb := &locationBuilder{builder: b, loc: loc, seen: map[string]*Directive{}}
	for _, inner := range d.Block.Directives {
		lb.directive(inner)
	}
	lb.finish()
	b.file.Locations = append(b.file.Locations, loc)
	for name := range loc.Sets {
		if _, ok := b.setIn[name]; !ok {
			b.setIn[name] = loc
		}
	}
}

func (b *builder) addNamedCaptures(loc *Location, re *Regex) {
	for _, n := range re.SubexpNames() {
		if n != "" {
			if loc.NamedCaptures == nil {
				loc.NamedCaptures = map[string]bool{}
			}
			loc.NamedCaptures[strings.ToLower(n)] = true
		}
	}
}

// checkDuplicates reports two blocks of one file with the same spec and the
// same kind of match (spec §4): nginx refuses two exact or two prefix
// locations with one name (plain and ^~ count as the same kind); two
// identical regexes are legal in nginx but the second can never win.
func (b *builder) checkDuplicates() {
	type key struct {
		kind string
		spec string
	}
	first := map[key]*Location{}
	for _, l := range b.file.Locations {
		var k key
		switch l.Modifier {
		case ModExact:
			k = key{"exact", l.Spec}
		case ModPrefix, ModNoRegex:
			k = key{"prefix", l.Spec}
		case ModRegex, ModRegexCI:
			k = key{string(l.Modifier), l.Spec}
		case ModNamed:
			k = key{"named", l.Spec}
		}
		if prev, ok := first[k]; ok {
			l.DuplicateOf = prev
			d := b.diags.add(Error, CodeDuplicate, l.SpecRange, "duplicate location %q: %s on line %d already has it; this block is inactive",
				shorten(l.Label(), 60), shorten(prev.Label(), 60), prev.Line())
			if d != nil {
				d.Related = []Related{{File: b.file.Path, Range: prev.SpecRange, Message: "first definition"}}
				d.Tags = []Tag{TagUnnecessary}
			}
			continue
		}
		first[k] = l
	}
}

// checkBlockRules reports the per-block findings of spec §4 that do not
// depend on other files: reserved paths, the catch-all, unanchored regexes.
func (b *builder) checkBlockRules() {
	for _, l := range b.file.Locations {
		if p, ok := ReservedClaim(l.Modifier, l.Spec); ok {
			l.Reserved = true
			d := b.diags.add(Error, CodeReserved, l.SpecRange,
				"%s is reserved for the proxy itself (/devproxy/, /routes.json, /health, /status, /reports, /dashboard); this block is inactive", p)
			if d != nil {
				d.Tags = []Tag{TagUnnecessary}
			}
			continue
		}
		switch {
		case l.Modifier.IsPrefix() && l.Spec == "/":
			b.diags.add(Information, CodeCatchAll, l.SpecRange,
				"location / takes every request no other route matches, including other apps' mistyped paths; the dashboard stays at /devproxy/")
		case l.Modifier.IsRegex() && !strings.HasPrefix(l.Spec, "^/"):
			b.diags.add(Warning, CodeUnanchoredRegex, l.SpecRange,
				"regex %s is not anchored with ^/, so it can take requests meant for any app; start it with ^/yourapp/", quote(shorten(l.Spec, 60)))
		}
	}
}

// suggest offers the closest known directive name for a typo. Once the
// file's report is full nobody reads it, so it is not computed.
func (b *builder) suggest(name string) string {
	if len(name) > 40 || b.diags.full {
		return ""
	}
	names := make([]string, 0, len(implemented))
	for cand := range implemented {
		names = append(names, cand)
	}
	sort.Strings(names)
	best, bestD := "", 3
	for _, cand := range names {
		if d := editDistance(name, cand); d < bestD {
			best, bestD = cand, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
