package manage

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schema compiles schemas/NAME.
func schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "..", "schemas", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(name, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(name)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, what string, data []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s does not match its schema: %v\n%s", what, err, data)
	}
}

// TestAnswersMatchSchemas sends real requests to a real workspace and
// validates every body sent and every answer against schemas/manage-*.
func TestAnswersMatchSchemas(t *testing.T) {
	s := newSite(t, map[string]string{
		"apps/a.conf":      "location /api/ { proxy_pass http://127.0.0.1:1; }\n",
		"apps/b.conf":      "location /api/ { proxy_pass http://127.0.0.1:2; }\n",
		"apps/broken.conf": "location /x/ {\n",
		"overrides/o.conf": "location ~ ^/re/(.*)$ { return 204; }\n",
	})
	s.api = New(Options{Workspace: s.ws, Reports: &fakeStore{latest: map[string][]byte{"/api/": []byte(`{"route":"/api/"}`)}}})
	s.h = s.api.Handler()
	errSchema := schema(t, "manage-error.schema.json")
	for _, tc := range []struct {
		method, path  string
		body          string
		bodySchema    string
		answerSchema  string
		reloadAfter   bool
		wantErrStatus int
	}{
		{"POST", "/devproxy/api/apps/install", body(InstallRequest{Name: "web", Content: webConf}), "manage-install.schema.json", "manage-install-result.schema.json", true, 0},
		{"POST", "/devproxy/api/apps/install", body(InstallRequest{Name: "web", Content: "location /api/ { proxy_pass http://127.0.0.1:3; }\n"}), "manage-install.schema.json", "manage-install-result.schema.json", true, 0},
		{"POST", "/devproxy/api/apps/create-route", `{"name":"shop","basePath":"/shop/","upstream":"http://127.0.0.1:3000","options":{"preset":"next","stripPrefix":false}}`, "manage-create-route.schema.json", "manage-install-result.schema.json", true, 0},
		{"GET", "/devproxy/api/apps/list", "", "", "manage-list.schema.json", false, 0},
		{"GET", "/devproxy/api/apps/diagnostics", "", "", "manage-diagnostics.schema.json", false, 0},
		{"POST", "/devproxy/api/resolve-conflict", `{"route":"/api/","winner":"a.conf"}`, "manage-resolve-conflict.schema.json", "manage-resolve-result.schema.json", true, 0},
		{"POST", "/devproxy/api/rename-route", `{"from":"/shop/","to":"/store/"}`, "manage-rename-route.schema.json", "manage-rename-result.schema.json", true, 0},
		{"GET", "/devproxy/api/settings", "", "", "manage-settings-result.schema.json", false, 0},
		{"POST", "/devproxy/api/settings", `{"retention":{"reports":10,"days":2},"allowedHosts":["dev.example.com"]}`, "manage-settings.schema.json", "manage-settings-result.schema.json", true, 0},
		{"GET", "/devproxy/api/reports", "", "", "manage-reports.schema.json", false, 0},
		{"GET", "/devproxy/api/config", "", "", "manage-config.schema.json", false, 0},
		{"POST", "/devproxy/api/reports/prune", "{}", "", "manage-prune-result.schema.json", false, 0},
		{"POST", "/devproxy/api/apps/install", `{"name":"bad","content":"location /devproxy/x/ { return 200; }"}`, "manage-install.schema.json", "", false, 422},
		{"POST", "/devproxy/api/apps/install", `{"name":"../x","content":"x"}`, "", "", false, 400},
		{"DELETE", "/devproxy/api/settings", "", "", "", false, 405},
	} {
		if tc.bodySchema != "" {
			validate(t, schema(t, tc.bodySchema), tc.path+" body", []byte(tc.body))
		}
		req := httptest.NewRequest(tc.method, "http://localhost:8080"+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		if tc.wantErrStatus != 0 {
			if rec.Code != tc.wantErrStatus {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, rec.Code, tc.wantErrStatus, rec.Body)
			}
			validate(t, errSchema, tc.path+" error", rec.Body.Bytes())
			continue
		}
		if rec.Code != http.StatusOK {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, rec.Code, rec.Body)
			continue
		}
		validate(t, schema(t, tc.answerSchema), tc.method+" "+tc.path, rec.Body.Bytes())
		if tc.reloadAfter {
			s.ws.Load() // as the node's watcher would: the next request sees the change
		}
	}
	// The schemas refuse what the API refuses.
	install := schema(t, "manage-install.schema.json")
	for _, bad := range []string{`{"name":"../x","content":"x"}`, `{"name":"web","content":"x","extra":1}`, `{"name":"Web","content":"x"}`} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if install.Validate(v) == nil {
			t.Errorf("manage-install accepts %s", bad)
		}
	}
}
