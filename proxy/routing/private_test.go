package routing_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

func TestPrivateRoutesAreHiddenFromTheTunnel(t *testing.T) {
	cfg := routing.Config{Private: []string{"/admin/", "/internal"}}
	tbl := routing.Compose(cfg, []*routing.SourceFile{src("apps/a.conf", t0, `
location /admin/ { proxy_pass http://127.0.0.1:3000; }
location /internal { proxy_pass http://127.0.0.1:3001; }
location /app/ { proxy_pass http://127.0.0.1:3002; }
location ~* ^/shout/ { proxy_pass http://127.0.0.1:3003; }
location /old/ { rewrite ^/old/(.*)$ /admin/$1 last; }
`)}, nil)
	for _, c := range []struct {
		target       string
		local, tunnl string // actions
	}{
		{"/admin/", routing.ActionProxy, routing.ActionNone},
		{"/admin/users?id=1", routing.ActionProxy, routing.ActionNone},
		{"/admin", routing.ActionRedirect, routing.ActionNone}, // no redirect that reveals the route
		{"/ADMIN/x", routing.ActionNone, routing.ActionNone},
		{"/%61dmin/x", routing.ActionProxy, routing.ActionNone},
		{"/app/../admin/x", routing.ActionProxy, routing.ActionNone},
		{"/internal", routing.ActionProxy, routing.ActionNone},
		{"/internal-tools/x", routing.ActionProxy, routing.ActionNone},
		{"/old/x", routing.ActionProxy, routing.ActionNone}, // rewritten into /admin/
		{"/app/x", routing.ActionProxy, routing.ActionProxy},
		{"/administrator", routing.ActionNone, routing.ActionNone},
		{"/shout/admin/", routing.ActionProxy, routing.ActionProxy},
	} {
		local := tbl.Resolve(&routing.Request{Target: c.target})
		through := tbl.Explain(&routing.Request{Target: c.target, Tunnel: true})
		if local.Action != c.local || local.Private != "" {
			t.Errorf("%s locally: %s (private %q), want %s", c.target, local.Action, local.Private, c.local)
		}
		if through.Action != c.tunnl {
			t.Errorf("%s through the tunnel: %s, want %s", c.target, through.Action, c.tunnl)
		}
		if c.tunnl == routing.ActionNone && c.local != routing.ActionNone {
			if through.Status != http.StatusNotFound || through.Matched || through.Location != nil || through.Private == "" {
				t.Errorf("%s through the tunnel: %+v", c.target, through)
			}
			if tr := strings.Join(through.Trace, "\n"); !strings.Contains(tr, "is private") {
				t.Errorf("%s: the trace does not say it is private:\n%s", c.target, tr)
			}
		}
	}
}

func TestPrivatePrefix(t *testing.T) {
	cfg := routing.Config{Private: []string{"/admin/", "/x"}}
	for path, want := range map[string]string{
		"/admin/": "/admin/", "/admin": "/admin/", "/Admin/a": "/admin/", "/adminx": "", "/": "",
		"/x": "/x", "/xyz": "/x", "/y": "",
	} {
		if got := cfg.PrivatePrefix(path); got != want {
			t.Errorf("PrivatePrefix(%q) = %q, want %q", path, got, want)
		}
	}
	if got := (routing.Config{}).Over(cfg).Private; len(got) != 2 {
		t.Errorf("Over: %q", got)
	}
}
