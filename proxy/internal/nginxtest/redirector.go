package nginxtest

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// Request headers that tell the redirector what to answer. Both proxies
// pass them to the upstream unchanged.
const (
	WantLocation = "X-Want-Location"
	WantRefresh  = "X-Want-Refresh"
)

// StartRedirector starts an upstream that answers every request with 302
// and the Location and Refresh headers the request names in
// X-Want-Location and X-Want-Refresh, byte for byte, so that a test can
// put any upstream redirect in front of proxy_redirect.
func StartRedirector(t testing.TB) (addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(WantLocation); v != "" {
			w.Header()["Location"] = []string{v}
		}
		if v := r.Header.Get(WantRefresh); v != "" {
			w.Header()["Refresh"] = []string{v}
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusFound)
		w.Write([]byte("redirector\n"))
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
