package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
)

// tree reads every file under root (but .devproxy/backups, where a
// successful install keeps the previous version), by path.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = string(b)
		return nil
	})
	return out
}

func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if a, ok := after[p]; !ok || a != b {
			t.Errorf("%s: %s changed", what, p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s was written", what, p)
		}
	}
}

// TestSecuritySuite is issue 13's proof, through the tunnel listener:
// every management and assistant endpoint without a key is 401, with a
// read-only key a change is 403 and a read is 200, with an admin key a
// change is done; bad input in install is a 4xx naming the field and
// writes nothing; a refused request leaves every file byte-identical;
// and no key or session token is in any log line, the access log, the
// audit log or a health report.
func TestSecuritySuite(t *testing.T) {
	dataDir := t.TempDir()
	readKey, adminKey := testKeys(t, dataDir)
	up := saying(t, "app")
	root := site(t, map[string]string{
		"apps/a.conf": "location /api/ { proxy_pass http://" + up + "; }\nlocation /a/ { proxy_pass http://" + up + "; }\n",
		"apps/b.conf": "location /api/ { proxy_pass http://" + up + "; }\n",
	})
	var logs proxytest.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	chats := 0
	var chatMu sync.Mutex
	h := startHost(t, "sec", root, proxytest.FreeAddr(t), proxytest.FreeAddr(t), strings.Repeat("ef", 32), func(o *Options) {
		o.Health = HealthOptions{DataDir: dataDir, Workspace: root}
		o.Log = logger
		o.Serve.Log = logger
		o.Serve.AccessLog = func(e httpproxy.AccessEntry) { fmt.Fprintf(&logs, "access %+v\n", e) }
		o.Methods = map[string]live.Method{"devproxy/chat": func(context.Context, json.RawMessage) (any, error) {
			chatMu.Lock()
			chats++
			chatMu.Unlock()
			return map[string]string{"text": "ok"}, nil
		}}
	})
	waitRole(t, h, Owner, 5*time.Second)
	waitMonitor(t, h.node)
	tunnelAddr := h.node.State().TunnelAddr

	do := func(method, path, key, body, contentType string) (int, string) {
		var header []string
		if body != "" {
			header = []string{"Content-Type", contentType}
		}
		status, _, b := request(t, tunnelAddr, method, path, key, body, header...)
		return status, b
	}
	const js = "application/json"

	// Reads: 401 without a key, 200 with a read-only one.
	for _, path := range []string{
		"/", "/devproxy/", "/routes.json", "/health.json", "/devproxy/metrics", "/devproxy/api/metrics",
		"/devproxy/api/health", "/devproxy/api/health/retention",
		"/devproxy/api/apps/list", "/devproxy/api/apps/diagnostics", "/devproxy/api/settings",
		"/devproxy/api/reports", "/devproxy/api/config",
	} {
		if status, _ := do("GET", path, "", "", ""); status != http.StatusUnauthorized {
			t.Errorf("GET %s without a key: %d", path, status)
		}
		if status, body := do("GET", path, readKey, "", ""); status != http.StatusOK {
			t.Errorf("GET %s with a read-only key: %d %s", path, status, body)
		}
	}
	// Who holds a key, and what they did, is for admins.
	for _, path := range []string{"/devproxy/api/keys", "/devproxy/api/audit"} {
		if status, _ := do("GET", path, readKey, "", ""); status != http.StatusForbidden {
			t.Errorf("GET %s with a read-only key: %d", path, status)
		}
		if status, _ := do("GET", path, adminKey, "", ""); status != http.StatusOK {
			t.Errorf("GET %s with an admin key: %d", path, status)
		}
	}

	// Changes: 401 without a key and 403 with a read-only one, and
	// nothing changes on disk; an admin key makes them.
	served := func(route string) func() bool {
		return func() bool {
			for _, b := range h.ws.Served().Blocks {
				if strings.TrimSpace(b.Loc.Label()) == route {
					return true
				}
			}
			return false
		}
	}
	changes := []struct {
		path, body string
		then       func() bool // the admin's change reached the table
	}{
		{"/devproxy/api/apps/install", `{"name": "shop", "content": "location /shop/ { proxy_pass http://` + up + `; }\n"}`, served("/shop/")},
		{"/devproxy/api/apps/create-route", `{"name": "blog", "basePath": "/blog/", "upstream": "http://` + up + `"}`, served("/blog/")},
		{"/devproxy/api/rename-route", `{"from": "/shop/", "to": "/store/"}`, served("/store/")},
		{"/devproxy/api/resolve-conflict", `{"route": "/api/", "winner": "apps/b.conf"}`, nil},
		{"/devproxy/api/settings", `{"allowedHosts": ["dev.example.com"]}`, nil},
		{"/devproxy/api/reports/prune", `{}`, nil},
		{"/devproxy/api/health/rescan", `{}`, nil},
		{"/devproxy/api/health/retention", `{"reports": 20}`, nil},
		{"/devproxy/api/health/prune", `{}`, nil},
		{"/devproxy/api/keys", `{"role": "read-only", "name": "ci"}`, nil},
	}
	for i, c := range changes {
		before := tree(t, root)
		if status, _ := do("POST", c.path, "", c.body, js); status != http.StatusUnauthorized {
			t.Errorf("POST %s without a key: %d", c.path, status)
		}
		// (A few wrong keys only: ten from one address lock it out.)
		if i < 3 {
			if status, _ := do("POST", c.path, "dvp_"+strings.Repeat("x", 52), c.body, js); status != http.StatusUnauthorized {
				t.Errorf("POST %s with a wrong key: %d", c.path, status)
			}
		}
		if status, _ := do("POST", c.path, readKey, c.body, js); status != http.StatusForbidden {
			t.Errorf("POST %s with a read-only key: %d", c.path, status)
		}
		sameTree(t, "refused POST "+c.path, before, tree(t, root))
		if status, body := do("POST", c.path, adminKey, c.body, js); status/100 != 2 {
			t.Errorf("POST %s with an admin key: %d %s", c.path, status, body)
		}
		for deadline := time.Now().Add(5 * time.Second); c.then != nil && !c.then(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after POST %s the table did not change", c.path)
			}
		}
	}

	// Bad input, even from an admin: a 4xx that names the field, and not
	// a byte written.
	before := tree(t, root)
	for _, c := range []struct {
		name, body, contentType string
		status                  int
		field                   string
	}{
		{"path traversal", `{"name": "../../etc/x", "content": "location /x/ { return 204; }"}`, js, 400, "name"},
		{"a name with a slash", `{"name": "apps/x", "content": "location /x/ { return 204; }"}`, js, 400, "name"},
		{"a reserved name", `{"name": "devproxy", "content": "location /x/ { return 204; }"}`, js, 400, "name"},
		{"a reserved path", `{"name": "x", "content": "location /devproxy/ { return 204; }"}`, js, 422, ""},
		{"a broken file", `{"name": "x", "content": "location /x/ {"}`, js, 422, ""},
		{"malformed JSON", `{"name": "x", "content": `, js, 400, ""},
		{"an unknown field", `{"name": "x", "content": "location /x/ { return 204; }", "path": "/etc/passwd"}`, js, 400, ""},
		{"a form", `name=x&content=location`, "application/x-www-form-urlencoded", 0, ""},
		{"over 1 MB", `{"name": "x", "content": "` + strings.Repeat("#", 1<<20+10) + `"}`, js, 413, ""},
	} {
		status, body := do("POST", "/devproxy/api/apps/install", adminKey, c.body, c.contentType)
		if c.status != 0 && status != c.status || c.status == 0 && status/100 != 4 {
			t.Errorf("%s: %d %s", c.name, status, body)
			continue
		}
		var e struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message == "" {
			t.Errorf("%s: the answer is not a JSON error: %s", c.name, body)
		}
		if c.field != "" && e.Field != c.field {
			t.Errorf("%s: field %q, want %q (%s)", c.name, e.Field, c.field, body)
		}
	}
	sameTree(t, "bad installs", before, tree(t, root))

	// The hub: no key, no socket; a read-only key reads but may not chat
	// or drive the tunnel; an admin may.
	dial := func(key string) (*websocket.Conn, int) {
		hdr := http.Header{}
		if key != "" {
			hdr.Set("Authorization", "Bearer "+key)
		}
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+tunnelAddr+"/devproxy/ws", hdr)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { ws.Close() })
		return ws, http.StatusSwitchingProtocols
	}
	if _, status := dial(""); status != http.StatusUnauthorized {
		t.Errorf("/devproxy/ws through the tunnel without a key: %d", status)
	}
	call := func(ws *websocket.Conn, id int, method string, params any) (int, string) {
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
			t.Fatal(err)
		}
		for {
			var m struct {
				ID     *int                `json:"id"`
				Error  *struct{ Code int } `json:"error"`
				Result json.RawMessage     `json:"result"`
			}
			if err := ws.ReadJSON(&m); err != nil {
				t.Fatal(err)
			}
			if m.ID == nil || *m.ID != id {
				continue // a notification
			}
			if m.Error != nil {
				return m.Error.Code, ""
			}
			return 0, string(m.Result)
		}
	}
	ro, status := dial(readKey)
	if ro == nil {
		t.Fatalf("/devproxy/ws with a read-only key: %d", status)
	}
	for i, m := range []string{"devproxy/routes", "devproxy/health", "devproxy/tunnel", "devproxy/recentErrors"} {
		if code, _ := call(ro, i+1, m, map[string]any{}); code != 0 {
			t.Errorf("%s with a read-only key: error %d", m, code)
		}
	}
	for i, m := range []string{"devproxy/chat", "devproxy/tunnelStart", "devproxy/tunnelStop"} {
		if code, _ := call(ro, 10+i, m, map[string]any{"message": "hi"}); code != live.CodeForbidden {
			t.Errorf("%s with a read-only key: error %d, want %d", m, code, live.CodeForbidden)
		}
	}
	admin, _ := dial(adminKey)
	if admin == nil {
		t.Fatal("/devproxy/ws with an admin key refused")
	}
	if code, res := call(admin, 20, "devproxy/chat", map[string]any{"message": "hi"}); code != 0 || !strings.Contains(res, "ok") {
		t.Errorf("devproxy/chat with an admin key: %d %s", code, res)
	}
	chatMu.Lock()
	if chats != 1 {
		t.Errorf("the assistant ran %d times; only the admin's question may reach it", chats)
	}
	chatMu.Unlock()

	// A session, and a key sent where it should not be (a query), are
	// nowhere to be read.
	status, _ = do("POST", "/devproxy/api/session", "", `{"key": "`+readKey+`"}`, js)
	if status != http.StatusOK {
		t.Fatalf("sign-in: %d", status)
	}
	do("GET", "/a/x?key="+adminKey, "", "", "")
	do("GET", "/devproxy/api/config?token="+readKey, "", "", "")
	_, audit := do("GET", "/devproxy/api/audit?format=csv", adminKey, "", "")
	_, reports := do("GET", "/devproxy/api/reports", adminKey, "", "")
	if !strings.Contains(audit, "apps.install") || !strings.Contains(audit, "apps/shop.conf") || !strings.Contains(audit, "key:") {
		t.Errorf("the audit log lacks the admin's install (who, what, target):\n%s", audit)
	}
	for _, line := range strings.Split(audit, "\n") {
		if strings.Contains(line, "(teammate)") && strings.Contains(line, "/devproxy/api/apps/install") && !strings.Contains(line, ",refused,") {
			t.Errorf("the read-only key's install is not audited as refused: %s", line)
		}
	}
	if !strings.Contains(audit, "key:") || !strings.Contains(audit, "(teammate),POST /devproxy/api/apps/install,/devproxy/api/apps/install,refused") {
		t.Errorf("the read-only key's refused install is not in the audit log:\n%s", audit)
	}
	for what, text := range map[string]string{"the logs": logs.String(), "the audit log": audit, "the reports": reports} {
		for name, secret := range map[string]string{"the read-only key": readKey, "the admin key": adminKey} {
			if strings.Contains(text, secret) || strings.Contains(text, strings.TrimPrefix(secret, "dvp_")[:20]) {
				t.Errorf("%s has %s", what, name)
			}
		}
	}
	if !strings.Contains(logs.String(), "access") {
		t.Error("the access log was not captured")
	}
}
