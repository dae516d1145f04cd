// Package demo holds the workspace `make run` serves; this test keeps it
// doing what the README says: a prefix strip, a rewrite and a pinned
// conflict, without errors.
package demo

import (
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

func TestDemoWorkspace(t *testing.T) {
	ws, err := routing.NewWorkspace(".")
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.Table()
	if n := tbl.ErrorCount(); n != 0 {
		t.Fatalf("the demo has %d errors: %v", n, tbl.Diagnostics)
	}
	for _, d := range tbl.Diagnostics {
		// /web/ passes the HMR socket: it must forward the browser's Host,
		// or the dev server refuses the browser's Origin (issue 10).
		if d.Code == routefile.CodeWebSocketHost {
			t.Errorf("%s:%d: %s", d.File, d.Range.Start.Line, d.Message)
		}
	}
	if len(tbl.Conflicts) != 1 || tbl.Conflicts[0].Route != "/api/" || tbl.Conflicts[0].Winner.Path != "apps/api.conf" {
		t.Fatalf("want /api/ contested and pinned to apps/api.conf, got %+v", tbl.Conflicts)
	}
	for _, c := range []struct {
		target, action, upstream, uri, location string
	}{
		{"/web", routing.ActionRedirect, "", "", "/web/"},
		{"/web/__hmr", routing.ActionProxy, "http://127.0.0.1:5173", "/__hmr", ""},
		{"/web/index.html", routing.ActionProxy, "http://127.0.0.1:5173", "/index.html", ""},
		{"/api/users?page=2", routing.ActionProxy, "http://127.0.0.1:5174", "/users?page=2", ""},
	} {
		d := tbl.Explain(&routing.Request{Target: c.target})
		if d.Action != c.action || d.Upstream != c.upstream || d.UpstreamURI != c.uri || d.ResponseHeaders["Location"] != c.location {
			t.Errorf("%s: %s %s %s Location %q; trace %v", c.target, d.Action, d.Upstream, d.UpstreamURI, d.ResponseHeaders["Location"], d.Trace)
		}
	}
}
