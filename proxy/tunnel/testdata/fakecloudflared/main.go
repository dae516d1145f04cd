// Command fakecloudflared stands in for `cloudflared tunnel --url URL` in
// tests: it prints cloudflared's real quick-tunnel log lines to stderr
// after FAKE_DELAY (default 300ms), then waits until it is killed. It
// writes its pid to FAKE_PIDFILE when set, and exits at once with status
// 1 when FAKE_FAIL is set, as cloudflared does when trycloudflare.com is
// unreachable.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if p := os.Getenv("FAKE_PIDFILE"); p != "" {
		_ = os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
	if len(os.Args) < 4 || os.Args[1] != "tunnel" || os.Args[len(os.Args)-2] != "--url" {
		fmt.Fprintln(os.Stderr, "usage: cloudflared tunnel [--no-autoupdate] --url URL")
		os.Exit(2)
	}
	ts := func() string { return time.Now().UTC().Format("2006-01-02T15:04:05Z") }
	fmt.Fprintf(os.Stderr, "%s INF Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out.\n", ts())
	fmt.Fprintf(os.Stderr, "%s INF Requesting new quick Tunnel on trycloudflare.com...\n", ts())
	if os.Getenv("FAKE_FAIL") != "" {
		fmt.Fprintln(os.Stderr, `failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp: lookup api.trycloudflare.com: no such host`)
		os.Exit(1)
	}
	delay := 300 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("FAKE_DELAY")); err == nil {
		delay = d
	}
	time.Sleep(delay)
	fmt.Fprintf(os.Stderr, "%s INF +--------------------------------------------------------------------------------------------+\n", ts())
	fmt.Fprintf(os.Stderr, "%s INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |\n", ts())
	fmt.Fprintf(os.Stderr, "%s INF |  https://seasonal-quiet-river-example.trycloudflare.com                                     |\n", ts())
	fmt.Fprintf(os.Stderr, "%s INF +--------------------------------------------------------------------------------------------+\n", ts())
	fmt.Fprintf(os.Stderr, "%s INF Version 2024.6.1\n", ts())
	fmt.Fprintf(os.Stderr, "%s INF Registered tunnel connection connIndex=0 location=ams01 protocol=quic\n", ts())
	for {
		time.Sleep(time.Hour) // until killed
	}
}
