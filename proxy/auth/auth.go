// Package auth decides who may use the proxy's own handlers: the
// management API, /devproxy/ws, the dashboard and Calliope.
//
// A request from this machine's loopback to the local listener needs no
// credential, but a state change (POST, PUT, PATCH, DELETE) must be JSON
// with no Origin or the proxy's own (CheckStateChange): any page the
// developer visits can send requests to 127.0.0.1. A request through the
// tunnel (marked with WithTunnel by the proxy, which a client cannot do)
// or from another machine needs an API key (Keys) with a role, sent as
// `Authorization: Bearer dvp_...`, or a session cookie a key was exchanged
// for at POST /devproxy/api/session. Failed attempts are rate-limited per
// client address. Changes are written to an audit log (Audit).
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
)

type ctxKey int

const (
	tunnelKey ctxKey = iota
	principalKey
)

// WithTunnel marks a request's context as arrived through the tunnel
// listener. Only the proxy sets it, in the process, when it hands a
// tunnel request to a local handler: a context value cannot be sent by a
// client, unlike a header, so no request can claim to be local.
func WithTunnel(ctx context.Context) context.Context {
	return context.WithValue(ctx, tunnelKey, true)
}

// FromTunnel reports whether ctx was marked by WithTunnel.
func FromTunnel(ctx context.Context) bool {
	v, _ := ctx.Value(tunnelKey).(bool)
	return v
}

// Principal is who makes a request.
type Principal struct {
	// Local is the developer on this machine (loopback, local listener).
	Local bool `json:"local,omitempty"`
	// KeyID and KeyName name the key (directly or through a session).
	KeyID   string `json:"keyId,omitempty"`
	KeyName string `json:"keyName,omitempty"`
	Role    Role   `json:"role,omitempty"`
	// Session is true when the key was presented at sign-in, not with
	// this request.
	Session bool `json:"session,omitempty"`
}

// String is the principal for logs and the audit log: "local" or
// "key:ID (NAME)". It never holds a secret.
func (p Principal) String() string {
	switch {
	case p.Local:
		return "local"
	case p.KeyID == "":
		return "anonymous"
	case p.KeyName != "":
		return "key:" + p.KeyID + " (" + p.KeyName + ")"
	}
	return "key:" + p.KeyID
}

// CanWrite reports whether the principal may change things.
func (p Principal) CanWrite() bool { return p.Local || p.Role == Admin }

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalOf is the principal Wrap found for the request whose context
// is ctx; ok is false outside Wrap.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey).(Principal)
	return p, ok
}

// Paths the Authenticator answers itself.
const (
	SessionPath = "/devproxy/api/session"
	SignInPath  = "/devproxy/signin"
	signInJS    = "/devproxy/signin.js"
)

// CookieName is the session cookie.
const CookieName = "devproxy_session"

// Options configure New.
type Options struct {
	// Keys are the API keys; nil accepts none (only local requests pass).
	Keys *Keys
	// Audit, when set, records sign-ins, sign-outs and refused
	// credentials.
	Audit *Audit
	// SessionTTL is how long a session lasts; 0 means 12 hours.
	SessionTTL time.Duration
	// ClientAddr is the address failures are counted against; nil uses
	// DefaultClientAddr.
	ClientAddr func(*http.Request) string
	Log        *slog.Logger
	now        func() time.Time
}

// Authenticator is the middleware; see Wrap.
type Authenticator struct {
	keys       *Keys
	audit      *Audit
	log        *slog.Logger
	clientAddr func(*http.Request) string
	now        func() time.Time
	sessions   *sessions
	limiter    *limiter
}

// New returns an Authenticator.
func New(opts Options) *Authenticator {
	a := &Authenticator{keys: opts.Keys, audit: opts.Audit, log: opts.Log, clientAddr: opts.ClientAddr, now: opts.now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.clientAddr == nil {
		a.clientAddr = DefaultClientAddr
	}
	if a.now == nil {
		a.now = time.Now
	}
	ttl := opts.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	a.sessions = newSessions(ttl, a.now)
	a.limiter = newLimiter(a.now)
	return a
}

// DefaultClientAddr is the client's IP address: through the tunnel the
// last X-Forwarded-For entry, the one the tunnel agent appended (the
// agent itself connects from loopback, and a client can only prepend
// entries), else the connection's remote address.
func DefaultClientAddr(r *http.Request) string {
	if FromTunnel(r.Context()) {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); ip != "" {
				return ip
			}
		}
		return "tunnel"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isWrite reports whether method changes state.
func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// writeError answers with the proxy's JSON error shape.
func writeError(w http.ResponseWriter, status int, message string, header http.Header) {
	if header == nil {
		header = http.Header{}
	}
	header.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	wsrpc.WriteError(w, status, message, header)
}

// Wrap puts the authentication in front of next. It answers
// SessionPath (POST: sign in, DELETE: sign out), SignInPath and its
// script itself; every other request reaches next with its Principal in
// the context (PrincipalOf), or is refused:
//
//   - local (not through the tunnel) from a loopback address: passes;
//     a state change must pass CheckStateChange, else 403;
//   - through the tunnel or from another address: a Bearer key or a
//     session cookie, else 401 with WWW-Authenticate: Bearer; a
//     read-only key on a state change is 403; a session's state change
//     must pass CheckStateChange too (a cookie is sent by the browser
//     whoever asks); after 10 failed keys from one address, 429 with
//     Retry-After until the address recovers (one attempt per 6 s).
func (a *Authenticator) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case SessionPath:
			a.serveSession(w, r)
			return
		case SignInPath:
			serveSignInPage(w, r)
			return
		case signInJS:
			serveSignInJS(w, r)
			return
		}
		if !isWrite(r.Method) || a.audit == nil {
			p, ok := a.authenticate(w, r)
			if ok {
				next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
			}
			return
		}
		// A change: audited whatever its outcome, a key's refusal for
		// its role included. A request refused before it had a principal
		// (no credential, a cross-site post) is not: any page or client
		// can send those by the thousand, and they would push the real
		// entries out of the bounded log. A wrong key is audited where
		// it is refused, within the rate limit.
		sw := &statusWriter{ResponseWriter: w}
		p, ok := a.authenticate(sw, r)
		done := new(atomic.Bool)
		if ok {
			ctx := context.WithValue(WithPrincipal(r.Context(), p), auditedKey{}, done)
			next.ServeHTTP(sw, r.WithContext(ctx))
		}
		switch {
		case done.Load():
			// next wrote its own, more precise entry (Authenticator.Audit).
		case ok || p.KeyID != "":
			a.record(r.Context(), changeEntry(p, r, sw.status))
		default:
			a.log.Info("refused a change", "client", a.clientAddr(r), "method", r.Method, "path", redact(r.URL.Path), "status", sw.status)
		}
	})
}

// auditedKey marks a change's context with the flag Audit sets.
type auditedKey struct{}

// Audit records a change a handler behind Wrap made, with what it did
// ("apps.install"), to what ("apps/web.conf") and how it ended ("ok", or
// "error: …"), under the request's principal; Wrap then writes no entry
// of its own for the request. Never pass a secret in target or result.
func (a *Authenticator) Audit(r *http.Request, action, target, result string) {
	p, _ := PrincipalOf(r.Context())
	e := Entry{Principal: p.String(), Action: action, Target: target, Result: "ok"}
	if result != "ok" {
		e.Result, e.Detail = "failed", result
		if strings.HasPrefix(result, "error: ") {
			e.Result, e.Detail = "refused", strings.TrimPrefix(result, "error: ")
		}
	}
	a.record(r.Context(), e)
	if done, ok := r.Context().Value(auditedKey{}).(*atomic.Bool); ok {
		done.Store(true)
	}
}

// changeEntry is the audit entry of a change: the method and path (never
// the query or the body, which may carry secrets) and how it ended.
func changeEntry(p Principal, r *http.Request, status int) Entry {
	if status == 0 {
		status = http.StatusOK
	}
	result := "ok"
	switch {
	case status >= 500:
		result = "failed"
	case status >= 400:
		result = "refused"
	}
	return Entry{Principal: p.String(), Action: r.Method + " " + r.URL.Path, Target: r.URL.Path, Result: result, Detail: "status " + strconv.Itoa(status)}
}

// statusWriter remembers the status of an answer for the audit log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer's Flush and
// Hijack.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes on a flush (an answer streamed by next).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Local reports whether r needs no credential: on the local listener
// from this machine.
func Local(r *http.Request) bool {
	return !FromTunnel(r.Context()) && wsrpc.LoopbackRemote(r.RemoteAddr)
}

// Authenticate applies Wrap's rule to one request, for a page the host
// serves outside the wrapped handler (the dashboard the proxy renders
// itself): the principal and true, or false when it has answered the
// refusal.
func (a *Authenticator) Authenticate(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	return a.authenticate(w, r)
}

// authenticate finds r's principal or answers the refusal.
func (a *Authenticator) authenticate(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	if Local(r) {
		if isWrite(r.Method) {
			if err := CheckStateChange(r); err != nil {
				writeError(w, http.StatusForbidden, err.Error(), nil)
				return Principal{}, false
			}
		}
		return Principal{Local: true}, true
	}
	addr := a.clientAddr(r)
	var p Principal
	if token, ok := bearer(r); ok {
		if wait := a.limiter.blocked(addr); wait > 0 {
			tooMany(w, wait)
			return Principal{}, false
		}
		key, ok := a.verify(token)
		if !ok {
			a.limiter.fail(addr)
			a.log.Warn("refused an API key", "client", addr, "path", redact(r.URL.Path))
			a.record(r.Context(), Entry{Principal: "anonymous", Action: "authenticate", Target: r.URL.Path, Result: "refused", Detail: "unknown or revoked key from " + addr})
			unauthorized(w, "the API key is not valid (unknown, revoked or mistyped)")
			return Principal{}, false
		}
		p = Principal{KeyID: key.ID, KeyName: key.Name, Role: key.Role}
	} else if c, err := r.Cookie(CookieName); err == nil {
		s, ok := a.sessions.get(c.Value)
		var key Key
		if ok {
			key, ok = a.lookup(s.keyID)
		}
		if !ok {
			unauthorized(w, "the session has ended: sign in again at "+SignInPath)
			return Principal{}, false
		}
		p = Principal{KeyID: key.ID, KeyName: key.Name, Role: key.Role, Session: true}
		if isWrite(r.Method) {
			if err := CheckStateChange(r); err != nil {
				writeError(w, http.StatusForbidden, err.Error(), nil)
				return Principal{}, false
			}
		}
	} else {
		if navigation(r) {
			signInFirst(w)
			return Principal{}, false
		}
		unauthorized(w, "an API key is needed here: send Authorization: Bearer <key>, or sign in at "+SignInPath)
		return Principal{}, false
	}
	if isWrite(r.Method) && !p.CanWrite() {
		writeError(w, http.StatusForbidden, "the key "+p.KeyID+" is read-only: changes need an admin key", nil)
		return p, false // for the audit log; the request goes no further
	}
	return p, true
}

func (a *Authenticator) verify(token string) (Key, bool) {
	if a.keys == nil {
		return Key{}, false
	}
	return a.keys.Verify(token)
}

func (a *Authenticator) lookup(id string) (Key, bool) {
	if a.keys == nil {
		return Key{}, false
	}
	return a.keys.Lookup(id)
}

func (a *Authenticator) record(ctx context.Context, e Entry) {
	if a.audit == nil {
		return
	}
	if err := a.audit.Record(ctx, e); err != nil {
		a.log.Warn("cannot write the audit log", "err", err)
	}
}

// bearer is the token of `Authorization: Bearer TOKEN`.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(w http.ResponseWriter, message string) {
	writeError(w, http.StatusUnauthorized, message, http.Header{"Www-Authenticate": {`Bearer realm="devproxy"`}})
}

// navigation reports whether r is a browser opening a page (the
// dashboard): a GET that asks for HTML and is not a WebSocket upgrade.
func navigation(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html") &&
		r.Header.Get("Upgrade") == ""
}

// signInFirst is the 401 a browser gets: the same status and
// WWW-Authenticate as the JSON refusal, with a page that links to the
// sign-in page (no script, no redirect, nothing from the request).
func signInFirst(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("WWW-Authenticate", `Bearer realm="devproxy"`)
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · devproxy</title></head>`+
		`<body><h1>Sign in to devproxy</h1><p>This page needs an API key. <a href="`+SignInPath+`">Sign in with your key</a>.</p></body></html>`+"\n")
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	writeError(w, http.StatusTooManyRequests,
		fmt.Sprintf("too many failed attempts from this address: try again in %d s", secs),
		http.Header{"Retry-After": {strconv.Itoa(secs)}})
}

// ErrCrossSite and ErrNotJSON are CheckStateChange's refusals.
var (
	ErrCrossSite = errors.New("cross-site request refused: the Origin is not the proxy's own")
	ErrNotJSON   = errors.New("state-changing requests must send Content-Type: application/json")
)

// CheckStateChange refuses a state change a web page could have sent
// from another site: it must carry Content-Type: application/json (a
// form cannot send that without a CORS preflight, which the proxy never
// grants) and no Origin or the proxy's own (SameOrigin). Caddy's admin
// API guards itself the same way.
func CheckStateChange(r *http.Request) error {
	if !SameOrigin(r) {
		return fmt.Errorf("%w (Origin %q)", ErrCrossSite, r.Header.Get("Origin"))
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return ErrNotJSON
	}
	return nil
}

// SameOrigin reports whether r carries no Origin, or the origin of the
// proxy itself: the request's own scheme, host and port, or a loopback
// alias of its host (localhost, 127.0.0.1, [::1]) on the same port.
// Through the tunnel (FromTunnel) or over TLS the request's scheme is
// https. Origin: null and malformed origins are refused. It is
// proxy/live.SameOrigin's rule (wsrpc.OriginIs), aware of the tunnel's
// scheme, which the origin must have too.
func SameOrigin(r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil || FromTunnel(r.Context()) {
		scheme = "https"
	}
	return wsrpc.OriginIs(r, scheme, scheme)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b, _ := json.Marshal(v)
	w.Write(append(b, '\n'))
}
