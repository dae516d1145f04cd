package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/server/cli"
)

// upstream answers every request with its name and the Host it got.
func upstream(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.Host, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// envWorkspace has one route to local and a staging profile that maps
// local to staging (and changes the listen address).
func envWorkspace(t *testing.T, local, staging string) string {
	root := t.TempDir()
	writeFile(t, root, "apps/web.conf", "location /web/ { proxy_pass http://"+local+"/; }\nlocation /fixed/ { proxy_pass http://127.0.0.1:9/; }\n")
	writeFile(t, root, "devproxy.json", `{
  "environments": {
    "dev": {},
    "staging": {"upstreams": {"`+local+`": "`+staging+`"}, "listen": "0.0.0.0:9080"}
  }
}
`)
	return root
}

// serve --env staging sends a request for a route whose proxy_pass names
// the local upstream to the staging one; without --env it reaches local.
func TestServeEnvironment(t *testing.T) {
	local, staging := upstream(t, "local"), upstream(t, "staging")
	root := envWorkspace(t, local, staging)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--env", "staging"}, "staging " + staging + " /x"},
		{nil, "local " + local + " /x"},
	} {
		p := startServeProcess(t, root, c.args...)
		addr := p.waitReady(t)
		if status, body := httpGet(addr, "/web/x"); status != 200 || body != c.want {
			t.Errorf("serve %q: /web/x answered %d %q, want 200 %q", c.args, status, body, c.want)
		}
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// serve --env staging joining a devproxy that serves the port without
// one: the owner routes the member's folder with the member's profile,
// and its own folder with none.
func TestServeEnvironmentAsAMember(t *testing.T) {
	local, staging := upstream(t, "local"), upstream(t, "staging")
	mine := envWorkspace(t, local, staging)
	other := t.TempDir()
	writeFile(t, other, "apps/other.conf", "location /other/ { proxy_pass http://"+local+"/; }\n")
	listen, tunnel := proxytest.FreeAddr(t), proxytest.FreeAddr(t)
	owner := startServeProcess(t, other, "--listen", listen, "--tunnel-listen", tunnel)
	owner.waitReady(t)
	member := startServeProcess(t, mine, "--listen", listen, "--tunnel-listen", tunnel, "--env", "staging")
	waitFor(t, "the member joins", 10*time.Second, func() bool {
		return strings.Contains(member.stdout.String(), "joined the devproxy serving http://"+listen)
	})
	waitGet(t, listen, "/web/x", "staging "+staging+" /x", 5*time.Second)
	if status, body := httpGet(listen, "/other/y"); status != 200 || body != "local "+local+" /y" {
		t.Errorf("the owner's own route: %d %q, want its upstream unmapped", status, body)
	}
}

func TestEnvFlagAndDiff(t *testing.T) {
	local, staging := "127.0.0.1:5173", "web.staging.internal:80"
	root := envWorkspace(t, local, staging)
	tests := []struct {
		name string
		args []string
		code int
		out  string // a fragment of stdout (or of stderr when code is 2)
	}{
		{"check --env", []string{"check", "--root", root, "--env", "staging"}, 0, "0 errors, 0 warnings"},
		{"check --env json shows the mapped upstream", []string{"check", "--root", root, "--env", "staging", "--format", "json"}, 0, `"upstream": "http://web.staging.internal:80"`},
		{"check unknown env", []string{"check", "--root", root, "--env", "prod"}, 2, `unknown environment "prod": devproxy.json defines "dev", "staging"`},
		{"explain --env", []string{"explain", "--root", root, "--env", "staging", "/web/x"}, 0, `"upstream": "http://web.staging.internal:80"`},
		{"explain --env traces it", []string{"explain", "--root", root, "--env", "staging", "/web/x"}, 0, `environment staging: http://127.0.0.1:5173 goes to http://web.staging.internal:80`},
		{"explain without --env", []string{"explain", "--root", root, "/web/x"}, 0, `"upstream": "http://127.0.0.1:5173"`},
		{"explain unknown env", []string{"explain", "--root", root, "--env", "prod", "/web/x"}, 2, `unknown environment "prod"`},
		{"env diff text", []string{"env", "diff", "dev", "staging", "--root", root}, 0,
			"dev -> staging\n  apps/web.conf:1 location /web/: http://127.0.0.1:5173 -> http://web.staging.internal:80\n  listen: 127.0.0.1:8080 -> 0.0.0.0:9080\n"},
		{"env diff same", []string{"env", "diff", "--root", root, "dev", "dev"}, 0, "dev -> dev\n  no differences in upstreams, listen or tunnel\n"},
		{"env diff unknown", []string{"env", "diff", "--root", root, "dev", "qa"}, 2, `unknown environment "qa": devproxy.json defines "dev", "staging"`},
		{"env diff one name", []string{"env", "diff", "--root", root, "dev"}, 2, "give exactly two environment names"},
		{"env without diff", []string{"env", "list"}, 2, "devproxy env diff A B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("run(%q) = %d, want %d; stderr: %s", tt.args, code, tt.code, stderr.String())
			}
			out := stdout.String()
			if tt.code == 2 {
				out = stderr.String()
			}
			if !strings.Contains(out, tt.out) {
				t.Errorf("output should contain %q:\n%s", tt.out, out)
			}
		})
	}

	// The JSON document names each side and every difference.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"env", "diff", "staging", "dev", "--root", root, "--format", "json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("env diff json: %d %s", code, stderr.String())
	}
	var d cli.EnvDiff
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	want := cli.EnvDiff{A: "staging", B: "dev",
		Routes:   []cli.RouteUpstream{{Route: "/web/", File: "apps/web.conf", Line: 1, A: "http://" + staging, B: "http://" + local}},
		Settings: []cli.SettingDiff{{Setting: "listen", A: "0.0.0.0:9080", B: "127.0.0.1:8080"}}}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Errorf("env diff json = %+v, want %+v", d, want)
	}
}
