// Package manage is the management API under /devproxy/api/: the endpoints
// apps and scripts use to register their own routes (install, create-route),
// list them, read the engine's findings, settle conflicts, rename routes,
// edit the safe settings of devproxy.json and read or prune health reports.
//
// Every change is checked by the route engine before anything is written,
// and written atomically (a temporary file in the same folder, fsync,
// rename), so that a failure at any step leaves every file as it was. The
// handler does no authentication (the node mounts it behind its auth
// middleware), but every state-changing request must pass GuardPost: any
// web page the developer visits can post to the proxy's loopback address.
//
//	POST /devproxy/api/apps/install       {name, content}
//	POST /devproxy/api/apps/create-route  {name, basePath, upstream, options}
//	GET  /devproxy/api/apps/list
//	GET  /devproxy/api/apps/diagnostics
//	POST /devproxy/api/resolve-conflict   {route, winner}
//	POST /devproxy/api/rename-route       {from, to, file?}
//	GET  /devproxy/api/settings, POST /devproxy/api/settings {retention?, allowedHosts?, private?}
//	GET  /devproxy/api/reports, POST /devproxy/api/reports/prune
//
// The bodies and answers are described in schemas/manage-*.schema.json.
package manage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// MaxBody is the largest request body the API reads (413 beyond).
const MaxBody = 1 << 20

// ErrNoStore is a ReportStore's error when health is kept in memory only
// (for now: the store is still opening, or another process holds it):
// GET reports answers none, prune 409.
var ErrNoStore = errors.New("health is kept in memory only here (no store)")

// ReportStore is what the API needs of the health store (proxy/store).
type ReportStore interface {
	// Latest is the newest report of each route, as stored JSON.
	Latest() (map[string][]byte, error)
	// Prune applies the retention now and says how many reports went.
	Prune(now time.Time) (int, error)
}

// Options configure the API.
type Options struct {
	// Workspace validates and composes every change; it is not reloaded
	// here (the node's watcher sees the writes).
	Workspace *routing.Workspace
	// Root is the primary folder, where apps/, overrides/, devproxy.json
	// and .devproxy/ live; the Workspace's root when empty.
	Root string
	// Reports may be nil: GET reports answers none, prune 409.
	Reports ReportStore
	Log     *slog.Logger
	// Audit, when set, hears of every state-changing request: action
	// ("apps.install"), target ("apps/web.conf") and result ("ok" or
	// "error: ...").
	Audit func(r *http.Request, action, target, result string)
	// Version is the devproxy version GET config reports.
	Version string
}

// API serves the management endpoints.
type API struct {
	opts Options
	root string
	log  *slog.Logger
	// mu serialises changes: two installs must not interleave their
	// backups and renames.
	mu sync.Mutex
	// rename is os.Rename; tests make it fail to prove nothing changes.
	rename func(oldpath, newpath string) error
	now    func() time.Time
}

// New returns the API for opts.
func New(opts Options) *API {
	a := &API{opts: opts, root: opts.Root, log: opts.Log, rename: os.Rename, now: time.Now}
	if a.root == "" && opts.Workspace != nil {
		a.root = opts.Workspace.Root()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// Paths are the paths Handler answers, for a node that mounts them one by
// one beside its own /devproxy/api/ endpoints (health, config).
var Paths = []string{
	"/devproxy/api/apps/install", "/devproxy/api/apps/create-route", "/devproxy/api/apps/list",
	"/devproxy/api/apps/diagnostics", "/devproxy/api/resolve-conflict", "/devproxy/api/rename-route",
	"/devproxy/api/settings", "/devproxy/api/reports", "/devproxy/api/reports/prune",
	"/devproxy/api/config",
}

// Handler returns the handler of every endpoint, to be mounted at
// /devproxy/api/ (it routes on the full path).
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	post := func(action string, fn func(*http.Request) (any, *Error, string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if e := GuardPost(r); e != nil {
				writeError(w, e)
				a.audit(r, action, "", "error: "+e.Message)
				return
			}
			// The body is read before the lock: a slow client must not
			// hold up every other change.
			data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
			if err != nil {
				writeError(w, errorf(http.StatusBadRequest, "", "cannot read the body: %v", err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(data))
			a.mu.Lock()
			v, e, target := fn(r)
			a.mu.Unlock()
			if e != nil {
				writeError(w, e)
				a.audit(r, action, target, "error: "+e.Message)
				return
			}
			a.audit(r, action, target, "ok")
			writeJSON(w, http.StatusOK, v)
		}
	}
	get := func(fn func(*http.Request) (any, *Error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			v, e := fn(r)
			if e != nil {
				writeError(w, e)
				return
			}
			writeJSON(w, http.StatusOK, v)
		}
	}
	// Each path answers its methods only: 405 with Allow otherwise.
	route := func(path string, byMethod map[string]http.HandlerFunc) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			if byMethod[m] != nil {
				allow = append(allow, m)
			}
		}
		if byMethod[http.MethodGet] != nil {
			byMethod[http.MethodHead] = byMethod[http.MethodGet]
			allow = append(allow, http.MethodHead)
		}
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if h := byMethod[r.Method]; h != nil {
				h(w, r)
				return
			}
			methodNotAllowed(w, strings.Join(allow, ", "))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, "", "no management endpoint at %s", r.URL.Path))
	})
	route("/devproxy/api/apps/install", map[string]http.HandlerFunc{"POST": post("apps.install", a.install)})
	route("/devproxy/api/apps/create-route", map[string]http.HandlerFunc{"POST": post("apps.create-route", a.createRoute)})
	route("/devproxy/api/apps/list", map[string]http.HandlerFunc{"GET": get(a.list)})
	route("/devproxy/api/apps/diagnostics", map[string]http.HandlerFunc{"GET": get(a.diagnostics)})
	route("/devproxy/api/resolve-conflict", map[string]http.HandlerFunc{"POST": post("resolve-conflict", a.resolveConflict)})
	route("/devproxy/api/rename-route", map[string]http.HandlerFunc{"POST": post("rename-route", a.renameRoute)})
	route("/devproxy/api/settings", map[string]http.HandlerFunc{"GET": get(a.settings), "POST": post("settings", a.setSettings)})
	route("/devproxy/api/reports", map[string]http.HandlerFunc{"GET": get(a.reports)})
	route("/devproxy/api/reports/prune", map[string]http.HandlerFunc{"POST": post("reports.prune", a.prune)})
	route("/devproxy/api/config", map[string]http.HandlerFunc{"GET": get(a.config)})
	return mux
}

func (a *API) audit(r *http.Request, action, target, result string) {
	a.log.Info("management API", "action", action, "target", target, "result", result, "remote", r.RemoteAddr)
	if a.opts.Audit != nil {
		a.opts.Audit(r, action, target, result)
	}
}

// Error is the API's error answer: {"error", "message", "status",
// "field"}, and the engine's findings when a change was refused for them.
type Error struct {
	Error    string    `json:"error"`
	Message  string    `json:"message"`
	Status   int       `json:"status"`
	Field    string    `json:"field,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
	allow    string
}

func errorf(status int, field, format string, args ...any) *Error {
	return &Error{Error: http.StatusText(status), Status: status, Field: field, Message: fmt.Sprintf(format, args...)}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	e := errorf(http.StatusMethodNotAllowed, "", "this endpoint answers %s only", allow)
	e.allow = allow
	writeError(w, e)
}

func writeError(w http.ResponseWriter, e *Error) {
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b, _ := json.Marshal(v)
	w.Write(append(b, '\n'))
}

// GuardPost refuses a cross-site or non-JSON state change (403): the
// request must carry no Origin or the proxy's own, and Content-Type
// application/json, which an HTML form cannot send without a preflight.
// It is auth.CheckStateChange, with the field named; nil when the request
// may go on.
func GuardPost(r *http.Request) *Error {
	switch err := auth.CheckStateChange(r); {
	case errors.Is(err, auth.ErrCrossSite):
		return errorf(http.StatusForbidden, "Origin", "%s", err.Error())
	case err != nil:
		return errorf(http.StatusForbidden, "Content-Type", "%s", err.Error())
	}
	return nil
}

// decode reads a JSON body of at most MaxBody bytes into v, refusing
// unknown fields and trailing data. empty allows no body at all.
func decode(r *http.Request, v any, empty bool) *Error {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "", "cannot read the body: %v", err)
	}
	if len(data) > MaxBody {
		return errorf(http.StatusRequestEntityTooLarge, "", "the body is larger than %d bytes", MaxBody)
	}
	if empty && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return errorf(http.StatusBadRequest, f, "unknown field %q", f)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errorf(http.StatusBadRequest, te.Field, "%s must be %s", te.Field, te.Type)
		}
		return errorf(http.StatusBadRequest, "", "the body is not valid JSON: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "", "the body must be one JSON object")
	}
	return nil
}
