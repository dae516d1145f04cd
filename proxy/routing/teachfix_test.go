package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Errors teach the fix (issue 10): findings about the workspace's JSON
// files say what to write instead.

// resolutionsDiags are the diagnostics on the resolutions file.
func resolutionsDiags(tbl *RouteTable) []routefile.Diagnostic {
	var out []routefile.Diagnostic
	for _, d := range tbl.Diagnostics {
		if d.File == ResolutionsFile {
			out = append(out, d)
		}
	}
	return out
}

func TestPinWithoutRouteSuggestsTheSlash(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name, pins string
		want       string // the message of the one diagnostic
	}{
		{"slash missing", `{"/api": "a.conf"}`, "no route file claims /api; this pin has no effect; did you mean /api/?"},
		{"nothing close", `{"/shop/": "a.conf"}`, "no route file claims /shop/; this pin has no effect"},
		{"slash missing, nothing close", `{"/shop": "a.conf"}`, "no route file claims /shop; this pin has no effect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "apps/a.conf", "location /api/ { return 200 a; }\n", base)
			writeFile(t, root, ResolutionsFile, tt.pins, base)
			ws, err := NewWorkspace(root)
			if err != nil {
				t.Fatal(err)
			}
			ds := resolutionsDiags(ws.Table())
			if len(ds) != 1 || ds[0].Message != tt.want || ds[0].Severity != routefile.Hint {
				t.Errorf("diagnostics on %s = %v, want one hint %q", ResolutionsFile, ds, tt.want)
			}
		})
	}
}

func TestEmptyResolutionsFileMeansNoPins(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	for _, text := range []string{"", " \n\t\r\n"} {
		root := t.TempDir()
		writeFile(t, root, "apps/a.conf", "location /api/ { return 200 a; }\n", base)
		writeFile(t, root, "apps/b.conf", "location /api/ { return 200 b; }\n", base.Add(time.Hour))
		writeFile(t, root, ResolutionsFile, text, base)
		ws, err := NewWorkspace(root)
		if err != nil {
			t.Fatal(err)
		}
		tbl := ws.Table()
		if ds := resolutionsDiags(tbl); len(ds) != 0 {
			t.Errorf("resolutions file %q: diagnostics %v, want none", text, ds)
		}
		if len(tbl.Conflicts) != 1 || tbl.Conflicts[0].Settlement != SettledByNewest {
			t.Errorf("resolutions file %q: conflicts %+v, want /api/ settled by age", text, tbl.Conflicts)
		}
		// The overlay (an editor buffer) follows the same rule.
		tbl = ws.SetOverlay(ResolutionsFile, []byte(text))
		if ds := resolutionsDiags(tbl); len(ds) != 0 {
			t.Errorf("resolutions overlay %q: diagnostics %v, want none", text, ds)
		}
	}
}

func TestConfigWrongTypeInWords(t *testing.T) {
	tests := []struct {
		name, doc string
		want      string // the one diagnostic, as check prints it
	}{
		{"apps a string", "{\n  \"listen\": \"127.0.0.1:9000\",\n  \"apps\": \"apps/*.conf\"\n}",
			`devproxy.json:3:11: error: "apps" must be a list of globs, such as ["apps/*.conf"]; it is ignored [config]`},
		{"overrides with a number", `{"overrides": ["o/*.conf", 1]}`,
			`devproxy.json:1:15: error: "overrides" must be a list of globs, such as ["overrides/*.conf"]; it is ignored [config]`},
		{"listen a number", `{"listen": 8080}`,
			`devproxy.json:1:12: error: "listen" must be "host:port" or a port, such as "127.0.0.1:8080" or "8080"; it is ignored [config]`},
		{"tunnel a string", `{"tunnel": "127.0.0.1:8081"}`,
			`devproxy.json:1:12: error: "tunnel" must be an object, such as {"listen": "127.0.0.1:8081"}; it is ignored [config]`},
		{"tunnel listen a list", `{"tunnel": {"publicUrl": "https://a.example", "listen": [8081]}}`,
			`devproxy.json:1:57: error: "tunnel.listen" must be "host:port" or a port, such as "127.0.0.1:8081" or "8081"; it is ignored [config]`},
		{"tunnel publicUrl a bool", `{"tunnel": {"publicUrl": true}}`,
			`devproxy.json:1:26: error: "tunnel.publicUrl" must be an http(s) URL, such as "https://abc.ngrok.app"; it is ignored [config]`},
		{"allowedHosts a string", `{"allowedHosts": "dev.example.com"}`,
			`devproxy.json:1:18: error: "allowedHosts" must be a list of host names, such as ["dev.example.com"]; it is ignored [config]`},
		{"private a string", `{"private": "/admin/"}`,
			`devproxy.json:1:13: error: "private" must be a list of route prefixes served locally only, such as ["/admin/", "/internal/"]; it is ignored [config]`},
		{"private not a path", `{"private": ["/internal/", "admin/"]}`,
			`devproxy.json:1:28: error: private: "admin/" is not a route prefix; write it as a path starting with /, such as "/admin/"; it is ignored [config]`},
		{"private with a query", `{"private": ["/a/?x=1"]}`,
			`devproxy.json:1:14: error: private: "/a/?x=1" is not a route prefix: it has a query, a fragment or a space; write a path such as "/admin/"; it is ignored [config]`},
		{"not an object", `["apps/*.conf"]`,
			`devproxy.json:1:1: error: devproxy.json must be a JSON object, such as {"listen": "127.0.0.1:8080"} [config]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := loadConfig("", ConfigFile, []byte(tt.doc))
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("diagnostics = %q\nwant %q", got, tt.want)
			}
			if tt.name == "apps a string" && c.Listen != "127.0.0.1:9000" {
				t.Errorf("the other settings are dropped: %+v", c)
			}
		})
	}
}

func TestResolutionsNotAnObject(t *testing.T) {
	_, _, diags := loadResolutions("", ResolutionsFile, []byte(`  ["/api/"]`))
	want := `.devproxy/resolutions.json:1:3: error: .devproxy/resolutions.json must be a JSON object, such as {"/api/": "apps/b.conf"} [resolution]`
	if len(diags) != 1 || diags[0].String() != want {
		t.Errorf("diagnostics = %v, want %s", diags, want)
	}
}

func TestListenBarePort(t *testing.T) {
	for in, want := range map[string]string{
		"8392": "127.0.0.1:8392", "127.0.0.1:8392": "127.0.0.1:8392", ":8392": ":8392",
		"0.0.0.0:80": "0.0.0.0:80", "[::1]:9": "[::1]:9", "localhost": "", "99999": "", "host:x": "",
	} {
		got, err := ListenAddress(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("ListenAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	c, diags := loadConfig("", ConfigFile, []byte(`{"listen": "8392", "tunnel": {"listen": "8393"}}`))
	if len(diags) != 0 || c.Listen != "127.0.0.1:8392" || c.Tunnel.Listen != "127.0.0.1:8393" {
		t.Errorf("bare ports in devproxy.json: %+v, %v", c, diags)
	}
	// The editor's settings go through the same reading.
	if c := (Config{Listen: "8392"}).withDefaults(); c.Listen != "127.0.0.1:8392" {
		t.Errorf("bare port in the editor's settings: %q", c.Listen)
	}
}

func TestSlashPitfall(t *testing.T) {
	tests := []struct {
		name, loc string
		want      *SlashPitfall // nil: no warning
	}{
		{"prefix without slash, URI /", "location /api { proxy_pass http://127.0.0.1:3000/; }",
			&SlashPitfall{Example: "/api/users", UpstreamURI: "//users", FixedSpec: "/api/", FixedURI: "/users"}},
		{"^~ without slash, URI /v1/", "location ^~ /api { proxy_pass http://127.0.0.1:3000/v1/; }",
			&SlashPitfall{Example: "/api/users", UpstreamURI: "/v1//users", FixedSpec: "/api/", FixedURI: "/v1/users"}},
		{"variable host", "location /api { set $u 127.0.0.1:3000; proxy_pass http://$u/; }",
			&SlashPitfall{Example: "/api/users", UpstreamURI: "//users", FixedSpec: "/api/", FixedURI: "/users"}},
		{"both end in a slash", "location /api/ { proxy_pass http://127.0.0.1:3000/; }", nil},
		{"no URI part", "location /api { proxy_pass http://127.0.0.1:3000; }", nil},
		{"URI without a trailing slash", "location /api { proxy_pass http://127.0.0.1:3000/v1; }", nil},
		{"rewrite break ignores the URI", "location /api { rewrite ^/api(.*)$ $1 break; proxy_pass http://127.0.0.1:3000/; }", nil},
		{"exact location", "location = /api { proxy_pass http://127.0.0.1:3000/; }", nil},
		{"a file", "location /favicon.ico { proxy_pass http://127.0.0.1:3000/; }", nil},
		{"return", "location /api { return 204; }", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := composeOne(t, tt.loc+"\n")
			var ds []routefile.Diagnostic
			for _, d := range tbl.Diagnostics {
				if d.Code == routefile.CodeSlashPitfall {
					ds = append(ds, d)
				}
			}
			got := tbl.Blocks[0].SlashPitfall
			if tt.want == nil {
				if got != nil || len(ds) != 0 {
					t.Errorf("pitfall %+v, diagnostics %v; want none", got, ds)
				}
				return
			}
			if got == nil || *got != *tt.want {
				t.Fatalf("pitfall %+v, want %+v", got, tt.want)
			}
			if len(ds) != 1 || ds[0].Severity != routefile.Warning {
				t.Fatalf("diagnostics %v, want one warning", ds)
			}
			// At the spec, saying what the upstream gets and the fix.
			d := ds[0]
			if spec := tbl.Blocks[0].Loc.SpecRange; d.Range != spec {
				t.Errorf("range %v, want the spec's %v", d.Range, spec)
			}
			for _, words := range []string{"the upstream gets " + tt.want.UpstreamURI + " for /api/users", "make it location /api/",
				"/api/users then sends " + tt.want.FixedURI, "/api redirects to /api/"} {
				if !strings.Contains(d.Message, words) {
					t.Errorf("message %q lacks %q", d.Message, words)
				}
			}
		})
	}
	// The fixed file, read again, redirects /api and strips the prefix.
	tbl := composeOne(t, "location /api/ { proxy_pass http://127.0.0.1:3000/; }\n")
	if d := tbl.Explain(&Request{Target: "/api"}); d.Status != 301 || d.ResponseHeaders["Location"] != "/api/" {
		t.Errorf("/api after the fix: %d %v", d.Status, d.ResponseHeaders)
	}
}
