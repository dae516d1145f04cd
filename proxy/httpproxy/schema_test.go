package httpproxy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// TestRoutesJSONMatchesSchema validates the live /routes.json of a
// workspace with a conflict, an inactive duplicate and a broken file
// against schemas/routes.schema.json.
func TestRoutesJSONMatchesSchema(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	schemaPath := filepath.Join(filepath.Dir(here), "..", "..", "schemas", "routes.schema.json")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	r := startServe(t, map[string]string{
		"overrides/o.conf": "location /api/ { return 200 o; }\n",
		"apps/a.conf":      "location /api { proxy_pass http://127.0.0.1:9/; }\nlocation ~ \\.js$ { return 204; }\nlocation @x { return 503; }\n",
		"apps/b.conf":      "location /b/ { set $u 127.0.0.1:9; proxy_pass http://$u; }\nlocation ^~ /b/ { return 204; }\n",
		"apps/broken.conf": "location /x/ {\n",
	})
	resp, body := r.get(t, "/routes.json")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("/routes.json does not match the schema: %v\n%s", err, body)
	}
	// The schema is strict: an extra field fails.
	bad, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"generatedAt":"2026-01-01T00:00:00Z","version":"x","files":[],"routes":[],"conflicts":[],"extra":1}`)))
	if sch.Validate(bad) == nil {
		t.Fatal("the schema accepts an unknown field")
	}

	// The document carries the decisions as codes: a block that lost a
	// conflict, a duplicate, and a conflict an override settled.
	var codes struct {
		Routes []struct {
			InactiveCode *routing.InactiveReason `json:"inactiveCode"`
		} `json:"routes"`
		Conflicts []struct {
			ReasonCode routing.Settlement `json:"reasonCode"`
		} `json:"conflicts"`
	}
	if err := json.Unmarshal([]byte(body), &codes); err != nil {
		t.Fatal(err)
	}
	seen := map[routing.InactiveReason]bool{}
	for _, r := range codes.Routes {
		if r.InactiveCode != nil {
			seen[*r.InactiveCode] = true
		}
	}
	if !seen[routing.InactiveLostConflict] || !seen[routing.InactiveDuplicate] ||
		len(codes.Conflicts) != 1 || codes.Conflicts[0].ReasonCode != routing.SettledByOverride {
		t.Errorf("/routes.json lacks the codes the workspace should give: %s", body)
	}
	// A stale file says since when (as routing.FileReport writes it).
	stale := strings.Replace(body, `"stale":false`, `"stale":true,"staleSince":"2026-01-01T00:00:00Z"`, 1)
	if doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(stale)); stale == body || sch.Validate(doc) != nil {
		t.Errorf("the schema refuses a stale file: %v", sch.Validate(doc))
	}
	// A code must be a code: the words in its place fail.
	for _, c := range []struct{ name, from, to string }{
		{"a conflict's words as its code", `"reasonCode":"override"`, `"reasonCode":"overridden by an override file"`},
		{"an inactive block without a code", `"inactiveCode":"duplicate"`, `"inactiveCode":null`},
		{"a stale file without staleSince", `"stale":false`, `"stale":true`},
		{"staleSince on a file that is not stale", `"stale":false`, `"stale":false,"staleSince":"2026-01-01T00:00:00Z"`},
	} {
		if !strings.Contains(body, c.from) {
			t.Fatalf("%s: /routes.json has no %s", c.name, c.from)
		}
		broken, _ := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(body, c.from, c.to, 1)))
		if sch.Validate(broken) == nil {
			t.Errorf("the schema accepts %s", c.name)
		}
	}
}
