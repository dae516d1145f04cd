package routing

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// fuzzTable exercises every kind of location and directive the matcher and
// the request evaluator handle.
const fuzzRoutes = `
location = /exact { return 200 "exact $uri $args"; }
location = /app { return 301 /app/; }
location ^~ /app/ { proxy_set_header Host $host; proxy_pass http://127.0.0.1:3000/; }
location /api/ { set $u 127.0.0.1:4000; rewrite ^/api/(.*)$ /$1 break; proxy_pass http://$u; }
location /v/ { set $u 127.0.0.1:4000; proxy_pass http://$u/inner/; }
location /old/ { rewrite ^/old/(.*)$ /new/$1 last; }
location /loop/ { rewrite ^ $uri last; }
location /r/ { rewrite ^/r/(.*)$ https://example.com/$1?x=1 permanent; }
location /q/ { rewrite ^/q/(.*)$ /new/?q=$1 last; }
location /new/ { proxy_pass http://127.0.0.1:5000; }
location ~ ^/re/(?<name>[^/]+)/(.*)$ { proxy_pass http://127.0.0.1:6000/c/$name/$2; }
location ~* \.(png|gif)$ { empty_gif; }
location /hdr/ { add_header X-A $arg_a always; proxy_set_header X-B "$http_x_b|$cookie_c"; proxy_pass http://127.0.0.1:7000; }
location / { return 404; }
`

func fuzzTable(t testing.TB) *RouteTable {
	f := routefile.Parse("apps/fuzz.conf", []byte(fuzzRoutes))
	if !f.OK {
		t.Fatalf("fuzz routes do not parse: %v", f.Diagnostics)
	}
	return Compose(Config{}, []*SourceFile{{Path: "apps/fuzz.conf", ModTime: time.Unix(1, 0), Parsed: f}}, nil)
}

// FuzzResolve feeds arbitrary request targets and headers to the matcher.
// It must never panic, and whatever it decides must be well formed: a
// known action, a status in range, and an upstream URI that starts with
// '/' and cannot split a request line.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/", "/app", "/app/x?y=1", "/api/a%20b", "/old/x/../../y", "/%2e%2e/",
		"/re/a/b?q", "//a//b", "/a/./b/.", "/loop/", "/x.PNG", "/q/z?a=1", "/hdr/?a=%0d%0a", "/v/%00", "/exact#frag",
		"http://host:1/app/", "https://h/old/x", "/r/%zz", "/\xff\xfe"} {
		f.Add(s, "x", "c=1")
	}
	tbl := fuzzTable(f)
	f.Fuzz(func(t *testing.T, target, xb, cookie string) {
		d := tbl.Explain(&Request{Target: target, Header: http.Header{"X-B": {xb}, "Cookie": {cookie}}})
		switch d.Action {
		case ActionProxy, ActionReturn, ActionRedirect, ActionReserved, ActionNone, ActionError:
		default:
			t.Fatalf("unknown action %q for %q", d.Action, target)
		}
		if d.Status < 100 || d.Status > 999 {
			t.Fatalf("status %d for %q", d.Status, target)
		}
		if d.Action == ActionProxy {
			if !strings.HasPrefix(d.UpstreamURI, "/") {
				t.Fatalf("upstream URI %q for %q does not start with /", d.UpstreamURI, target)
			}
			if strings.ContainsAny(d.UpstreamURI, " \r\n\x00") {
				t.Fatalf("upstream URI %q for %q would break the request line", d.UpstreamURI, target)
			}
		}
		if loc := d.ResponseHeaders["Location"]; strings.ContainsAny(loc, "\r\n") {
			t.Fatalf("Location %q for %q splits the header", loc, target)
		}
	})
}
