package health

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestReportMatchesSchema validates a real scan (ok, refused, a 404, a
// broken asset, an inactive duplicate) against
// schemas/health-report.schema.json.
func TestReportMatchesSchema(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join(filepath.Dir(here), "..", "..", "schemas", "health-report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	ok := upstream(t, app("/ok/", "", false))
	spa := upstream(t, app("/spa/", `<script type="module" src="/spa/@vite/client"></script>`, true))
	info := startProxy(t, map[string]string{
		"apps/a.conf": "location /ok/ { proxy_pass http://" + ok + "; }\nlocation /spa/ { proxy_pass http://" + spa + "; }\n" +
			"location /down/ { proxy_pass http://" + refusedAddr(t) + "; }\nlocation = /none { return 404; }\nlocation ^~ /ok/ { return 200; }\n",
	})
	rep := scan(t, info, Options{Timeout: 2 * time.Second})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("the scan does not match the schema: %v\n%s", err, b)
	}
	// /ok/ and "= /none": a route that answers itself as written (return
	// 404) is ok; its answer is config, not a failure.
	if rep.Summary.Total != 5 || rep.Summary.Unknown != 1 || rep.Summary.OK != 2 {
		t.Errorf("summary %+v", rep.Summary)
	}
	for _, r := range rep.Routes {
		if r.Modifier == "=" && (r.Status != StatusOK || r.HTTPStatus != 404) {
			t.Errorf("= /none: %s %d %q", r.Status, r.HTTPStatus, r.Reason)
		}
	}
	bad, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"generatedAt":"2026-01-01T00:00:00Z","base":"http://x","durationMs":1,"summary":{"total":0,"ok":0,"warning":0,"error":0,"unknown":0},"routes":[],"upstreams":[],"extra":1}`)))
	if sch.Validate(bad) == nil {
		t.Fatal("the schema accepts an unknown field")
	}
}
