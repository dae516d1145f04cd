package lsp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/devtunnelproxy/devproxy/server/cli"
)

// TestExplainAgreesWithTheCLI: devproxy/explain and `devproxy explain`
// describe the same request (routing.ExplainRequest), so with a listen
// address other than the default they agree on the Host and port the
// upstream hears of, and on everything else.
func TestExplainAgreesWithTheCLI(t *testing.T) {
	root := workspace(t, `
-- devproxy.json --
{"listen": "127.0.0.1:9000"}
-- apps/a.conf --
location /a/ {
    proxy_set_header X-Port $server_port;
    proxy_pass http://127.0.0.1:5001/;
}
`)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/a.conf")
	for _, tt := range []struct {
		target  string
		headers map[string]string
		host    string // the X-Forwarded-Host both must give
	}{
		{"/a/x?y=1", nil, "localhost:9000"},
		{"/a/x", map[string]string{"Host": "dev.test", "X-Test": "1"}, "dev.test"},
		{"http://other.test/a/x", nil, "other.test"},
	} {
		var fromLSP json.RawMessage
		if err := c.call("devproxy/explain", ExplainParams{URL: tt.target, Headers: tt.headers}, &fromLSP); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for k, v := range tt.headers {
			lines = append(lines, k+": "+v)
		}
		var stdout, stderr bytes.Buffer
		if code := cli.RunExplain(cli.ExplainOptions{Root: root, Target: tt.target, Headers: lines}, &stdout, &stderr); code != cli.ExitOK {
			t.Fatalf("devproxy explain %s: exit %d: %s", tt.target, code, stderr.String())
		}
		var lsp, cmd map[string]any
		json.Unmarshal(fromLSP, &lsp)
		json.Unmarshal(stdout.Bytes(), &cmd)
		hdrs, _ := cmd["upstream_headers"].(map[string]any)
		if hdrs["X-Forwarded-Host"] != tt.host || hdrs["X-Port"] != "9000" {
			t.Errorf("devproxy explain %s: X-Forwarded-Host %v, X-Port %v; want %s, 9000 (listen in devproxy.json)",
				tt.target, hdrs["X-Forwarded-Host"], hdrs["X-Port"], tt.host)
		}
		if !reflect.DeepEqual(lsp, cmd) {
			t.Errorf("%s: devproxy/explain and devproxy explain disagree:\nLSP: %s\nCLI: %s", tt.target, fromLSP, stdout.String())
		}
	}
}
