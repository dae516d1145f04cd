package node

// The health part of the management API, on the local listener only:
//
//	GET  /health.json, /devproxy/api/health      the latest health (schemas/health.schema.json)
//	POST /devproxy/api/health/rescan[?route=/a/]  probe now
//	GET  /devproxy/api/health/retention           {reports, days, dataDir}
//	POST /devproxy/api/health/retention           {reports?, days?}: set it (until restart;
//	                                              devproxy.json's "retention" is the lasting place)
//	POST /devproxy/api/health/prune               apply it now: {removed}
//
// Any web page the developer visits can send requests to the proxy's
// loopback address, so every POST must be JSON (a form cannot send that
// without a preflight) and carry no Origin or the proxy's own: anything
// else is 403 and changes nothing.

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
	"github.com/devtunnelproxy/devproxy/proxy/store"
)

// writeAPIError answers with the JSON shape of the proxy's own errors
// (wsrpc.ErrorBody), under the API's Cache-Control.
func writeAPIError(w http.ResponseWriter, status int, message string) {
	wsrpc.WriteError(w, status, message, http.Header{"Cache-Control": {"no-cache, no-store, must-revalidate"}})
}

// guardPost refuses a cross-site or non-JSON state change (the rule of
// auth.CheckStateChange); true when the request may go on.
func guardPost(w http.ResponseWriter, r *http.Request) bool {
	if err := auth.CheckStateChange(r); err != nil {
		writeAPIError(w, http.StatusForbidden, err.Error())
		return false
	}
	return true
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// RetentionInfo is GET /devproxy/api/health/retention's answer.
type RetentionInfo struct {
	Reports int    `json:"reports"`
	Days    int    `json:"days"`
	DataDir string `json:"dataDir"` // "" when health is kept in memory only
}

func (rt *runtime) healthAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /health.json", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, rt.n.Health()) })
	mux.HandleFunc("GET /devproxy/api/health", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, rt.n.Health()) })
	mux.HandleFunc("POST /devproxy/api/health/rescan", func(w http.ResponseWriter, r *http.Request) {
		if !guardPost(w, r) {
			return
		}
		doc, err := rt.n.Rescan(r.Context(), r.URL.Query()["route"]...)
		if err != nil {
			writeAPIError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		writeJSON(w, doc)
	})
	mux.HandleFunc("GET /devproxy/api/health/retention", func(w http.ResponseWriter, r *http.Request) {
		st := rt.currentStore()
		if st == nil {
			writeJSON(w, RetentionInfo{})
			return
		}
		ret := st.Retention()
		writeJSON(w, RetentionInfo{Reports: ret.Reports, Days: ret.Days, DataDir: rt.n.opts.Health.DataDir})
	})
	mux.HandleFunc("POST /devproxy/api/health/retention", func(w http.ResponseWriter, r *http.Request) {
		if !guardPost(w, r) {
			return
		}
		var p struct {
			Reports *int `json:"reports"`
			Days    *int `json:"days"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			writeAPIError(w, http.StatusBadRequest, "the body must be {\"reports\"?: 50, \"days\"?: 7}: "+err.Error())
			return
		}
		switch {
		case p.Reports != nil && (*p.Reports < 1 || *p.Reports > 100000):
			writeAPIError(w, http.StatusBadRequest, "reports must be between 1 and 100000")
			return
		case p.Days != nil && (*p.Days < 0 || *p.Days > 36500):
			writeAPIError(w, http.StatusBadRequest, "days must be between 0 (no age limit) and 36500")
			return
		}
		st := rt.currentStore()
		if st == nil {
			writeAPIError(w, http.StatusConflict, "health is kept in memory only here (no store): there is no retention to set")
			return
		}
		ret := st.Retention()
		if p.Reports != nil {
			ret.Reports = *p.Reports
		}
		if p.Days != nil {
			ret.Days = *p.Days
		}
		st.SetRetention(ret)
		ret = st.Retention()
		writeJSON(w, RetentionInfo{Reports: ret.Reports, Days: ret.Days, DataDir: rt.n.opts.Health.DataDir})
	})
	mux.HandleFunc("POST /devproxy/api/health/prune", func(w http.ResponseWriter, r *http.Request) {
		if !guardPost(w, r) {
			return
		}
		st := rt.currentStore()
		if st == nil {
			writeAPIError(w, http.StatusConflict, "health is kept in memory only here (no store): nothing to prune")
			return
		}
		removed, err := st.Prune(time.Now())
		if err != nil {
			writeAPIError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, map[string]int{"removed": removed})
	})
}

func (rt *runtime) currentStore() *store.Store {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.store
}
