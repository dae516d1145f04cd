package auth

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// Sessions let a browser through the tunnel use the dashboard after
// signing in once: POST SessionPath {"key": "dvp_..."} (the key in a JSON
// body, never in a URL, which would land in histories and logs) sets the
// cookie devproxy_session, 256 random bits that name a session in
// memory. The cookie is HttpOnly (no script reads it), SameSite=Strict
// (no other site's page sends it) and Secure: the tunnel's public side
// is https, and a browser never sends it over plain http. On a plain
// http address of another machine, use a Bearer key instead.
//
// A session holds its key's id, not its role: each request looks the key
// up, so a revoked key ends its sessions at once and a role is never
// stale. Sessions end after their TTL, at DELETE SessionPath, and when
// the process stops.

// maxSessions bounds the sessions in memory; the oldest is dropped.
const maxSessions = 1024

type session struct {
	keyID   string
	expires time.Time
}

type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	byID map[string]session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, byID: map[string]session{}}
}

func (s *sessions) create(keyID string) (string, time.Time) {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.byID) >= maxSessions {
		var oldest string
		var at time.Time
		for k, v := range s.byID {
			if v.expires.Before(now) {
				delete(s.byID, k)
				continue
			}
			if oldest == "" || v.expires.Before(at) {
				oldest, at = k, v.expires
			}
		}
		if len(s.byID) >= maxSessions {
			delete(s.byID, oldest)
		}
	}
	exp := now.Add(s.ttl)
	s.byID[id] = session{keyID: keyID, expires: exp}
	return id, exp
}

func (s *sessions) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byID[id]
	if ok && !s.now().Before(v.expires) {
		delete(s.byID, id)
		return session{}, false
	}
	return v, ok
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

// Session is SessionPath's answer to a sign-in.
type Session struct {
	KeyID   string    `json:"keyId"`
	Role    Role      `json:"role"`
	Expires time.Time `json:"expires"`
}

func (a *Authenticator) serveSession(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		a.signIn(w, r)
	case http.MethodDelete:
		a.signOut(w, r)
	default:
		w.Header().Set("Allow", "POST, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "sign in with POST, sign out with DELETE", nil)
	}
}

func (a *Authenticator) signIn(w http.ResponseWriter, r *http.Request) {
	if err := CheckStateChange(r); err != nil {
		writeError(w, http.StatusForbidden, err.Error(), nil)
		return
	}
	addr := a.clientAddr(r)
	if wait := a.limiter.blocked(addr); wait > 0 {
		tooMany(w, wait)
		return
	}
	var body struct {
		Key string `json:"key"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Key == "" {
		writeError(w, http.StatusBadRequest, `the body must be {"key": "dvp_..."}`, nil)
		return
	}
	key, ok := a.verify(body.Key)
	if !ok {
		a.limiter.fail(addr)
		a.log.Warn("refused a sign-in", "client", addr)
		a.record(r.Context(), Entry{Principal: "anonymous", Action: "sign-in", Target: SessionPath, Result: "refused", Detail: "unknown or revoked key from " + addr})
		unauthorized(w, "the API key is not valid (unknown, revoked or mistyped)")
		return
	}
	id, exp := a.sessions.create(key.ID)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", Expires: exp,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	p := Principal{KeyID: key.ID, KeyName: key.Name, Role: key.Role, Session: true}
	a.record(r.Context(), Entry{Principal: p.String(), Action: "sign-in", Target: SessionPath, Result: "ok"})
	writeJSON(w, http.StatusOK, Session{KeyID: key.ID, Role: key.Role, Expires: exp.UTC()})
}

func (a *Authenticator) signOut(w http.ResponseWriter, r *http.Request) {
	if err := CheckStateChange(r); err != nil {
		writeError(w, http.StatusForbidden, err.Error(), nil)
		return
	}
	if c, err := r.Cookie(CookieName); err == nil {
		if s, ok := a.sessions.get(c.Value); ok {
			a.record(r.Context(), Entry{Principal: "key:" + s.keyID, Action: "sign-out", Target: SessionPath, Result: "ok"})
		}
		a.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// The sign-in page has no inline script: its script is a file of its
// own, so the page's Content-Security-Policy allows script from 'self'
// only, as the dashboard's does.
//
//go:embed signin/signin.html signin/signin.js
var signinFiles embed.FS

const signInCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

func serveSignInPage(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, "signin/signin.html", "text/html; charset=utf-8")
}

func serveSignInJS(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, "signin/signin.js", "text/javascript; charset=utf-8")
}

func serveAsset(w http.ResponseWriter, r *http.Request, name, contentType string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "use GET", nil)
		return
	}
	b, _ := signinFiles.ReadFile(name)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", signInCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}
