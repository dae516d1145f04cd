package httpproxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// browserAccept is what Chromium sends for a navigation.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

func TestPrefersHTML(t *testing.T) {
	for _, tt := range []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"*/*", false},
		{"application/json", false},
		{browserAccept, true},
		{"text/html", true},
		{"TEXT/HTML; q=0.5, application/json;q=0.4", true},
		{"text/html;q=0.5, application/json", false},
		{"text/html, application/json", false}, // a tie keeps JSON
		{"text/html;q=0", false},
		{"application/*;q=0.9, text/html", true},
	} {
		h := &requestHead{}
		if tt.accept != "" {
			h.Fields = []headerField{{"accept", tt.accept}}
		}
		if got := prefersHTML(h); got != tt.want {
			t.Errorf("prefersHTML(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}

// A request that a route file with errors would have taken is told so,
// in JSON and in the browser's page.
func TestBrokenFile404SaysWhy(t *testing.T) {
	r := startServe(t, map[string]string{
		"apps/ok.conf":     "location /ok/ { return 204; }\n",
		"apps/broken.conf": "location /broken/ {\n  proxy_pass http://127.0.0.1:1/;\n  bogus on;\n}\n",
	})
	resp, body := r.get(t, "/broken/x")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404: %s", resp.StatusCode, body)
	}
	var e ErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	const want = "apps/broken.conf:1 would take /broken/x but has errors: "
	if !strings.HasPrefix(e.Message, want) || len(e.Message) == len(want) {
		t.Errorf("message %q, want %q and the first error", e.Message, want)
	}
	resp, body = r.do(t, "GET", "/broken/x", nil, map[string]string{"Accept": browserAccept})
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "apps/broken.conf:1 would take /broken/x but has errors") {
		t.Errorf("browser: %d %s", resp.StatusCode, body)
	}
	// Elsewhere, the plain answer.
	if _, body := r.get(t, "/nothing"); !strings.Contains(body, "No route matches /nothing.") {
		t.Errorf("/nothing: %s", body)
	}
}

// The proxy's own errors are a small HTML page for a browser's
// navigation, with the same status and headers, and JSON as before for
// everyone else.
func TestErrorPagesForBrowsers(t *testing.T) {
	down := closedPort(t)
	r := startServe(t, map[string]string{
		"apps/a.conf": fmt.Sprintf("location /down/ { proxy_pass http://%s/; }\nlocation /small/ { client_max_body_size 10; proxy_pass http://%s/; }\n", down, down),
	})
	const secret = "hunter2-secret"
	for _, tt := range []struct {
		method, path string
		body         string
		status       int
		reason       string
	}{
		{"GET", "/none/%3Cscript%3E", "", 404, "No route matches /none/&lt;script&gt;."},
		{"GET", "/down/x", "", 503, "not currently running"},
		{"POST", "/small/x", strings.Repeat("x", 100), 413, "client_max_body_size"},
	} {
		hdr := map[string]string{"Accept": browserAccept, "Cookie": "s=" + secret, "X-Token": secret}
		resp, body := r.do(t, tt.method, tt.path, strings.NewReader(tt.body), hdr)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tt.path, ct)
		}
		if resp.Header.Get("Cache-Control") != noCache || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", tt.path, resp.Header)
		}
		for _, want := range []string{tt.reason, `href="/"`, `href="/devproxy/"`, fmt.Sprint(tt.status)} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %q:\n%s", tt.path, want, body)
			}
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, secret) {
			t.Errorf("%s: page repeats the request unescaped:\n%s", tt.path, body)
		}
		// Without a browser's Accept: JSON, as before.
		resp, body = r.do(t, tt.method, tt.path, strings.NewReader(tt.body), map[string]string{"Accept": "*/*"})
		var e ErrorBody
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Status != tt.status || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with */*: %d %q %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

func TestRoutesJSONIsIndentedForBrowsers(t *testing.T) {
	r := startServe(t, map[string]string{"apps/a.conf": "location /a/ { return 204; }\n"})
	_, compact := r.get(t, "/routes.json")
	_, pretty := r.do(t, "GET", "/routes.json", nil, map[string]string{"Accept": browserAccept})
	if strings.Count(strings.TrimSpace(compact), "\n") != 0 {
		t.Errorf("compact /routes.json has several lines")
	}
	if !strings.Contains(pretty, "\n  \"") {
		t.Errorf("/routes.json for a browser is not indented:\n%.300s", pretty)
	}
	var a, b map[string]any
	if json.Unmarshal([]byte(compact), &a) != nil || json.Unmarshal([]byte(pretty), &b) != nil {
		t.Fatal("not JSON")
	}
	if len(a) != len(b) {
		t.Errorf("the two forms differ: %d and %d fields", len(a), len(b))
	}
}
