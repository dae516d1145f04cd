// Command fakengrok stands in for `ngrok http ADDR [--log stdout]
// [--url URL]` in tests: it serves the agent's local API (GET
// /api/tunnels, the real JSON shape) on FAKE_API_ADDR, listing one https
// tunnel to ADDR once FAKE_DELAY (default 300ms) has passed, and waits
// until it is killed. Without NGROK_AUTHTOKEN in its environment it exits
// with ngrok's error, as the real agent does. It logs its token, which a
// real agent never does, so tests can check it is blanked out.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if p := os.Getenv("FAKE_PIDFILE"); p != "" {
		_ = os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
	if len(os.Args) < 3 || os.Args[1] != "http" {
		fmt.Fprintln(os.Stderr, "usage: ngrok http ADDR")
		os.Exit(2)
	}
	addr, public := os.Args[2], "https://0123-abcd.ngrok-free.app"
	for i, a := range os.Args {
		if a == "--url" && i+1 < len(os.Args) {
			public = os.Args[i+1]
		}
	}
	tok := os.Getenv("NGROK_AUTHTOKEN")
	if tok == "" {
		fmt.Println(`t=2024-01-01T00:00:00+0000 lvl=eror msg="authentication failed: Usage of ngrok requires a verified account and authtoken." err="ERR_NGROK_4018"`)
		os.Exit(1)
	}
	fmt.Printf("t=%s lvl=info msg=\"starting web service\" obj=web addr=%s authtoken=%s\n", time.Now().Format(time.RFC3339), os.Getenv("FAKE_API_ADDR"), tok)
	delay := 300 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("FAKE_DELAY")); err == nil {
		delay = d
	}
	ready := time.Now().Add(delay)
	http.HandleFunc("/api/tunnels", func(w http.ResponseWriter, r *http.Request) {
		type cfg struct {
			Addr    string `json:"addr"`
			Inspect bool   `json:"inspect"`
		}
		type tunnel struct {
			Name      string `json:"name"`
			ID        string `json:"ID"`
			URI       string `json:"uri"`
			PublicURL string `json:"public_url"`
			Proto     string `json:"proto"`
			Config    cfg    `json:"config"`
		}
		list := []tunnel{}
		if time.Now().After(ready) {
			list = append(list, tunnel{Name: "command_line", ID: "0a1b2c", URI: "/api/tunnels/command_line", PublicURL: public, Proto: "https", Config: cfg{Addr: "http://" + addr, Inspect: true}})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"tunnels": list, "uri": "/api/tunnels"})
	})
	if err := http.ListenAndServe(os.Getenv("FAKE_API_ADDR"), nil); err != nil {
		fmt.Println(`lvl=crit msg="command failed" err="` + err.Error() + `"`)
		os.Exit(1)
	}
}
