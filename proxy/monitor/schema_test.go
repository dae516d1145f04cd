package monitor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/devtunnelproxy/devproxy/proxy/health"
)

// TestDocumentMatchesSchema validates a live Document (an ok route with
// passive traffic, a refused one, an inactive duplicate) against
// schemas/health.schema.json, which refers to health-report's route.
func TestDocumentMatchesSchema(t *testing.T) {
	sch := healthSchema(t)
	up := newSwitchable(t)
	s := startSite(t, map[string]string{"apps/a.conf": "location /a/ { proxy_pass http://" + up.addr + "; }\nlocation /gone/ { proxy_pass http://127.0.0.1:1; }\nlocation /a/ { return 200; }\n"}, Options{})
	waitRoute(t, s.mon, "/a/", 3*time.Second, isStatus(health.StatusOK))
	get(t, "http://"+s.info.Addr+"/gone/x")
	waitRoute(t, s.mon, "/gone/", 3*time.Second, func(r health.Report) bool { return r.Passive != nil && r.Status == health.StatusError })

	for _, d := range []Document{s.mon.Document(), NoDocument(time.Now())} {
		validateDocument(t, sch, d)
	}
	bad, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"generatedAt":"2026-01-01T00:00:00Z","source":"elsewhere","summary":{"total":0,"ok":0,"warning":0,"error":0,"unknown":0},"routes":[],"upstreams":[]}`)))
	if sch.Validate(bad) == nil {
		t.Error("the schema accepts an unknown source")
	}
}

func validateDocument(t *testing.T, sch *jsonschema.Schema, d Document) {
	t.Helper()
	b, _ := json.Marshal(d)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("does not match the schema: %v\n%s", err, b)
	}
}

// healthSchema compiles schemas/health.schema.json with the report schema
// it refers to.
func healthSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(here), "..", "..", "schemas")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, name := range []string{"health-report.schema.json", "health.schema.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("https://raw.githubusercontent.com/devtunnelproxy/devproxy/main/schemas/"+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	sch, err := c.Compile("https://raw.githubusercontent.com/devtunnelproxy/devproxy/main/schemas/health.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}
