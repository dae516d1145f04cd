package nginxexport_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/internal/nginxtest"
	"github.com/devtunnelproxy/devproxy/proxy/nginxexport"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

const (
	diffSeed       = 20261129
	generatedSets  = 40
	targetsPerSet  = 30
	requireNginxEV = "DEVPROXY_REQUIRE_NGINX"
)

// needNginx skips when Debian's nginx is not installed, unless
// DEVPROXY_REQUIRE_NGINX is set (CI and make test set it), where a missing
// oracle fails the test.
func needNginx(t *testing.T) {
	for _, p := range []string{"/usr/sbin/nginx", "/usr/bin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	if os.Getenv(requireNginxEV) == "" {
		t.Skip("nginx is not installed (make test-deps); set " + requireNginxEV + "=1 to fail instead")
	}
	nginxtest.Binary(t) // fails with the install hint
}

// routeSet is one workspace: route files with modification times, and
// the request targets to try on it.
type routeSet struct {
	name    string
	files   map[string]string
	mtimes  map[string]int // seconds after a fixed epoch; newer wins conflicts
	targets []string
	// Compared on top of status, location, Location, upstream URI and
	// X-Forwarded-For, -Host and -Proto.
	headers []string

	root    string
	table   *routing.RouteTable
	proxy   int // devproxy's port
	nginx   int // nginx's port
	exports nginxexport.Result
}

func (s *routeSet) write(t *testing.T) {
	s.root = t.TempDir()
	proxytest.WriteFiles(t, s.root, s.files)
	for rel, m := range s.mtimes {
		at := time.Unix(1_700_000_000+int64(m), 0)
		if err := os.Chtimes(filepath.Join(s.root, rel), at, at); err != nil {
			t.Fatal(err)
		}
	}
}

// handSets are written by hand for what generated sets rarely hold: a file
// contesting another's route (settled by age, by a pin, by an override),
// set declared after its use, and a catch-all root.
func handSets(echo, down string) []*routeSet {
	return []*routeSet{{
		name: "contested",
		files: map[string]string{
			"apps/old.conf": "location /api/ { add_header X-Loc old always; proxy_pass http://" + echo + "/old/; }\n" +
				"location /web/ { add_header X-Loc old-web always; proxy_pass http://" + echo + "; }\n" +
				"location /pinned/ { add_header X-Loc old-pinned always; proxy_pass http://" + echo + "/p-old/; }\n",
			"apps/new.conf": "location ^~ /api { add_header X-Loc new always; proxy_pass http://" + echo + "/new/; }\n" +
				"location /pinned { add_header X-Loc new-pinned always; proxy_pass http://" + echo + "/p-new/; }\n" +
				"location ~ ^/api/v2/ { add_header X-Loc new-re always; return 200 re; }\n",
			"overrides/ops.conf":         "location /web/ { add_header X-Loc ops always; return 302 /api/; }\n",
			".devproxy/resolutions.json": `{"/pinned/": "apps/old.conf"}`,
		},
		mtimes:  map[string]int{"apps/old.conf": 1, "apps/new.conf": 2, "overrides/ops.conf": 0},
		targets: []string{"/api/", "/api", "/api/x?y=1", "/api/v2/z", "/web/", "/web", "/web/a", "/pinned/", "/pinned", "/pinned/q?a=b", "/nothing"},
	}, {
		name: "set-declarations",
		files: map[string]string{
			"apps/sets.conf": "location /s/ {\n    add_header X-Loc sets always;\n    proxy_set_header X-Test \"$greeting|$who\";\n    proxy_pass http://$up/v/;\n    set $greeting \"hi $who\";\n    set $who $arg_name;\n    set $up $host_port;\n    set $host_port " + echo + ";\n}\n" +
				"location ~ ^/re/(.*)$ { add_header X-Loc re always; proxy_pass http://" + echo + "/c/$1; }\n" +
				"location / { add_header X-Loc root always; proxy_pass http://" + echo + "; }\n",
			"apps/text.conf": "location = /two-lines {\n    add_header X-Loc two always;\n    return 200 \"one\ntwo\\t$uri\";\n}\n",
		},
		mtimes:  map[string]int{"apps/sets.conf": 1, "apps/text.conf": 2},
		targets: []string{"/two-lines", "/s/a?name=bo", "/s/", "/s", "/s/x/y", "/re/a/b?q=1", "/re/", "/other?z", "/"},
		headers: []string{"X-Test"},
	}, {
		name: "upstream down",
		files: map[string]string{
			"apps/down.conf": "location /down/ { add_header X-Loc down always; proxy_pass http://" + down + "/; }\n" +
				"location = /own503 { add_header X-Loc own always; return 503; }\n",
		},
		mtimes: map[string]int{"apps/down.conf": 1},
		// A hostile path must not break out of the JSON answers: a quote,
		// a backslash, markup and a control character.
		targets: []string{"/down/", "/down/x?y", "/own503", "/down/%22%5C%3Cb%3E", "/down/%01", "/nothing%22%7D"},
	}}
}

// generatedSets draws route sets with nginxtest's generator: several
// files per set, each with its own modification time, so that conflicts
// and composed order vary.
func generatedRouteSets(echo string, n int) []*routeSet {
	seed := int64(diffSeed)
	if v, err := strconv.ParseInt(os.Getenv("DEVPROXY_DIFF_SEED"), 10, 64); err == nil {
		seed = v // reproduce a run of another seed
	}
	g := nginxtest.NewGenerator(seed, echo)
	var out []*routeSet
	for i := 0; i < n; i++ {
		cfg := g.Config()
		s := &routeSet{name: fmt.Sprintf("generated %d", i), files: map[string]string{}, mtimes: map[string]int{}}
		perm := g.R.Perm(cfg.Files)
		for f := 0; f < cfg.Files; f++ {
			s.files[nginxtest.FilePath(f)] = cfg.FileText(f)
			s.mtimes[nginxtest.FilePath(f)] = perm[f]
		}
		s.targets = g.Targets(cfg, targetsPerSet)
		out = append(out, s)
	}
	return out
}

// TestExportServesLikeDevproxy is the differential test of the export:
// every route set is served by devproxy (httpproxy.Serve) and by real
// nginx running the set's export, both in front of the same echo
// upstream, and every request must get the same status, the same
// location (X-Loc), the same Location header and the same URI and
// X-Forwarded-* headers (and listed headers) at the upstream; a return's
// 200 body and the Content-Type of 5xx answers and of the 404 for an
// unmatched path (devproxy's JSON) must agree too.
func TestExportServesLikeDevproxy(t *testing.T) {
	needNginx(t)
	echo := nginxtest.StartEcho(t)
	// A port nothing listens on: connections are refused.
	down := fmt.Sprintf("127.0.0.1:%d", nginxtest.FreePorts(t, 1)[0])
	sets := append(handSets(echo, down), generatedRouteSets(echo, generatedSets)...)
	contested := 0
	for _, s := range sets {
		s.write(t)
		info := proxytest.Serve(t, nil, httpproxy.ServeOptions{Root: s.root, Log: nil})
		_, port, _ := net.SplitHostPort(info.Addr)
		s.proxy, _ = strconv.Atoi(port)
		s.table = info.Table
		if len(s.table.Conflicts) > 0 {
			contested++
		}
		s.exports = nginxexport.Export(s.table, nginxexport.Options{})
	}
	// Ports for nginx are reserved once every devproxy listens, so that
	// none of them takes a port nginx is about to bind.
	ports := nginxtest.FreePorts(t, len(sets))
	var servers []nginxtest.Server
	for i, s := range sets {
		s.nginx = ports[i]
		servers = append(servers, nginxtest.Server{Port: s.nginx, Body: s.exports.ServerBody})
	}
	if contested == 0 {
		t.Fatal("no route set has a contested route")
	}
	// The hand-written contest is settled three ways; each loser is a
	// comment naming the winner and why.
	for _, want := range []string{
		"# apps/old.conf:1 location /api/ is left out: apps/new.conf wins /api/ (newest)",
		"# apps/new.conf:2 location /pinned is left out: apps/old.conf wins /pinned/ (pinned",
		"# apps/old.conf:2 location /web/ is left out: overrides/ops.conf wins /web/",
	} {
		if !strings.Contains(sets[0].exports.ServerBody, want) {
			t.Errorf("export of %q lacks %q:\n%s", sets[0].name, want, sets[0].exports.ServerBody)
		}
	}
	if _, err := nginxtest.Start(t, servers); err != nil {
		t.Fatal(err)
	}

	type job struct {
		s      *routeSet
		target string
	}
	var jobs []job
	for _, s := range sets {
		for _, tg := range s.targets {
			jobs = append(jobs, job{s, tg})
		}
	}
	var mu sync.Mutex
	var failures []string
	agree, exceptions := 0, map[string]int{}
	nginxtest.Parallel(len(jobs), 8, func(i int) {
		j := jobs[i]
		exception, err := compare(j.s, j.target)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v\n--- route files ---\n%s\n--- export ---\n%s", j.s.name, err, filesText(j.s), j.s.exports.ServerBody))
		case exception != "":
			exceptions[exception]++
		default:
			agree++
		}
	})
	compared := len(jobs)
	for _, n := range exceptions {
		compared -= n
	}
	t.Logf("%d/%d requests agree over %d sets (%d sets with a contested route); documented exceptions, not compared: %v", agree, compared, len(sets), contested, exceptions)
	for i, f := range failures {
		if i == 30 {
			t.Errorf("... and %d more disagreements", len(failures)-30)
			break
		}
		t.Errorf("disagreement %d: %s", i+1, f)
	}
}

// compare sends target to both servers. It returns a documented exception
// (a request that is not compared, and why) or the disagreement.
func compare(s *routeSet, target string) (string, error) {
	d := s.table.Explain(&routing.Request{Target: target, Host: "localhost", Header: http.Header{}})
	if d.Action == routing.ActionReserved {
		// The proxy's own pages (/, /devproxy/, /health...) are devproxy's,
		// not the workspace's: the export does not carry them.
		return "devproxy's own pages", nil
	}
	n, err := nginxtest.Get(s.nginx, target)
	if err != nil {
		return "", fmt.Errorf("GET %s: nginx: %v", target, err)
	}
	p, err := nginxtest.Get(s.proxy, target)
	if err != nil {
		return "", fmt.Errorf("GET %s: devproxy: %v", target, err)
	}
	if n.Status == http.StatusInternalServerError && p.Status == n.Status && p.LocID == "" && n.LocID != "" {
		// A rewrite cycle (more than 10 "last" restarts): both answer 500,
		// but nginx adds the location's "add_header ... always" to its
		// error page and devproxy's 500 carries no block headers. A
		// difference of the proxy, not of the export.
		return "500 after a rewrite cycle lacks add_header", nil
	}
	var diffs []string
	if n.Status != p.Status {
		diffs = append(diffs, fmt.Sprintf("status nginx %d devproxy %d", n.Status, p.Status))
	}
	if n.LocID != p.LocID {
		diffs = append(diffs, fmt.Sprintf("location nginx %q devproxy %q", n.LocID, p.LocID))
	}
	if n.Location != p.Location {
		diffs = append(diffs, fmt.Sprintf("Location nginx %q devproxy %q", n.Location, p.Location))
	}
	if n.Echo == nil && n.Status == http.StatusOK && n.Body != p.Body {
		diffs = append(diffs, fmt.Sprintf("body nginx %q devproxy %q", n.Body, p.Body))
	}
	if (n.Status >= 500 || n.Status == http.StatusNotFound && n.LocID == "") && n.Header.Get("Content-Type") != p.Header.Get("Content-Type") {
		diffs = append(diffs, fmt.Sprintf("Content-Type nginx %q devproxy %q", n.Header.Get("Content-Type"), p.Header.Get("Content-Type")))
	}
	if n.Header.Get("Content-Type") == "application/json" && (n.Status >= 500 || n.Status == http.StatusNotFound && n.LocID == "") {
		if err := sameAnswer(n.Body, p.Body, d); err != nil {
			diffs = append(diffs, err.Error())
		}
	}
	nu, pu := upstreamURI(n), upstreamURI(p)
	if nu != pu {
		diffs = append(diffs, fmt.Sprintf("upstream got nginx %q devproxy %q", nu, pu))
	}
	// The listen ports differ; everything else the upstream sees in these
	// headers must not.
	ports := strings.NewReplacer(strconv.Itoa(s.nginx), "PORT", strconv.Itoa(s.proxy), "PORT")
	for _, h := range append([]string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}, s.headers...) {
		if n.Echo != nil && p.Echo != nil && ports.Replace(strings.Join(n.Echo.Headers[h], ",")) != ports.Replace(strings.Join(p.Echo.Headers[h], ",")) {
			diffs = append(diffs, fmt.Sprintf("upstream %s nginx %q devproxy %q", h, n.Echo.Headers[h], p.Echo.Headers[h]))
		}
	}
	if len(diffs) > 0 {
		return "", fmt.Errorf("GET %s: %s", target, strings.Join(diffs, "; "))
	}
	return "", nil
}

// sameAnswer compares devproxy's own JSON answers (a 503, 504 or 404) as
// nginx and devproxy wrote them, field by field: the same fields with the
// same values, but that nginx leaves out the path of a request whose path
// it cannot put into JSON (and the 404's message names no path then), and
// the upstream of a proxy_pass with variables.
func sameAnswer(nginx, devproxy string, d *routing.Decision) error {
	var n, p map[string]any
	if err := json.Unmarshal([]byte(nginx), &n); err != nil {
		return fmt.Errorf("nginx's answer is not JSON: %v: %q", err, nginx)
	}
	if err := json.Unmarshal([]byte(devproxy), &p); err != nil {
		return fmt.Errorf("devproxy's answer is not JSON: %v: %q", err, devproxy)
	}
	if path, _ := p["path"].(string); strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }) {
		delete(p, "path")
		if p["status"] == float64(http.StatusNotFound) {
			p["message"] = "No route matches this path."
		}
	}
	if d.Block != nil && d.Block.Loc.ProxyPass != nil && d.Block.Loc.ProxyPass.Static == nil {
		delete(p, "upstream")
	}
	if !reflect.DeepEqual(n, p) {
		return fmt.Errorf("JSON answer nginx %s devproxy %s", nginx, devproxy)
	}
	return nil
}

func upstreamURI(o nginxtest.Observed) string {
	if o.Echo == nil {
		return "(no upstream)"
	}
	return o.Echo.URI
}

func filesText(s *routeSet) string {
	var b strings.Builder
	for _, f := range s.table.Files {
		fmt.Fprintf(&b, "# %s (mtime %d)\n%s", f.Path, s.mtimes[f.Path], f.Text)
	}
	return b.String()
}
