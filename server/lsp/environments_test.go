package lsp

import (
	"slices"
	"testing"

	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

const environmentsWorkspace = `
-- apps/web.conf --
location /web/ { proxy_pass http://127.0.0.1:5173/; }
-- devproxy.json --
{"environments": {"staging": {"upstreams": {"127.0.0.1:5173": "web.staging.internal:80"}}, "dev": {}}}
`

// devproxy.environment chooses the profile: devproxy/environments names
// it and the others, explain shows the mapped upstream, and switching the
// setting (to an unknown name, then to none) follows without a restart.
func TestEnvironmentSetting(t *testing.T) {
	root := workspace(t, environmentsWorkspace)
	c, _ := start(t, root, map[string]any{"environment": "staging"})
	c.waitDiagnostics(0, "apps/web.conf")
	var envs EnvironmentsResult
	if err := c.call("devproxy/environments", map[string]any{}, &envs); err != nil {
		t.Fatal(err)
	}
	validate(t, schema(t, "lsp-environments.schema.json"), envs)
	if envs.Active != "staging" || !envs.Known || !slices.Equal(envs.Names, []string{"dev", "staging"}) {
		t.Errorf("devproxy/environments = %+v", envs)
	}
	var d routing.Decision
	if err := c.call("devproxy/explain", ExplainParams{URL: "/web/x"}, &d); err != nil {
		t.Fatal(err)
	}
	if d.Upstream != "http://web.staging.internal:80" {
		t.Errorf("explain under staging: upstream %q", d.Upstream)
	}

	from := c.mark()
	c.mu.Lock()
	c.settings = map[string]any{"environment": "prod"}
	c.mu.Unlock()
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": nil})
	diags := c.waitDiagnostics(from, "devproxy.json")["devproxy.json"].Diagnostics
	if len(diags) != 1 || string(diags[0].Message.(protocol.String)) != `unknown environment "prod": devproxy.json defines "dev", "staging"; no environment applies` {
		t.Errorf("devproxy.json diagnostics with an unknown environment: %+v", diags)
	}
	c.call("devproxy/environments", map[string]any{}, &envs)
	if envs.Active != "prod" || envs.Known {
		t.Errorf("devproxy/environments with an unknown name = %+v", envs)
	}
	c.call("devproxy/explain", ExplainParams{URL: "/web/x"}, &d)
	if d.Upstream != "http://127.0.0.1:5173" {
		t.Errorf("explain with an unknown environment: upstream %q", d.Upstream)
	}
}
