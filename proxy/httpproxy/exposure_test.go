package httpproxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Tests for what the proxy exposes: identity headers from the internet,
// the route table to other web pages, the proxy to DNS-rebinding pages,
// and request content in error bodies.

// TestTunnelCannotClaimAnIdentity: through the tunnel listener, a client's
// own X-Forwarded-*, Forwarded and X-Real-IP never reach the app; the
// address the tunnel agent appended does, and a route file's own
// proxy_set_header still wins.
func TestTunnelCannotClaimAnIdentity(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{"apps/a.conf": fmt.Sprintf(`
location /plain/ { proxy_pass http://%[1]s/; }
location /own/ { proxy_set_header X-Real-IP "from-route-file"; proxy_pass http://%[1]s/; }
`, up)})
	spoof := map[string]string{
		"X-Forwarded-For":    "127.0.0.1, 203.0.113.7", // the client's claim, then what the agent appended
		"X-Real-IP":          "127.0.0.1",
		"Forwarded":          "for=127.0.0.1;proto=http",
		"X-Forwarded-Prefix": "/admin",
		"X-Forwarded-Host":   "localhost",
		"X-Forwarded-Proto":  "http",
		"X-Forwarded-Port":   "80",
	}
	get := func(base, path string) seen {
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range spoof {
			req.Header.Set(k, v)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return decodeSeen(t, string(b))
	}
	s := get(r.tunnelAddr, "/plain/x")
	want := map[string]string{
		"X-Forwarded-For":    "203.0.113.7",
		"X-Forwarded-Prefix": "/plain", // devproxy's own: the prefix it stripped
		"X-Forwarded-Proto":  "https",
		"X-Forwarded-Host":   strings.TrimPrefix(r.tunnelAddr, "http://"),
	}
	for k, v := range want {
		if got := strings.Join(s.Header[k], ", "); got != v {
			t.Errorf("through the tunnel, the app got %s %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"X-Real-Ip", "Forwarded", "X-Forwarded-Port"} {
		if v, ok := s.Header[k]; ok {
			t.Errorf("through the tunnel, the client's %s %q reached the app", k, v)
		}
	}
	if got := get(r.tunnelAddr, "/own/x").Header["X-Real-Ip"]; len(got) != 1 || got[0] != "from-route-file" {
		t.Errorf("through the tunnel, the route file's own X-Real-IP became %q", got)
	}
	// The local listener keeps nginx's behaviour: the client's headers
	// pass, and X-Forwarded-For gets the client's address appended.
	s = get(r.addr, "/plain/x")
	if got := strings.Join(s.Header["X-Forwarded-For"], ", "); got != "127.0.0.1, 203.0.113.7, 127.0.0.1" {
		t.Errorf("locally, X-Forwarded-For %q, want the client's list plus 127.0.0.1", got)
	}
}

// TestRoutesJSONIsNotReadableByOtherSites: no CORS header, so a page the
// developer visits cannot read the route table.
func TestRoutesJSONIsNotReadableByOtherSites(t *testing.T) {
	r := startServe(t, map[string]string{"apps/a.conf": "location /a/ { return 200 a; }\n"})
	resp, _ := r.do(t, "GET", "/routes.json", nil, map[string]string{"Origin": "https://evil.example"})
	if resp.StatusCode != 200 {
		t.Fatalf("/routes.json: %d", resp.StatusCode)
	}
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("/routes.json sends %s: %q", k, resp.Header.Get(k))
		}
	}
}

// TestOnlyKnownHostsAreServedLocally: a DNS-rebinding page sends its own
// name as Host; the local listener refuses it for the proxy's pages and
// for app traffic, unless devproxy.json allows it.
func TestOnlyKnownHostsAreServedLocally(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{
		"apps/a.conf":   fmt.Sprintf("location /a/ { proxy_pass http://%s/; }\n", up),
		"devproxy.json": `{"allowedHosts": ["dev.example.com", ".team.example"], "tunnel": {"publicUrl": "https://abc.ngrok.app"}}`,
	})
	for _, c := range []struct {
		host string
		ok   bool
	}{
		{"localhost", true},
		{"LOCALHOST:8080", true},
		{"app.localhost", true},
		{"127.0.0.1", true},
		{"127.0.0.2:9", true},
		{"[::1]:8080", true},
		{"dev.example.com", true},
		{"team.example", true},
		{"a.b.team.example", true},
		{"abc.ngrok.app", true},
		{"evil.example", false},
		{"localhost.evil.example", false},
		{"example.com", false},
		{"10.0.0.1", false}, // the proxy listens on loopback only
		{"dev.example.com.evil", false},
	} {
		for _, path := range []string{"/a/x", "/routes.json", "/"} {
			resp, body := r.do(t, "GET", path, nil, map[string]string{"Host": c.host})
			if got := resp.StatusCode != http.StatusForbidden; got != c.ok {
				t.Errorf("Host %q, GET %s: %d %.80q, want allowed=%v", c.host, path, resp.StatusCode, body, c.ok)
			}
			if !c.ok && strings.Contains(body, c.host) {
				t.Errorf("Host %q: the refusal echoes the host: %q", c.host, body)
			}
		}
	}
	// Through the tunnel, app traffic carries the public name.
	req, _ := http.NewRequest("GET", r.tunnelAddr+"/a/x", nil)
	req.Host = "whatever.ngrok.app"
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("app traffic through the tunnel with its public Host: %d, want 200", resp.StatusCode)
	}
}

// TestErrorBodiesDoNotEchoTheRequest: a refused request's answer never
// repeats its headers, cookies or malformed bytes.
func TestErrorBodiesDoNotEchoTheRequest(t *testing.T) {
	s := startHostileSite(t)
	const secret = "hunter2-secret"
	for _, payload := range []string{
		"GET /ok HTTP/1.1\r\nHost: localhost\r\nCookie: s=" + secret + "\r\nAuthorization: a\r\nAuthorization: " + secret + "\r\n\r\n",
		"GET /ok HTTP/1.1\r\nHost: localhost\r\nCookie: s=" + secret + "\r\nX-Bad: " + secret + "\x01\r\n\r\n",
		"GET /ok HTTP/1.1\r\nHost: localhost\r\nCookie: s=" + secret + "\r\n " + secret + "\r\n\r\n",
		"GET /" + secret + "\x7f HTTP/1.1\r\nHost: localhost\r\nCookie: s=" + secret + "\r\n\r\n",
		"GET /ok HTTP/1.1\r\nHost: " + secret + "..x\r\nCookie: s=" + secret + "\r\n\r\n",
		"POST /echo/ HTTP/1.1\r\nHost: localhost\r\nCookie: s=" + secret + "\r\nContent-Length: " + secret + "\r\n\r\n",
		"GET /ok HTTP/2.0\r\nHost: localhost\r\nCookie: s=" + secret + "\r\n\r\n",
		"GET /../" + secret + " HTTP/1.1\r\nHost: localhost\r\nCookie: s=" + secret + "\r\n\r\n",
	} {
		r := s.sendRaw(t, payload, false)
		if r.status < 400 {
			t.Errorf("%q: %v, want a refusal", payload, r)
		}
		if strings.Contains(r.body, secret) {
			t.Errorf("%q: the error body repeats request content: %q", payload, r.body)
		}
	}
}
