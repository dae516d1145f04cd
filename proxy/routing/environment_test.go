package routing_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

const envConfig = `{
  "listen": "127.0.0.1:8080",
  "environments": {
    "staging": {
      "upstreams": {"127.0.0.1:5173": "Web.Staging.internal:80", "[::1]:4000": "api.staging.internal:8443"},
      "listen": "0.0.0.0:9090",
      "tunnel": {"listen": "9091", "provider": "ngrok"}
    },
    "dev": {}
  }
}`

func TestEnvironmentsParse(t *testing.T) {
	cfg, diags := routing.CheckConfig("", []byte(envConfig))
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if got := strings.Join(cfg.EnvironmentNames(), ","); got != "dev,staging" {
		t.Errorf("names = %s", got)
	}
	st := cfg.Environments["staging"]
	// Keys and values are normalised as UpstreamURL.HostPort writes them.
	if st.Upstreams["127.0.0.1:5173"] != "web.staging.internal:80" || st.Upstreams["[::1]:4000"] != "api.staging.internal:8443" {
		t.Errorf("upstreams = %v", st.Upstreams)
	}
	if st.Listen != "0.0.0.0:9090" || st.Tunnel.Listen != "127.0.0.1:9091" || st.Tunnel.Provider != "ngrok" {
		t.Errorf("staging = %+v", st)
	}
	// Without a chosen environment the top level applies.
	if cfg.Listen != "127.0.0.1:8080" {
		t.Errorf("listen = %s", cfg.Listen)
	}
}

func TestEnvironmentsDiagnostics(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"not an object", `{"environments": []}`, `"environments" must be an object`},
		{"bad name", `{"environments": {"-x": {}}}`, `environments.-x: "-x" is not an environment name`},
		{"profile not an object", `{"environments": {"dev": 1}}`, `"environments.dev" must be an object`},
		{"unknown key", `{"environments": {"dev": {"upstream": {}}}}`, `unknown setting "environments.dev.upstream"`},
		{"bad key", `{"environments": {"dev": {"upstreams": {"localhost": "a:1"}}}}`, `environments.dev.upstreams: "localhost" is not host:port`},
		{"bad value", `{"environments": {"dev": {"upstreams": {"localhost:1": "a:b"}}}}`, `environments.dev.upstreams["localhost:1"]: "a:b" is not host:port`},
		{"port 0", `{"environments": {"dev": {"upstreams": {"localhost:1": "a:0"}}}}`, `"a:0" is not host:port`},
		{"upstreams not an object", `{"environments": {"dev": {"upstreams": ["a:1"]}}}`, `"environments.dev.upstreams" must be an object`},
		{"bad listen", `{"environments": {"dev": {"listen": "x"}}}`, `environments.dev.listen: "x" is not host:port`},
		{"bad provider", `{"environments": {"dev": {"tunnel": {"provider": "frp"}}}}`, `environments.dev.tunnel.provider: "frp" is not one of`},
		{"bad public URL", `{"environments": {"dev": {"tunnel": {"publicUrl": "abc"}}}}`, `environments.dev.tunnel.publicUrl: "abc" is not an http(s) URL`},
	} {
		_, diags := routing.CheckConfig("", []byte(c.json))
		if len(diags) != 1 || !strings.Contains(diags[0].Message, c.want) {
			t.Errorf("%s: diagnostics %v, want one with %q", c.name, diags, c.want)
			continue
		}
		// The diagnostic points into the value, not at the file's start.
		if diags[0].Range.Start.Col <= 1 {
			t.Errorf("%s: diagnostic at %v, want inside the document", c.name, diags[0].Range.Start)
		}
	}
}

func TestEnvironmentApplied(t *testing.T) {
	cfg, _ := routing.CheckConfig("", []byte(envConfig))
	cfg.Environment = "staging"
	files := []*routing.SourceFile{
		src("apps/web.conf", t0, "location /web/ { proxy_pass http://127.0.0.1:5173/; }\n"),
		src("apps/var.conf", t0, "location /v/ { set $u 127.0.0.1:5173; proxy_pass http://$u; }\n"),
		src("apps/other.conf", t0, "location /other/ { proxy_pass http://127.0.0.1:6000; }\n"),
	}
	tbl := routing.Compose(cfg, files, nil)
	if tbl.Config.Listen != "0.0.0.0:9090" || tbl.Config.Tunnel.Listen != "127.0.0.1:9091" || tbl.Config.Tunnel.Provider != "ngrok" {
		t.Errorf("config = %+v", tbl.Config)
	}
	upstreams := map[string]string{}
	for _, b := range tbl.Blocks {
		upstreams[b.Loc.Spec] = b.Upstream
	}
	if upstreams["/web/"] != "http://web.staging.internal:80" || upstreams["/other/"] != "http://127.0.0.1:6000" || upstreams["/v/"] != "http://web.staging.internal:80" {
		t.Errorf("block upstreams = %v", upstreams)
	}
	for path, want := range map[string]string{"/web/x": "http://web.staging.internal:80", "/v/x": "http://web.staging.internal:80", "/other/x": "http://127.0.0.1:6000"} {
		req, err := routing.ExplainRequest(tbl.Config, path, "", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		d := tbl.Explain(req)
		if d.Upstream != want {
			t.Errorf("%s: upstream %s, want %s", path, d.Upstream, want)
		}
		if want != "http://127.0.0.1:6000" {
			if d.UpstreamHeaders["Host"] != "web.staging.internal" {
				t.Errorf("%s: Host %q, want the mapped target's", path, d.UpstreamHeaders["Host"])
			}
			if !strings.Contains(strings.Join(d.Trace, "\n"), "environment staging: http://127.0.0.1:5173 goes to http://web.staging.internal:80") {
				t.Errorf("%s: trace does not name the environment: %q", path, d.Trace)
			}
		}
	}
}

func TestUnknownEnvironment(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "devproxy.json"), []byte(envConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := routing.NewWorkspaceWithDefaults(root, routing.Config{Environment: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.Table()
	err = tbl.Config.UnknownEnvironment()
	if err == nil || err.Error() != `unknown environment "prod": devproxy.json defines "dev", "staging"` {
		t.Errorf("error = %v", err)
	}
	found := false
	for _, d := range tbl.Diagnostics {
		found = found || strings.Contains(d.Message, `unknown environment "prod"`)
	}
	if !found {
		t.Errorf("no diagnostic for the unknown environment: %v", tbl.Diagnostics)
	}
	if tbl.Config.Listen != "127.0.0.1:8080" {
		t.Errorf("listen = %s, want the top level's", tbl.Config.Listen)
	}
}

// In a workspace of several folders with one environment, a folder whose
// devproxy.json does not define it takes the first folder's profile, and
// is not reported.
func TestEnvironmentSeveralFolders(t *testing.T) {
	shop, blog := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(shop, "devproxy.json"), []byte(envConfig), 0o644)
	os.MkdirAll(filepath.Join(blog, "apps"), 0o755)
	os.WriteFile(filepath.Join(blog, "devproxy.json"), []byte(`{}`), 0o644)
	os.WriteFile(filepath.Join(blog, "apps", "blog.conf"), []byte("location /blog/ { proxy_pass http://127.0.0.1:5173; }\n"), 0o644)
	env := routing.Config{Environment: "staging"}
	ws, err := routing.NewWorkspaceOf([]routing.FolderSpec{{Root: shop, Defaults: env}, {Root: blog, Defaults: env}})
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.Table()
	for _, d := range tbl.Diagnostics {
		t.Errorf("diagnostic: %s", d)
	}
	if len(tbl.Blocks) != 1 || tbl.Blocks[0].Upstream != "http://web.staging.internal:80" {
		t.Errorf("blocks: %+v", tbl.Blocks)
	}
	if routing.SameFolders([]routing.FolderSpec{{Root: shop, Defaults: env}}, []routing.FolderSpec{{Root: shop}}) {
		t.Error("SameFolders ignores a change of environment")
	}
}

// Folders registered by different processes on one port each carry their
// own environment: a folder is routed with its own profile (from its own
// devproxy.json), and a folder without one is not mapped, whatever the
// primary folder's environment is. The request path agrees with the
// table.
func TestEnvironmentPerFolder(t *testing.T) {
	owner, member := t.TempDir(), t.TempDir()
	write := func(root, rel, text string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755)
		os.WriteFile(filepath.Join(root, rel), []byte(text), 0o644)
	}
	write(owner, "devproxy.json", `{"environments": {"dev": {"upstreams": {"127.0.0.1:5173": "owner.dev:80"}}}}`)
	write(owner, "apps/own.conf", "location /own/ { proxy_pass http://127.0.0.1:5173; }\n")
	write(member, "devproxy.json", `{"environments": {"staging": {"upstreams": {"127.0.0.1:5173": "member.staging:80"}}}}`)
	write(member, "apps/mine.conf", "location /mine/ { proxy_pass http://127.0.0.1:5173; }\n")
	for _, c := range []struct {
		ownerEnv, memberEnv string
		own, mine           string
	}{
		{"", "staging", "http://127.0.0.1:5173", "http://member.staging:80"},
		{"dev", "", "http://owner.dev:80", "http://127.0.0.1:5173"},
		{"dev", "staging", "http://owner.dev:80", "http://member.staging:80"},
	} {
		ws, err := routing.NewWorkspaceOf([]routing.FolderSpec{
			{Root: owner, Defaults: routing.Config{Environment: c.ownerEnv}},
			{Root: member, Defaults: routing.Config{Environment: c.memberEnv}},
		})
		if err != nil {
			t.Fatal(err)
		}
		tbl := ws.Table()
		got := map[string]string{}
		for _, b := range tbl.Blocks {
			got[b.Loc.Spec] = b.Upstream
			if d := tbl.Resolve(&routing.Request{Target: b.Loc.Spec + "x"}); d.Upstream != b.Upstream {
				t.Errorf("%+v: a request for %s goes to %s, the table says %s", c, b.Loc.Spec, d.Upstream, b.Upstream)
			}
		}
		if got["/own/"] != c.own || got["/mine/"] != c.mine {
			t.Errorf("owner %q, member %q: upstreams %v, want /own/ %s and /mine/ %s", c.ownerEnv, c.memberEnv, got, c.own, c.mine)
		}
	}
}
