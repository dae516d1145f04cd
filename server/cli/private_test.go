package cli_test

import (
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/devtunnelproxy/devproxy/server/cli"
)

// TestExplainPrivateRoute: `devproxy explain --tunnel` shows a private
// route as the 404 it is through the tunnel, and says why; without
// --tunnel the route is explained as served.
func TestExplainPrivateRoute(t *testing.T) {
	root := writeArchive(t, txtar.Parse([]byte(`
-- devproxy.json --
{"private": ["/admin/"]}
-- apps/app.conf --
location /admin/ { proxy_pass http://127.0.0.1:3000; }
`)), nil)
	doc, code, stderr := runExplainDoc(t, cli.ExplainOptions{Root: root, Target: "/admin/users", Tunnel: true})
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if doc["action"] != "none" || doc["status"] != float64(404) || doc["matched"] != false || doc["location"] != nil {
		t.Errorf("through the tunnel: %v", doc)
	}
	trace, _ := doc["trace"].([]any)
	if len(trace) == 0 || !strings.Contains(trace[len(trace)-1].(string), `is private (devproxy.json "private": "/admin/")`) {
		t.Errorf("the trace does not say the route is private: %q", trace)
	}
	doc, _, _ = runExplainDoc(t, cli.ExplainOptions{Root: root, Target: "/admin/users"})
	if doc["action"] != "proxy" || doc["status"] != float64(200) {
		t.Errorf("locally: %v", doc)
	}
}
