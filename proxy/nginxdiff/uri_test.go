package nginxdiff

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/internal/nginxtest"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// dotSegmentTargets are request targets whose path ends in a dot segment
// (".", "..", their %2E spellings, and near misses such as "..." or ".x"),
// followed by each way a path can end: nothing, a fragment, a query, a
// slash, or an escaped '?' or '#' that belongs to the path.
func dotSegmentTargets() []string {
	bases := []string{"", "/t", "/t/a", "/t/a/b", "/t//a"}
	dots := []string{".", "..", "%2E", "%2e", "%2E%2E", ".%2E", "%2e.", "...", ".x", "..x", "x.", "%2E%2Fx", "./.", "../..", "./..", "%2E/%2E%2E"}
	ends := []string{"", "#frag", "#", "#f?x=1", "?x=1", "?", "?x=1#f", "?#", "/", "/#f", "/?a=b", "%3F", "%3Fx", "%23", "%23f", "%2F", "x"}
	var out []string
	for _, b := range bases {
		for _, d := range dots {
			for _, e := range ends {
				out = append(out, b+"/"+d+e)
			}
		}
	}
	return out
}

// TestDifferentialDotSegments checks URI normalisation against nginx where
// dot segments end the path. nginx proxies every target and shows $uri,
// $args and $is_args to the echo upstream; devproxy's parser must give the
// same path and arguments, and its explain and its proxy the same upstream
// request.
func TestDifferentialDotSegments(t *testing.T) {
	echo := nginxtest.StartEcho(t)
	body := fmt.Sprintf("proxy_set_header X-Uri $uri;\nproxy_set_header X-Args $args;\nproxy_set_header X-Is-Args $is_args;\nproxy_pass http://%s;\n", echo)
	cfg := nginxtest.Config{Files: 1, Locs: []nginxtest.Location{{Spec: "/", Body: body}}}
	text := cfg.FileText(0)
	f := routefile.Parse(nginxtest.FilePath(0), []byte(text))
	tbl := routing.Compose(routing.Config{}, []*routing.SourceFile{{Path: nginxtest.FilePath(0), Kind: routing.AppFile, ModTime: time.Unix(1000, 0), Parsed: f}}, nil)
	port := nginxtest.FreePorts(t, 1)[0]
	if _, err := nginxtest.Start(t, []nginxtest.Server{{Port: port, Body: text}}); err != nil {
		t.Fatal(err)
	}
	devPort := startDevproxy(t, &diffCase{table: tbl})

	targets := dotSegmentTargets()
	var mu sync.Mutex
	var failures []string
	stats := map[string]int{}
	nginxtest.Parallel(len(targets), 8, func(i int) {
		kind, err := compareDotSegments(tbl, port, devPort, targets[i])
		mu.Lock()
		defer mu.Unlock()
		stats[kind]++
		if err != nil {
			failures = append(failures, err.Error())
		}
	})
	t.Logf("%d targets: %v", len(targets), stats)
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more", len(failures)-20)
			break
		}
		t.Error(f)
	}
}

func compareDotSegments(tbl *routing.RouteTable, port, devPort int, target string) (string, error) {
	o, err := nginxtest.Get(port, target)
	if err != nil {
		return "transport-error", fmt.Errorf("GET %s: nginx: %v", target, err)
	}
	pu, perr := routing.ParseURI(target)
	d := tbl.Explain(&routing.Request{Target: target, Host: fmt.Sprintf("localhost:%d", port), ServerPort: port,
		Header: http.Header{"User-Agent": {"devproxy-diff"}}})
	fail := func(format string, args ...any) error {
		return fmt.Errorf("GET %s: %s\n  nginx:    status=%d echo=%s X-Uri=%q X-Args=%q X-Is-Args=%q\n  devproxy: path=%q args=%q has_args=%v err=%v; explain action=%s status=%d upstream_uri=%q",
			target, fmt.Sprintf(format, args...), o.Status, echoString(o.Echo), echoHeader(o.Echo, "X-Uri"), echoHeader(o.Echo, "X-Args"), echoHeader(o.Echo, "X-Is-Args"),
			pu.Path, pu.Args, pu.HasArgs, perr, d.Action, d.Status, d.UpstreamURI)
	}
	if o.Status == http.StatusBadRequest && o.Echo == nil {
		if perr == nil || d.Action != routing.ActionError || d.Status != http.StatusBadRequest {
			return "bad-request", fail("nginx rejects the target with 400")
		}
		return "bad-request", nil
	}
	if o.Echo == nil {
		return "not-proxied", fail("nginx did not reach the upstream")
	}
	if perr != nil {
		return "proxied", fail("devproxy rejects a target nginx accepts")
	}
	isArgs := ""
	if pu.Args != "" {
		isArgs = "?"
	}
	if got := [3]string{pu.Path, pu.Args, isArgs}; got != [3]string{echoHeader(o.Echo, "X-Uri"), echoHeader(o.Echo, "X-Args"), echoHeader(o.Echo, "X-Is-Args")} {
		return "proxied", fail("$uri, $args or $is_args differ")
	}
	if d.Action == routing.ActionReserved {
		return "reserved", nil // the path is the proxy's own (/): the parse was compared above
	}
	if d.Action != routing.ActionProxy || d.UpstreamURI != o.Echo.URI {
		return "proxied", fail("explain differs")
	}
	for _, h := range []string{"X-Uri", "X-Args", "X-Is-Args"} {
		if got := d.OutHeader.Get(h); got != echoHeader(o.Echo, h) {
			return "proxied", fail("explain sends %s %q", h, got)
		}
	}
	// devproxy's proxy must forward the same request.
	s, err := nginxtest.Get(devPort, target)
	if err != nil || s.Echo == nil {
		return "proxied", fail("devproxy's proxy did not reach the upstream: %v %d %q", err, s.Status, s.Body)
	}
	if s.Echo.URI != o.Echo.URI {
		return "proxied", fail("devproxy's proxy sends %s", s.Echo.URI)
	}
	for _, h := range []string{"X-Uri", "X-Args", "X-Is-Args"} {
		if got := echoHeader(s.Echo, h); got != echoHeader(o.Echo, h) {
			return "proxied", fail("devproxy's proxy sends %s %q", h, got)
		}
	}
	return "proxied", nil
}

func echoHeader(e *nginxtest.Echo, name string) string {
	if e == nil {
		return ""
	}
	return strings.Join(e.Headers[name], ", ")
}
