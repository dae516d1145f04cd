package httpproxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

func status(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHealthz: /devproxy/healthz answers {"status":"ok"} on both
// listeners, with no credential, whatever else is served; --headless
// serves the routes and it, and none of the proxy's other pages.
func TestHealthz(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	defer up.Close()
	files := map[string]string{"apps/app.conf": "location /app/ { proxy_pass " + up.URL + "; }\n"}
	for _, headless := range []bool{false, true} {
		info := proxytest.Serve(t, files, httpproxy.ServeOptions{Headless: headless})
		for _, addr := range []string{info.Addr, info.TunnelAddr} {
			if code, body := status(t, addr, httpproxy.HealthzPath); code != 200 || body != "{\"status\":\"ok\"}\n" {
				t.Errorf("headless %v, %s: %d %q", headless, addr, code, body)
			}
			if code, body := status(t, addr, "/app/x"); code != 200 || body != "app" {
				t.Errorf("headless %v, the app's route: %d %q", headless, code, body)
			}
		}
		for _, page := range []string{"/", "/devproxy/", "/routes.json", "/devproxy/dashboard.js"} {
			code, _ := status(t, info.Addr, page)
			if headless && code != 404 || !headless && code != 200 {
				t.Errorf("headless %v: %s = %d", headless, page, code)
			}
		}
	}
}
