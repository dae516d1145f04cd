package httpproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// accessLogOf collects access-log entries.
type accessLogOf struct {
	mu      sync.Mutex
	entries []AccessEntry
}

func (l *accessLogOf) add(e AccessEntry) {
	l.mu.Lock()
	l.entries = append(l.entries, e)
	l.mu.Unlock()
}

// wait returns the entry for path once it is logged.
func (l *accessLogOf) wait(t *testing.T, path string) AccessEntry {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		for _, e := range l.entries {
			if e.Path == path {
				l.mu.Unlock()
				return e
			}
		}
		l.mu.Unlock()
	}
	t.Fatalf("no access-log entry for %s", path)
	return AccessEntry{}
}

func TestAccessLog(t *testing.T) {
	up := echoUpstream(t)
	down := closedPort(t)
	slow := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) }))
	var log accessLogOf
	r := startServe(t, map[string]string{
		"apps/a.conf": fmt.Sprintf("location /api/ { proxy_pass http://%s; }\nlocation /down/ { proxy_pass http://%s; }\nlocation /slow/ { proxy_read_timeout 200ms; proxy_pass http://%s; }\n", up, down, slow),
	}, func(o *ServeOptions) { o.AccessLog = log.add })

	const secret = "hunter2-secret"
	resp, body := r.do(t, "GET", "/api/users?token="+secret, nil, map[string]string{"Cookie": "s=" + secret})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	e := log.wait(t, "/api/users?…")
	if e.Method != "GET" || e.Route != "apps/a.conf:1" || e.Upstream != "http://"+up || e.Status != 200 ||
		e.Bytes != int64(len(body)) || e.Duration <= 0 || e.Reason != "" || e.Tunnel {
		t.Errorf("entry %+v (body %d bytes)", e, len(body))
	}
	if strings.Contains(fmt.Sprintf("%+v", e), secret) {
		t.Errorf("entry carries the query or a cookie: %+v", e)
	}

	r.get(t, "/down/x")
	if e := log.wait(t, "/down/x"); e.Status != 503 || e.Reason != "connection refused on "+down {
		t.Errorf("503 entry %+v", e)
	}
	r.get(t, "/slow/x")
	if e := log.wait(t, "/slow/x"); e.Status != 504 || e.Reason != "no answer within 200ms (proxy_read_timeout)" {
		t.Errorf("504 entry %+v", e)
	}
	r.get(t, "/nothing")
	if e := log.wait(t, "/nothing"); e.Status != 404 || e.Route != "" || e.Upstream != "" {
		t.Errorf("404 entry %+v", e)
	}
}

func TestAccessLogFormats(t *testing.T) {
	e := AccessEntry{Method: "GET", Path: "/api/users", Route: "apps/api.conf:3", Upstream: "http://127.0.0.1:4000",
		Status: 200, Duration: 3200 * time.Microsecond, Bytes: 512}
	var text bytes.Buffer
	LogAccess(slog.New(NewAccessTextHandler(&text, nil)))(e)
	line := text.String()[len("15:04:05 "):]
	const want = "GET    /api/users               → apps/api.conf:3      http://127.0.0.1:4000  200    3.2ms   512B\n"
	if line != want {
		t.Errorf("text line\n%q, want\n%q", line, want)
	}

	text.Reset()
	e = AccessEntry{Method: "GET", Path: "/down/\x1b[31m", Route: "apps/a.conf:2", Upstream: "http://127.0.0.1:5999",
		Status: 503, Duration: time.Millisecond, Reason: "connection refused on 127.0.0.1:5999"}
	LogAccess(slog.New(NewAccessTextHandler(&text, nil)))(e)
	if !strings.HasSuffix(text.String(), "  connection refused on 127.0.0.1:5999\n") || strings.Contains(text.String(), "\x1b") {
		t.Errorf("error line %q", text.String())
	}

	var js bytes.Buffer
	LogAccess(slog.New(slog.NewJSONHandler(&js, nil)))(e)
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"msg": "request", "level": "INFO", "method": "GET", "route": "apps/a.conf:2",
		"upstream": "http://127.0.0.1:5999", "status": 503.0, "duration_ms": 1.0, "bytes": 0.0, "reason": "connection refused on 127.0.0.1:5999"} {
		if m[k] != v {
			t.Errorf("json %s = %v, want %v (%s)", k, m[k], v, js.String())
		}
	}
}

func TestLoggedPath(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b":                         "/a/b",
		"/a?token=x":                   "/a?…",
		"/?":                           "/?…",
		"http://example.test/p?q=1":    "/p?…",
		"http://example.test":          "/",
		"http://example.test?x":        "?…", // not a valid target anyway
		"/" + strings.Repeat("a", 300): "/" + strings.Repeat("a", 255) + "…",
	} {
		if got := loggedPath(in); got != want {
			t.Errorf("loggedPath(%.40q) = %.40q, want %.40q", in, got, want)
		}
	}
}

// TestProbesAreMarked: a request with the proxy's probe token is the
// health scanner's (Probe); a wrong token is real traffic like any other.
// Entries name the route identity the health reports use (Location).
func TestProbesAreMarked(t *testing.T) {
	up := echoUpstream(t)
	var log accessLogOf
	r := startServe(t, map[string]string{"apps/a.conf": "location /api/ { proxy_pass http://" + up + "; }\n"},
		func(o *ServeOptions) { o.AccessLog = log.add })
	r.do(t, "GET", "/api/probe", nil, map[string]string{ProbeHeader: r.proxy.ProbeToken()})
	r.do(t, "GET", "/api/forged", nil, map[string]string{ProbeHeader: "guess"})
	if e := log.wait(t, "/api/probe"); !e.Probe || e.Location != "/api/" {
		t.Errorf("probe: %+v", e)
	}
	if e := log.wait(t, "/api/forged"); e.Probe {
		t.Errorf("a wrong token counts as a probe: %+v", e)
	}
	if len(r.proxy.ProbeToken()) != 32 {
		t.Errorf("token %q", r.proxy.ProbeToken())
	}
}
