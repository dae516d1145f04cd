package heal

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func patternSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join(filepath.Dir(here), "..", "..", "..", "schemas", "calliope-pattern.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func schemaAccepts(t *testing.T, sch *jsonschema.Schema, raw string) bool {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(raw)))
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return sch.Validate(doc) == nil
}

const goodPattern = `{
  "$schema": "../../schemas/calliope-pattern.schema.json",
  "id": "nextauth-session-html",
  "title": "NextAuth session answers HTML",
  "description": "The auth API under the prefix falls back to the page.",
  "match": {"pathPrefix": "/app/", "httpStatus": 200, "contentType": "text/html"},
  "advice": "Set **NEXTAUTH_URL** to the route's public URL, prefix included.",
  "appChange": {"file": ".env.local", "snippet": "NEXTAUTH_URL=https://example.ngrok.app/app/api/auth\n"}
}`

// The schema and the loader agree: what one refuses, the other refuses,
// naming the field.
func TestPatternSchemaAndLoaderAgree(t *testing.T) {
	sch := patternSchema(t)
	if !schemaAccepts(t, sch, goodPattern) {
		t.Fatal("the schema refuses the example pattern")
	}
	if _, err := ParseUserPattern("good.json", []byte(goodPattern)); err != nil {
		t.Fatalf("the loader refuses the example pattern: %v", err)
	}
	for _, c := range []struct{ name, raw, field string }{
		{"no match field", `{"id":"a","title":"t","match":{},"advice":"x"}`, `"match"`},
		{"unknown match field", `{"id":"a","title":"t","match":{"regex":".*"},"advice":"x"}`, `regex`},
		{"bad id", `{"id":"Has Spaces","title":"t","match":{"httpStatus":404},"advice":"x"}`, `"id"`},
		{"status as string", `{"id":"a","title":"t","match":{"httpStatus":"404"},"advice":"x"}`, `match.httpStatus`},
		{"status out of range", `{"id":"a","title":"t","match":{"assetStatus":99},"advice":"x"}`, `match.assetStatus`},
		{"no advice", `{"id":"a","title":"t","match":{"httpStatus":404}}`, `"advice"`},
		{"unknown top field", `{"id":"a","title":"t","match":{"httpStatus":404},"advice":"x","run":"rm -rf /"}`, `run`},
		{"unknown framework", `{"id":"a","title":"t","match":{"framework":"rails"},"advice":"x"}`, `match.framework`},
		{"relative path prefix", `{"id":"a","title":"t","match":{"pathPrefix":"api/"},"advice":"x"}`, `match.pathPrefix`},
		{"empty reason", `{"id":"a","title":"t","match":{"reasonContains":""},"advice":"x"}`, `match.reasonContains`},
		{"app change without snippet", `{"id":"a","title":"t","match":{"httpStatus":404},"advice":"x","appChange":{"file":"f"}}`, `"appChange"`},
	} {
		if schemaAccepts(t, sch, c.raw) {
			t.Errorf("%s: the schema accepts %s", c.name, c.raw)
		}
		_, err := ParseUserPattern(".devproxy/patterns/bad.json", []byte(c.raw))
		if err == nil {
			t.Errorf("%s: the loader accepts %s", c.name, c.raw)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, ".devproxy/patterns/bad.json") || !strings.Contains(msg, c.field) {
			t.Errorf("%s: the error %q should name the file and %s", c.name, msg, c.field)
		}
	}
}

// Broken files are reported and skipped; the good one loads, matches a
// real report, and the built-ins still detect.
func TestUserPatternsLoadAndMatch(t *testing.T) {
	down := refusedAddr(t)
	spa := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { html(w, "<!doctype html><div id=root></div>") }))
	w := serve(t, map[string]string{
		"apps/app.conf":                          "location /app/ {\n    proxy_pass http://" + spa + ";\n}\nlocation /down/ {\n    proxy_pass http://" + down + ";\n}\n",
		".devproxy/patterns/nextauth.json":       goodPattern,
		".devproxy/patterns/broken.json":         `{"id": "x", "title": `,
		".devproxy/patterns/builtin-id.json":     `{"id":"hmr-refused","title":"t","match":{"httpStatus":404},"advice":"x"}`,
		".devproxy/patterns/wrong-type.json":     `{"id":"y","title":"t","match":{"framework":7},"advice":"x"}`,
		".devproxy/patterns/not-a-pattern.txt":   "ignored",
		".devproxy/patterns/refused-anyway.json": `{"id":"down-here","title":"Down","match":{"reasonContains":"CONNECTION REFUSED"},"advice":"Run ` + "`npm run dev`" + `."}`,
	})
	ps, errs := LoadUserPatterns(w.root)
	if len(ps) != 2 || ps[0].ID != "nextauth-session-html" || ps[1].ID != "down-here" || ps[0].File != ".devproxy/patterns/nextauth.json" {
		t.Fatalf("patterns %+v", ps)
	}
	if len(errs) != 3 {
		t.Fatalf("errors %v", errs)
	}
	joined := ""
	for _, e := range errs {
		joined += e.Error() + "\n"
	}
	for _, want := range []string{".devproxy/patterns/broken.json: not valid JSON", `.devproxy/patterns/builtin-id.json: "id" "hmr-refused" is a built-in`, `.devproxy/patterns/wrong-type.json: "match.framework" must be a string`} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors lack %q:\n%s", want, joined)
		}
	}
	in := w.inputs(t)
	in.UserPatterns = ps
	fs := Detect(context.Background(), in)
	f := only(t, fs, "nextauth-session-html")
	if f.Route != "/app/" || f.Advice == "" || !contains(f.Evidence, "the page is text/html") || f.AppChange == nil {
		t.Errorf("user finding %+v", f)
	}
	if g := only(t, fs, "down-here"); g.Route != "/down/" {
		t.Errorf("user finding %+v", g)
	}
	only(t, fs, UpstreamUnreachable)
	fix, err := Propose(context.Background(), f, w.env())
	if err != nil || fix.Verified || fix.AppChange == nil || fix.AppChange.File != ".env.local" || !strings.Contains(fix.Why, "NEXTAUTH_URL") {
		t.Fatalf("%v %+v", err, fix)
	}
}

func TestNoPatternsFolder(t *testing.T) {
	ps, errs := LoadUserPatterns(t.TempDir())
	if len(ps) != 0 || len(errs) != 0 {
		t.Fatalf("%v %v", ps, errs)
	}
}
