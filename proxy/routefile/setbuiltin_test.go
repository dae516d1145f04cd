package routefile_test

import (
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// TestSetOfBuiltinNames follows what nginx 1.22 accepts (checked with
// nginx -t, and against nginx in proxy/nginxdiff): set may override a
// variable of a prefix family ($http_x_user, $arg_id, $cookie_sid,
// $sent_http_x...), but not a built-in variable nginx defines by its full
// name ($host, $uri, and also $http_host, $http_user_agent,
// $sent_http_content_type...): nginx refuses those with "the duplicate
// variable". $args, $proxy_host and $proxy_port can be set in nginx, with
// effects devproxy does not implement, so they are accepted and ignored.
func TestSetOfBuiltinNames(t *testing.T) {
	tests := []struct {
		name string
		want string // "ok", "error" or "ignored"
	}{
		{"http_x_user", "ok"},
		{"HTTP_X_User", "ok"},
		{"http_", "ok"},
		{"http_connection", "ok"},
		{"arg_id", "ok"},
		{"cookie_sid", "ok"},
		{"sent_http_x_a", "ok"},
		{"upstream_http_x", "ok"},
		{"limit_rate", "ok"},
		{"my_var", "ok"},
		{"host", "error"},
		{"Host", "error"},
		{"uri", "error"},
		{"document_uri", "error"},
		{"request_uri", "error"},
		{"query_string", "error"},
		{"remote_addr", "error"},
		{"http_host", "error"},
		{"http_user_agent", "error"},
		{"http_cookie", "error"},
		{"http_x_forwarded_for", "error"},
		{"sent_http_content_type", "error"},
		{"status", "error"},
		{"request_time", "error"},
		{"args", "ignored"},
		{"proxy_host", "ignored"},
		{"proxy_port", "ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "location /x/ {\n    set $" + tt.name + " v;\n    proxy_pass http://127.0.0.1:1;\n}\n"
			f := parse(src)
			lower := strings.ToLower(tt.name)
			_, recorded := f.Locations[0].Sets[lower]
			switch tt.want {
			case "ok":
				if !f.OK || len(f.Diagnostics) != 0 || !recorded {
					t.Errorf("nginx accepts set $%s; devproxy must too (recorded %v):%s", tt.name, recorded, dump(f.Diagnostics))
				}
			case "error":
				errs := withCode(f.Diagnostics, routefile.CodeVariable)
				if f.OK || len(errs) != 1 || !strings.Contains(errs[0].Message, "built-in variable") || text(src, errs[0].Range) != "$"+tt.name {
					t.Errorf("nginx refuses set $%s; want one error on the name:%s", tt.name, dump(f.Diagnostics))
				}
			case "ignored":
				ign := withCode(f.Diagnostics, routefile.CodeIgnored)
				if !f.OK || len(ign) != 1 || ign[0].Severity != routefile.Warning || recorded {
					t.Errorf("set $%s: want the file to load with one accepted-but-ignored warning (recorded %v):%s", tt.name, recorded, dump(f.Diagnostics))
				}
			}
		})
	}
}
