package routing_test

import (
	"net/http"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestSetOverridesBuiltin: as in nginx, a set of a prefix-family variable
// gives it the set value in that block; elsewhere it keeps reading the
// request. proxy/nginxdiff holds the same cases against real nginx.
func TestSetOverridesBuiltin(t *testing.T) {
	const text = "location /over/ {\n" +
		"    set $http_x_user admin;\n" +
		"    set $arg_id 42;\n" +
		"    set $cookie_sid s1;\n" +
		"    proxy_set_header X-User $http_x_user;\n" +
		"    proxy_set_header X-Id $arg_id;\n" +
		"    proxy_set_header X-Sid $cookie_sid;\n" +
		"    proxy_pass http://127.0.0.1:1;\n" +
		"}\n" +
		"location /plain/ {\n" +
		"    proxy_set_header X-User $http_x_user;\n" +
		"    proxy_set_header X-Id $arg_id;\n" +
		"    proxy_set_header X-Sid $cookie_sid;\n" +
		"    proxy_pass http://127.0.0.1:1;\n" +
		"}\n"
	tbl := one(text)
	mustLoad(t, tbl)
	hdr := http.Header{"X-User": {"bob"}, "Cookie": {"sid=real"}}
	for _, tt := range []struct {
		target, user, id, sid string
	}{
		{"/over/a?id=7", "admin", "42", "s1"},
		{"/plain/a?id=7", "bob", "7", "real"},
	} {
		d := tbl.Explain(&routing.Request{Target: tt.target, Header: hdr})
		if d.Action != routing.ActionProxy {
			t.Fatalf("%s:\n\t%s", tt.target, describe(d))
		}
		for h, want := range map[string]string{"X-User": tt.user, "X-Id": tt.id, "X-Sid": tt.sid} {
			if got := d.UpstreamHeaders[h]; got != want {
				t.Errorf("%s: %s = %q, want %q", tt.target, h, got, want)
			}
		}
	}
}
