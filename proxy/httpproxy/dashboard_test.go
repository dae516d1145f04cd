package httpproxy_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// TestDashboardSignOutThroughTheTunnel: the dashboard has a Sign out
// button only when it was opened through the tunnel with a session cookie
// (the cookie is HttpOnly: the script cannot tell), not locally and not
// with a Bearer key, which the gate tries first. The tunnel line is in
// every page, hidden until the script hears the tunnel's state.
func TestDashboardSignOutThroughTheTunnel(t *testing.T) {
	info := proxytest.Serve(t, map[string]string{"apps/a.conf": "location /a/ { return 200 a; }\n"},
		httpproxy.ServeOptions{TunnelGate: func(http.ResponseWriter, *http.Request) bool { return true }})
	session := &http.Cookie{Name: auth.CookieName, Value: "s3ss10n"}
	for _, tc := range []struct {
		name, addr, path string
		cookies          []*http.Cookie
		authorization    string
		signOut          bool
	}{
		{"local", info.Addr, "/devproxy/", nil, "", false},
		{"local with a cookie", info.Addr, "/devproxy/", []*http.Cookie{session}, "", false},
		{"tunnel with a session", info.TunnelAddr, "/devproxy/", []*http.Cookie{session}, "", true},
		{"tunnel with a session at /", info.TunnelAddr, "/", []*http.Cookie{{Name: "other", Value: "x"}, session}, "", true},
		{"tunnel with a Bearer key", info.TunnelAddr, "/devproxy/", []*http.Cookie{session}, "Bearer dvp_x", false},
		{"tunnel with another cookie", info.TunnelAddr, "/devproxy/", []*http.Cookie{{Name: "other", Value: "x"}}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+tc.addr+tc.path, nil)
			req.Header.Set("Accept", "text/html")
			for _, c := range tc.cookies {
				req.AddCookie(c)
			}
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			page := string(b)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Dev Tunnel Proxy") {
				t.Fatalf("%d %.80q, want the dashboard", resp.StatusCode, page)
			}
			if got := strings.Contains(page, `id="signout"`); got != tc.signOut {
				t.Errorf("Sign out button: %v, want %v", got, tc.signOut)
			}
			if !regexp.MustCompile(`<p id="tunnel"[^>]* hidden>`).MatchString(page) {
				t.Errorf("the tunnel line is missing or not hidden:\n%s", page)
			}
			// The page's CSP allows no inline script or style.
			if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|<style|\sstyle=|\son[a-z]+=`).MatchString(page) {
				t.Errorf("the page has inline script or style:\n%s", page)
			}
		})
	}
}
