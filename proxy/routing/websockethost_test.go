package routing

import (
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

func TestWebSocketHost(t *testing.T) {
	tests := []struct {
		name, loc string
		want      string // the header name of the directive hinted at; "" for no hint
	}{
		{"upgrade, default Host", "location /web/ {\n    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection \"upgrade\";\n    proxy_pass http://127.0.0.1:5173/;\n}", "Upgrade"},
		{"connection upgrade only", "location /web/ { proxy_set_header Connection upgrade; proxy_pass http://127.0.0.1:5173/; }", "Connection"},
		{"Connection keep-alive, Upgrade", "location /web/ { proxy_set_header Connection \"keep-alive, Upgrade\"; proxy_pass http://127.0.0.1:5173/; }", "Connection"},
		{"variable upstream", "location /web/ { set $u 127.0.0.1:5173; proxy_set_header Upgrade $http_upgrade; proxy_pass http://$u; }", "Upgrade"},
		{"Host $http_host", "location /web/ { proxy_set_header Upgrade $http_upgrade; proxy_set_header Host $http_host; proxy_pass http://127.0.0.1:5173/; }", ""},
		{"host $host, any case", "location /web/ { proxy_set_header host $host; proxy_set_header Upgrade $http_upgrade; proxy_pass http://127.0.0.1:5173/; }", ""},
		{"no upgrade headers", "location /web/ { proxy_pass http://127.0.0.1:5173/; }", ""},
		{"Connection close", "location /web/ { proxy_set_header Connection close; proxy_pass http://127.0.0.1:5173/; }", ""},
		{"no proxy_pass", "location /web/ { proxy_set_header Upgrade $http_upgrade; return 204; }", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := composeOne(t, tt.loc+"\n")
			var ds []routefile.Diagnostic
			for _, d := range tbl.Diagnostics {
				if d.Code == routefile.CodeWebSocketHost {
					ds = append(ds, d)
				}
			}
			got := tbl.Blocks[0].WebSocketHost
			if tt.want == "" {
				if got != nil || len(ds) != 0 {
					t.Errorf("hinted %v: %v", got, ds)
				}
				return
			}
			if got == nil || got.Args[0].Value != tt.want {
				t.Fatalf("directive %+v, want proxy_set_header %s", got, tt.want)
			}
			if len(ds) != 1 || ds[0].Severity != routefile.Hint || ds[0].Range != got.HeaderRange() {
				t.Fatalf("diagnostics %v, want one hint on the directive", ds)
			}
			for _, words := range []string{"WebSocket", "Origin", "Host", "403", "proxy_set_header Host $http_host;"} {
				if !strings.Contains(ds[0].Message, words) {
					t.Errorf("message %q lacks %q", ds[0].Message, words)
				}
			}
		})
	}
	// The fixed block forwards the browser's Host, port included, so the
	// dev server sees Host and Origin agree.
	tbl := composeOne(t, "location /web/ { proxy_set_header Upgrade $http_upgrade; proxy_set_header Host $http_host; proxy_pass http://127.0.0.1:5173/; }\n")
	d := tbl.Explain(&Request{Target: "/web/__hmr", Host: "127.0.0.1:8080"})
	if d.OutHost != "127.0.0.1:8080" {
		t.Errorf("Host sent upstream: %q, want 127.0.0.1:8080", d.OutHost)
	}
}
