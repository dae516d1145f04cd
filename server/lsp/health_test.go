package lsp

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// lastHealth is the newest devproxy/healthChanged the client received.
func lastHealth(ms []message) (monitor.Document, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].method == "devproxy/healthChanged" {
			var d monitor.Document
			json.Unmarshal(ms[i].params, &d)
			return d, true
		}
	}
	return monitor.Document{}, false
}

func routeStatus(d monitor.Document, route string) health.Status {
	for _, r := range d.Routes {
		if r.Route == route {
			return r.Status
		}
	}
	return ""
}

// TestHealthIsPushed: the hosted proxy probes its routes and pushes
// devproxy/healthChanged: a route whose upstream never ran is an error
// with the reason, a live one ok. devproxy/health answers the same, and
// devproxy/rescan probes on demand.
func TestHealthIsPushed(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") }))
	defer up.Close()
	dead := proxytest.FreeAddr(t)
	root := workspace(t, fmt.Sprintf("-- apps/a.conf --\nlocation /up/ { proxy_pass %s; }\nlocation /dead/ { proxy_pass http://%s; }\n", up.URL, dead))
	c := startWithProxy(t, root, proxytest.FreeAddr(t))
	waitStatus(t, c, "running")
	c.waitFor("devproxy/healthChanged with /up/ ok and /dead/ error", func(ms []message) bool {
		d, ok := lastHealth(ms)
		return ok && routeStatus(d, "/up/") == health.StatusOK && routeStatus(d, "/dead/") == health.StatusError
	})
	var doc monitor.Document
	if err := c.call("devproxy/health", map[string]any{}, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Source != monitor.SourceOwner || doc.Summary.OK != 1 || doc.Summary.Error != 1 {
		t.Fatalf("devproxy/health: %+v", doc)
	}
	validate(t, schema(t, "health.schema.json"), doc)
	for _, r := range doc.Routes {
		if r.Route == "/dead/" && r.Reason != "connection refused on "+dead {
			t.Errorf("reason %q", r.Reason)
		}
	}
	up.Close()
	if err := c.call("devproxy/rescan", map[string]any{"route": "/up/"}, &doc); err != nil {
		t.Fatal(err)
	}
	if s := routeStatus(doc, "/up/"); s != health.StatusError {
		t.Errorf("after the upstream stopped and a rescan, /up/ is %s", s)
	}
	if err := c.call("devproxy/rescan", map[string]any{"route": 5}, &doc); err == nil || !strings.Contains(err.Error(), "devproxy/rescan takes") {
		t.Errorf("bad params: %v", err)
	}
}

// TestHealthWithoutAProxy: with the proxy off, devproxy/health says so
// (source none, no routes) and devproxy/rescan explains why it cannot.
func TestHealthWithoutAProxy(t *testing.T) {
	root := workspace(t, "-- apps/a.conf --\nlocation /a/ { return 200; }\n")
	c, _ := start(t, root, map[string]any{"proxy": map[string]any{"enabled": false}})
	var doc monitor.Document
	if err := c.call("devproxy/health", map[string]any{}, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Source != monitor.SourceNone || len(doc.Routes) != 0 {
		t.Errorf("%+v", doc)
	}
	if err := c.call("devproxy/rescan", map[string]any{}, &doc); err == nil || !strings.Contains(err.Error(), "no proxy runs") {
		t.Errorf("rescan without a proxy: %v", err)
	}
}

// TestRouteMetrics: requests through the hosted proxy show in the route's
// traffic (devproxy/routeMetrics), and the answer matches its schema.
func TestRouteMetrics(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") }))
	defer up.Close()
	root := workspace(t, fmt.Sprintf("-- apps/a.conf --\nlocation /up/ { proxy_pass %s; }\n", up.URL))
	c := startWithProxy(t, root, proxytest.FreeAddr(t))
	st := waitStatus(t, c, "running")
	for range 3 {
		resp, err := http.Get(st.URL + "/up/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var raw json.RawMessage
	if err := c.call("devproxy/routeMetrics", map[string]any{"route": "/up/", "minutes": 5}, &raw); err != nil {
		t.Fatal(err)
	}
	validate(t, schema(t, "lsp-route-metrics.schema.json"), raw)
	var m struct {
		Route  string
		Points []struct{ Requests, Errors int }
	}
	json.Unmarshal(raw, &m)
	total := 0
	for _, p := range m.Points {
		total += p.Requests
	}
	if m.Route != "/up/" || total != 3 {
		t.Errorf("routeMetrics: %s", raw)
	}
	if err := c.call("devproxy/routeMetrics", map[string]any{}, &raw); err == nil {
		t.Error("routeMetrics without a route was answered")
	}
}
