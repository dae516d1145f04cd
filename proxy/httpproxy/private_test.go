package httpproxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// TestPrivateRoutesThroughTheTunnel runs the real proxy with a private
// route: the local listener serves it from the upstream; through the tunnel
// listener it is the same 404 as a path no route serves (status, headers,
// body with the path swapped), and the upstream never sees the request.
func TestPrivateRoutesThroughTheTunnel(t *testing.T) {
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "admin "+r.URL.Path)
	}))
	defer up.Close()
	info := proxytest.Serve(t, map[string]string{
		"devproxy.json": `{"private": ["/admin/"]}`,
		"apps/app.conf": "location /admin/ { proxy_pass " + up.URL + "; }\nlocation /app/ { proxy_pass " + up.URL + "; }\n",
	}, httpproxy.ServeOptions{})

	get := func(addr, path, accept string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	if resp, body := get(info.Addr, "/admin/users", ""); resp.StatusCode != 200 || body != "admin /admin/users" {
		t.Fatalf("locally: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(info.TunnelAddr, "/app/x", ""); resp.StatusCode != 200 || body != "admin /app/x" {
		t.Fatalf("a public route through the tunnel: %d %q", resp.StatusCode, body)
	}
	before := hits.Load()
	for _, accept := range []string{"", "text/html,application/xhtml+xml,*/*;q=0.8"} {
		for _, path := range []string{"/admin/users", "/admin", "/Admin/users", "/%61dmin/users"} {
			resp, body := get(info.TunnelAddr, path, accept)
			unknownResp, unknown := get(info.TunnelAddr, "/nothing/users", accept)
			norm := "/admin/users"
			if path == "/admin" {
				norm = "/admin"
			} else if path == "/Admin/users" {
				norm = "/Admin/users"
			}
			want := strings.ReplaceAll(unknown, "/nothing/users", norm)
			if resp.StatusCode != http.StatusNotFound || body != want {
				t.Errorf("%s through the tunnel (Accept %q): %d\n%s\nwant the answer for an unknown path:\n%s", path, accept, resp.StatusCode, body, want)
			}
			if got, want := headerNames(resp.Header), headerNames(unknownResp.Header); !slices.Equal(got, want) {
				t.Errorf("%s: headers %q, for an unknown path %q", path, got, want)
			}
			for _, k := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options"} {
				if resp.Header.Get(k) != unknownResp.Header.Get(k) {
					t.Errorf("%s: %s %q, for an unknown path %q", path, k, resp.Header.Get(k), unknownResp.Header.Get(k))
				}
			}
		}
	}
	if n := hits.Load() - before; n != 0 {
		t.Errorf("the upstream saw %d requests for the private route through the tunnel", n)
	}
}

func headerNames(h http.Header) []string {
	var names []string
	for k := range h {
		if k != "Date" && k != "Content-Length" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}
