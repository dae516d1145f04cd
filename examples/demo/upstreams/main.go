// Command upstreams runs the two small dev servers of the demo workspace:
// a web page with an HMR-style WebSocket (127.0.0.1:5173) and a JSON API
// (127.0.0.1:5174). `make run` starts it next to `devproxy serve`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>Demo web app</title></head>
<body style="font:16px system-ui;margin:2rem">
<h1>Demo web app</h1>
<p>Served by the dev server on %s, reached through devproxy under <code>/web/</code>.</p>
<p>HMR socket: <strong id="hmr">connecting…</strong></p>
<p>API through the proxy: <code id="api">…</code></p>
<script>
const proto = location.protocol === 'https:' ? 'wss' : 'ws';
const ws = new WebSocket(proto + '://' + location.host + '/web/__hmr');
ws.onmessage = (e) => { document.getElementById('hmr').textContent = e.data; };
ws.onclose = () => { document.getElementById('hmr').textContent = 'disconnected'; };
fetch('/api/users').then(r => r.text()).then(t => { document.getElementById('api').textContent = t; });
</script>
</body></html>
`

func main() {
	webAddr := flag.String("web", "127.0.0.1:5173", "address of the web dev server")
	apiAddr := flag.String("api", "127.0.0.1:5174", "address of the JSON API")
	flag.Parse()

	// The origin check of a real dev server (Vite's, webpack-dev-server's,
	// gorilla's default): a browser's WebSocket carries the page's Origin,
	// and its host:port must be the Host the request arrived with.
	// Origin-less clients (curl, Go tests) pass, as they do there.
	upgrader := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		u, err := url.Parse(origin)
		ok := err == nil && strings.EqualFold(u.Host, r.Host)
		if !ok {
			log.Printf("web: refused the HMR socket: Origin %s does not match Host %s (forward the browser's Host: proxy_set_header Host $http_host;)", origin, r.Host)
		}
		return ok
	}}
	web := http.NewServeMux()
	web.HandleFunc("/__hmr", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		for i := 1; ; i++ {
			msg := fmt.Sprintf("connected; update #%d at %s", i, time.Now().Format("15:04:05"))
			if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				return
			}
			time.Sleep(2 * time.Second)
		}
	})
	web.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, page, *webAddr)
	})

	api := http.NewServeMux()
	api.HandleFunc("/users", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"users":       []string{"ada", "grace", "linus"},
			"page":        r.URL.Query().Get("page"),
			"received_as": r.RequestURI,
			"prefix":      r.Header.Get("X-Forwarded-Prefix"),
		})
	})
	api.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		// The API's index, so that /api/ itself answers (the health
		// scanner probes each route's prefix).
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"endpoints":["/api/users","/api/health"]}`)
	})
	api.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"ok":true}`)
	})

	errc := make(chan error, 2)
	go func() { errc <- http.ListenAndServe(*webAddr, web) }()
	go func() { errc <- http.ListenAndServe(*apiAddr, api) }()
	log.Printf("demo upstreams: web on http://%s, api on http://%s", *webAddr, *apiAddr)
	log.Fatal(<-errc)
}
