package routefile_test

import (
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// benchFile is a typical app route file: 10 location blocks in the shapes
// real per-app snippets use (exact redirect, ^~ app prefix with WebSocket
// headers, API with a variable host, health check, Next.js regex with a
// capture, rewrite ... break, response headers, empty_gif, a return and a
// case-insensitive regex). proxy/routing's benchmarks use the same shape.
const benchFile = `# shop: a Next.js front end with its API, as the app team ships it.
location = /shop { return 301 /shop/; }

location ^~ /shop/ {
    proxy_set_header Host $host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";
    proxy_pass http://127.0.0.1:3000/;
}

# The API keeps its prefix; the host comes from a variable.
location /shop/api/ {
    set $u shop-api:8000;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_read_timeout 60s;
    proxy_pass http://$u;
}

location = /shop/health {
    add_header Content-Type application/json always;
    return 200 '{"status":"ok"}';
}

location ~ ^/shop/_next/(.+)$ {
    proxy_pass http://127.0.0.1:3000/_next/$1;
}

location /shop/legacy/ {
    rewrite ^/shop/legacy/(.*)$ /v1/$1 break;
    proxy_pass http://127.0.0.1:5000;
}

location /shop/static/ {
    add_header Cache-Control "public, max-age=3600";
    proxy_hide_header X-Powered-By;
    proxy_pass http://127.0.0.1:3000/static/;
}

location = /shop/favicon.ico { empty_gif; }

location /shop/old/ { return 302 /shop/; }

# Spreadsheet exports come from a separate service.
location ~* ^/shop/api/.+\.(csv|xlsx)$ {
    proxy_pass http://shop-exports:9000;
}
`

// BenchmarkParse measures reading one typical route file: tokens, blocks,
// directive validation and regex compilation. A cold start parses every
// file, so 100 of these must fit well inside ComposeFromDisk's 20 ms.
func BenchmarkParse(b *testing.B) {
	src := []byte(benchFile)
	f := routefile.Parse("apps/shop.conf", src)
	if !f.OK || len(f.Locations) != 10 {
		b.Fatalf("benchmark file: ok=%v, %d locations, diagnostics %v", f.OK, len(f.Locations), f.Diagnostics)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		routefile.Parse("apps/shop.conf", src)
	}
}
