package routing

import (
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// proxy_redirect (ngx_http_proxy_module.c, ngx_http_proxy_rewrite_*): the
// upstream's Location and Refresh headers are rewritten when its response
// arrives. The rules are nginx complex values, so they are evaluated then,
// with the request's variables: $uri, $host, `set` variables, the captures
// of the location regex or rewrite, and, in the replacement of a regex
// rule, the captures of that rule. A Decision keeps the evaluator that
// resolved it for this (Decision.vars).

// RewriteLocation applies the handling location's proxy_redirect rules to
// the value of an upstream's Location header and returns the value the
// client receives. The proxy calls it for every Location header of an
// upstream response to a request this Decision proxied (ActionProxy),
// whatever the status. Without a matching rule, or with proxy_redirect
// off, the value is returned unchanged.
func (d *Decision) RewriteLocation(value string) string {
	return d.rewriteRedirect(value, 0)
}

// RewriteRefresh applies the same rules to an upstream's Refresh header
// ("5; url=http://u/next"): only the URL after the first "url=" (in any
// case) is rewritten, as nginx does; a value without "url=" is returned
// unchanged.
func (d *Decision) RewriteRefresh(value string) string {
	i := indexFold(value, "url=")
	if i < 0 {
		return value
	}
	return d.rewriteRedirect(value, i+len("url="))
}

// rewriteRedirect rewrites value[prefix:] with the first rule that
// matches it (ngx_http_proxy_rewrite_redirect).
func (d *Decision) rewriteRedirect(value string, prefix int) string {
	e := d.vars
	if e == nil || e.block == nil {
		return value
	}
	l := e.block.Loc
	if l.RedirectOff {
		return value
	}
	if len(l.ProxyRedirects) == 0 {
		// Without proxy_redirect, nginx applies "default" when proxy_pass
		// has no variables.
		if out, ok := e.redirectDefault(value, prefix); ok {
			return out
		}
		return value
	}
	for i := range l.ProxyRedirects {
		if out, ok := e.redirectRule(value, prefix, &l.ProxyRedirects[i]); ok {
			return out
		}
	}
	return value
}

func (e *evaluator) redirectRule(value string, prefix int, r *routefile.ProxyRedirect) (string, bool) {
	rest := value[prefix:]
	switch {
	case r.Default:
		return e.redirectDefault(value, prefix)
	case r.FromRe != nil:
		// The regex form replaces everything from the prefix on with the
		// replacement, in which $1.. and named captures are this regex's
		// (ngx_http_proxy_rewrite_regex_handler).
		caps, named, ok := r.FromRe.Captures(rest)
		if !ok {
			return "", false
		}
		to := r.To.Eval(func(name string) string {
			if v, ok := named[name]; ok {
				return v
			}
			return e.lookup(name)
		}, func(n int) string {
			if n < len(caps) {
				return caps[n]
			}
			return ""
		})
		return value[:prefix] + to, true
	default:
		// FROM is a prefix of the URL, compared byte for byte; an empty
		// FROM matches every URL (ngx_http_proxy_rewrite_complex_handler).
		from := e.eval(r.From)
		if !strings.HasPrefix(rest, from) {
			return "", false
		}
		return value[:prefix] + e.eval(r.To) + rest[len(from):], true
	}
}

// redirectDefault is "proxy_redirect default": proxy_pass's URL becomes the
// location's name (proxy_pass http://u:3000/app/ in location /x/:
// http://u:3000/app/a becomes /x/a), or, without a URI part, the upstream's
// root becomes the proxy's root (http://u:3000/a becomes /a). nginx compares
// the URL as written in proxy_pass; devproxy also accepts the upstream's
// default port written out or left off. A proxy_pass with variables has no
// default rule.
func (e *evaluator) redirectDefault(value string, prefix int) (string, bool) {
	l := e.block.Loc
	u := l.ProxyPass.Static
	if u == nil {
		return "", false
	}
	to, uri := "/", "/"
	if u.HasURI {
		if l.Modifier.IsRegex() || l.Modifier == routefile.ModNamed {
			// nginx refuses a URI part here, so it has no default to copy.
			return "", false
		}
		to, uri = l.Spec, u.URI
	}
	rest := value[prefix:]
	for _, host := range [2]string{u.ProxyHost(), u.HostPort()} {
		if n := matchUpstreamURL(rest, u.Scheme, host, uri); n > 0 {
			return value[:prefix] + to + rest[n:], true
		}
	}
	return "", false
}

// matchUpstreamURL returns the length of scheme://host+uri when s starts
// with it, and 0 otherwise, without building the URL.
func matchUpstreamURL(s, scheme, host, uri string) int {
	n := 0
	for _, part := range [4]string{scheme, "://", host, uri} {
		if !strings.HasPrefix(s[n:], part) {
			return 0
		}
		n += len(part)
	}
	return n
}

// indexFold is the index of the first occurrence of the lower-case ASCII
// sub in s, ignoring ASCII case (nginx's ngx_strcasestrn), or -1.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && lowerASCII(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
