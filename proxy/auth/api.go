package auth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// RegisterAPI adds the keys and audit endpoints to mux, which Wrap
// guards (mux must be behind Wrap):
//
//	GET    /devproxy/api/keys            the keys, never a secret
//	POST   /devproxy/api/keys            {"role", "name"?}: {"key": "dvp_...", ...} shown once
//	DELETE /devproxy/api/keys/{id}       revoke
//	GET    /devproxy/api/audit?since=RFC3339&limit=N (JSON), ?format=csv (the whole log)
//
// Only the developer on this machine and admin keys may use them: the
// list of keys and the audit log say who may do what.
func (a *Authenticator) RegisterAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /devproxy/api/keys", a.adminOnly(func(w http.ResponseWriter, r *http.Request) {
		list := []Key{}
		if a.keys != nil {
			list = append(list, a.keys.List()...)
		}
		writeJSON(w, http.StatusOK, list)
	}))
	mux.HandleFunc("POST /devproxy/api/keys", a.adminOnly(func(w http.ResponseWriter, r *http.Request) {
		if a.keys == nil {
			writeError(w, http.StatusConflict, "keys are not kept here (no data folder)", nil)
			return
		}
		var body struct {
			Role string `json:"role"`
			Name string `json:"name"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, `the body must be {"role": "read-only"|"admin", "name"?: "..."}`, nil)
			return
		}
		role, err := ParseRole(body.Role)
		if err != nil {
			writeError(w, http.StatusBadRequest, "role: "+err.Error(), nil)
			return
		}
		plain, key, err := a.keys.Create(role, body.Name)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), nil)
			return
		}
		writeJSON(w, http.StatusCreated, struct {
			Key
			Secret string `json:"key"`
		}{key, plain})
	}))
	mux.HandleFunc("DELETE /devproxy/api/keys/{id}", a.adminOnly(func(w http.ResponseWriter, r *http.Request) {
		if a.keys == nil {
			writeError(w, http.StatusNotFound, "no such key", nil)
			return
		}
		if err := a.keys.Revoke(r.PathValue("id")); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrNoKey) {
				status = http.StatusNotFound
			}
			writeError(w, status, err.Error(), nil)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("GET /devproxy/api/audit", a.adminOnly(func(w http.ResponseWriter, r *http.Request) {
		if a.audit == nil {
			writeError(w, http.StatusConflict, "there is no audit log here (no data folder)", nil)
			return
		}
		q := r.URL.Query()
		var since time.Time
		if s := q.Get("since"); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				writeError(w, http.StatusBadRequest, "since must be an RFC 3339 time, such as 2026-01-02T15:04:05Z", nil)
				return
			}
			since = t
		}
		limit := 1000
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > DefaultAuditEntries {
				writeError(w, http.StatusBadRequest, "limit must be between 1 and 10000", nil)
				return
			}
			limit = n
		}
		switch q.Get("format") {
		case "csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="devproxy-audit.csv"`)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			a.audit.Export(w, "csv")
		case "", "json":
			entries, err := a.audit.List(since, limit)
			if err != nil {
				writeError(w, http.StatusInternalServerError, err.Error(), nil)
				return
			}
			if entries == nil {
				entries = []Entry{}
			}
			writeJSON(w, http.StatusOK, entries)
		default:
			writeError(w, http.StatusBadRequest, "format must be json or csv", nil)
		}
	}))
}

// adminOnly refuses a read-only key (a read-only key's writes are
// refused by Wrap already; this covers its reads).
func (a *Authenticator) adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalOf(r.Context())
		if !ok || !p.CanWrite() {
			writeError(w, http.StatusForbidden, "keys and the audit log need an admin key", nil)
			return
		}
		h(w, r)
	}
}
