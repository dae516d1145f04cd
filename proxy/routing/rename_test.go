package routing_test

import (
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

func TestNormaliseRoute(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "v2", want: "/v2/"},
		{in: "/v2", want: "/v2/"},
		{in: " /v2/ ", want: "/v2/"},
		{in: "/a/b", want: "/a/b/"},
		{in: "", err: "a route is a path"},
		{in: "/a b/", err: "a route is a path"},
		{in: "/$x/", err: "a route is a path"},
		{in: `"/q/"`, err: "a route is a path"},
		{in: "/status", err: "/status/ belongs to the proxy itself"},
	}
	for _, tt := range tests {
		got, err := routing.NormaliseRoute(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormaliseRoute(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormaliseRoute(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// apply writes the replacements into src, last first.
func apply(src string, edits []routing.Replacement) string {
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		src = src[:e.Range.Start.Offset] + e.NewText + src[e.Range.End.Offset:]
	}
	return src
}

func TestRenameRoute(t *testing.T) {
	tests := []struct {
		name, src, route, newName, want string
	}{
		{"specs, the companion, the prefix header and regexes",
			`location = /web { return 301 /web/; }
location ^~ /web/ {
    proxy_set_header X-Forwarded-Prefix /web;
    proxy_pass http://127.0.0.1:5173/;
}
location ~ ^/web/_next/(.+)$ { proxy_pass http://127.0.0.1:5173/web/_next/$1; }
location /webhooks/ { proxy_pass http://127.0.0.1:5175; }
`, "/web/", "shop",
			`location = /shop { return 301 /shop/; }
location ^~ /shop/ {
    proxy_set_header X-Forwarded-Prefix /shop;
    proxy_pass http://127.0.0.1:5173/;
}
location ~ ^/shop/_next/(.+)$ { proxy_pass http://127.0.0.1:5173/web/_next/$1; }
location /webhooks/ { proxy_pass http://127.0.0.1:5175; }
`},
		{"rewrite, proxy_redirect and quoted specs",
			`location "/api/" {
    rewrite ^/api/(.*)$ /api/v1/$1 break;
    proxy_redirect http://u:1/ /api/;
    proxy_pass http://u:1;
}
`, "/api/", "/v2/",
			`location "/v2/" {
    rewrite ^/v2/(.*)$ /v2/v1/$1 break;
    proxy_redirect http://u:1/ /v2/;
    proxy_pass http://u:1;
}
`},
		{"a glued exact modifier", "location =/a { return 204; }\nlocation /a/ { return 204; }\n", "/a/", "b",
			"location =/b { return 204; }\nlocation /b/ { return 204; }\n"},
		{"other headers stay", "location /a/ { proxy_set_header X-Path /a; return 204; }\n", "/a/", "b",
			"location /b/ { proxy_set_header X-Path /a; return 204; }\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := routefile.Parse("apps/x.conf", []byte(tt.src))
			r, err := routing.RenameRoute(f, tt.src, tt.route, tt.newName)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range r.Edits {
				if e.File != "apps/x.conf" {
					t.Errorf("edit %d is for %q", i, e.File)
				}
				if i > 0 && e.Range.Start.Offset < r.Edits[i-1].Range.End.Offset {
					t.Errorf("edits %d and %d overlap or are out of order", i-1, i)
				}
			}
			if got := apply(tt.src, r.Edits); got != tt.want {
				t.Errorf("after the rename:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
	f := routefile.Parse("apps/x.conf", []byte("location /a/ { return 204; }\n"))
	if _, err := routing.RenameRoute(f, "location /a/ { return 204; }\n", "/a/", "/devproxy/x"); err == nil {
		t.Error("renaming to a path of the proxy itself must fail")
	}
}

func TestRenamePin(t *testing.T) {
	got, ok := routing.RenamePin([]byte(`{"/web/": "apps/web.conf", "/api/": "apps/b.conf"}`), "/web/", "/shop/")
	want := "{\n  \"/api/\": \"apps/b.conf\",\n  \"/shop/\": \"apps/web.conf\"\n}\n"
	if !ok || string(got) != want {
		t.Errorf("RenamePin = %q, %v; want %q", got, ok, want)
	}
	for _, in := range []string{`{"/api/": "apps/b.conf"}`, `not json`, `[]`} {
		if got, ok := routing.RenamePin([]byte(in), "/web/", "/shop/"); ok {
			t.Errorf("RenamePin(%s) = %q, want no change", in, got)
		}
	}
}
