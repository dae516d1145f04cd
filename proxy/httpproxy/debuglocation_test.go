package httpproxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// TestLocationHeaderOnRequest: a request from this machine that asks with
// X-Devproxy-Debug: location learns which location answered it (proxied,
// returned, or none); without the request header, and through the tunnel,
// answers carry no such header.
func TestLocationHeaderOnRequest(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") }))
	defer up.Close()
	info := proxytest.Serve(t, map[string]string{
		"apps/web.conf": "location /web/ { proxy_pass " + up.URL + "; }\nlocation ^~ /web/static/ { return 204; }\n",
	}, httpproxy.ServeOptions{})
	get := func(addr, path string, debug bool) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if debug {
			req.Header.Set(httpproxy.DebugHeader, "location")
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		v, ok := resp.Header[httpproxy.LocationHeader]
		if !ok {
			return "(absent)"
		}
		return v[0]
	}
	for _, c := range []struct {
		addr, path string
		debug      bool
		want       string
	}{
		{info.Addr, "/web/x", true, "apps/web.conf:1 /web/"},
		{info.Addr, "/web/static/a.js", true, "apps/web.conf:2 ^~ /web/static/"},
		{info.Addr, "/nothing", true, "none"},
		{info.Addr, "/web/x", false, "(absent)"},
		{info.TunnelAddr, "/web/x", true, "(absent)"},
	} {
		if got := get(c.addr, c.path, c.debug); got != c.want {
			t.Errorf("%s (debug %v, tunnel %v): %s = %q, want %q", c.path, c.debug, c.addr == info.TunnelAddr, httpproxy.LocationHeader, got, c.want)
		}
	}
}
