package health

import (
	"reflect"
	"testing"
)

func TestParsePage(t *testing.T) {
	doc := `<!DOCTYPE html><html><head>
<LINK REL=stylesheet HREF=/a/s.css>
<link rel="modulepreload" href='/a/m.js'>
<link rel="preload" as="font" href="/a/f.woff2" crossorigin>
<link rel="preload" as="fetch" href="/a/app.wasm">
<link rel="icon" href="/a/favicon.ico">
<!-- <link rel="stylesheet" href="/a/gone.css"> -->
<style>a::before{content:"<script src='/a/no.js'>"}</style>
<script type="module" src="/a/main.js?x=1&amp;y=2"></script>
<script>fetch("/a/other.wasm"); const t = "</div><script src=/a/no2.js>";</script>
<textarea><script src="/a/no3.js"></script></textarea>
</head></html>`
	f := parsePage(doc)
	want := []pageRef{
		{"/a/s.css", "style"}, {"/a/m.js", "script"}, {"/a/f.woff2", "font"}, {"/a/app.wasm", "wasm"},
		{"/a/main.js?x=1&y=2", "script"}, {"/a/other.wasm", "wasm"},
	}
	if !reflect.DeepEqual(f.Refs, want) {
		t.Errorf("refs\n got %v\nwant %v", f.Refs, want)
	}
}

func TestDetectHMR(t *testing.T) {
	tests := []struct {
		name    string
		scripts []string
		inline  string
		want    hmrChannel
		ok      bool
	}{
		{"vite", []string{"/app/@vite/client", "/app/src/main.ts"}, "", hmrChannel{"vite", "/app/", "vite-hmr"}, true},
		{"next dev", []string{"/shop/_next/static/chunks/webpack.js", "/shop/_next/static/chunks/main.js"}, "", hmrChannel{"next", "/shop/_next/webpack-hmr", ""}, true},
		{"next production: no channel", []string{"/shop/_next/static/chunks/main-abc.js"}, `{"buildId":"x1"}`, hmrChannel{}, false},
		{"socket.io", []string{"/chat/socket.io/socket.io.js"}, "", hmrChannel{"socket.io", "/chat/socket.io/?EIO=4&transport=websocket", ""}, true},
		{"storybook", []string{"/sb/sb-manager/runtime.js"}, "window.__STORYBOOK_ADDONS_CHANNEL__ = {}", hmrChannel{"storybook", "/sb/storybook-server-channel", ""}, true},
		{"plain page", []string{"/a/main.js"}, "console.log(1)", hmrChannel{}, false},
	}
	for _, tt := range tests {
		prefix := "/sb/"
		got, ok := detectHMR(tt.scripts, tt.inline, prefix)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: %+v %v, want %+v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
