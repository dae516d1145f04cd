package wsrpc

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWriteError: the defaults, a header added (join's 401) and one
// replaced (proxy/node's Cache-Control), and the body every user
// decodes.
func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
		want   http.Header
	}{
		{"defaults", nil, http.Header{"Cache-Control": {"no-store"}}},
		{"added", http.Header{"Www-Authenticate": {`Bearer realm="devproxy"`}},
			http.Header{"Cache-Control": {"no-store"}, "Www-Authenticate": {`Bearer realm="devproxy"`}}},
		{"replaced", http.Header{"Cache-Control": {"no-cache, no-store, must-revalidate"}},
			http.Header{"Cache-Control": {"no-cache, no-store, must-revalidate"}}},
	} {
		rec := httptest.NewRecorder()
		WriteError(rec, http.StatusUnauthorized, "Send the token.", tc.header)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d", tc.name, rec.Code)
		}
		tc.want.Set("Content-Type", "application/json")
		tc.want.Set("X-Content-Type-Options", "nosniff")
		for k := range tc.want {
			if got, want := strings.Join(rec.Header().Values(k), ", "), strings.Join(tc.want.Values(k), ", "); got != want {
				t.Errorf("%s: %s: %q, want %q", tc.name, k, got, want)
			}
		}
		if len(rec.Header()) != len(tc.want) {
			t.Errorf("%s: headers %v, want %v", tc.name, rec.Header(), tc.want)
		}
		if got, want := rec.Body.String(), `{"error":"Unauthorized","message":"Send the token.","status":401}`+"\n"; got != want {
			t.Errorf("%s: body %q, want %q", tc.name, got, want)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, want := range map[string]string{
		"localhost:8080":   "",
		"127.0.0.1:8080":   "",
		"127.1.2.3:8080":   "",
		"[::1]:8080":       "",
		"10.0.0.1:8080":    "join: 10.0.0.1:8080 is not a loopback address; members join only on this machine",
		"example.com:8080": "join: example.com:8080 is not a loopback address; members join only on this machine",
		"localhost":        `join: "localhost" is not host:port: address localhost: missing port in address`,
	} {
		err := CheckLoopback("join", addr, "members join")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
}
