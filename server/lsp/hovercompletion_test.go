package lsp

import (
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

func hoverText(t *testing.T, c *client, rel string, line, char uint32) string {
	t.Helper()
	var h protocol.Hover
	if err := c.call("textDocument/hover", &protocol.HoverParams{TextDocumentPositionParams: at(c, rel, line, char)}, &h); err != nil {
		t.Fatal(err)
	}
	md, ok := h.Contents.(*protocol.MarkupContent)
	if !ok {
		t.Fatalf("hover contents %#v", h.Contents)
	}
	return md.Value
}

// TestHoverDirectivesAndVariables: on a directive, what nginx does and
// whether devproxy honours it; on a variable, its value for an example
// request to the block, as the engine evaluates it.
func TestHoverDirectivesAndVariables(t *testing.T) {
	root := workspace(t, `
-- apps/vite.conf --
location /app/ {
    set $vite 127.0.0.1:5173;
    proxy_set_header X-Uri $uri;
    proxy_http_version 1.1;
    gzip on;
    proxy_pass http://$vite;
}
location /other/ { proxy_pass http://$host; }
`)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/vite.conf")
	for _, tc := range []struct {
		line, char uint32
		want       []string
	}{
		{5, 6, []string{"**`proxy_pass URL;`**", "nginx: forwards the request to URL", "devproxy: **honoured**"}},
		{3, 8, []string{"`proxy_http_version 1.0|1.1;`", "nginx: the HTTP version", "**accepted, no effect here**: devproxy always talks HTTP/1.1"}},
		{4, 5, []string{"devproxy: **ignored**"}},
		{5, 24, []string{"**`$vite`**", "For the example request `GET http://127.0.0.1:8080/app/x`: `127.0.0.1:5173`"}},
		{1, 10, []string{"**`$vite`** · set here", "`127.0.0.1:5173`"}},
		{2, 29, []string{"**`$uri`** · nginx variable", "For the example request `GET http://127.0.0.1:8080/app/x`: `/app/x`"}},
		{7, 40, []string{"**`$host`**", "`GET http://127.0.0.1:8080/other/x`: `127.0.0.1`"}},
		{0, 3, []string{"location /app/", "Active"}},
	} {
		got := hoverText(t, c, "apps/vite.conf", tc.line, tc.char)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("hover at %d:%d lacks %q:\n%s", tc.line, tc.char, w, got)
			}
		}
	}
}

// TestCompletionDetails: directive items carry the signature and a
// one-line description; those without effect say so and sort last; the
// block's set variables are offered while a later block is broken.
func TestCompletionDetails(t *testing.T) {
	root := workspace(t, `
-- apps/vite.conf --
location /app/ {
    set $vite 127.0.0.1:5173;
    proxy_pass http://$
    
}
location /b/ {
    proxy_pass http://127.0.0.1:1
`)
	c, _ := start(t, root, nil)
	c.waitDiagnostics(0, "apps/vite.conf")
	complete := func(line, char uint32) map[string]protocol.CompletionItem {
		var list protocol.CompletionList
		if err := c.call("textDocument/completion", &protocol.CompletionParams{TextDocumentPositionParams: at(c, "apps/vite.conf", line, char)}, &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]protocol.CompletionItem{}
		for _, it := range list.Items {
			out[it.Label] = it
		}
		return out
	}
	if _, ok := complete(2, 23)["$vite"]; !ok {
		t.Errorf("no $vite among the variables while the file has errors")
	}
	items := complete(3, 4)
	pp, ok := items["proxy_pass"]
	if !ok || opt(pp.Detail) != "proxy_pass URL;" || pp.Documentation != protocol.String("forwards the request to URL; when URL has a path, it replaces the part of the URI the location matched") {
		t.Errorf("proxy_pass: %+v", pp)
	}
	hv := items["proxy_http_version"]
	if !strings.HasSuffix(opt(hv.Detail), "— accepted, no effect here") || opt(hv.SortText) <= opt(pp.SortText) || opt(hv.SortText) <= opt(items["set"].SortText) {
		t.Errorf("proxy_http_version: detail %q sortText %q (proxy_pass %q, set %q)", opt(hv.Detail), opt(hv.SortText), opt(pp.SortText), opt(items["set"].SortText))
	}
}

// opt is an optional string's value ("" when unset).
func opt(o protocol.Optional[string]) string {
	v, _ := o.Get()
	return v
}
