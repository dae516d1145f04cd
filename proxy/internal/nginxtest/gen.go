package nginxtest

// Generators of route files and request targets for the differential
// tests. Everything is drawn from a seeded math/rand source so that a
// failing case can be reproduced with DEVPROXY_DIFF_SEED.

import (
	"fmt"
	"math/rand"
	"strings"
)

// Location is one generated location block.
type Location struct {
	ID   int    // X-Loc: L<ID>
	File int    // which generated file holds it
	Mod  string // "", "=", "^~", "~", "~*"
	Spec string
	Body string // directives, without add_header X-Loc
	// Intent classifies proxy_pass forms where devproxy deliberately
	// differs from nginx (spec §6 [intent]).
	Intent Intent
	// Literal is Body with variable upstreams written as literal hosts:
	// nginx's answer for it is the spec's answer for Body.
	Literal string
}

type Intent int

const (
	IntentNone      Intent = iota
	IntentVarURI           // set $u host; proxy_pass http://$u/uri/;
	IntentRegexArgs        // regex location, proxy_pass http://host/c/$1: query kept
)

// render writes the location with its identifying header.
func (l Location) Render(literal bool) string {
	body := l.Body
	if literal && l.Literal != "" {
		body = l.Literal
	}
	head := "location "
	if l.Mod != "" {
		head += l.Mod + " "
	}
	return fmt.Sprintf("%s%s {\n    add_header X-Loc L%d always;\n%s}\n", head, l.Spec, l.ID, indent(body))
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	return b.String()
}

type Config struct {
	Locs  []Location
	Files int // number of route files the locations are spread over
}

func FilePath(i int) string { return fmt.Sprintf("apps/gen%d.conf", i) }

// fileText is the route file i as devproxy reads it.
func (c Config) FileText(i int) string {
	var b strings.Builder
	for _, l := range c.Locs {
		if l.File == i {
			b.WriteString(l.Render(false))
		}
	}
	return b.String()
}

// text is every file, for reports.
func (c Config) Text() string {
	var b strings.Builder
	for i := 0; i < c.Files; i++ {
		fmt.Fprintf(&b, "# %s\n%s", FilePath(i), c.FileText(i))
	}
	return b.String()
}

func (c Config) HasIntent(k Intent) bool {
	for _, l := range c.Locs {
		if l.Intent == k {
			return true
		}
	}
	return false
}

var prefixNames = []string{
	"/a", "/a/", "/a/b/", "/ab", "/app", "/app/", "/app/api/", "/api/", "/api/v1/", "/x-y/",
	"/static/", "/old/", "/new/", "/b", "/A/", "/app-x/", "/app.js", "/favicon.ico", "/loop", "/new",
}

type genRegex struct {
	re     string
	groups int
}

var regexes = []genRegex{
	{`^/app/(.*)$`, 1},
	{`^/api/(?<rest>.+)$`, 1},
	{`\.(js|css)$`, 1},
	{`^/a/b`, 0},
	{`^/APP/`, 0},
	{`^/static/(.+)\.png$`, 1},
	{`^/old/(.*)`, 1},
	{`^/(app|api)/?$`, 1},
	{`/b/`, 0},
	{`^/x-y/(\d+)$`, 1},
	{`^/new/`, 0},
}

// generator draws configs and targets for one echo upstream.
type Generator struct {
	R    *rand.Rand
	Echo string // host:port of the echo upstream
}

// NewGenerator draws from seed; every proxy_pass points at echo.
func NewGenerator(seed int64, echo string) *Generator {
	return &Generator{R: rand.New(rand.NewSource(seed)), Echo: echo}
}

func (g *Generator) pick(list []string) string { return list[g.R.Intn(len(list))] }

func (g *Generator) Config() Config {
	c := Config{Files: 1 + g.R.Intn(3)}
	used := map[string]bool{}
	n := 4 + g.R.Intn(9)
	for len(c.Locs) < n {
		var l Location
		switch k := g.R.Intn(10); {
		case k < 6: // prefix or ^~
			l.Mod = []string{"", "", "^~"}[g.R.Intn(3)]
			l.Spec = g.pick(prefixNames)
		case k < 7:
			l.Mod = "="
			l.Spec = g.pick(prefixNames)
		default:
			l.Mod = []string{"~", "~", "~*"}[g.R.Intn(3)]
			re := regexes[g.R.Intn(len(regexes))]
			l.Spec = re.re
			g.regexBody(&l, re)
		}
		key := l.Mod + " " + l.Spec
		if l.Mod == "^~" {
			key = " " + l.Spec // plain and ^~ are the same kind
		}
		l.File = g.R.Intn(c.Files)
		// One file may not repeat a location (nginx refuses); across
		// files, composition decides which one is active.
		fileKey := fmt.Sprintf("%d %s", l.File, key)
		if used[fileKey] || (c.Files == 1 && used[key]) {
			continue
		}
		used[fileKey], used[key] = true, true
		if l.Body == "" {
			g.staticBody(&l)
		}
		l.ID = len(c.Locs)
		c.Locs = append(c.Locs, l)
	}
	// Rewrites need somewhere to land.
	if !used[" /new/"] && g.R.Intn(2) == 0 {
		c.Locs = append(c.Locs, Location{ID: len(c.Locs), Spec: "/new/", Body: fmt.Sprintf("proxy_pass http://%s;\n", g.Echo)})
	}
	return c
}

// staticBody fills a prefix or exact location.
func (g *Generator) staticBody(l *Location) {
	e := g.Echo
	switch k := g.R.Intn(22); k {
	case 0, 1:
		l.Body = fmt.Sprintf("proxy_pass http://%s;\n", e)
	case 2, 3:
		l.Body = fmt.Sprintf("proxy_pass http://%s/;\n", e)
	case 4:
		l.Body = fmt.Sprintf("proxy_pass http://%s/inner/;\n", e)
	case 5:
		l.Body = fmt.Sprintf("proxy_pass http://%s/inner;\n", e)
	case 6:
		l.Body = fmt.Sprintf("set $u %s;\nproxy_pass http://$u;\n", e)
	case 7, 8:
		l.Body = fmt.Sprintf("set $u %s;\nproxy_pass http://$u/v/;\n", e)
		l.Literal = fmt.Sprintf("proxy_pass http://%s/v/;\n", e)
		l.Intent = IntentVarURI
	case 9:
		l.Body = fmt.Sprintf("rewrite ^/([^/]+)/(.*)$ /$2 break;\nproxy_pass http://%s;\n", e)
	case 10:
		l.Body = fmt.Sprintf("rewrite ^ /r/ break;\nproxy_pass http://%s/ignored/;\n", e)
	case 11:
		l.Body = fmt.Sprintf("proxy_set_header Host $host;\nproxy_set_header X-Test \"$uri|$args|$is_args|$request_uri|$scheme|$server_port|$host|$http_host|$proxy_host|$remote_addr|$arg_a|$http_user_agent\";\nproxy_set_header User-Agent \"\";\nproxy_pass http://%s/;\n", e)
	case 12:
		l.Body = "return 204;\n"
	case 13:
		l.Body = "return 200 \"ok $uri\";\n"
	case 14:
		l.Body = "return 301 /new/;\n"
	case 15:
		l.Body = "return 302 http://example.com/x;\n"
	case 16:
		l.Body = "return 404;\n"
	case 17:
		l.Body = fmt.Sprintf("rewrite ^/old/(.*)$ /new/$1 last;\nproxy_pass http://%s;\n", e)
	case 18:
		l.Body = []string{
			"rewrite ^/(.*)$ /new/$1 redirect;\n",
			"rewrite ^/(.*)$ /new/$1?x=1 permanent;\n",
			"rewrite ^/(.*)$ http://example.com/$1 last;\n",
		}[g.R.Intn(3)]
	case 19:
		l.Body = []string{
			"rewrite ^/(.*)$ /new/$1? last;\n",
			"rewrite ^/(.*)$ /new/?q=$1 last;\n",
			"rewrite ^ $uri last;\n", // a cycle: 500
		}[g.R.Intn(3)]
	case 20:
		l.Body = fmt.Sprintf("rewrite ^/app/(.*)$ /new/$1;\nproxy_pass http://%s;\n", e)
	default:
		l.Body = fmt.Sprintf("rewrite ^/([a-z]+)(.*)$ /new$2 last;\nreturn 204;\n")
	}
}

// regexBody fills a regex location.
func (g *Generator) regexBody(l *Location, re genRegex) {
	e := g.Echo
	switch k := g.R.Intn(8); {
	case k < 2:
		l.Body = fmt.Sprintf("proxy_pass http://%s;\n", e)
	case k < 3:
		l.Body = fmt.Sprintf("set $u %s;\nproxy_pass http://$u;\n", e)
	case k < 5 && re.groups > 0:
		l.Body = fmt.Sprintf("proxy_pass http://%s/c/$1;\n", e)
		l.Intent = IntentRegexArgs
	case k < 6:
		l.Body = "return 200 \"re $uri\";\n"
	case k < 7 && re.groups > 0:
		l.Body = "return 302 /new/$1;\n"
	default:
		l.Body = fmt.Sprintf("rewrite ^/[^/]+/(.*)$ /new/$1 break;\nproxy_pass http://%s;\n", e)
	}
}

// regexSamples are paths that the generated regexes match.
var regexSamples = []string{"/app/x", "/app/", "/api/users", "/a/b/c.js", "/x.css", "/APP/y", "/app/Z",
	"/static/img.png", "/static/a/b.png", "/old/thing", "/old/", "/app", "/api/", "/x/b/c", "/x-y/42",
	"/x-y/abc", "/new/z", "/NEW/z"}

var segments = []string{"a", "b", "app", "api", "v1", "x-y", "static", "old", "new", "A", "APP", "ab",
	"app-x", "loop", "img.png", "x.js", "y.css", "favicon.ico", "123", "inner"}

// targets draws request targets for a config: random paths, the config's
// own location names with and without the trailing slash, and mutations
// with "..", "//", "." and percent-escapes.
func (g *Generator) Targets(c Config, n int) []string {
	var out []string
	for len(out) < n {
		var p string
		if g.R.Intn(2) == 0 {
			l := c.Locs[g.R.Intn(len(c.Locs))]
			if l.Mod == "~" || l.Mod == "~*" {
				p = regexSamples[g.R.Intn(len(regexSamples))]
				out = append(out, g.mutate(p))
				continue
			}
			p = l.Spec
			if strings.HasSuffix(p, "/") && g.R.Intn(2) == 0 {
				p = strings.TrimSuffix(p, "/")
			} else if g.R.Intn(3) == 0 {
				p += g.pick(segments)
			}
		} else {
			k := 1 + g.R.Intn(3)
			var segs []string
			for i := 0; i < k; i++ {
				segs = append(segs, g.pick(segments))
			}
			p = "/" + strings.Join(segs, "/")
			if g.R.Intn(3) == 0 {
				p += "/"
			}
		}
		p = g.mutate(p)
		if p == "" || p == "/" {
			continue
		}
		switch g.R.Intn(6) {
		case 0:
			p += "?x=1"
		case 1:
			p += "?a=1&b=two"
		case 2:
			p += "?"
		}
		out = append(out, p)
	}
	return out
}

func (g *Generator) mutate(p string) string {
	if g.R.Intn(3) != 0 {
		return p
	}
	switch g.R.Intn(9) {
	case 0:
		return strings.Replace(p, "/", "//", 1+g.R.Intn(2))
	case 1:
		return "/a/.." + p
	case 2:
		return strings.Replace(p, "/", "/./", 1)
	case 3:
		return p + "/.."
	case 4: // percent-encode one letter
		for i := 1; i < len(p); i++ {
			if c := p[i]; c >= 'a' && c <= 'z' && g.R.Intn(3) == 0 {
				return p[:i] + fmt.Sprintf("%%%02x", c) + p[i+1:]
			}
		}
		return p
	case 5: // an escaped slash after the first segment
		if i := strings.IndexByte(p[1:], '/'); i >= 0 {
			return p[:i+1] + "%2F" + p[i+2:]
		}
		return p + "%2Fz"
	case 6:
		return p + "/%2E%2E"
	case 7:
		return "/.." + p // climbs above the root: 400
	default:
		return p + "%20z"
	}
}
