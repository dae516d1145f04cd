package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// The paths Handler serves.
const (
	PrometheusPath = "/devproxy/metrics"
	ExportPath     = "/devproxy/api/metrics"
)

// DefaultExportRange is how far back an export without "from" reaches.
const DefaultExportRange = time.Hour

// Handler serves, for GET and HEAD:
//
//	/devproxy/metrics       the Prometheus text exposition
//	/devproxy/api/metrics   an export: ?format=csv|json (default json),
//	                        &from=RFC3339 (default an hour before to),
//	                        &to=RFC3339 (default now), &route=/app/ (default all)
//
// Bad parameters get a 400 whose JSON body names the parameter, other
// methods 405, other paths 404.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(r.serveHTTP)
}

func (r *Registry) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != PrometheusPath && req.URL.Path != ExportPath {
		writeError(w, http.StatusNotFound, "No metrics at "+req.URL.Path+"; try "+PrometheusPath+" or "+ExportPath+".")
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, req.Method+" is not allowed on "+req.URL.Path+"; use GET.")
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if req.URL.Path == PrometheusPath {
		// Written to a buffer first: an error must not leave half an
		// exposition behind a 200.
		var buf bytes.Buffer
		r.WritePrometheus(&buf) // a bytes.Buffer does not fail
		h.Set("Content-Type", PrometheusContentType)
		w.Write(buf.Bytes())
		return
	}

	q := req.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, `The parameter "format" must be "csv" or "json", not "`+clip(format)+`".`)
		return
	}
	to := r.now()
	if s := q.Get("to"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			writeError(w, http.StatusBadRequest, `The parameter "to" must be an RFC 3339 time such as 2026-01-02T15:04:05Z, not "`+clip(s)+`".`)
			return
		}
		to = t
	}
	from := to.Add(-DefaultExportRange)
	if s := q.Get("from"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			writeError(w, http.StatusBadRequest, `The parameter "from" must be an RFC 3339 time such as 2026-01-02T15:04:05Z, not "`+clip(s)+`".`)
			return
		}
		from = t
	}
	if !from.Before(to) {
		writeError(w, http.StatusBadRequest, `The parameter "from" must be before "to".`)
		return
	}
	route := q.Get("route")

	var buf bytes.Buffer
	if err := r.Export(&buf, format, from, to, route); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrUnknownFormat) || errors.Is(err, ErrEmptyRange) {
			status = http.StatusBadRequest
		}
		writeError(w, status, err.Error())
		return
	}
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="devproxy-metrics.csv"`)
	} else {
		h.Set("Content-Type", "application/json")
	}
	w.Write(buf.Bytes())
}

// ErrorBody is the JSON of an error answer, the shape the proxy's own
// errors have.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(ErrorBody{Error: http.StatusText(status), Message: msg, Status: status})
}

// clip shortens a parameter echoed in an error message.
func clip(s string) string {
	const limit = 64
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
