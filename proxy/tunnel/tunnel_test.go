package tunnel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "2abcSECRETtoken_0123456789"

// recorder collects the states a Manager reports and the log it writes.
type recorder struct {
	mu     sync.Mutex
	states []State
	ch     chan State
	log    bytes.Buffer // guarded by mu through logWriter
}

func newRecorder() *recorder { return &recorder{ch: make(chan State, 64)} }

func (r *recorder) onChange(s State) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	r.ch <- s
}

type logWriter struct{ r *recorder }

func (w logWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.r.log.Write(p)
}

func (r *recorder) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{r}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (r *recorder) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// wait returns the first reported state with the status, failing the
// test after 10 s.
func (r *recorder) wait(t *testing.T, status string) State {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-r.ch:
			if s.Status == status {
				return s
			}
		case <-timeout:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no %q state within 10 s; states: %+v", status, r.states)
		}
	}
}

func testEnv(k string) string {
	switch k {
	case "NGROK_AUTHTOKEN":
		return testToken
	}
	return ""
}

func notOnPath(name string) (string, error) { return "", fmt.Errorf("%s: not found", name) }

// fakeAgentAPI serves the ngrok agent's GET /api/tunnels: no tunnel for
// the first empty answers, then a decoy to another port, an http and an
// https tunnel to 127.0.0.1:8081 (as `ngrok http 8081` lists them).
func fakeAgentAPI(t *testing.T, empty int) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/tunnels" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if int(calls.Add(1)) <= empty {
			fmt.Fprint(w, `{"tunnels":[],"uri":"/api/tunnels"}`)
			return
		}
		fmt.Fprint(w, `{"tunnels":[
 {"name":"other","ID":"1","uri":"/api/tunnels/other","public_url":"https://other.ngrok-free.app","proto":"https","config":{"addr":"http://localhost:3000","inspect":true},"metrics":{}},
 {"name":"command_line (http)","ID":"2","uri":"/api/tunnels/command_line%20%28http%29","public_url":"http://abc.ngrok-free.app","proto":"http","config":{"addr":"http://localhost:8081","inspect":true},"metrics":{}},
 {"name":"command_line","ID":"3","uri":"/api/tunnels/command_line","public_url":"https://abc.ngrok-free.app","proto":"https","config":{"addr":"http://localhost:8081","inspect":true},"metrics":{}}
],"uri":"/api/tunnels"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestNgrokAttachesWithBackoff(t *testing.T) {
	srv, calls := fakeAgentAPI(t, 3)
	rec := newRecorder()
	m := New(Options{TunnelAddr: "127.0.0.1:8081", Provider: ProviderNgrok, NgrokAPI: srv.URL + "/",
		Bin: notOnPath, Env: testEnv, Log: rec.logger(), OnChange: rec.onChange,
		minDelay: 10 * time.Millisecond, maxDelay: 80 * time.Millisecond})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	st := rec.wait(t, StatusStarting)
	if st.Provider != ProviderNgrok {
		t.Errorf("provider = %q", st.Provider)
	}
	up := rec.wait(t, StatusUp)
	if up.PublicURL != "https://abc.ngrok-free.app" || up.Provider != ProviderNgrok || up.Err != "" {
		t.Errorf("up state = %+v", up)
	}
	if n := calls.Load(); n < 4 {
		t.Errorf("the API was asked %d times; the URL came with the fourth answer", n)
	}
	if got := m.State(); got.Status != StatusUp || got.PublicURL != up.PublicURL || got.Since.IsZero() {
		t.Errorf("State() = %+v", got)
	}
	if err := m.Start(t.Context()); err == nil {
		t.Error("a second Start succeeded")
	}
	m.Stop()
	if got := m.State(); got.Status != StatusOff {
		t.Errorf("after Stop: %+v", got)
	}
	if strings.Contains(rec.logText(), testToken) {
		t.Errorf("the token is in the log:\n%s", rec.logText())
	}
}

func TestNgrokWaitsForAnAgent(t *testing.T) {
	rec := newRecorder()
	m := New(Options{TunnelAddr: "127.0.0.1:8081", Provider: ProviderNgrok, NgrokAPI: "http://127.0.0.1:1",
		Bin: notOnPath, Env: testEnv, Log: rec.logger(), OnChange: rec.onChange,
		minDelay: 10 * time.Millisecond, maxDelay: 40 * time.Millisecond})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	for {
		st := rec.wait(t, StatusStarting)
		if st.Err != "" {
			if !strings.Contains(st.Err, "no ngrok agent answers at http://127.0.0.1:1") || !strings.Contains(st.Err, "ngrok http 127.0.0.1:8081") {
				t.Errorf("message = %q", st.Err)
			}
			break
		}
	}
}

func TestAutoAttachesToARunningAgent(t *testing.T) {
	srv, calls := fakeAgentAPI(t, 0)
	rec := newRecorder()
	m := New(Options{TunnelAddr: "127.0.0.1:8081", NgrokAPI: srv.URL, Bin: notOnPath, Env: testEnv,
		Log: rec.logger(), OnChange: rec.onChange, minDelay: 5 * time.Millisecond, maxDelay: 10 * time.Millisecond})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	up := rec.wait(t, StatusUp)
	if up.Provider != ProviderNgrok || up.PublicURL != "https://abc.ngrok-free.app" {
		t.Errorf("up = %+v", up)
	}
	// The agent is watched: later answers keep the state as it is.
	for n := calls.Load(); calls.Load() < n+2; {
		time.Sleep(5 * time.Millisecond)
	}
	if st := m.State(); st != up {
		t.Errorf("after more answers: %+v, want %+v", st, up)
	}
	m.Stop()

	// No agent: no tunnel, no error, and nothing is started; the agent
	// is looked for again, and shown from the moment it answers.
	late := newLateAgent(t)
	rec = newRecorder()
	started := false
	m = New(Options{TunnelAddr: "127.0.0.1:8081", NgrokAPI: late.URL, AutoEvery: 10 * time.Millisecond,
		Bin: func(string) (string, error) { started = true; return "", errors.New("no") },
		Log: rec.logger(), OnChange: rec.onChange})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	for late.calls.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	if st := m.State(); st.Status != StatusOff || st.Provider != "" || st.Err != "" || started {
		t.Errorf("without an agent: %+v, started %v", st, started)
	}
	late.up.Store(true)
	if up := rec.wait(t, StatusUp); up.PublicURL != "https://abc.ngrok-free.app" || up.Provider != ProviderNgrok {
		t.Errorf("once the agent answers: %+v", up)
	}
	late.up.Store(false) // the agent stopped
	if off := rec.wait(t, StatusOff); off.PublicURL != "" || off.Err != "" {
		t.Errorf("once the agent stopped: %+v", off)
	}
	if started {
		t.Error("the automatic mode started a program")
	}
	m.Stop()
	// Stopped, it may be started again.
	if err := m.Start(t.Context()); err != nil {
		t.Errorf("Start after Stop: %v", err)
	}
	m.Stop()
}

// lateAgent is an ngrok agent's API that answers only while up is set, as
// an agent started (and stopped) after devproxy does.
type lateAgent struct {
	URL   string
	up    atomic.Bool
	calls atomic.Int64
}

func newLateAgent(t *testing.T) *lateAgent {
	a := &lateAgent{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		if !a.up.Load() {
			http.Error(w, "agent not running", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"tunnels":[{"name":"command_line","uri":"/api/tunnels/command_line","public_url":"https://abc.ngrok-free.app","proto":"https","config":{"addr":"http://localhost:8081","inspect":true},"metrics":{}}],"uri":"/api/tunnels"}`)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

func TestManualURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://abc.ngrok.app", "https://abc.ngrok.app"},
		{"https://ABC.example.com/", "https://abc.example.com"},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{" https://dev.example.com ", "https://dev.example.com"},
		{"ftp://abc.example.com", ""},
		{"abc.example.com", ""},
		{"https://", ""},
		{"https://abc.example.com/app", ""},
		{"https://abc.example.com/?x=1", ""},
		{"https://abc.example.com?", ""},
		{"https://user:pw@abc.example.com", ""},
		{"https://abc.example.com#top", ""},
		{"", ""},
	} {
		got, err := CheckPublicURL(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("CheckPublicURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}

	rec := newRecorder()
	m := New(Options{TunnelAddr: "127.0.0.1:8081", Provider: ProviderManual, ManualURL: "https://dev.example.com/", Log: rec.logger(), OnChange: rec.onChange})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if up := rec.wait(t, StatusUp); up.PublicURL != "https://dev.example.com" || up.Provider != ProviderManual {
		t.Errorf("up = %+v", up)
	}
	m.Stop()

	m = New(Options{Provider: ProviderManual, ManualURL: "https://dev.example.com/admin", Log: rec.logger(), OnChange: rec.onChange})
	if err := m.Start(t.Context()); err == nil || m.State().Status != StatusError || !strings.Contains(m.State().Err, "no user, path or query") {
		t.Errorf("a URL with a path: %v, %+v", err, m.State())
	}
	m = New(Options{Provider: "localtunnel", Log: rec.logger()})
	if err := m.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "ngrok, cloudflared, manual") {
		t.Errorf("an unknown provider: %v", err)
	}
}

func TestContextEndStopsTheRun(t *testing.T) {
	srv, _ := fakeAgentAPI(t, 1000)
	ctx, cancel := context.WithCancel(t.Context())
	m := New(Options{TunnelAddr: "127.0.0.1:8081", Provider: ProviderNgrok, NgrokAPI: srv.URL, Bin: notOnPath,
		Log: slog.New(slog.DiscardHandler), minDelay: time.Millisecond, maxDelay: 5 * time.Millisecond})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan struct{})
	go func() { m.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return after the context ended")
	}
}

func TestOutputIsBounded(t *testing.T) {
	var lines []string
	w := &lineWriter{onLine: func(l string) { lines = append(lines, l) }}
	big := bytes.Repeat([]byte("x"), 1<<20)
	for range 10 {
		w.Write(big)
	}
	w.Write([]byte("\nline 1\r\nline 2\n"))
	for i := range 100 {
		fmt.Fprintf(w, "more %d\n", i)
	}
	if cap(w.buf) > 2*maxLine {
		t.Errorf("the line buffer grew to %d bytes", cap(w.buf))
	}
	if len(lines[0]) != maxLine || lines[1] != "line 1" || lines[2] != "line 2" {
		t.Errorf("lines: %d bytes, %q, %q", len(lines[0]), lines[1], lines[2])
	}
	if tail := w.tail(); len(tail) != tailSize || tail[tailSize-1] != "more 99" {
		t.Errorf("tail = %q", tail)
	}
}

func TestSamePort(t *testing.T) {
	for _, tc := range []struct {
		addr, ours string
		want       bool
	}{
		{"http://localhost:8081", "127.0.0.1:8081", true},
		{"localhost:8081", "127.0.0.1:8081", true},
		{"8081", "127.0.0.1:8081", true},
		{"http://127.0.0.1:8081", "127.0.0.1:8081", true},
		{"https://[::1]:8081", "127.0.0.1:8081", true},
		{"http://localhost:8080", "127.0.0.1:8081", false},
		{"http://example.com:8081", "127.0.0.1:8081", false},
		{"http://192.168.1.5:8081", "0.0.0.0:8081", true},
	} {
		if got := samePort(tc.addr, tc.ours); got != tc.want {
			t.Errorf("samePort(%q, %q) = %v", tc.addr, tc.ours, got)
		}
	}
}

func TestQuickTunnelLine(t *testing.T) {
	for line, want := range map[string]string{
		"2024-06-19T10:00:00Z INF |  https://seasonal-quiet-river-example.trycloudflare.com                                     |": "https://seasonal-quiet-river-example.trycloudflare.com",
		`failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp`:                                    "",
		"2024-06-19T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...":                                             "",
	} {
		if got := quickTunnelRE.FindString(line); got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
}
