package auth

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestKeysAndAuditAPI(t *testing.T) {
	f := newFixture(t)
	mux := http.NewServeMux()
	f.auth.RegisterAPI(mux)
	f.h = f.auth.Wrap(mux)
	ro, _ := f.create(t, ReadOnly, "teammate")

	// Local: create, list, revoke.
	w := f.do(req{method: http.MethodPost, path: "/devproxy/api/keys", header: jsonHeader(nil), body: `{"role":"admin","name":"ci"}`})
	wantStatus(t, "create", w, http.StatusCreated)
	var created struct {
		ID   string `json:"id"`
		Role Role   `json:"role"`
		Key  string `json:"key"`
	}
	json.Unmarshal(w.Body.Bytes(), &created)
	if created.Role != Admin || !strings.HasPrefix(created.Key, "dvp_") {
		t.Fatalf("created %s", w.Body)
	}
	wantStatus(t, "bad role", f.do(req{method: http.MethodPost, path: "/devproxy/api/keys", header: jsonHeader(nil), body: `{"role":"root"}`}), http.StatusBadRequest)
	w = f.do(req{path: "/devproxy/api/keys"})
	wantStatus(t, "list", w, http.StatusOK)
	if strings.Contains(w.Body.String(), created.Key) || strings.Contains(w.Body.String(), ro) || strings.Contains(w.Body.String(), "hash") || !strings.Contains(w.Body.String(), created.ID) {
		t.Errorf("list %s", w.Body)
	}

	// Through the tunnel: a read-only key can neither list nor create;
	// the new admin key can.
	wantStatus(t, "read-only list", f.do(req{path: "/devproxy/api/keys", tunnel: true, header: bearerHeader(ro)}), http.StatusForbidden)
	wantStatus(t, "read-only audit", f.do(req{path: "/devproxy/api/audit", tunnel: true, header: bearerHeader(ro)}), http.StatusForbidden)
	wantStatus(t, "read-only create", f.do(req{method: http.MethodPost, path: "/devproxy/api/keys", tunnel: true, header: jsonHeader(bearerHeader(ro)), body: `{"role":"admin"}`}), http.StatusForbidden)
	wantStatus(t, "admin list", f.do(req{path: "/devproxy/api/keys", tunnel: true, header: bearerHeader(created.Key)}), http.StatusOK)

	w = f.do(req{path: "/devproxy/api/audit?limit=2", tunnel: true, header: bearerHeader(created.Key)})
	wantStatus(t, "audit", w, http.StatusOK)
	var entries []Entry
	if err := json.Unmarshal(w.Body.Bytes(), &entries); err != nil || len(entries) != 2 {
		t.Errorf("audit %s", w.Body)
	}
	w = f.do(req{path: "/devproxy/api/audit?format=csv"})
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), "at,principal") || strings.Contains(w.Body.String(), created.Key) {
		t.Errorf("csv %d %s", w.Code, w.Body)
	}
	wantStatus(t, "bad since", f.do(req{path: "/devproxy/api/audit?since=yesterday"}), http.StatusBadRequest)

	wantStatus(t, "revoke", f.do(req{method: http.MethodDelete, path: "/devproxy/api/keys/" + created.ID, header: jsonHeader(nil)}), http.StatusNoContent)
	wantStatus(t, "revoke again", f.do(req{method: http.MethodDelete, path: "/devproxy/api/keys/" + created.ID, header: jsonHeader(nil)}), http.StatusNotFound)
	wantStatus(t, "the revoked key", f.do(req{path: "/devproxy/api/keys", tunnel: true, header: bearerHeader(created.Key)}), http.StatusUnauthorized)
}
