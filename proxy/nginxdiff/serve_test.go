package nginxdiff

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/internal/nginxtest"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

const (
	serveConfigs  = 20
	serveRequests = 50 // 20 x 50 = 1,000 requests to each server
)

// startDevproxy serves a case's table with devproxy's real proxy on a
// loopback port.
func startDevproxy(t *testing.T, c *diffCase) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := httpproxy.New(c.table, nil)
	srv := p.NewServer(false)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); p.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestDifferentialServe sends the same raw requests (methods, bodies,
// headers, odd targets) to nginx and to `devproxy serve`'s proxy, both in
// front of one echo upstream, and requires that the upstream sees the same
// method, URI, body and configured headers, and the client the same status
// and Location, except where the spec says [intent].
func TestDifferentialServe(t *testing.T) {
	echo := nginxtest.StartEcho(t)
	s := seed(t) + 1
	g := nginxtest.NewGenerator(s, echo)
	ports := nginxtest.FreePorts(t, 2*serveConfigs)
	var cases []*diffCase
	var servers []nginxtest.Server
	dev := map[*diffCase]int{}
	for i := 0; i < serveConfigs; i++ {
		c := &diffCase{cfg: g.Config()}
		c.mtimes = g.R.Perm(c.cfg.Files)
		srv, err := c.prepare(ports[2*i : 2*i+2])
		if err != nil {
			t.Fatalf("seed %d config %d:\n%s\n%v", s, i, c.cfg.Text(), err)
		}
		c.targets = g.Targets(c.cfg, serveRequests)
		servers = append(servers, srv...)
		cases = append(cases, c)
	}
	// nginx first: its ports were only reserved, and a listener opened
	// before it could be given one of them.
	if _, err := nginxtest.Start(t, servers); err != nil {
		t.Fatalf("seed %d: %v", s, err)
	}
	for _, c := range cases {
		dev[c] = startDevproxy(t, c)
	}

	type job struct {
		c   *diffCase
		req nginxtest.Request
	}
	var jobs []job
	methods := []string{"GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH"}
	for _, c := range cases {
		for _, tg := range c.targets {
			req := nginxtest.Request{Method: methods[g.R.Intn(len(methods))], Target: tg}
			if req.Method == "POST" || req.Method == "PUT" || req.Method == "PATCH" {
				body := make([]byte, g.R.Intn(64<<10))
				g.R.Read(body)
				req.Body = body
			}
			if g.R.Intn(3) == 0 {
				req.Header = append(req.Header, [2]string{"X-Forwarded-For", "10.1.2.3"}, [2]string{"Cookie", "a=1; b=2"})
			}
			jobs = append(jobs, job{c, req})
		}
	}
	var mu sync.Mutex
	var failures []string
	stats := map[string]int{}
	nginxtest.Parallel(len(jobs), 8, func(i int) {
		j := jobs[i]
		kind, err := compareServe(j.c, dev[j.c], j.req)
		mu.Lock()
		defer mu.Unlock()
		stats[kind]++
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s\n--- route files (mtime order %v) ---\n%s", err, j.c.mtimes, j.c.cfg.Text()))
		}
	})
	t.Logf("seed %d: %d requests: %v", s, len(jobs), stats)
	for i, f := range failures {
		if i == 10 {
			t.Errorf("... and %d more", len(failures)-10)
			break
		}
		t.Errorf("seed %d mismatch %d:\n%s", s, i+1, f)
	}
}

func compareServe(c *diffCase, devPort int, req nginxtest.Request) (string, error) {
	o, err := nginxtest.Do(c.port, req)
	if err != nil {
		return "transport-error", fmt.Errorf("%s %s: nginx: %v", req.Method, req.Target, err)
	}
	req2 := req
	d, err := nginxtest.Do(devPort, req2)
	if err != nil {
		return "transport-error", fmt.Errorf("%s %s: devproxy: %v", req.Method, req.Target, err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s %s (body %d bytes): %s\n  nginx:    status=%d loc=%q location=%q echo=%s body=%.120q\n  devproxy: status=%d loc=%q location=%q echo=%s body=%.120q",
			req.Method, req.Target, len(req.Body), fmt.Sprintf(format, args...),
			o.Status, o.LocID, o.Location, echoString(o.Echo), o.Body,
			d.Status, d.LocID, d.Location, echoString(d.Echo), d.Body)
	}
	// The proxy's own pages are not nginx's business.
	if isReserved(c.table, req.Target) {
		return "reserved", nil
	}
	if o.Status == http.StatusBadRequest && o.LocID == "" {
		if d.Status != http.StatusBadRequest {
			return "bad-request", fail("nginx rejects the request with 400")
		}
		return "bad-request", nil
	}
	// With no location, nginx falls back to serving files: 404, or 405 for
	// methods other than GET and HEAD. devproxy has no files and answers
	// every unmatched request with a 404 JSON naming the path (spec).
	if o.LocID == "" && (o.Status == http.StatusNotFound || o.Status == http.StatusMethodNotAllowed) {
		if d.Status != http.StatusNotFound || d.LocID != "" {
			return "unmatched", fail("nginx matched no location")
		}
		return "unmatched", nil
	}
	if o.Status == http.StatusInternalServerError {
		// A rewrite cycle: nginx's 500 page carries add_header always;
		// devproxy answers with its JSON error.
		if d.Status != o.Status {
			return "error", fail("status differs")
		}
		return "error", nil
	}
	if o.LocID != d.LocID {
		return "location", fail("different location")
	}
	loc := locationByID(c, o.LocID)
	if loc.Intent == nginxtest.IntentRegexArgs && o.Status == http.StatusBadRequest {
		// nginx forwards decoded captures and the upstream rejects the
		// broken request line; [intent] devproxy escapes them.
		if d.Echo == nil {
			return "intent-regex-escape", fail("devproxy must forward escaped captures")
		}
		return "intent-regex-escape", nil
	}
	if o.Status != d.Status {
		return "status", fail("status differs")
	}
	if o.Location != d.Location {
		return "redirect", fail("Location differs")
	}
	if (o.Echo == nil) != (d.Echo == nil) {
		return "proxy", fail("only one of them reached the upstream")
	}
	if o.Echo == nil {
		if o.Status == http.StatusOK && o.Body != d.Body {
			return "return", fail("body differs")
		}
		return "return", nil
	}
	kind := "proxy"
	want := o.Echo.URI
	switch loc.Intent {
	case nginxtest.IntentVarURI:
		kind = "intent-var-uri"
		tw, err := nginxtest.Do(c.twin, req)
		if err != nil || tw.Echo == nil {
			return kind, fail("literal twin did not reach the upstream: %v", err)
		}
		want = tw.Echo.URI
	case nginxtest.IntentRegexArgs:
		kind = "intent-regex-args"
		if args := argsOf(req.Target); args != "" && !strings.Contains(want, "?") {
			want += "?" + args
		}
	}
	oe, de := o.Echo, d.Echo
	switch {
	case oe.Method != de.Method:
		return kind, fail("method differs")
	case de.URI != want:
		return kind, fail("upstream URI differs: want %q", want)
	case oe.BodyLen != de.BodyLen || oe.BodySHA != de.BodySHA:
		return kind, fail("request body differs: nginx %d bytes, devproxy %d", oe.BodyLen, de.BodyLen)
	case oe.Host != de.Host:
		return kind, fail("Host differs: nginx %q, devproxy %q", oe.Host, de.Host)
	}
	for _, h := range []string{"X-Test", "User-Agent", "Cookie"} {
		a, b := strings.Join(oe.Headers[h], ", "), strings.Join(de.Headers[h], ", ")
		// The two servers listen on different ports, which $server_port
		// and $http_host show.
		b = strings.ReplaceAll(b, strconv.Itoa(devPort), strconv.Itoa(c.port))
		if a != b {
			return kind, fail("%s differs: nginx %q, devproxy %q", h, a, b)
		}
	}
	return kind, nil
}

func locationByID(c *diffCase, id string) nginxtest.Location {
	var n int
	if _, err := fmt.Sscanf(id, "L%d", &n); err != nil || n >= len(c.cfg.Locs) {
		return nginxtest.Location{}
	}
	return c.cfg.Locs[n]
}

// isReserved reports targets the proxy answers itself (spec §4): the
// reserved paths, and the root while no location takes it (the
// dashboard). nginx knows nothing about them.
func isReserved(t *routing.RouteTable, target string) bool {
	return t.Explain(&routing.Request{Target: target}).Action == routing.ActionReserved
}
