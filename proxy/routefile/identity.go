package routefile

import "strings"

// Modifier is a location's match kind.
type Modifier string

const (
	ModPrefix  Modifier = ""   // location /path
	ModExact   Modifier = "="  // location = /path
	ModNoRegex Modifier = "^~" // location ^~ /path: a prefix that stops the regex search
	ModRegex   Modifier = "~"  // location ~ regex
	ModRegexCI Modifier = "~*" // location ~* regex (case-insensitive)
	ModNamed   Modifier = "@"  // location @name
)

// IsRegex reports whether m is ~ or ~*.
func (m Modifier) IsRegex() bool { return m == ModRegex || m == ModRegexCI }

// IsPrefix reports whether m is a plain or ^~ prefix.
func (m Modifier) IsPrefix() bool { return m == ModPrefix || m == ModNoRegex }

// RouteOf returns a location's route: the identity two files must not both
// claim (spec §3). "location /" and "location = /" are both the route "/".
// ok is false for locations that have no route: file-like paths, Next.js
// internals, regexes that are not anchored literal paths, and named
// locations.
func RouteOf(mod Modifier, spec string) (route string, ok bool) {
	switch mod {
	case ModNamed:
		return "", false
	case ModRegex, ModRegexCI:
		return regexRoute(spec)
	}
	if spec == "/" {
		return "/", true
	}
	if spec == "" || spec[0] != '/' || nextInternal(spec) {
		return "", false
	}
	if fileLike(spec) {
		return "", false
	}
	if !strings.HasSuffix(spec, "/") {
		spec += "/"
	}
	return spec, true
}

// nextInternal reports Next.js's own root paths (/_next, /__next*), which
// every Next.js app requests and no app owns.
func nextInternal(p string) bool {
	return p == "/_next" || p == "/_next/" || strings.HasPrefix(p, "/__next")
}

// fileLike reports whether the last segment of p ends in ".ext" with an
// alphanumeric extension, like /favicon.ico or /storybook/iframe.html.
func fileLike(p string) bool {
	last := p[strings.LastIndexByte(p, '/')+1:]
	dot := strings.LastIndexByte(last, '.')
	if dot < 0 || dot == len(last)-1 {
		return false
	}
	for _, c := range []byte(last[dot+1:]) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// regexRoute gives an anchored regex made of literal path segments the route
// of those segments: ^/myapp/?$ is /myapp/. A '.' anywhere (\., .+, .*)
// means the regex matches files or arbitrary tails, so it has no route.
func regexRoute(re string) (string, bool) {
	if !strings.HasPrefix(re, "^/") || strings.Contains(re[2:], ".") {
		return "", false
	}
	var segs []string
	cur := ""
	rest := re[2:]
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '/':
			if cur == "" {
				i = len(rest)
				continue
			}
			segs = append(segs, cur)
			cur = ""
		case c == '$' && i == len(rest)-1:
			// The end anchor closes the last segment.
		case strings.IndexByte(`\^$*+?()[]{}|`, c) >= 0:
			// A pattern character: a half-literal segment is not part of
			// the route.
			cur = ""
			i = len(rest)
		default:
			cur += string(c)
		}
	}
	if cur != "" {
		segs = append(segs, cur)
	}
	if len(segs) == 0 {
		return "", false
	}
	r := "/" + strings.Join(segs, "/") + "/"
	if nextInternal(r) {
		return "", false // the same exclusions as for prefix specs
	}
	return r, true
}

// reservedExact and reservedTrees are the paths the proxy serves itself
// (spec §4). They can never be claimed by a route file. The root is not
// among them: it belongs to the user, and shows the dashboard only while
// no route claims it.
var reservedExact = map[string]bool{"/routes.json": true, "/health.json": true, "/status.json": true}
var reservedTrees = []string{"/devproxy", "/status", "/health", "/reports", "/dashboard"}

// IsReservedPath reports whether a (normalised) request path belongs to the
// proxy itself: /routes.json and friends, and the /devproxy/, /status,
// /health, /reports and /dashboard trees.
func IsReservedPath(p string) bool {
	if reservedExact[p] {
		return true
	}
	for _, t := range reservedTrees {
		if p == t || (strings.HasPrefix(p, t) && p[len(t)] == '/') {
			return true
		}
	}
	return false
}

// ReservedClaim reports whether a location claims a reserved path, and
// which. The root ("location /", "location = /") is the user's; regexes
// are judged by their route.
func ReservedClaim(mod Modifier, spec string) (string, bool) {
	switch mod {
	case ModNamed:
		return "", false
	case ModRegex, ModRegexCI:
		r, ok := regexRoute(spec)
		if !ok {
			return "", false
		}
		spec = strings.TrimSuffix(r, "/")
	}
	if spec == "/" || spec == "" {
		return "", false
	}
	if IsReservedPath(spec) || IsReservedPath(strings.TrimSuffix(spec, "/")) {
		return spec, true
	}
	return "", false
}
