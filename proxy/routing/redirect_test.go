package routing_test

import (
	"net/http"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestRewriteLocation follows nginx's proxy_redirect: rules are evaluated
// when the response arrives, with the request's variables; a plain rule
// replaces the matched prefix, a regex rule (~, ~*) replaces the whole
// value with its expanded replacement; default maps proxy_pass's URL back
// to the location.
func TestRewriteLocation(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		target string
		header string // Refresh when it starts with a digit, else Location
		want   string
	}{
		{"plain", `location /a/ { proxy_redirect http://u:1/ /x/; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/p?q=1", "/x/p?q=1"},
		{"plain is a prefix match", `location /a/ { proxy_redirect http://u:1/in/ /x/; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/out/p", "http://u:1/out/p"},
		{"plain is case-sensitive", `location /a/ { proxy_redirect http://u:1/in/ /x/; proxy_pass http://u:1/; }`,
			"/a/", "http://U:1/in/p", "http://U:1/in/p"},
		{"variable in FROM", `location /a/ { proxy_redirect http://$host:9000/ /h/; proxy_pass http://u:1/; }`,
			"/a/", "http://localhost:9000/p", "/h/p"},
		{"variables in TO", `location /a/ { proxy_redirect http://u:1/ $scheme://$http_host/$arg_v/; proxy_pass http://u:1/; }`,
			"/a/?v=w", "http://u:1/p", "http://localhost:8080/w/p"},
		{"set variable in TO", `location /a/ { set $front /front; proxy_redirect http://u:1/ $front/; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/p", "/front/p"},
		{"set variable in FROM", `location /a/ { set $back http://u:1/in; proxy_redirect $back/ /a/; proxy_pass http://u:1/in/; }`,
			"/a/", "http://u:1/in/p", "/a/p"},
		{"an empty FROM matches every value", `location /a/ { proxy_redirect $arg_none /pre; proxy_pass http://u:1/; }`,
			"/a/", "/p", "/pre/p"},
		{"location captures in a plain rule", `location ~ ^/c/(\w+)/ { proxy_redirect http://u:1/ /c/$1/; proxy_pass http://u:1; }`,
			"/c/app/x", "http://u:1/p", "/c/app/p"},
		{"$uri after rewrite break", `location /a/ { rewrite ^/a/(.*)$ /in/$1 break; proxy_redirect http://u:1/ $uri/; proxy_pass http://u:1; }`,
			"/a/z", "http://u:1/p", "/in/z/p"},
		{"regex replaces the whole value", `location /a/ { proxy_redirect ~^http://u:1/ /r/; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/p/q?x=1", "/r/"},
		{"regex with captures", `location /a/ { proxy_redirect ~^http://u:\d+/(.*)$ /r/$1; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/p/q?x=1", "/r/p/q?x=1"},
		{"regex matches anywhere", `location /a/ { proxy_redirect ~/(in)/ /r/$1; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/in/p", "/r/in"},
		{"regex is case-sensitive", `location /a/ { proxy_redirect ~^http://U:1/(.*)$ /r/$1; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/p", "http://u:1/p"},
		{"~* ignores case", `location /a/ { proxy_redirect ~*^HTTP://U:1/(.*)$ /ci/$1; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/p", "/ci/p"},
		{"named captures", `location /a/ { proxy_redirect ~^http://u:1/(?<rest>.*)$ /n/$rest; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/p", "/n/p"},
		{"regex captures shadow the location's", `location ~ ^/c/(\w+)/ { proxy_redirect ~^http://u:1/(.*)$ /c/$1; proxy_pass http://u:1; }`,
			"/c/app/x", "http://u:1/p", "/c/p"},
		{"variables in a regex replacement", `location /a/ { proxy_redirect ~^http://u:1/(.*)$ $scheme://$host/p/$1; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/q", "http://localhost/p/q"},
		{"first matching rule wins", `location /a/ { proxy_redirect http://other/ /o/; proxy_redirect ~^http://u:1/(.*) /one/$1; proxy_redirect http://u:1/ /two/; proxy_pass http://u:1/; }`,
			"/a/", "http://u:1/p", "/one/p"},
		{"default with a URI part", `location /app/ { proxy_pass http://u:1/in/; }`,
			"/app/", "http://u:1/in/p", "/app/p"},
		{"default leaves other URLs", `location /app/ { proxy_pass http://u:1/in/; }`,
			"/app/", "http://u:1/out/p", "http://u:1/out/p"},
		{"default without a URI part", `location /app/ { proxy_pass http://u:1; }`,
			"/app/", "http://u:1/p", "/p"},
		{"default with the default port left off", `location /app/ { proxy_pass http://u:80/in/; }`,
			"/app/", "http://u/in/p", "/app/p"},
		{"default in a regex location", `location ~ ^/re/ { proxy_pass http://u:1; }`,
			"/re/x", "http://u:1/p", "/p"},
		{"explicit default and a rule", `location /app/ { proxy_redirect http://x/ /x/; proxy_redirect default; proxy_pass http://u:1/in/; }`,
			"/app/", "http://u:1/in/p", "/app/p"},
		{"explicit rules replace the default", `location /app/ { proxy_redirect http://x/ /x/; proxy_pass http://u:1/in/; }`,
			"/app/", "http://u:1/in/p", "http://u:1/in/p"},
		{"no default with a variable proxy_pass", `location /app/ { set $u u:1; proxy_pass http://$u; }`,
			"/app/", "http://u:1/p", "http://u:1/p"},
		{"off", `location /app/ { proxy_redirect off; proxy_pass http://u:1/in/; }`,
			"/app/", "http://u:1/in/p", "http://u:1/in/p"},
		{"Refresh", `location /app/ { proxy_pass http://u:1/in/; }`,
			"/app/", "5; URL=http://u:1/in/p", "5; URL=/app/p"},
		{"Refresh with a regex rule", `location /a/ { proxy_redirect ~^http://u:1/(.*)$ /r/$1; proxy_pass http://u:1/; }`,
			"/a/", "0;url=http://u:1/p", "0;url=/r/p"},
		{"Refresh without url=", `location /a/ { proxy_redirect ~.* /r/; proxy_pass http://u:1/; }`,
			"/a/", "5", "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := one(tt.conf)
			mustLoad(t, tbl)
			d := tbl.Resolve(&routing.Request{Target: tt.target, Header: http.Header{}})
			if d.Action != routing.ActionProxy {
				t.Fatalf("not proxied:\n\t%s", describe(d))
			}
			var got string
			if c := tt.header[0]; c >= '0' && c <= '9' {
				got = d.RewriteRefresh(tt.header)
			} else {
				got = d.RewriteLocation(tt.header)
			}
			if got != tt.want {
				t.Errorf("%q -> %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

// TestRewriteLocationOnlyForProxiedRequests: a Decision that does not
// proxy has no upstream response to rewrite.
func TestRewriteLocationOnlyForProxiedRequests(t *testing.T) {
	tbl := one(`location /a/ { proxy_redirect ~.* /r/; return 204; }`)
	d := tbl.Resolve(&routing.Request{Target: "/a/"})
	if got := d.RewriteLocation("http://u/x"); got != "http://u/x" {
		t.Errorf("got %q", got)
	}
}
