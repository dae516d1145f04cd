package cli_test

// The JSON Schemas in schemas/ are a contract with tools that read
// `devproxy check --format json` and `devproxy explain`, and with editors
// that check devproxy.json. These tests hold the schemas to the real
// output: they run the real commands on a small workspace and validate what
// they print, and they show the schemas are strict by breaking documents on
// purpose.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/cli"
)

// compileSchema compiles schemas/NAME under its $id. Compile also checks
// the schema itself against the draft 2020-12 meta-schema.
func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "schemas", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("schemas/%s is not JSON: %v", name, err)
	}
	obj, _ := doc.(map[string]any)
	id, _ := obj["$id"].(string)
	if !strings.HasSuffix(id, "/schemas/"+name) {
		t.Fatalf("schemas/%s: $id %q should end in /schemas/%s", name, id, name)
	}
	if obj["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("schemas/%s: $schema is %v, want draft 2020-12", name, obj["$schema"])
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatalf("schemas/%s: %v", name, err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("schemas/%s does not compile: %v", name, err)
	}
	return sch
}

// decode parses a JSON document the way the validator expects (numbers as
// json.Number).
func decode(t *testing.T, data []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, data)
	}
	return v
}

func validate(t *testing.T, sch *jsonschema.Schema, what string, doc []byte) {
	t.Helper()
	if err := sch.Validate(decode(t, doc)); err != nil {
		t.Errorf("%s does not match its schema: %v\n%s", what, err, doc)
	}
}

// schemaWorkspace is a small workspace with one of everything the reports
// can describe: a conflict (with related locations), a file that fails to
// parse, a regex route with a capture, a named location, a return, a
// redirect and a missing-slash redirect.
var schemaWorkspace = map[string]string{
	"apps/api.conf": `# The API, with a fallback page when it is down.
location /api/ {
    proxy_intercept_errors on;
    error_page 502 = @api_down;
    proxy_pass http://127.0.0.1:5000/;
}
location @api_down {
    return 503 'the API is starting';
}
location ~ ^/assets/(.+)\.png$ {
    proxy_pass http://127.0.0.1:5001/img/$1.png;
}
location = /ping { return 200 'pong'; }
location = /web { return 301 /web/; }
location ^~ /web/ {
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";
    proxy_pass http://127.0.0.1:5173/;
}
`,
	// An older copy of the API snippet: a conflict that api.conf wins.
	"apps/legacy.conf": `location /api/ {
    proxy_pass http://127.0.0.1:5999;
}
`,
	// A syntax error: the file contributes nothing.
	"apps/broken.conf": `location /broken/ {
    proxy_pass http://127.0.0.1:6000/
}
`,
}

func writeSchemaWorkspace(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	age := map[string]time.Duration{"apps/api.conf": 0, "apps/legacy.conf": time.Hour, "apps/broken.conf": 2 * time.Hour}
	now := time.Now().Truncate(time.Second)
	for rel, content := range schemaWorkspace {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		// api.conf is the newest, so it wins /api/ (spec §4).
		mt := now.Add(-age[rel])
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func runCheckJSON(t *testing.T, root string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.RunCheck(cli.CheckOptions{Root: root, Format: "json"}, &stdout, &stderr)
	if code != cli.ExitFail {
		t.Fatalf("check exited %d, want %d (broken.conf has an error); stderr: %s", code, cli.ExitFail, stderr.String())
	}
	return stdout.Bytes()
}

func TestCheckSchema(t *testing.T) {
	sch := compileSchema(t, "check.schema.json")
	out := runCheckJSON(t, writeSchemaWorkspace(t))
	validate(t, sch, "devproxy check --format json", out)

	// The workspace must really exercise the optional and nullable parts
	// of the schema, or a passing validation proves little.
	// A local type, because routefile.Severity encodes to a string but does
	// not decode from one.
	var report struct {
		Routes []struct {
			Route        *string `json:"route"`
			Modifier     string  `json:"modifier"`
			Active       bool    `json:"active"`
			Upstream     *string `json:"upstream"`
			InactiveCode *string `json:"inactiveCode"`
			Conflict     *string `json:"conflict"`
		} `json:"routes"`
		Conflicts []struct {
			ReasonCode string `json:"reasonCode"`
		} `json:"conflicts"`
		Diagnostics []struct {
			Severity string            `json:"severity"`
			Code     string            `json:"code"`
			Related  []json.RawMessage `json:"related"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatal(err)
	}
	var sawConflictRelated, sawError, sawNullRoute, sawNullUpstream, sawNamed, sawInactive, sawRouteConflict bool
	for _, d := range report.Diagnostics {
		sawConflictRelated = sawConflictRelated || (d.Code == routefile.CodeConflict && len(d.Related) > 0)
		sawError = sawError || d.Severity == "error"
	}
	for _, r := range report.Routes {
		sawNullRoute = sawNullRoute || r.Route == nil
		sawNullUpstream = sawNullUpstream || r.Upstream == nil
		sawNamed = sawNamed || r.Modifier == "@"
		sawInactive = sawInactive || (!r.Active && r.InactiveCode != nil && *r.InactiveCode == string(routing.InactiveLostConflict))
		sawRouteConflict = sawRouteConflict || r.Conflict != nil
	}
	for name, ok := range map[string]bool{
		"a conflict with related locations": sawConflictRelated, "an error": sawError,
		"a route of null": sawNullRoute, "an upstream of null": sawNullUpstream,
		"a named location": sawNamed, "a block inactive with a code": sawInactive,
		"a route with a conflict": sawRouteConflict, "a conflict with a reason code": len(report.Conflicts) == 1 && report.Conflicts[0].ReasonCode == string(routing.SettledByNewest),
	} {
		if !ok {
			t.Errorf("the check report has no %s; the test workspace no longer covers the schema", name)
		}
	}
}

func TestExplainSchema(t *testing.T) {
	sch := compileSchema(t, "explain.schema.json")
	root := writeSchemaWorkspace(t)
	for _, c := range []struct {
		target string
		action string
		status int
	}{
		{"/api/users?page=2", routing.ActionProxy, 200},          // prefix replaced by proxy_pass's URI
		{"/assets/icons/logo.png", routing.ActionProxy, 200},     // regex with a capture
		{"/web/app.js", routing.ActionProxy, 200},                // ^~
		{"http://localhost:8080/web/", routing.ActionProxy, 200}, // absolute target
		{"/web", routing.ActionRedirect, 301},                    // return 301 /web/
		{"/api?x=1", routing.ActionRedirect, 301},                // nginx's missing-slash redirect
		{"/ping", routing.ActionReturn, 200},                     // return with text
		{"/health", routing.ActionReserved, 200},                 // the proxy's own page
		{"/devproxy/api/routes", routing.ActionReserved, 200},    // under /devproxy/
		{"/nothing/here", routing.ActionNone, 404},               // no location
		{"/broken/x", routing.ActionNone, 404},                   // the broken file serves nothing
		{"/..", routing.ActionError, 400},                        // climbs above /
		{"/%2e%2e/etc/passwd", routing.ActionError, 400},         // the same, percent-encoded
	} {
		var stdout, stderr bytes.Buffer
		if code := cli.RunExplain(cli.ExplainOptions{Root: root, Target: c.target}, &stdout, &stderr); code != cli.ExitOK {
			t.Errorf("explain %s exited %d: %s", c.target, code, stderr.String())
			continue
		}
		validate(t, sch, "devproxy explain "+c.target, stdout.Bytes())
		var d struct {
			Action string `json:"action"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		if d.Action != c.action || d.Status != c.status {
			t.Errorf("explain %s: %s %d, want %s %d; the case no longer covers what it names\n%s",
				c.target, d.Action, d.Status, c.action, c.status, stdout.String())
		}
	}
}

// exampleSettings uses every setting devproxy.json has.
const exampleSettings = `{
  "$schema": "https://raw.githubusercontent.com/devtunnelproxy/devproxy/main/schemas/devproxy.schema.json",
  "apps": ["apps/*.conf", "services/*.conf"],
  "overrides": ["ops/*.conf"],
  "listen": "127.0.0.1:9080",
  "tunnel": {"listen": "[::1]:9081"},
  "dataDir": "../shop-health",
  "retention": {"reports": 20, "days": 14},
  "private": ["/admin/", "/internal"],
  "environments": {
    "staging": {
      "upstreams": {"127.0.0.1:5173": "web.staging.svc.cluster.local:80", "[::1]:4000": "api.staging:8443"},
      "listen": "0.0.0.0:8080",
      "tunnel": {"listen": "8081", "publicUrl": "https://staging.example.com", "provider": "manual"}
    },
    "dev": {}
  }
}
`

// TestSettingsSchema checks the schema and the engine agree: the example
// is valid for both, and each broken file that the engine reports is
// rejected by the schema too.
func TestSettingsSchema(t *testing.T) {
	sch := compileSchema(t, "devproxy.schema.json")
	validate(t, sch, "the example devproxy.json", []byte(exampleSettings))
	// A port alone is 127.0.0.1:port, for the engine and the schema.
	validate(t, sch, "a port alone", []byte(`{"listen": "8392", "tunnel": {"listen": "8393"}}`))

	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, routing.ConfigFile), []byte(exampleSettings), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	tbl := ws.Table()
	for _, d := range tbl.Diagnostics {
		t.Errorf("the engine reports the example devproxy.json: %s", d)
	}
	if tbl.Config.Listen != "127.0.0.1:9080" || tbl.Config.Tunnel.Listen != "[::1]:9081" || len(tbl.Config.Apps) != 2 ||
		tbl.Config.DataDir != filepath.Join(filepath.Dir(root), "shop-health") || tbl.Config.Retention != (routing.RetentionConfig{Reports: 20, Days: 14}) ||
		len(tbl.Config.Private) != 2 || len(tbl.Config.Environments["staging"].Upstreams) != 2 {
		t.Errorf("the engine read the example as %+v", tbl.Config)
	}

	for _, bad := range []struct {
		name, doc string
	}{
		{name: "unknown setting", doc: `{"colour": "blue"}`},
		{name: "listen without a port", doc: `{"listen": "localhost"}`},
		{name: "listen on a port over 65535", doc: `{"listen": "127.0.0.1:70000"}`},
		{name: "tunnel listen with a port that is not a number", doc: `{"tunnel": {"listen": "localhost:http"}}`},
		{name: "tunnel not an object", doc: `{"tunnel": "127.0.0.1:8081"}`},
		{name: "apps not a list", doc: `{"apps": "apps/*.conf"}`},
		{name: "glob outside the workspace", doc: `{"overrides": ["../shared/*.conf"]}`},
		{name: "absolute glob", doc: `{"apps": ["/etc/nginx/*.conf"]}`},
		{name: "dataDir inside the workspace", doc: `{"dataDir": ".devproxy/data"}`},
		{name: "dataDir not a string", doc: `{"dataDir": 5}`},
		{name: "retention not an object", doc: `{"retention": 50}`},
		{name: "retention keeping no reports", doc: `{"retention": {"reports": 0}}`},
		{name: "retention of negative days", doc: `{"retention": {"days": -1}}`},
		{name: "retention of fractional days", doc: `{"retention": {"days": 1.5}}`},
		{name: "unknown retention setting", doc: `{"retention": {"count": 5}}`},
		{name: "private not a list", doc: `{"private": "/admin/"}`},
		{name: "private prefix not a path", doc: `{"private": ["admin/"]}`},
		{name: "private prefix with a query", doc: `{"private": ["/admin/?x=1"]}`},
		{name: "environments not an object", doc: `{"environments": ["dev"]}`},
		{name: "environment name with a space", doc: `{"environments": {"my env": {}}}`},
		{name: "unknown environment setting", doc: `{"environments": {"dev": {"upstream": {}}}}`},
		{name: "upstream key without a port", doc: `{"environments": {"dev": {"upstreams": {"localhost": "a:80"}}}}`},
		{name: "upstream key with port 0", doc: `{"environments": {"dev": {"upstreams": {"localhost:0": "a:80"}}}}`},
		{name: "upstream value with a port over 65535", doc: `{"environments": {"dev": {"upstreams": {"localhost:1": "a:65536"}}}}`},
		{name: "upstream value with a scheme", doc: `{"environments": {"dev": {"upstreams": {"localhost:1": "http://a:80"}}}}`},
		{name: "environment listen without a port", doc: `{"environments": {"dev": {"listen": "localhost"}}}`},
		{name: "environment tunnel provider", doc: `{"environments": {"dev": {"tunnel": {"provider": "frp"}}}}`},
	} {
		if err := sch.Validate(decode(t, []byte(bad.doc))); err == nil {
			t.Errorf("%s: schema accepts %s", bad.name, bad.doc)
		}
		// The engine must report the same file (as an error or, for an
		// unknown setting, a warning): otherwise schema and engine disagree.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, routing.ConfigFile), []byte(bad.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		ws, err := routing.NewWorkspace(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws.Table().Diagnostics) == 0 {
			t.Errorf("%s: the schema rejects %s but the engine accepts it silently", bad.name, bad.doc)
		}
	}
}

// TestSchemasAreStrict breaks valid documents on purpose: a missing
// required field, an unknown field or a wrong enum value must fail.
func TestSchemasAreStrict(t *testing.T) {
	check := compileSchema(t, "check.schema.json")
	explain := compileSchema(t, "explain.schema.json")
	root := writeSchemaWorkspace(t)
	checkOut := runCheckJSON(t, root)
	var stdout, stderr bytes.Buffer
	if code := cli.RunExplain(cli.ExplainOptions{Root: root, Target: "/api/users"}, &stdout, &stderr); code != cli.ExitOK {
		t.Fatalf("explain exited %d: %s", code, stderr.String())
	}
	explainOut := stdout.Bytes()

	for _, c := range []struct {
		name   string
		schema *jsonschema.Schema
		doc    []byte
		break_ func(doc map[string]any)
	}{
		{"check without root", check, checkOut, func(d map[string]any) { delete(d, "root") }},
		{"check diagnostic without range", check, checkOut, func(d map[string]any) {
			delete(first(d, "diagnostics"), "range")
		}},
		{"check route without upstream", check, checkOut, func(d map[string]any) {
			delete(first(d, "routes"), "upstream")
		}},
		{"check diagnostic with column 0", check, checkOut, func(d map[string]any) {
			start := first(d, "diagnostics")["range"].(map[string]any)["start"].(map[string]any)
			start["column"] = json.Number("0")
		}},
		{"check with an unknown severity", check, checkOut, func(d map[string]any) {
			first(d, "diagnostics")["severity"] = "fatal"
		}},
		{"check route with an unknown modifier", check, checkOut, func(d map[string]any) {
			first(d, "routes")["modifier"] = "~~"
		}},
		{"check with an extra field", check, checkOut, func(d map[string]any) { d["summary"] = "ok" }},
		{"check file without kind", check, checkOut, func(d map[string]any) { delete(first(d, "files"), "kind") }},
		{"check route without inactiveCode", check, checkOut, func(d map[string]any) {
			delete(first(d, "routes"), "inactiveCode")
		}},
		{"check inactive route without a code", check, checkOut, func(d map[string]any) {
			inactiveRoute(d)["inactiveCode"] = nil
		}},
		{"check inactive route with a sentence for a code", check, checkOut, func(d map[string]any) {
			r := inactiveRoute(d)
			r["inactiveCode"] = r["inactiveReason"]
		}},
		{"check active route with a code", check, checkOut, func(d map[string]any) {
			first(d, "routes")["inactiveCode"] = string(routing.InactiveDuplicate)
		}},
		{"check without conflicts", check, checkOut, func(d map[string]any) { delete(d, "conflicts") }},
		{"check conflict without reasonCode", check, checkOut, func(d map[string]any) {
			delete(first(d, "conflicts"), "reasonCode")
		}},
		{"check conflict with a sentence for a reason code", check, checkOut, func(d map[string]any) {
			first(d, "conflicts")["reasonCode"] = "pinned in .devproxy/resolutions.json"
		}},
		{"explain without action", explain, explainOut, func(d map[string]any) { delete(d, "action") }},
		{"explain without trace", explain, explainOut, func(d map[string]any) { delete(d, "trace") }},
		{"explain proxy without upstream", explain, explainOut, func(d map[string]any) { delete(d, "upstream") }},
		{"explain with an unknown action", explain, explainOut, func(d map[string]any) { d["action"] = "forward" }},
		{"explain upstream without a port", explain, explainOut, func(d map[string]any) { d["upstream"] = "http://127.0.0.1" }},
		{"explain matched without location", explain, explainOut, func(d map[string]any) { d["location"] = nil }},
		{"explain with an extra field", explain, explainOut, func(d map[string]any) { d["why"] = "because" }},
	} {
		// The unbroken document must pass, so the failure below is due to
		// the change alone.
		if err := c.schema.Validate(decode(t, c.doc)); err != nil {
			t.Fatalf("%s: the unbroken document fails: %v", c.name, err)
		}
		doc := decode(t, c.doc).(map[string]any)
		c.break_(doc)
		if err := c.schema.Validate(doc); err == nil {
			t.Errorf("%s: the schema accepts the broken document", c.name)
		}
	}
}

// inactiveRoute returns the first inactive route of a report.
func inactiveRoute(doc map[string]any) map[string]any {
	for _, r := range doc["routes"].([]any) {
		if r := r.(map[string]any); r["active"] == false {
			return r
		}
	}
	panic("the report has no inactive route")
}

// first returns the first element of the array doc[key].
func first(doc map[string]any, key string) map[string]any {
	return doc[key].([]any)[0].(map[string]any)
}

// TestSchemaCodesMatchTheEngine: every schema that carries the engine's
// decision codes lists exactly the engine's codes, so a new code cannot
// reach a report that its schema rejects, and a schema cannot promise a
// code the engine never sends.
func TestSchemaCodesMatchTheEngine(t *testing.T) {
	want := map[string][]any{"settlement": {}, "inactiveCode": {}}
	for _, s := range routing.Settlements {
		want["settlement"] = append(want["settlement"], string(s))
	}
	for _, r := range routing.InactiveReasons {
		want["inactiveCode"] = append(want["inactiveCode"], string(r))
	}
	want["inactiveCode"] = append(want["inactiveCode"], nil) // an active block
	for _, name := range []string{"routes.schema.json", "check.schema.json", "lsp-routes.schema.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "schemas", name))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Defs map[string]struct {
				Enum []any `json:"enum"`
			} `json:"$defs"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for def, codes := range want {
			got := doc.Defs[def].Enum
			if fmt.Sprint(got) != fmt.Sprint(codes) {
				t.Errorf("schemas/%s: $defs.%s lists %v; the engine has %v", name, def, got, codes)
			}
		}
	}
}
