package routing

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

func composeOne(t *testing.T, src string) *RouteTable {
	t.Helper()
	f := routefile.Parse("apps/a.conf", []byte(src))
	if !f.OK {
		t.Fatalf("does not parse: %v", f.Diagnostics)
	}
	return Compose(Config{}, []*SourceFile{{Path: "apps/a.conf", ModTime: time.Unix(1, 0), Parsed: f}}, nil)
}

func TestUnreachableRegex(t *testing.T) {
	tbl := composeOne(t, `
location ^~ /app/ { proxy_pass http://127.0.0.1:3000; }
location ~ ^/app/_next/(.+)$ { proxy_pass http://127.0.0.1:3000/app/_next/$1; }
location ~ ^/app/api/(.+)$ { return 204; }
location /app/api/ { return 204; }
location ~* ^/APP/x { return 204; }
location ~ \.css$ { return 204; }
`)
	var got []string
	for _, d := range tbl.Diagnostics {
		if d.Code == routefile.CodeShadowed {
			got = append(got, d.Message)
			if d.Range.Start.Line != 3 || d.Severity != routefile.Warning || len(d.Tags) != 1 {
				t.Errorf("diagnostic at line %d severity %s tags %v", d.Range.Start.Line, d.Severity, d.Tags)
			}
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "^/app/_next/(.+)$ can never match") || !strings.Contains(got[0], "^~ /app/") {
		t.Fatalf("want one warning for the _next regex only, got %q", got)
	}
	// The finding is true: the regex never takes a request.
	if d := tbl.Explain(&Request{Target: "/app/_next/static/a.js"}); d.Location.Spec != "/app/" {
		t.Fatalf("expected ^~ /app/ to take it, got %+v", d.Location)
	}
}

func TestSeverityRoundTrips(t *testing.T) {
	for _, s := range []routefile.Severity{routefile.Error, routefile.Warning, routefile.Information, routefile.Hint} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back routefile.Severity
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("%s: %s -> %v, %v", s, b, back, err)
		}
	}
	var bad routefile.Severity
	if err := json.Unmarshal([]byte(`"fatal"`), &bad); err == nil {
		t.Error("unknown severity accepted")
	}
}
