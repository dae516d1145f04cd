package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// startProxy serves a temp workspace holding files through the real proxy
// on 127.0.0.1:0 and returns its base URL and served table's info.
func startProxy(tb testing.TB, files map[string]string) httpproxy.ServeInfo {
	tb.Helper()
	return proxytest.Serve(tb, files, httpproxy.ServeOptions{})
}

// upstream serves h on a real loopback port.
func upstream(tb testing.TB, h http.HandlerFunc) string {
	tb.Helper()
	s := httptest.NewServer(h)
	tb.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// refusedAddr is a loopback address where nothing listens.
func refusedAddr(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func page(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

// app is a dev server at /PREFIX/: an HTML page that loads a script and a
// stylesheet, both served with the right types unless broken says which
// answers index.html instead (an SPA fallback).
func app(prefix, extraHead string, brokenScript bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, ".js") && !brokenScript:
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, "export {}\n")
		case strings.HasSuffix(r.URL.Path, "/@vite/client"):
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, "export {}\n")
		case strings.HasSuffix(r.URL.Path, ".css"):
			w.Header().Set("Content-Type", "text/css")
			fmt.Fprint(w, "body{}\n")
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><html><head>%s
<!-- <script src="/commented-out.js"></script> -->
<link rel="stylesheet" href="%sstyle.css">
<script type="module" src="%smain.js?v=1"></script>
<script src="https://cdn.example/x.js"></script>
</head><body><script>var s = "<script src='/not-a-tag.js'>";</script></body></html>`, extraHead, prefix, prefix)
		}
	}
}

func scan(tb testing.TB, info httpproxy.ServeInfo, opts Options, only ...string) *ScanReport {
	tb.Helper()
	s, err := New("http://"+info.Addr, opts)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	return s.Scan(context.Background(), info.Table, only...)
}

func byRoute(r *ScanReport) map[string]Report {
	m := map[string]Report{}
	for _, x := range r.Routes {
		if _, dup := m[x.Route]; !dup || x.Active {
			m[x.Route] = x
		}
	}
	return m
}

func TestScanClassifies(t *testing.T) {
	healthy := upstream(t, app("/ok/", "", false))
	down := refusedAddr(t)
	release := make(chan struct{})
	slow := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	htmlScript := upstream(t, app("/spa/", "", true))
	vite := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		app("/vite/", `<script type="module" src="/vite/@vite/client"></script>`, false)(w, r)
	})
	status := func(code int, loc string) string {
		return upstream(t, func(w http.ResponseWriter, r *http.Request) {
			if loc != "" {
				w.Header().Set("Location", loc)
			}
			w.WriteHeader(code)
		})
	}
	files := map[string]string{
		"apps/a.conf": fmt.Sprintf(`location /ok/ { proxy_pass http://%s; }
location /down/ { proxy_pass http://%s; }
location /down2/ { proxy_pass http://%s; }
location /slow/ { proxy_pass http://%s; }
location /spa/ { proxy_pass http://%s; }
location /vite/ { proxy_pass http://%s; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_set_header Host localhost; }
location /missing/ { proxy_pass http://%s; }
location /boom/ { proxy_pass http://%s; }
location /moved/ { proxy_pass http://%s; }
location /found/ { proxy_pass http://%s; }
location = /exact { return 200 "hi"; }
location ^~ /ok/ { return 200 duplicate; }
`, healthy, down, down, slow, htmlScript, vite, status(404, ""), status(500, ""), status(308, "/moved/x/"), status(302, "/elsewhere/")),
	}
	info := startProxy(t, files)
	// Registered last, so it runs first: the slow upstream answers before
	// the proxy drains and the upstreams close.
	t.Cleanup(func() { close(release) })
	rep := scan(t, info, Options{Timeout: time.Second, Concurrency: 4})
	got := byRoute(rep)
	want := []struct {
		route  string
		status Status
		reason string // a substring
	}{
		{"/ok/", StatusOK, ""},
		{"/down/", StatusError, "connection refused on " + down},
		{"/down2/", StatusError, "connection refused on " + down},
		{"/slow/", StatusWarning, "no answer within 1s"},
		{"/spa/", StatusWarning, "an HTML page where a script was expected"},
		{"/vite/", StatusWarning, "hot reload (vite): the WebSocket upgrade was refused with HTTP 400"},
		{"/missing/", StatusWarning, "HTTP 404"},
		{"/boom/", StatusError, "HTTP 500"},
		{"/moved/", StatusOK, ""},
		{"/found/", StatusWarning, "HTTP 302 Found: redirects to /elsewhere/"},
		{"/exact/", StatusOK, ""}, // an exact route's identity has the slash (spec §3)
	}
	for _, w := range want {
		r, ok := got[w.route]
		if !ok {
			t.Errorf("%s: no report", w.route)
			continue
		}
		if r.Status != w.status || !strings.Contains(r.Reason, w.reason) || (w.reason == "" && r.Reason != "") {
			t.Errorf("%s: %s %q, want %s %q", w.route, r.Status, r.Reason, w.status, w.reason)
		}
		if !r.Active || r.CheckedAt.IsZero() {
			t.Errorf("%s: active %v, checkedAt %v", w.route, r.Active, r.CheckedAt)
		}
	}
	// The healthy page's assets: the same-origin ones under its prefix,
	// not the commented-out one, the CDN's or the one inside a string.
	ok := got["/ok/"]
	var urls []string
	for _, a := range ok.Assets {
		urls = append(urls, a.URL)
		if !a.OK {
			t.Errorf("/ok/ asset %s failed: %s", a.URL, a.Reason)
		}
	}
	if strings.Join(urls, " ") != "/ok/style.css /ok/main.js?v=1" {
		t.Errorf("/ok/ assets %v", urls)
	}
	if ok.HMR != nil {
		t.Errorf("/ok/ shows no framework, yet hmr %+v", ok.HMR)
	}
	if ok.Upstream != "http://"+healthy || ok.HTTPStatus != 200 || ok.LatencyMs <= 0 {
		t.Errorf("/ok/: %+v", ok)
	}
	if v := got["/vite/"]; v.HMR == nil || v.HMR.URL != "ws://"+info.Addr+"/vite/" {
		t.Errorf("/vite/ hmr %+v", v.HMR)
	}
	// The inactive duplicate is reported with its config state, unprobed.
	var inactive int
	for _, r := range rep.Routes {
		if !r.Active {
			inactive++
			if r.Status != StatusUnknown || r.InactiveCode == nil {
				t.Errorf("inactive %s:%d: %+v", r.File, r.Line, r)
			}
		}
	}
	if inactive != 1 {
		t.Errorf("%d inactive reports, want 1", inactive)
	}
	// One upstream, two routes, one failure said once.
	for _, u := range rep.Upstreams {
		if u.Upstream == "http://"+down && (len(u.Routes) != 2 || u.Status != StatusError) {
			t.Errorf("upstream %+v", u)
		}
	}
	if rep.AllOK() {
		t.Error("AllOK with failing routes")
	}
}

// A Vite page whose upgrade succeeds (with the vite-hmr subprotocol) is ok.
func TestScanViteHMROK(t *testing.T) {
	up := websocket.Upgrader{Subprotocols: []string{"vite-hmr"}, CheckOrigin: func(*http.Request) bool { return true }}
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			if !strings.Contains(r.Header.Get("Sec-WebSocket-Protocol"), "vite-hmr") {
				http.Error(w, "no protocol", http.StatusBadRequest)
				return
			}
			c, err := up.Upgrade(w, r, nil)
			if err == nil {
				c.Close()
			}
			return
		}
		app("/v/", `<script type="module" src="/v/@vite/client"></script>`, false)(w, r)
	})
	info := startProxy(t, map[string]string{"apps/v.conf": fmt.Sprintf("location /v/ { proxy_pass http://%s; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\"; proxy_set_header Host localhost; }\n", addr)})
	r := byRoute(scan(t, info, Options{Timeout: 2 * time.Second}))["/v/"]
	if r.Status != StatusOK || r.HMR == nil || !r.HMR.OK {
		t.Fatalf("%+v hmr %+v", r, r.HMR)
	}
}

func TestScanOnly(t *testing.T) {
	info := startProxy(t, map[string]string{"apps/a.conf": "location /a/ { return 200; }\nlocation /b/ { return 500; }\n"})
	rep := scan(t, info, Options{}, "/a/")
	if len(rep.Routes) != 1 || rep.Routes[0].Route != "/a/" || !rep.AllOK() {
		t.Fatalf("%+v", rep.Routes)
	}
}
