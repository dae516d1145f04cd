package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/server/cli"
)

// runHealthcheck runs `devproxy healthcheck`: a liveness probe for images
// without a shell or curl (the Dockerfile's HEALTHCHECK). It exits 0 when
// the proxy at --url answers {"status":"ok"}.
func runHealthcheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("healthcheck", stderr)
	url := fs.String("url", "http://127.0.0.1:8080"+httpproxy.HealthzPath, "the proxy's liveness `URL`")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy healthcheck: --url %q: %v\n", *url, err)
		return cli.ExitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy healthcheck: %v\n", err)
		return cli.ExitFail
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body) != nil || body.Status != "ok" {
		fmt.Fprintf(stderr, "devproxy healthcheck: %s answered %s\n", *url, resp.Status)
		return cli.ExitFail
	}
	fmt.Fprintln(stdout, "ok")
	return cli.ExitOK
}
