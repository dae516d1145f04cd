package metrics

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// hostileRoutes are labels a route file can produce, or try to: quotes,
// backslashes, newlines, control characters, unicode, invalid UTF-8, and a
// spreadsheet formula.
var hostileRoutes = []string{
	`/a"b/`,
	`/back\slash/`,
	"/new\nline/",
	`~ ^/(x|y)\.js$`,
	"/tab\tand\rcr/",
	"/ünïcødé/日本/",
	"/emoji/🚀/",
	"/bad\xff\xfeutf8/",
	`/end\`,
	`=HYPERLINK("http://evil")`,
	"@named",
	`\"\n`,
}

// exportFixture is a registry with traffic in three minutes of
// 10:00..10:03 on two routes.
func exportFixture(t *testing.T) (*Registry, *fakeClock) {
	t.Helper()
	r, clock := newAt(t0, Options{})
	obs := func(d time.Duration, e httpproxy.AccessEntry) {
		clock.Set(t0.Add(d))
		r.Observe(e)
	}
	ms := time.Millisecond
	obs(0, httpproxy.AccessEntry{Location: "/app/", Status: 200, Bytes: 100, UpstreamTime: 2 * ms, FirstByte: 3 * ms})
	obs(10*time.Second, httpproxy.AccessEntry{Location: "/app/", Status: 502, Bytes: 50, UpstreamTime: 4 * ms, FirstByte: 5 * ms})
	obs(20*time.Second, httpproxy.AccessEntry{Location: "/api/", Status: 301})
	obs(2*time.Minute, httpproxy.AccessEntry{Location: "/app/", Status: 0})
	obs(3*time.Minute, httpproxy.AccessEntry{Location: "@named", Status: 200})
	clock.Set(t0.Add(5 * time.Minute))
	return r, clock
}

func TestExportCSV(t *testing.T) {
	r, _ := exportFixture(t)
	var b bytes.Buffer
	if err := r.Export(&b, "csv", t0, t0.Add(10*time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	const wantCSV = `start,route,requests,status_1xx,status_2xx,status_3xx,status_4xx,status_5xx,status_none,bytes,upstream_ms_mean,proxy_ms_mean
2026-03-04T10:00:00Z,/api/,1,0,0,1,0,0,0,0,0.000,0.000
2026-03-04T10:00:00Z,/app/,2,0,1,0,0,1,0,150,3.000,1.000
2026-03-04T10:02:00Z,/app/,1,0,0,0,0,0,1,0,0.000,0.000
2026-03-04T10:03:00Z,'@named,1,0,1,0,0,0,0,0,0.000,0.000
`
	if b.String() != wantCSV {
		t.Errorf("CSV:\n%s\nwant:\n%s", b.String(), wantCSV)
	}

	// The range [10:01, 10:03) and one route.
	b.Reset()
	if err := r.Export(&b, "csv", t0.Add(time.Minute), t0.Add(3*time.Minute), "/app/"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1][0] != "2026-03-04T10:02:00Z" || recs[1][1] != "/app/" || recs[1][8] != "1" {
		t.Errorf("CSV for /app/ in [10:01, 10:03): %q", recs)
	}
}

func TestExportJSON(t *testing.T) {
	r, _ := exportFixture(t)
	var b bytes.Buffer
	if err := r.Export(&b, "json", t0, t0.Add(2*time.Minute), "/app/"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		From              string           `json:"from"`
		To                string           `json:"to"`
		ResolutionSeconds float64          `json:"resolutionSeconds"`
		Rows              []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, b.String())
	}
	if got.From != "2026-03-04T10:00:00Z" || got.To != "2026-03-04T10:02:00Z" || got.ResolutionSeconds != 60 {
		t.Errorf("header %+v", got)
	}
	if len(got.Rows) != 1 {
		t.Fatalf("rows %v; want only 10:00 for /app/", got.Rows)
	}
	row := got.Rows[0]
	for k, v := range map[string]any{"start": "2026-03-04T10:00:00Z", "route": "/app/", "requests": 2.0, "status2xx": 1.0,
		"status5xx": 1.0, "statusNone": 0.0, "bytes": 150.0, "upstreamMsMean": 3.0, "proxyMsMean": 1.0} {
		if row[k] != v {
			t.Errorf("row[%q] = %v, want %v (row %v)", k, row[k], v, row)
		}
	}

	// No traffic: rows is [], never null.
	b.Reset()
	r.Export(&b, "json", t0.Add(4*time.Minute), t0.Add(5*time.Minute), "")
	if !strings.Contains(b.String(), `"rows":[]`) {
		t.Errorf("empty export: %s", b.String())
	}
}

func TestExportErrors(t *testing.T) {
	r, _ := exportFixture(t)
	err := r.Export(io.Discard, "xml", t0, t0.Add(time.Hour), "")
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("format xml: %v", err)
	}
	if err := r.Export(io.Discard, "csv", t0, t0, ""); !errors.Is(err, ErrEmptyRange) {
		t.Errorf("empty range: %v", err)
	}
}

// TestLabelEscaping: hostile route labels come out as valid, escaped
// label values, and one label never forges another line.
func TestLabelEscaping(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{`/a"b/`, `/a\"b/`},
		{`/back\slash/`, `/back\\slash/`},
		{"/new\nline/", `/new\nline/`},
		{"/bad\xffutf8/", "/bad\uFFFDutf8/"},
		{"/ünï/🚀", "/ünï/🚀"},
		{`\"` + "\n", `\\\"\n`},
	} {
		if got := string(appendLabelValue(nil, c.in)); got != c.out {
			t.Errorf("label %q escaped as %q, want %q", c.in, got, c.out)
		}
	}
	r := New(Options{})
	for _, l := range hostileRoutes {
		r.Observe(httpproxy.AccessEntry{Location: l, Status: 200})
	}
	var b bytes.Buffer
	r.WritePrometheus(&b)
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "devproxy_") && !strings.HasPrefix(line, "# HELP devproxy_") && !strings.HasPrefix(line, "# TYPE devproxy_") {
			t.Errorf("line %q: a label broke out of its sample", line)
		}
	}
	got := exposition(t, r)
	want(t, got, `devproxy_requests_total{route="/new\nline/",code_class="2xx"}`, "1")
	want(t, got, `devproxy_requests_total{route="/a\"b/",code_class="2xx"}`, "1")
}

// TestPromtool holds the exposition to Prometheus's own checker:
// `promtool check metrics` parses it and lints names, HELP and TYPE.
// make test-go sets DEVPROXY_REQUIRE_PROMTOOL, so CI cannot skip it.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("DEVPROXY_REQUIRE_PROMTOOL") == "" {
			t.Skip("promtool is not installed (Debian package prometheus; make test-deps installs it)")
		}
		t.Fatal("DEVPROXY_REQUIRE_PROMTOOL is set but promtool is not on PATH: run make test-deps (Debian package prometheus)")
	}
	r := New(Options{})
	ms := time.Millisecond
	for i, l := range append([]string{"/app/", "", "/api/"}, hostileRoutes...) {
		for _, st := range []int{0, 101, 200, 304, 404, 503} {
			r.Observe(httpproxy.AccessEntry{Location: l, Status: st, Bytes: int64(i * 100), Tunnel: i%2 == 0,
				UpstreamTime: time.Duration(i) * ms, FirstByte: time.Duration(i)*ms + 300*time.Microsecond})
		}
	}
	var b bytes.Buffer
	if err := r.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, body := range []struct {
		name string
		text []byte
	}{{"traffic", b.Bytes()}, {"empty", promOf(t, New(Options{}))}} {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body.text)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool check metrics (%s): %v\n%s\n--- exposition:\n%s", body.name, err, out, body.text)
		}
	}
}

func promOf(t *testing.T, r *Registry) []byte {
	var b bytes.Buffer
	if err := r.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestHandler(t *testing.T) {
	r, _ := exportFixture(t)
	h := r.Handler()
	do := func(method, target string) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
		return w
	}

	w := do("GET", "/devproxy/metrics")
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" ||
		!strings.Contains(w.Body.String(), `devproxy_requests_total{route="/app/",code_class="2xx"} 1`) {
		t.Errorf("GET /devproxy/metrics: %d %q\n%s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	if w := do("HEAD", "/devproxy/metrics"); w.Code != 200 {
		t.Errorf("HEAD /devproxy/metrics: %d", w.Code)
	}

	// The defaults: JSON, the hour up to now (10:05), every route.
	w = do("GET", "/devproxy/api/metrics")
	var j struct {
		From, To string
		Rows     []struct{ Route string }
	}
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || json.Unmarshal(w.Body.Bytes(), &j) != nil ||
		j.From != "2026-03-04T09:05:00Z" || j.To != "2026-03-04T10:05:00Z" || len(j.Rows) != 4 {
		t.Errorf("GET /devproxy/api/metrics: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}

	w = do("GET", "/devproxy/api/metrics?format=csv&from=2026-03-04T10:01:00Z&to=2026-03-04T10:04:00Z&route=/app/")
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment;") ||
		strings.Count(w.Body.String(), "\n") != 2 || !strings.Contains(w.Body.String(), "2026-03-04T10:02:00Z,/app/,") {
		t.Errorf("CSV export: %d %v\n%s", w.Code, w.Header(), w.Body.String())
	}
	w = do("GET", "/devproxy/api/metrics?route=%2Fapi%2F&from=2026-03-04T09:00:00%2B00:00")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"route":"/api/"`) || strings.Contains(w.Body.String(), `"/app/"`) {
		t.Errorf("JSON export of /api/: %d %s", w.Code, w.Body.String())
	}

	for _, c := range []struct {
		method, target string
		status         int
		mentions       string
	}{
		{"GET", "/devproxy/api/metrics?format=xml", 400, `"format"`},
		{"GET", "/devproxy/api/metrics?from=yesterday", 400, `"from"`},
		{"GET", "/devproxy/api/metrics?to=2026-03-04", 400, `"to"`},
		{"GET", "/devproxy/api/metrics?from=2026-03-04T11:00:00Z&to=2026-03-04T10:00:00Z", 400, `"from" must be before "to"`},
		{"POST", "/devproxy/api/metrics", 405, "POST"},
		{"DELETE", "/devproxy/metrics", 405, "DELETE"},
		{"GET", "/devproxy/metricsx", 404, "/devproxy/metricsx"},
	} {
		w := do(c.method, c.target)
		var body struct {
			Error   string `json:"error"`
			Message string `json:"message"`
			Status  int    `json:"status"`
		}
		err := json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != c.status || err != nil || body.Status != c.status || body.Error != http.StatusText(c.status) ||
			!strings.Contains(body.Message, c.mentions) || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s; want %d naming %s", c.method, c.target, w.Code, w.Body.String(), c.status, c.mentions)
		}
		if c.status == 405 && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.target, w.Header().Get("Allow"))
		}
	}
}

// TestExportJSONMatchesSchema validates an export against
// schemas/metrics-export.schema.json, which is strict: a field added to
// one and not the other fails.
func TestExportJSONMatchesSchema(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join(filepath.Dir(here), "..", "..", "schemas", "metrics-export.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := exportFixture(t)
	for _, l := range hostileRoutes {
		r.Observe(httpproxy.AccessEntry{Location: l, Status: 200})
	}
	for _, route := range []string{"", "/app/", "/nope/"} {
		var b bytes.Buffer
		if err := r.Export(&b, "json", t0, t0.Add(time.Hour), route); err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(&b)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("export of %q does not match the schema: %v", route, err)
		}
	}
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"from":"2026-01-01T00:00:00Z","to":"2026-01-01T01:00:00Z","resolutionSeconds":60,"rows":[],"extra":1}`))
	if sch.Validate(bad) == nil {
		t.Error("the schema accepts an unknown field")
	}
}
