package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time for the limiter, sessions and keys.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	keys  *Keys
	audit *Audit
	auth  *Authenticator
	clock *clock
	logs  *bytes.Buffer
	h     http.Handler
	// seen is the principal the last request reached the handler with.
	seen Principal
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	keys, err := OpenKeys(filepath.Join(dir, KeysFileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	audit, err := OpenAudit(filepath.Join(dir, AuditFileName), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { audit.Close() })
	f := &fixture{keys: keys, audit: audit, clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, logs: &bytes.Buffer{}}
	keys.now = f.clock.now
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: f.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.auth = New(Options{Keys: keys, Audit: audit, Log: log, now: f.clock.now})
	f.h = f.auth.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalOf(r.Context())
		if !ok {
			t.Error("the handler was reached without a principal")
		}
		f.seen = p
		audit.Record(r.Context(), Entry{Action: r.Method + " " + r.URL.Path, Result: "ok", Detail: "header " + r.Header.Get("Authorization")})
		w.WriteHeader(http.StatusOK)
	}))
	return f
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f *fixture) create(t *testing.T, role Role, name string) (string, Key) {
	t.Helper()
	plain, key, err := f.keys.Create(role, name)
	if err != nil {
		t.Fatal(err)
	}
	return plain, key
}

// req is a request as a local handler sees it: through the tunnel (the
// agent connects from loopback) when tunnel, else from remote.
type req struct {
	method, path, remote string
	tunnel               bool
	header               map[string]string
	body                 string
	cookie               *http.Cookie
}

func (f *fixture) do(r req) *httptest.ResponseRecorder {
	if r.method == "" {
		r.method = http.MethodGet
	}
	if r.path == "" {
		r.path = "/devproxy/api/apps/list"
	}
	hr := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	hr.Host = "127.0.0.1:8080"
	hr.RemoteAddr = r.remote
	if hr.RemoteAddr == "" {
		hr.RemoteAddr = "127.0.0.1:50000"
	}
	if r.tunnel {
		hr.Host = "demo.example.dev"
		hr = hr.WithContext(WithTunnel(hr.Context()))
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	w := httptest.NewRecorder()
	f.seen = Principal{}
	f.h.ServeHTTP(w, hr)
	return w
}

func bearerHeader(key string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + key}
}

func jsonHeader(extra map[string]string) map[string]string {
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

func wantStatus(t *testing.T, what string, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, w.Code, status, w.Body)
	}
	if status >= 400 {
		var body struct {
			Status  int    `json:"status"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Status != status || body.Message == "" {
			t.Errorf("%s: the refusal is not the proxy's JSON error: %q", what, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", what, ct)
		}
	}
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	ro, roKey := f.create(t, ReadOnly, "teammate")
	admin, _ := f.create(t, Admin, "ci")
	for _, via := range []struct {
		name   string
		tunnel bool
		remote string
	}{
		{"tunnel", true, "127.0.0.1:41000"},
		{"another machine", false, "192.0.2.7:41000"},
	} {
		t.Run(via.name, func(t *testing.T) {
			w := f.do(req{tunnel: via.tunnel, remote: via.remote})
			wantStatus(t, "no key", w, http.StatusUnauthorized)
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate %q", got)
			}
			w = f.do(req{tunnel: via.tunnel, remote: via.remote, header: bearerHeader(ro)})
			wantStatus(t, "read-only GET", w, http.StatusOK)
			if f.seen.KeyID != roKey.ID || f.seen.Role != ReadOnly || f.seen.KeyName != "teammate" || f.seen.Local {
				t.Errorf("principal %+v", f.seen)
			}
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				w = f.do(req{method: m, tunnel: via.tunnel, remote: via.remote, header: jsonHeader(bearerHeader(ro)), body: "{}"})
				wantStatus(t, "read-only "+m, w, http.StatusForbidden)
			}
			w = f.do(req{method: http.MethodPost, tunnel: via.tunnel, remote: via.remote, header: jsonHeader(bearerHeader(admin)), body: "{}"})
			wantStatus(t, "admin POST", w, http.StatusOK)
			if f.seen.Role != Admin {
				t.Errorf("principal %+v", f.seen)
			}
		})
	}
}

func TestBadKeys(t *testing.T) {
	f := newFixture(t)
	good, key := f.create(t, Admin, "")
	revoked, rkey := f.create(t, Admin, "")
	if err := f.keys.Revoke(rkey.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.keys.Revoke(rkey.ID); err == nil {
		t.Error("revoking twice succeeded")
	}
	for name, h := range map[string]map[string]string{
		"unknown":       bearerHeader("dvp_" + strings.Repeat("a", 52)),
		"revoked":       bearerHeader(revoked),
		"prefix":        bearerHeader(good[:20]),
		"no prefix":     bearerHeader(strings.TrimPrefix(good, "dvp_")),
		"longer":        bearerHeader(good + "x"),
		"other scheme":  {"Authorization": "Basic " + good},
		"empty bearer":  {"Authorization": "Bearer "},
		"id as the key": bearerHeader(key.ID),
	} {
		w := f.do(req{tunnel: true, header: h})
		wantStatus(t, name, w, http.StatusUnauthorized)
	}
	wantStatus(t, "the good key", f.do(req{tunnel: true, header: bearerHeader(good)}), http.StatusOK)
	// The scheme is case-insensitive (RFC 9110).
	wantStatus(t, "bearer", f.do(req{tunnel: true, header: map[string]string{"Authorization": "bearer " + good}}), http.StatusOK)
}

func TestVerifyComparesEveryHashInConstantTime(t *testing.T) {
	f := newFixture(t)
	var plains []string
	for range 3 {
		p, _ := f.create(t, ReadOnly, "")
		plains = append(plains, p)
	}
	calls := 0
	orig := constantTimeCompare
	constantTimeCompare = func(a, b []byte) int { calls++; return orig(a, b) }
	defer func() { constantTimeCompare = orig }()
	if _, ok := f.keys.Verify(plains[0]); !ok {
		t.Fatal("a good key was refused")
	}
	if calls != 3 {
		t.Errorf("Verify compared %d hashes in constant time, want all 3 (no early exit)", calls)
	}
	calls = 0
	if _, ok := f.keys.Verify("dvp_" + strings.Repeat("b", 52)); ok {
		t.Fatal("a wrong key was taken")
	}
	if calls != 3 {
		t.Errorf("a wrong key: %d comparisons, want 3", calls)
	}
}

func TestFailuresAreRateLimited(t *testing.T) {
	f := newFixture(t)
	good, _ := f.create(t, Admin, "")
	bad := bearerHeader("dvp_" + strings.Repeat("c", 52))
	from := func(ip string, h map[string]string) *httptest.ResponseRecorder {
		return f.do(req{remote: ip + ":5000", header: h})
	}
	for i := range limitBurst {
		wantStatus(t, "failure "+string(rune('0'+i)), from("198.51.100.1", bad), http.StatusUnauthorized)
	}
	w := from("198.51.100.1", bad)
	wantStatus(t, "the 11th failure", w, http.StatusTooManyRequests)
	if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	wantStatus(t, "a good key while blocked", from("198.51.100.1", bearerHeader(good)), http.StatusTooManyRequests)
	wantStatus(t, "another address", from("198.51.100.2", bearerHeader(good)), http.StatusOK)
	// Sign-in attempts count too.
	signIn := req{method: http.MethodPost, path: SessionPath, remote: "198.51.100.1:5000", header: jsonHeader(nil), body: `{"key":"` + good + `"}`}
	wantStatus(t, "sign-in while blocked", f.do(signIn), http.StatusTooManyRequests)

	f.clock.advance(limitEvery)
	wantStatus(t, "one attempt after 6 s", from("198.51.100.1", bearerHeader(good)), http.StatusOK)
	from("198.51.100.1", bad)
	wantStatus(t, "blocked again after a failure", from("198.51.100.1", bearerHeader(good)), http.StatusTooManyRequests)
	f.clock.advance(time.Minute)
	for i := range limitBurst {
		wantStatus(t, "recovered failure "+string(rune('0'+i)), from("198.51.100.1", bad), http.StatusUnauthorized)
	}

	// Through the tunnel, the agent's X-Forwarded-For entry is the client.
	for range limitBurst {
		f.do(req{tunnel: true, header: map[string]string{"Authorization": bad["Authorization"], "X-Forwarded-For": "203.0.113.9"}})
	}
	wantStatus(t, "tunnel client blocked", f.do(req{tunnel: true, header: map[string]string{"Authorization": "Bearer " + good, "X-Forwarded-For": "203.0.113.9"}}), http.StatusTooManyRequests)
	wantStatus(t, "a client prepending the blocked one's address", f.do(req{tunnel: true, header: map[string]string{"Authorization": "Bearer " + good, "X-Forwarded-For": "203.0.113.9, 203.0.113.10"}}), http.StatusOK)
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	l := newLimiter(c.now)
	for i := range 3 * limitAddresses {
		l.fail("10.0." + string(rune(i)))
	}
	if n := len(l.buckets); n > limitAddresses+1 {
		t.Fatalf("%d addresses tracked, want at most %d", n, limitAddresses+1)
	}
	// Once the table is full, new addresses share the overflow bucket:
	// after enough failures they are limited too.
	for range 3 * limitBurst {
		l.fail("new address")
	}
	if l.blocked("yet another") == 0 {
		t.Error("an address in the overflow is never limited")
	}
	c.advance(2 * time.Minute)
	l.fail("after recovery")
	if n := len(l.buckets); n > 2 {
		t.Errorf("recovered addresses are kept: %d", n)
	}
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	ro, roKey := f.create(t, ReadOnly, "teammate")
	signIn := func(h map[string]string, body string) *httptest.ResponseRecorder {
		return f.do(req{method: http.MethodPost, path: SessionPath, tunnel: true, header: h, body: body})
	}
	wantStatus(t, "a form sign-in", signIn(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "key="+ro), http.StatusForbidden)
	wantStatus(t, "another site's sign-in", signIn(jsonHeader(map[string]string{"Origin": "https://evil.example"}), `{"key":"`+ro+`"}`), http.StatusForbidden)
	wantStatus(t, "a bad key", signIn(jsonHeader(nil), `{"key":"dvp_nope"}`), http.StatusUnauthorized)
	wantStatus(t, "no key", signIn(jsonHeader(nil), `{}`), http.StatusBadRequest)
	w := signIn(jsonHeader(map[string]string{"Origin": "https://demo.example.dev"}), `{"key":"`+ro+`"}`)
	wantStatus(t, "sign-in", w, http.StatusOK)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != CookieName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || len(c.Value) < 40 {
		t.Fatalf("cookie %q lacks a flag", w.Header().Get("Set-Cookie"))
	}
	if strings.Contains(w.Body.String(), ro) || strings.Contains(c.Value, ro[4:]) {
		t.Error("the answer repeats the key")
	}
	session := &http.Cookie{Name: CookieName, Value: c.Value}
	wantStatus(t, "GET with the session", f.do(req{tunnel: true, cookie: session}), http.StatusOK)
	if !f.seen.Session || f.seen.KeyID != roKey.ID || f.seen.Role != ReadOnly {
		t.Errorf("principal %+v", f.seen)
	}
	wantStatus(t, "a read-only session's POST", f.do(req{method: http.MethodPost, tunnel: true, cookie: session, header: jsonHeader(nil), body: "{}"}), http.StatusForbidden)
	wantStatus(t, "a forged cookie", f.do(req{tunnel: true, cookie: &http.Cookie{Name: CookieName, Value: "x" + c.Value[1:]}}), http.StatusUnauthorized)

	// Sign out ends it.
	w = f.do(req{method: http.MethodDelete, path: SessionPath, tunnel: true, cookie: session, header: jsonHeader(nil)})
	wantStatus(t, "sign-out", w, http.StatusNoContent)
	if sc := w.Header().Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("sign-out does not clear the cookie: %q", sc)
	}
	wantStatus(t, "after sign-out", f.do(req{tunnel: true, cookie: session}), http.StatusUnauthorized)

	// Expiry.
	w = signIn(jsonHeader(nil), `{"key":"`+ro+`"}`)
	session = &http.Cookie{Name: CookieName, Value: w.Result().Cookies()[0].Value}
	f.clock.advance(12*time.Hour - time.Second)
	wantStatus(t, "before expiry", f.do(req{tunnel: true, cookie: session}), http.StatusOK)
	f.clock.advance(time.Second)
	wantStatus(t, "after expiry", f.do(req{tunnel: true, cookie: session}), http.StatusUnauthorized)

	// Revoking the key ends its sessions.
	admin, adminKey := f.create(t, Admin, "")
	w = signIn(jsonHeader(nil), `{"key":"`+admin+`"}`)
	session = &http.Cookie{Name: CookieName, Value: w.Result().Cookies()[0].Value}
	wantStatus(t, "admin session POST", f.do(req{method: http.MethodPost, tunnel: true, cookie: session, header: jsonHeader(nil), body: "{}"}), http.StatusOK)
	wantStatus(t, "admin session form POST", f.do(req{method: http.MethodPost, tunnel: true, cookie: session, header: map[string]string{"Content-Type": "text/plain"}, body: "{}"}), http.StatusForbidden)
	wantStatus(t, "admin session POST from another site", f.do(req{method: http.MethodPost, tunnel: true, cookie: session, header: jsonHeader(map[string]string{"Origin": "https://evil.example"}), body: "{}"}), http.StatusForbidden)
	if err := f.keys.Revoke(adminKey.ID); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "session of a revoked key", f.do(req{tunnel: true, cookie: session}), http.StatusUnauthorized)
}

func TestSignInPage(t *testing.T) {
	f := newFixture(t)
	w := f.do(req{path: SignInPath, tunnel: true})
	wantStatus(t, "sign-in page", w, http.StatusOK)
	body := w.Body.String()
	if !strings.Contains(body, `type="password"`) || !strings.Contains(body, `<script src="/devproxy/signin.js"`) {
		t.Errorf("page %s", body)
	}
	if strings.Contains(body, "<script>") {
		t.Error("the page has an inline script")
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline'; connect") {
		t.Errorf("CSP %q", csp)
	}
	w = f.do(req{path: "/devproxy/signin.js", tunnel: true})
	wantStatus(t, "script", w, http.StatusOK)
	js := w.Body.String()
	if !strings.Contains(js, `"Content-Type": "application/json"`) || !strings.Contains(js, "/devproxy/api/session") {
		t.Errorf("script %s", js)
	}
	if strings.Contains(js, "?key=") || strings.Contains(js, "localStorage") {
		t.Error("the script puts the key in a URL or in storage")
	}
}

func TestKeysNeverInLogsOrAudit(t *testing.T) {
	f := newFixture(t)
	ro, _ := f.create(t, ReadOnly, "teammate")
	admin, _ := f.create(t, Admin, "ci")
	wrong := "dvp_" + strings.Repeat("d", 52)
	f.do(req{tunnel: true, header: bearerHeader(ro)})
	f.do(req{method: http.MethodPost, tunnel: true, header: jsonHeader(bearerHeader(ro)), body: "{}"})
	f.do(req{method: http.MethodPost, tunnel: true, header: jsonHeader(bearerHeader(admin)), body: "{}"})
	f.do(req{tunnel: true, header: bearerHeader(wrong)})
	f.do(req{method: http.MethodPost, path: SessionPath, tunnel: true, header: jsonHeader(nil), body: `{"key":"` + admin + `"}`})
	f.do(req{method: http.MethodPost, path: SessionPath, tunnel: true, header: jsonHeader(nil), body: `{"key":"` + wrong + `"}`})
	f.audit.Record(context.Background(), Entry{Action: "test", Result: "ok", Detail: "pasted " + admin + " by mistake"})

	var export bytes.Buffer
	for _, format := range []string{"json", "csv"} {
		if err := f.audit.Export(&export, format); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := f.audit.List(time.Time{}, 0)
	if len(entries) < 6 {
		t.Fatalf("the audit log has %d entries: %+v", len(entries), entries)
	}
	if !strings.Contains(f.logs.String(), "refused") {
		t.Errorf("the failures were not logged: %s", f.logs)
	}
	for _, secret := range []string{ro, admin, wrong} {
		for what, text := range map[string]string{"log": f.logs.String(), "audit": export.String()} {
			if strings.Contains(text, secret) || strings.Contains(text, secret[4:20]) {
				t.Errorf("the %s holds a key:\n%s", what, text)
			}
		}
	}
}

func TestLocalStateChanges(t *testing.T) {
	f := newFixture(t)
	post := func(h map[string]string) *httptest.ResponseRecorder {
		return f.do(req{method: http.MethodPost, path: "/devproxy/api/apps/install", header: h, body: `{"name":"x"}`})
	}
	wantStatus(t, "GET from loopback", f.do(req{}), http.StatusOK)
	if !f.seen.Local || f.seen.String() != "local" {
		t.Errorf("principal %+v", f.seen)
	}
	wantStatus(t, "[::1] is loopback", f.do(req{remote: "[::1]:5000"}), http.StatusOK)
	wantStatus(t, "form-encoded", post(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), http.StatusForbidden)
	wantStatus(t, "text/plain", post(map[string]string{"Content-Type": "text/plain"}), http.StatusForbidden)
	wantStatus(t, "no content type", post(nil), http.StatusForbidden)
	wantStatus(t, "JSON from evil.example", post(jsonHeader(map[string]string{"Origin": "http://evil.example"})), http.StatusForbidden)
	wantStatus(t, "JSON from Origin null", post(jsonHeader(map[string]string{"Origin": "null"})), http.StatusForbidden)
	wantStatus(t, "JSON from a route's name", post(jsonHeader(map[string]string{"Origin": "http://app.localhost:8080"})), http.StatusForbidden)
	wantStatus(t, "JSON from another port", post(jsonHeader(map[string]string{"Origin": "http://127.0.0.1:3000"})), http.StatusForbidden)
	wantStatus(t, "JSON without Origin", post(jsonHeader(nil)), http.StatusOK)
	wantStatus(t, "JSON with a charset", post(map[string]string{"Content-Type": "application/json; charset=utf-8"}), http.StatusOK)
	wantStatus(t, "JSON from the proxy's page", post(jsonHeader(map[string]string{"Origin": "http://127.0.0.1:8080"})), http.StatusOK)
	wantStatus(t, "JSON from a loopback alias", post(jsonHeader(map[string]string{"Origin": "http://localhost:8080"})), http.StatusOK)
	wantStatus(t, "a DELETE form", f.do(req{method: http.MethodDelete}), http.StatusForbidden)
}

func TestTunnelIsNeverLocal(t *testing.T) {
	f := newFixture(t)
	// The tunnel agent connects from loopback; what the client sends
	// cannot make the request local.
	for name, h := range map[string]map[string]string{
		"plain":           nil,
		"X-Forwarded-For": {"X-Forwarded-For": "127.0.0.1"},
		"X-Real-IP":       {"X-Real-IP": "127.0.0.1"},
		"Forwarded":       {"Forwarded": "for=127.0.0.1"},
		"Host":            {"Host": "127.0.0.1:8080"},
	} {
		wantStatus(t, name, f.do(req{tunnel: true, header: h}), http.StatusUnauthorized)
	}
	if f.auth.sessions == nil || Local(httptest.NewRequest("GET", "/", nil).WithContext(WithTunnel(context.Background()))) {
		t.Error("a tunnel request counts as local")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "garbage"
	if Local(r) {
		t.Error("an unparsable remote address counts as local")
	}
}

func TestHashesOnlyOnDisk(t *testing.T) {
	f := newFixture(t)
	plain, key := f.create(t, Admin, "on disk")
	f.keys.Verify(plain)
	f.keys.Close() // the last-use write
	b, err := os.ReadFile(f.keys.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(plain)) || bytes.Contains(b, []byte(plain[4:])) || bytes.Contains(b, []byte(plain[10:30])) {
		t.Fatal("the keys file holds the plaintext key")
	}
	if !bytes.Contains(b, []byte(key.ID)) || !bytes.Contains(b, []byte("on disk")) {
		t.Fatal("the keys file does not hold the key's record")
	}
	fi, _ := os.Stat(f.keys.Path())
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keys file mode %v", fi.Mode())
	}
	for _, k := range f.keys.List() {
		if j, _ := json.Marshal(k); strings.Contains(string(j), "hash") {
			t.Errorf("List exposes the hash: %s", j)
		}
	}
}

func TestKeysAreSharedWithAnotherProcess(t *testing.T) {
	f := newFixture(t)
	// The CLI opens the same file while the owner runs.
	cli, err := OpenKeys(f.keys.Path())
	if err != nil {
		t.Fatal(err)
	}
	plain, key, err := cli.Create(ReadOnly, "from the CLI")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.advance(2 * time.Second) // the owner re-checks the file at most once a second
	if got, ok := f.keys.Verify(plain); !ok || got.ID != key.ID {
		t.Fatal("the owner does not see a key the CLI created")
	}
	if err := cli.Revoke(key.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(2 * time.Second)
	if _, ok := f.keys.Verify(plain); ok {
		t.Fatal("the owner still takes a key the CLI revoked")
	}
}

func TestLastUsedIsWrittenRarely(t *testing.T) {
	f := newFixture(t)
	plain, key := f.create(t, ReadOnly, "")
	f.keys.Verify(plain)
	f.keys.Close()
	fi1, _ := os.Stat(f.keys.Path())
	k, _ := f.keys.Lookup(key.ID)
	if !k.LastUsed.Equal(f.clock.now()) {
		t.Errorf("last used %v, want %v", k.LastUsed, f.clock.now())
	}
	f.clock.advance(time.Minute)
	for range 100 {
		f.keys.Verify(plain)
	}
	f.keys.Close()
	fi2, _ := os.Stat(f.keys.Path())
	if !fi1.ModTime().Equal(fi2.ModTime()) {
		t.Error("the keys file was written again within the hour")
	}
	f.clock.advance(time.Hour)
	f.keys.Verify(plain)
	f.keys.Close()
	other, _ := OpenKeys(f.keys.Path())
	if k, _ := other.Lookup(key.ID); !k.LastUsed.Equal(f.clock.now()) {
		t.Errorf("stored last use %v, want %v", k.LastUsed, f.clock.now())
	}
}

func TestCreateChecksItsInput(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.keys.Create("owner", ""); err == nil {
		t.Error("an unknown role was taken")
	}
	if _, _, err := f.keys.Create(Admin, "bad\nname"); err == nil {
		t.Error("a name with a newline was taken")
	}
	plain, _ := f.create(t, Admin, "")
	if !strings.HasPrefix(plain, "dvp_") || len(plain) != 4+52 {
		t.Errorf("key %q", plain)
	}
}

func TestAuditIsBounded(t *testing.T) {
	a, err := OpenAudit(filepath.Join(t.TempDir(), AuditFileName), 5)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 12 {
		if err := a.Record(WithPrincipal(context.Background(), Principal{Local: true}), Entry{At: base.Add(time.Duration(i) * time.Minute), Action: "apps/install", Target: "=cmd", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := a.List(time.Time{}, 0)
	if len(all) != 5 || !all[0].At.Equal(base.Add(7*time.Minute)) || all[0].Principal != "local" {
		t.Fatalf("entries %+v", all)
	}
	last2, _ := a.List(time.Time{}, 2)
	if len(last2) != 2 || !last2[1].At.Equal(base.Add(11*time.Minute)) {
		t.Errorf("limit 2: %+v", last2)
	}
	since, _ := a.List(base.Add(10*time.Minute), 0)
	if len(since) != 2 {
		t.Errorf("since: %+v", since)
	}
	var csv bytes.Buffer
	a.Export(&csv, "csv")
	if !strings.Contains(csv.String(), "'=cmd") || !strings.HasPrefix(csv.String(), "at,principal,action,target,result,detail\n") {
		t.Errorf("csv %s", csv.String())
	}
	if err := a.Export(&csv, "xml"); err == nil {
		t.Error("xml export")
	}
}

func TestChangesAreAudited(t *testing.T) {
	f := newFixture(t)
	ro, roKey := f.create(t, ReadOnly, "teammate")
	admin, adminKey := f.create(t, Admin, "ci")
	f.do(req{method: http.MethodPost, path: "/devproxy/api/apps/install?token=s3cret", header: jsonHeader(nil), body: "{}"})
	f.do(req{method: http.MethodPost, path: "/devproxy/api/apps/install", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	f.do(req{method: http.MethodPost, path: "/devproxy/api/settings", tunnel: true, header: jsonHeader(bearerHeader(ro)), body: "{}"})
	f.do(req{method: http.MethodPost, path: "/devproxy/api/settings", tunnel: true, header: jsonHeader(bearerHeader(admin)), body: "{}"})
	f.do(req{method: http.MethodDelete, path: "/devproxy/api/reports", tunnel: true})
	f.do(req{path: "/devproxy/api/apps/list", tunnel: true, header: bearerHeader(admin)})
	entries, err := f.audit.List(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ principal, action, result string }
	var got []row
	for _, e := range entries {
		if strings.HasPrefix(e.Detail, "status ") {
			got = append(got, row{e.Principal, e.Action, e.Result})
		}
		if strings.Contains(e.Action+e.Target+e.Detail, "s3cret") {
			t.Errorf("the query reached the audit log: %+v", e)
		}
		if e.At.IsZero() {
			t.Errorf("no time: %+v", e)
		}
	}
	want := []row{
		{"local", "POST /devproxy/api/apps/install", "ok"},
		{"key:" + roKey.ID + " (teammate)", "POST /devproxy/api/settings", "refused"},
		{"key:" + adminKey.ID + " (ci)", "POST /devproxy/api/settings", "ok"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audited changes:\n got %v\nwant %v", got, want)
	}
}

func TestBrowsersAreSentToSignIn(t *testing.T) {
	f := newFixture(t)
	w := f.do(req{path: "/devproxy/", tunnel: true, header: map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}})
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `href="/devproxy/signin"`) || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("a browser without a key: %d %s %s", w.Code, w.Header(), w.Body)
	}
	if w.Header().Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate")
	}
	// A WebSocket handshake and an API client get the JSON.
	wantStatus(t, "upgrade", f.do(req{path: "/devproxy/ws", tunnel: true, header: map[string]string{"Accept": "text/html", "Upgrade": "websocket"}}), http.StatusUnauthorized)
	wantStatus(t, "API", f.do(req{tunnel: true, header: map[string]string{"Accept": "*/*"}}), http.StatusUnauthorized)
}

func TestAuditHeldByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditFileName)
	a, err := OpenAudit(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	start := time.Now()
	if _, err := OpenAudit(path, 0); !errors.Is(err, ErrLocked) || time.Since(start) > 3*time.Second {
		t.Fatalf("a second open: %v after %s, want ErrLocked within about a second", err, time.Since(start))
	}
}
