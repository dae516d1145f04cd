package manage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// site is a workspace on disk with the API over it.
type site struct {
	root string
	ws   *routing.Workspace
	api  *API
	h    http.Handler
}

func newSite(t *testing.T, files map[string]string) *site {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	api := New(Options{Workspace: ws, Root: root})
	return &site{root: root, ws: ws, api: api, h: api.Handler()}
}

// do sends a request the way a local script does: JSON, no Origin.
func (s *site) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1:8080"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.serve(t, req)
}

func (s *site) serve(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v\n%s", req.Method, req.URL.Path, err, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return rec.Code, out
}

func body(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// snapshot reads every file under root.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

func resolve(t *testing.T, table *routing.RouteTable, target string) *routing.Decision {
	t.Helper()
	return table.Resolve(&routing.Request{Target: target})
}

const webConf = "location /web/ { proxy_pass http://127.0.0.1:5173; }\n"

func TestInstallWritesAndTheWorkspaceServesIt(t *testing.T) {
	s := newSite(t, nil)
	code, out := s.do(t, "POST", "/devproxy/api/apps/install", body(InstallRequest{Name: "web", Content: webConf}))
	if code != 200 || out["installed"] != "apps/web.conf" {
		t.Fatalf("install: %d %v", code, out)
	}
	got, _ := os.ReadFile(filepath.Join(s.root, "apps", "web.conf"))
	if string(got) != webConf {
		t.Errorf("file holds %q", got)
	}
	d := resolve(t, s.ws.Load(), "/web/x")
	if d.Action != routing.ActionProxy || d.Upstream != "http://127.0.0.1:5173" {
		t.Errorf("after reload /web/x: %s %s", d.Action, d.Upstream)
	}
	// Again: the previous version is kept as a backup, at most three.
	for i := range 5 {
		content := strings.Replace(webConf, "5173", "600"+string(rune('0'+i)), 1)
		if code, out := s.do(t, "POST", "/devproxy/api/apps/install", body(InstallRequest{Name: "web", Content: content})); code != 200 || out["backup"] == nil {
			t.Fatalf("reinstall %d: %d %v", i, code, out)
		}
	}
	backups, _ := os.ReadDir(filepath.Join(s.root, filepath.FromSlash(BackupDir)))
	if len(backups) != MaxBackups {
		t.Errorf("%d backups, want %d", len(backups), MaxBackups)
	}
	newest, _ := os.ReadFile(filepath.Join(s.root, filepath.FromSlash(BackupDir), backups[len(backups)-1].Name()))
	if !strings.Contains(string(newest), "6003") {
		t.Errorf("newest backup is %q, want the version before the last", newest)
	}
	table := s.ws.Load()
	if len(table.Files) != 1 || table.Files[0].Path != "apps/web.conf" {
		t.Errorf("the engine reads backups as route files: %v", table.Files)
	}
	if d := resolve(t, table, "/web/"); d.Upstream != "http://127.0.0.1:6004" {
		t.Errorf("upstream %s", d.Upstream)
	}
}

func TestInstallRefusesWhatTheEngineRefuses(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"syntax", "location /web/ { proxy_pass http://a:1;\n", "apps/bad.conf"},
		{"unknown directive", "location /web/ { frobnicate on; }\n", "frobnicate"},
		{"reserved", "location /devproxy/api/ { proxy_pass http://a:1; }\n", "/devproxy/"},
		{"reserved routes.json", "location = /routes.json { return 200; }\n", "routes.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, map[string]string{"apps/web.conf": webConf})
			before := snapshot(t, s.root)
			code, out := s.do(t, "POST", "/devproxy/api/apps/install", body(InstallRequest{Name: "bad", Content: tc.content}))
			if code != 422 || out["field"] != "content" {
				t.Fatalf("%d %v", code, out)
			}
			findings, _ := out["findings"].([]any)
			if len(findings) == 0 || !strings.Contains(body(findings), tc.want) {
				t.Errorf("findings %v do not mention %q", findings, tc.want)
			}
			if after := snapshot(t, s.root); !maps.Equal(before, after) {
				t.Errorf("files changed:\n%v\n%v", before, after)
			}
		})
	}
}

func TestInstallReportsConflictsButGoesAhead(t *testing.T) {
	s := newSite(t, map[string]string{"apps/a.conf": "location /api/ { proxy_pass http://127.0.0.1:1; }\n"})
	code, out := s.do(t, "POST", "/devproxy/api/apps/install", body(InstallRequest{Name: "b", Content: "location /api/ { proxy_pass http://127.0.0.1:2; }\n"}))
	if code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	if !strings.Contains(body(out["warnings"]), "/api/") {
		t.Errorf("no conflict warning: %v", out["warnings"])
	}
	if len(s.ws.Load().Conflicts) != 1 {
		t.Error("the workspace sees no conflict")
	}
}

// TestFailedInstallChangesNothing injects a failure at the rename step:
// the backup already written is taken back, the temporary file removed,
// every file byte-identical, and no folder left behind.
func TestFailedInstallChangesNothing(t *testing.T) {
	for _, existing := range []bool{true, false} {
		files := map[string]string{"apps/other.conf": "location /o/ { proxy_pass http://127.0.0.1:9; }\n", ".devproxy/resolutions.json": "{}\n"}
		if existing {
			files["apps/web.conf"] = webConf
		}
		s := newSite(t, files)
		before := snapshot(t, s.root)
		dirsBefore := dirs(t, s.root)
		s.api.rename = func(oldpath, newpath string) error {
			if filepath.Base(newpath) == "web.conf" {
				return errors.New("injected failure")
			}
			return os.Rename(oldpath, newpath)
		}
		code, out := s.do(t, "POST", "/devproxy/api/apps/install", body(InstallRequest{Name: "web", Content: "location /web/ { proxy_pass http://127.0.0.1:1; }\n"}))
		if code != 500 || !strings.Contains(out["message"].(string), "nothing was changed") {
			t.Fatalf("%d %v", code, out)
		}
		if after := snapshot(t, s.root); !maps.Equal(before, after) {
			t.Errorf("existing=%v: files changed:\nbefore %v\nafter  %v", existing, before, after)
		}
		if after := dirs(t, s.root); !maps.Equal(dirsBefore, after) {
			t.Errorf("existing=%v: folders changed: %v -> %v", existing, dirsBefore, after)
		}
	}
}

func dirs(t *testing.T, root string) map[string]bool {
	out := map[string]bool{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			out[p] = true
		}
		return nil
	})
	return out
}

// TestInputIsRefusedByField is the security table: names, traversal,
// reserved names and paths, bodies, methods and content types. Nothing is
// ever written.
func TestInputIsRefusedByField(t *testing.T) {
	big := strings.Repeat("#", MaxBody+10)
	for _, tc := range []struct {
		name, method, path, ctype, origin, body string
		status                                  int
		field                                   string
	}{
		{"empty name", "POST", "/devproxy/api/apps/install", "", "", `{"name":"","content":"x"}`, 400, "name"},
		{"dot dot", "POST", "/devproxy/api/apps/install", "", "", `{"name":"../x","content":"x"}`, 400, "name"},
		{"dot dot alone", "POST", "/devproxy/api/apps/install", "", "", `{"name":"..","content":"x"}`, 400, "name"},
		{"slash", "POST", "/devproxy/api/apps/install", "", "", `{"name":"a/b","content":"x"}`, 400, "name"},
		{"absolute", "POST", "/devproxy/api/apps/install", "", "", `{"name":"/etc/passwd","content":"x"}`, 400, "name"},
		{"backslash", "POST", "/devproxy/api/apps/install", "", "", `{"name":"..\\x","content":"x"}`, 400, "name"},
		{"NUL", "POST", "/devproxy/api/apps/install", "", "", `{"name":"a\u0000b","content":"x"}`, 400, "name"},
		{"dot", "POST", "/devproxy/api/apps/install", "", "", `{"name":"web.conf","content":"x"}`, 400, "name"},
		{"hidden", "POST", "/devproxy/api/apps/install", "", "", `{"name":".web","content":"x"}`, 400, "name"},
		{"upper case", "POST", "/devproxy/api/apps/install", "", "", `{"name":"Web","content":"x"}`, 400, "name"},
		{"too long", "POST", "/devproxy/api/apps/install", "", "", `{"name":"` + strings.Repeat("a", 64) + `","content":"x"}`, 400, "name"},
		{"leading dash", "POST", "/devproxy/api/apps/install", "", "", `{"name":"-web","content":"x"}`, 400, "name"},
		{"reserved devproxy", "POST", "/devproxy/api/apps/install", "", "", `{"name":"devproxy","content":"x"}`, 400, "name"},
		{"reserved routes", "POST", "/devproxy/api/apps/install", "", "", `{"name":"routes","content":"x"}`, 400, "name"},
		{"reserved health", "POST", "/devproxy/api/apps/install", "", "", `{"name":"health","content":"x"}`, 400, "name"},
		{"reserved status", "POST", "/devproxy/api/apps/install", "", "", `{"name":"status","content":"x"}`, 400, "name"},
		{"no content", "POST", "/devproxy/api/apps/install", "", "", `{"name":"web"}`, 400, "content"},
		{"NUL in content", "POST", "/devproxy/api/apps/install", "", "", `{"name":"web","content":"location /a/ {}\u0000"}`, 400, "content"},
		{"unknown field", "POST", "/devproxy/api/apps/install", "", "", `{"name":"web","content":"x","path":"../../x"}`, 400, "path"},
		{"wrong type", "POST", "/devproxy/api/apps/install", "", "", `{"name":7,"content":"x"}`, 400, "name"},
		{"invalid JSON", "POST", "/devproxy/api/apps/install", "", "", `{"name":`, 400, ""},
		{"two objects", "POST", "/devproxy/api/apps/install", "", "", `{"name":"web","content":"x"}{}`, 400, ""},
		{"too large", "POST", "/devproxy/api/apps/install", "", "", `{"name":"web","content":"` + big + `"}`, 413, ""},
		{"form encoded", "POST", "/devproxy/api/apps/install", "application/x-www-form-urlencoded", "", `name=web&content=x`, 403, "Content-Type"},
		{"text plain", "POST", "/devproxy/api/apps/install", "text/plain", "", `{"name":"web","content":"` + webConf + `"}`, 403, "Content-Type"},
		{"cross-site", "POST", "/devproxy/api/apps/install", "", "http://evil.example", body(InstallRequest{Name: "web", Content: webConf}), 403, "Origin"},
		{"null origin", "POST", "/devproxy/api/apps/install", "", "null", body(InstallRequest{Name: "web", Content: webConf}), 403, "Origin"},
		{"unknown path", "GET", "/devproxy/api/apps/nope", "", "", "", 404, ""},
		{"GET install", "GET", "/devproxy/api/apps/install", "", "", "", 405, ""},
		{"POST list", "POST", "/devproxy/api/apps/list", "", "", "{}", 405, ""},
		{"basePath traversal", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/../x/","upstream":"http://a:1"}`, 400, "basePath"},
		{"basePath no slash", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"web","upstream":"http://a:1"}`, 400, "basePath"},
		{"basePath root", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/","upstream":"http://a:1"}`, 400, "basePath"},
		{"basePath reserved", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/devproxy/","upstream":"http://a:1"}`, 400, "basePath"},
		{"basePath reserved health", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/health/","upstream":"http://a:1"}`, 400, "basePath"},
		{"basePath injection", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/a/ { return 200; } location /b/","upstream":"http://a:1"}`, 400, "basePath"},
		{"upstream no port", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/web/","upstream":"http://a"}`, 400, "upstream"},
		{"upstream scheme", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/web/","upstream":"file:///etc/passwd"}`, 400, "upstream"},
		{"upstream injection", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/web/","upstream":"http://a:1; return 200"}`, 400, "upstream"},
		{"upstream path", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/web/","upstream":"http://a:1/x"}`, 400, "upstream"},
		{"preset", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"web","basePath":"/web/","upstream":"http://a:1","options":{"preset":"php"}}`, 400, "options.preset"},
		{"create-route name", "POST", "/devproxy/api/apps/create-route", "", "", `{"name":"../web","basePath":"/web/","upstream":"http://a:1"}`, 400, "name"},
		{"winner traversal", "POST", "/devproxy/api/resolve-conflict", "", "", `{"route":"/api/","winner":"../apps/a.conf"}`, 400, "winner"},
		{"winner absolute", "POST", "/devproxy/api/resolve-conflict", "", "", `{"route":"/api/","winner":"/etc/passwd"}`, 400, "winner"},
		{"rename to reserved", "POST", "/devproxy/api/rename-route", "", "", `{"from":"/web/","to":"/devproxy/"}`, 400, "to"},
		{"rename to traversal", "POST", "/devproxy/api/rename-route", "", "", `{"from":"/web/","to":"/a/../b/"}`, 400, "to"},
		{"rename to comment", "POST", "/devproxy/api/rename-route", "", "", `{"from":"/web/","to":"/a#b/"}`, 400, "to"},
		{"settings empty", "POST", "/devproxy/api/settings", "", "", `{}`, 400, ""},
		{"rename file traversal", "POST", "/devproxy/api/rename-route", "", "", `{"from":"/web/","to":"/x/","file":"../a.conf"}`, 400, "file"},
		{"settings listen", "POST", "/devproxy/api/settings", "", "", `{"listen":"0.0.0.0:80"}`, 400, "listen"},
		{"settings dataDir", "POST", "/devproxy/api/settings", "", "", `{"dataDir":"/tmp"}`, 400, "dataDir"},
		{"settings retention", "POST", "/devproxy/api/settings", "", "", `{"retention":{"reports":0}}`, 400, "retention.reports"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, map[string]string{"apps/web.conf": webConf})
			before := snapshot(t, s.root)
			req := httptest.NewRequest(tc.method, "http://127.0.0.1:8080"+tc.path, strings.NewReader(tc.body))
			ct := tc.ctype
			if ct == "" && tc.method == "POST" {
				ct = "application/json"
			}
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			rec := httptest.NewRecorder()
			s.h.ServeHTTP(rec, req)
			var out Error
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("not JSON: %s", rec.Body)
			}
			if rec.Code != tc.status || out.Status != tc.status || out.Field != tc.field || out.Message == "" || out.Error == "" {
				t.Errorf("got %d %+v, want %d field %q", rec.Code, out, tc.status, tc.field)
			}
			if tc.status == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if after := snapshot(t, s.root); !maps.Equal(before, after) {
				t.Errorf("files changed: %v", after)
			}
		})
	}
}

func TestCreateRoutePresetsRoute(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		preset      string
		strip       *bool
		target      string
		wantURI     string
		wantUpgrade bool
	}{
		{"next", nil, "/web/_next/webpack-hmr?x=1", "/web/_next/webpack-hmr?x=1", true},
		{"vite", nil, "/web/@vite/client", "/web/@vite/client", true},
		{"storybook", nil, "/web/iframe.html", "/iframe.html", true},
		{"cra", nil, "/web/ws", "/web/ws", true},
		{"express", nil, "/web/a/b?q=1", "/a/b?q=1", false},
		{"rails", &no, "/web/a", "/web/a", false},
		{"django", nil, "/web/admin/", "/admin/", false},
		{"", &yes, "/web/a", "/a", false},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			s := newSite(t, nil)
			req := CreateRouteRequest{Name: "web", BasePath: "/web/", Upstream: "http://127.0.0.1:5173", Options: CreateRouteOptions{Preset: tc.preset, StripPrefix: tc.strip}}
			code, out := s.do(t, "POST", "/devproxy/api/apps/create-route", body(req))
			if code != 200 {
				t.Fatalf("%d %v", code, out)
			}
			if strings.Contains(body(out["warnings"]), `"severity":"warning"`) {
				t.Errorf("the generated file earns findings: %v\n%s", out["warnings"], out["content"])
			}
			table := s.ws.Load()
			if n := table.ErrorCount(); n != 0 {
				t.Fatalf("%d errors: %v", n, table.Diagnostics)
			}
			d := resolve(t, table, tc.target)
			if d.Action != routing.ActionProxy || d.Upstream != "http://127.0.0.1:5173" || d.UpstreamURI != tc.wantURI {
				t.Errorf("%s: %s %s %s, want %s\n%s", tc.target, d.Action, d.Upstream, d.UpstreamURI, tc.wantURI, out["content"])
			}
			up := d.UpstreamHeaders["Upgrade"] != ""
			if hasWS := strings.Contains(out["content"].(string), "Upgrade $http_upgrade"); hasWS != tc.wantUpgrade {
				t.Errorf("websocket lines: %v, want %v (%v)", hasWS, tc.wantUpgrade, up)
			}
			if d := resolve(t, table, "/web"); d.Action != routing.ActionRedirect {
				t.Errorf("/web: %s, want the slash redirect", d.Action)
			}
		})
	}
}

func TestListAndDiagnostics(t *testing.T) {
	s := newSite(t, map[string]string{
		"apps/a.conf":      "location /api/ { proxy_pass http://127.0.0.1:1; }\n",
		"apps/broken.conf": "location /b/ {\n",
		"overrides/o.conf": "location /o/ { return 204; }\n",
	})
	code, out := s.do(t, "GET", "/devproxy/api/apps/list", "")
	if code != 200 {
		t.Fatal(code, out)
	}
	var list ListResult
	remarshal(t, out, &list)
	byPath := map[string]ListedFile{}
	for _, f := range list.Files {
		byPath[f.Path] = f
	}
	if f := byPath["apps/a.conf"]; !f.OK || len(f.Routes) != 1 || *f.Routes[0].Route != "/api/" {
		t.Errorf("a.conf: %+v", f)
	}
	if f := byPath["apps/broken.conf"]; f.OK || len(f.Errors) == 0 || f.Errors[0].Line == 0 {
		t.Errorf("broken.conf: %+v", f)
	}
	if f := byPath["overrides/o.conf"]; f.Kind != "override" {
		t.Errorf("o.conf: %+v", f)
	}
	code, out = s.do(t, "GET", "/devproxy/api/apps/diagnostics", "")
	var diags DiagnosticsResult
	remarshal(t, out, &diags)
	if code != 200 || diags.Errors == 0 || !strings.Contains(body(diags), "apps/broken.conf") {
		t.Errorf("%d %+v", code, diags)
	}
}

func remarshal(t *testing.T, in, out any) {
	t.Helper()
	b, _ := json.Marshal(in)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

func TestResolveConflictPins(t *testing.T) {
	s := newSite(t, map[string]string{
		"apps/a.conf": "location /api/ { proxy_pass http://127.0.0.1:1; }\n",
		"apps/b.conf": "location /api/ { proxy_pass http://127.0.0.1:2; }\n",
		"apps/c.conf": "location /c/ { proxy_pass http://127.0.0.1:3; }\n",
	})
	// Make a.conf the older, so that b.conf wins until pinned.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(s.root, "apps", "a.conf"), old, old)
	if d := resolve(t, s.ws.Load(), "/api/x"); d.Upstream != "http://127.0.0.1:2" {
		t.Fatalf("before: %s", d.Upstream)
	}
	for _, tc := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"route":"/c/","winner":"apps/c.conf"}`, 409, "route"},
		{`{"route":"/api/","winner":"apps/c.conf"}`, 400, "winner"},
		{`{"route":"/devproxy/","winner":"apps/c.conf"}`, 400, "route"},
		{`{"route":"/api/"}`, 400, "winner"},
	} {
		before := snapshot(t, s.root)
		code, out := s.do(t, "POST", "/devproxy/api/resolve-conflict", tc.body)
		if code != tc.status || out["field"] != tc.field {
			t.Errorf("%s: %d %v", tc.body, code, out)
		}
		if !maps.Equal(before, snapshot(t, s.root)) {
			t.Errorf("%s: files changed", tc.body)
		}
	}
	code, out := s.do(t, "POST", "/devproxy/api/resolve-conflict", `{"route":"/api","winner":"apps/a.conf"}`)
	if code != 200 || out["route"] != "/api/" || out["winner"] != "apps/a.conf" {
		t.Fatalf("%d %v", code, out)
	}
	pins, _ := os.ReadFile(filepath.Join(s.root, ".devproxy", "resolutions.json"))
	if string(pins) != "{\n  \"/api/\": \"apps/a.conf\"\n}\n" {
		t.Errorf("resolutions.json: %q", pins)
	}
	table := s.ws.Load()
	if d := resolve(t, table, "/api/x"); d.Upstream != "http://127.0.0.1:1" {
		t.Errorf("after the pin: %s", d.Upstream)
	}
	if c := table.Conflicts[0]; c.Settlement != routing.SettledByPin {
		t.Errorf("settled by %s", c.Settlement)
	}
}

func TestRenameRoute(t *testing.T) {
	s := newSite(t, map[string]string{
		"apps/web.conf":              "location /web/ {\n    proxy_pass http://127.0.0.1:5173;\n    proxy_set_header X-Forwarded-Prefix /web;\n}\nlocation = /web { return 301 /web/; }\n",
		"apps/other.conf":            "location /web/ { proxy_pass http://127.0.0.1:9; }\n",
		".devproxy/resolutions.json": "{\"/web/\": \"apps/web.conf\"}\n",
	})
	before := snapshot(t, s.root)
	code, out := s.do(t, "POST", "/devproxy/api/rename-route", `{"from":"/web/","to":"/shop/"}`)
	if code != 409 || out["field"] != "file" {
		t.Fatalf("ambiguous: %d %v", code, out)
	}
	code, out = s.do(t, "POST", "/devproxy/api/rename-route", `{"from":"/nope/","to":"/shop/","file":"apps/web.conf"}`)
	if code != 409 {
		t.Errorf("missing route: %d %v", code, out)
	}
	// A failure at the second rename (resolutions.json) undoes the first.
	s.api.rename = func(oldpath, newpath string) error {
		if filepath.Base(newpath) == "resolutions.json" {
			return errors.New("injected failure")
		}
		return os.Rename(oldpath, newpath)
	}
	code, out = s.do(t, "POST", "/devproxy/api/rename-route", `{"from":"/web/","to":"/shop/","file":"apps/web.conf"}`)
	if code != 500 {
		t.Errorf("injected failure: %d %v", code, out)
	}
	if after := snapshot(t, s.root); !maps.Equal(before, after) {
		t.Errorf("files changed after failures:\n%v\n%v", before, after)
	}
	s.api.rename = os.Rename
	// The old product's field names.
	code, out = s.do(t, "POST", "/devproxy/api/rename-route", `{"oldRoute":"/web/","newRoute":"shop","configFile":"apps/web.conf"}`)
	if code != 200 || out["newRoute"] != "/shop/" {
		t.Fatalf("%d %v", code, out)
	}
	got, _ := os.ReadFile(filepath.Join(s.root, "apps", "web.conf"))
	want := "location /shop/ {\n    proxy_pass http://127.0.0.1:5173;\n    proxy_set_header X-Forwarded-Prefix /shop;\n}\nlocation = /shop { return 301 /shop/; }\n"
	if string(got) != want {
		t.Errorf("web.conf:\n%s\nwant\n%s", got, want)
	}
	pins, _ := os.ReadFile(filepath.Join(s.root, ".devproxy", "resolutions.json"))
	if !strings.Contains(string(pins), `"/shop/": "apps/web.conf"`) {
		t.Errorf("the pin did not follow: %s", pins)
	}
	table := s.ws.Load()
	if d := resolve(t, table, "/shop/x"); d.Upstream != "http://127.0.0.1:5173" {
		t.Errorf("/shop/x: %s", d.Upstream)
	}
	if d := resolve(t, table, "/web/x"); d.Upstream != "http://127.0.0.1:9" {
		t.Errorf("/web/x: %s", d.Upstream)
	}
}

func TestSettings(t *testing.T) {
	s := newSite(t, map[string]string{"devproxy.json": "{\n  \"listen\": \"127.0.0.1:8080\",\n  \"retention\": {\"days\": 3}\n}\n"})
	code, out := s.do(t, "GET", "/devproxy/api/settings", "")
	if code != 200 || body(out) != `{"allowedHosts":[],"private":[],"retention":{"days":3,"reports":0}}` {
		t.Errorf("GET: %d %s", code, body(out))
	}
	code, out = s.do(t, "POST", "/devproxy/api/settings", `{"retention":{"reports":20},"allowedHosts":["dev.example.com"]}`)
	if code != 200 || body(out) != `{"allowedHosts":["dev.example.com"],"private":[],"retention":{"days":3,"reports":20}}` {
		t.Errorf("POST: %d %s", code, body(out))
	}
	cfg := s.ws.Load().Config
	if cfg.Retention.Reports != 20 || cfg.Retention.Days != 3 || cfg.Listen != "127.0.0.1:8080" || len(cfg.AllowedHosts) != 1 {
		t.Errorf("the workspace reads %+v", cfg)
	}
	before := snapshot(t, s.root)
	code, out = s.do(t, "POST", "/devproxy/api/settings", `{"allowedHosts":["bad host/"]}`)
	if code != 422 || out["field"] != "allowedHosts" || out["findings"] == nil {
		t.Errorf("bad host: %d %v", code, out)
	}
	if !maps.Equal(before, snapshot(t, s.root)) {
		t.Error("files changed")
	}
	// Private routes: the tunnel stops showing /admin/; a prefix that is no
	// route prefix is refused by the engine, naming the setting.
	code, out = s.do(t, "POST", "/devproxy/api/settings", `{"private":["/admin/"]}`)
	if code != 200 || body(out) != `{"allowedHosts":["dev.example.com"],"private":["/admin/"],"retention":{"days":3,"reports":20}}` {
		t.Errorf("private: %d %s", code, body(out))
	}
	if cfg := s.ws.Load().Config; len(cfg.Private) != 1 || cfg.PrivatePrefix("/admin/x") == "" {
		t.Errorf("the workspace reads private %v", cfg.Private)
	}
	before = snapshot(t, s.root)
	code, out = s.do(t, "POST", "/devproxy/api/settings", `{"private":["admin"]}`)
	if code != 422 || out["field"] != "private" {
		t.Errorf("a bad prefix: %d %v", code, out)
	}
	if !maps.Equal(before, snapshot(t, s.root)) {
		t.Error("files changed")
	}
}

type fakeStore struct {
	latest map[string][]byte
	pruned int
}

func (f *fakeStore) Latest() (map[string][]byte, error) { return f.latest, nil }
func (f *fakeStore) Prune(time.Time) (int, error)       { f.pruned++; return 2, nil }

func TestReports(t *testing.T) {
	s := newSite(t, nil)
	code, out := s.do(t, "GET", "/devproxy/api/reports", "")
	if code != 200 || out["stored"] != false {
		t.Errorf("%d %v", code, out)
	}
	if code, out := s.do(t, "POST", "/devproxy/api/reports/prune", "{}"); code != 409 {
		t.Errorf("prune without a store: %d %v", code, out)
	}
	st := &fakeStore{latest: map[string][]byte{"/a/": []byte(`{"route":"/a/","status":"ok"}`)}}
	var audited []string
	api := New(Options{Workspace: s.ws, Reports: st, Audit: func(r *http.Request, action, target, result string) {
		audited = append(audited, action+" "+result)
	}})
	s.h = api.Handler()
	code, out = s.do(t, "GET", "/devproxy/api/reports", "")
	if code != 200 || body(out["reports"]) != `{"/a/":{"route":"/a/","status":"ok"}}` {
		t.Errorf("%d %v", code, out)
	}
	code, out = s.do(t, "POST", "/devproxy/api/reports/prune", "{}")
	if code != 200 || out["removed"] != float64(2) || st.pruned != 1 {
		t.Errorf("prune: %d %v", code, out)
	}
	req := httptest.NewRequest("POST", "http://127.0.0.1:8080/devproxy/api/reports/prune", nil)
	req.Header.Set("Content-Type", "text/plain")
	if code, _ := s.serve(t, req); code != 403 || st.pruned != 1 {
		t.Errorf("text/plain prune: %d", code)
	}
	if len(audited) != 2 || audited[0] != "reports.prune ok" || !strings.HasPrefix(audited[1], "reports.prune error: ") {
		t.Errorf("audit: %q", audited)
	}
}

// TestConcurrentInstalls runs installs side by side (go test -race): each
// ends whole, and the workspace sees them all.
func TestConcurrentInstalls(t *testing.T) {
	s := newSite(t, nil)
	names := []string{"a", "b", "c", "d", "e", "f"}
	done := make(chan int, len(names)*2)
	for i, n := range names {
		for range 2 {
			go func() {
				req := httptest.NewRequest("POST", "http://127.0.0.1:8080/devproxy/api/apps/install",
					strings.NewReader(body(InstallRequest{Name: n, Content: "location /" + n + "/ { proxy_pass http://127.0.0.1:" + string(rune('1'+i)) + "000; }\n"})))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				s.h.ServeHTTP(rec, req)
				done <- rec.Code
			}()
		}
	}
	for range len(names) * 2 {
		if code := <-done; code != 200 {
			t.Errorf("install: %d", code)
		}
	}
	table := s.ws.Load()
	for i, n := range names {
		if d := resolve(t, table, "/"+n+"/x"); d.Upstream != "http://127.0.0.1:"+string(rune('1'+i))+"000" {
			t.Errorf("/%s/x: %s", n, d.Upstream)
		}
	}
	for f := range snapshot(t, s.root) {
		if strings.Contains(f, ".tmp-") {
			t.Errorf("a temporary file is left: %q", f)
		}
	}
}

// TestInstallDoesNotWriteThroughLinks: apps/ linked to a folder outside
// the workspace is never written through.
func TestInstallDoesNotWriteThroughLinks(t *testing.T) {
	outside := t.TempDir()
	s := newSite(t, nil)
	if err := os.Symlink(outside, filepath.Join(s.root, "apps")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	s.ws.Load()
	code, out := s.do(t, "POST", "/devproxy/api/apps/install", body(InstallRequest{Name: "web", Content: webConf}))
	if code != 409 || !strings.Contains(out["message"].(string), "outside the workspace") {
		t.Errorf("%d %v", code, out)
	}
	if got := snapshot(t, outside); len(got) != 0 {
		t.Errorf("written outside: %v", got)
	}
}

// TestCrossSiteInstallRefused is the proof over a real loopback
// listener: a form-encoded install and a JSON install with a foreign
// Origin are both 403 and write nothing; the proxy's own Origin passes.
func TestCrossSiteInstallRefused(t *testing.T) {
	s := newSite(t, nil)
	srv := httptest.NewServer(s.h)
	defer srv.Close()
	before := snapshot(t, s.root)
	post := func(ctype, origin, payload string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/devproxy/api/apps/install", strings.NewReader(payload))
		req.Header.Set("Content-Type", ctype)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("application/x-www-form-urlencoded", "", "name=web&content=location+%2Fweb%2F+%7B+return+200%3B+%7D"); code != 403 {
		t.Errorf("form: %d", code)
	}
	if code := post("application/json", "http://evil.example", body(InstallRequest{Name: "web", Content: webConf})); code != 403 {
		t.Errorf("evil Origin: %d", code)
	}
	if after := snapshot(t, s.root); !maps.Equal(before, after) {
		t.Fatalf("written: %v", after)
	}
	if code := post("application/json; charset=utf-8", srv.URL, body(InstallRequest{Name: "web", Content: webConf})); code != 200 {
		t.Errorf("own Origin: %d", code)
	}
}

// noStore is a store still opening (or held by another process).
type noStore struct{}

func (noStore) Latest() (map[string][]byte, error) { return nil, ErrNoStore }
func (noStore) Prune(time.Time) (int, error)       { return 0, ErrNoStore }

// TestReportsWhileTheStoreIsAway: a store that is not open (yet) is no
// server error: GET reports answers none, prune 409 saying why.
func TestReportsWhileTheStoreIsAway(t *testing.T) {
	s := newSite(t, nil)
	s.api = New(Options{Workspace: s.ws, Reports: noStore{}})
	s.h = s.api.Handler()
	if code, out := s.do(t, "GET", "/devproxy/api/reports", ""); code != 200 || out["stored"] != false {
		t.Errorf("reports: %d %v", code, out)
	}
	if code, out := s.do(t, "POST", "/devproxy/api/reports/prune", "{}"); code != 409 || !strings.Contains(fmt.Sprint(out["message"]), "memory only") {
		t.Errorf("prune: %d %v", code, out)
	}
}
