package nginxdiff

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/internal/nginxtest"
)

// redirectCase is one location with proxy_redirect rules, and the request
// targets that reach it. In Body, {R} stands for the redirector's
// host:port.
type redirectCase struct {
	mod, spec string
	body      string
	targets   []string
}

func redirectCases() []redirectCase {
	pass := "proxy_pass http://{R}/in/;\n"
	plain := func(n int, rules string) redirectCase {
		p := fmt.Sprintf("/l%d/", n)
		return redirectCase{spec: p, body: pass + rules, targets: []string{p + "x", p + "x/y?v=w"}}
	}
	return []redirectCase{
		plain(1, ""), // the implicit default
		{spec: "/l2/", body: "proxy_pass http://{R};\n", targets: []string{"/l2/x"}}, // default without a URI part
		plain(3, "proxy_redirect default;\n"),
		plain(4, "proxy_redirect off;\n"),
		plain(5, "proxy_redirect http://{R}/in/ /x/;\n"),
		plain(6, "proxy_redirect http://{R}/ /;\n"),
		plain(7, "proxy_redirect http://$http_host/ /hh/;\n"),
		plain(8, "proxy_redirect http://{R}/ $scheme://$http_host/s/;\n"),
		plain(9, "set $front /front;\nproxy_redirect http://{R}/ $front/;\n"),
		plain(10, "set $back http://{R}/in;\nproxy_redirect $back/ /b/;\n"),
		plain(11, "proxy_redirect http://{R}/ /$arg_v/;\n"),
		plain(12, "proxy_redirect ~^http://{R}/(.*)$ /r/$1;\n"),
		plain(13, "proxy_redirect ~^http://{R}/ /whole/;\n"),
		plain(14, "proxy_redirect ~*^HTTP://{R}/(.*)$ /ci/$1;\n"),
		plain(15, "proxy_redirect ~^http://[^/]+/(?<rest>.*)$ /n/$rest;\n"),
		plain(16, "proxy_redirect ~/(in)/(.*) /$2/$1;\n"),
		plain(17, "proxy_redirect ~^http://{R}/(.*)$ $scheme://$host/p/$1?$args;\n"),
		plain(18, "proxy_redirect http://other/ /o/;\nproxy_redirect ~^http://{R}/in/(.*) /one/$1;\nproxy_redirect http://{R}/ /two/;\n"),
		plain(19, "proxy_redirect http://x/ /x/;\nproxy_redirect default;\n"),
		plain(20, "proxy_redirect $arg_none /pre;\n"),
		plain(21, "proxy_redirect ~^(?<scheme2>https?)://(?<h>[^/]+)(?<p>/.*)$ $p|$h|$scheme2;\n"),
		plain(22, "proxy_redirect http://{R}/in/ $uri|$is_args$args|$request_uri|;\n"),
		{spec: "/l23/", body: "rewrite ^/l23/(.*)$ /in/$1 break;\nproxy_redirect http://{R}/ $uri/;\nproxy_pass http://{R};\n", targets: []string{"/l23/x"}},
		{mod: "=", spec: "/l24", body: "proxy_pass http://{R}/in/x;\n", targets: []string{"/l24"}},
		{mod: "^~", spec: "/l25/", body: "proxy_pass http://{R}/in;\n", targets: []string{"/l25/x"}},
		{mod: "~", spec: `^/re/(\w+)/`, body: "proxy_redirect http://{R}/ /re/$1/;\nproxy_pass http://{R};\n", targets: []string{"/re/app/x"}},
		{mod: "~", spec: `^/rex/(\w+)/`, body: "proxy_redirect ~^http://{R}/(.*)$ /rex/$1;\nproxy_pass http://{R};\n", targets: []string{"/rex/app/x"}},
		{mod: "~", spec: `^/red/`, body: "proxy_pass http://{R};\n", targets: []string{"/red/x"}}, // default in a regex location
		{mod: "~*", spec: `^/ci/(?<name>\w+)/`, body: "proxy_redirect http://{R}/ /ci/$name/;\nproxy_pass http://{R};\n", targets: []string{"/CI/app/x"}},
	}
}

// upstreamRedirects are the Location values the redirector sends; {R} is
// its host:port and {hh} the Host the client sent to the proxy.
var upstreamRedirects = []string{
	"http://{R}/in/p?q=1",
	"http://{R}/in/x?y=1",
	"http://{R}/p",
	"http://{R}/",
	"http://{R}/in",
	"HTTP://{R}/In/p",
	"http://{hh}/p",
	"/rel/p",
	"https://elsewhere.example/in/p",
	"http://{R}/in/a%20b/../c#f",
}

var upstreamRefreshes = []string{
	"5; url=http://{R}/in/p",
	"0;URL=http://{R}/p",
	"3",
}

// TestDifferentialProxyRedirect puts a redirector upstream behind nginx and
// behind devproxy's proxy, with the same proxy_redirect rules, and requires
// that the client receives the same Location and Refresh headers for every
// rule set and upstream redirect.
func TestDifferentialProxyRedirect(t *testing.T) {
	r := nginxtest.StartRedirector(t)
	cases := redirectCases()
	cfg := nginxtest.Config{Files: 1}
	for i, rc := range cases {
		cfg.Locs = append(cfg.Locs, nginxtest.Location{ID: i, Mod: rc.mod, Spec: rc.spec, Body: strings.ReplaceAll(rc.body, "{R}", r)})
	}
	c := &diffCase{cfg: cfg, mtimes: []int{0}}
	servers, err := c.prepare(nginxtest.FreePorts(t, 2))
	if err != nil {
		t.Fatalf("%v\n%s", err, cfg.Text())
	}
	if _, err := nginxtest.Start(t, servers); err != nil {
		t.Fatalf("%v\n%s", err, cfg.Text())
	}
	devPort := startDevproxy(t, c)

	type job struct {
		target, header, value string
	}
	var jobs []job
	for _, rc := range cases {
		for _, tg := range rc.targets {
			for _, v := range upstreamRedirects {
				jobs = append(jobs, job{tg, nginxtest.WantLocation, v})
			}
			for _, v := range upstreamRefreshes {
				jobs = append(jobs, job{tg, nginxtest.WantRefresh, v})
			}
		}
	}
	var mu sync.Mutex
	var failures []string
	rewritten := map[string]int{} // by location: how many values nginx changed
	nginxtest.Parallel(len(jobs), 8, func(i int) {
		j := jobs[i]
		ask := func(port int) (nginxtest.Observed, error) {
			v := strings.NewReplacer("{R}", r, "{hh}", "localhost:"+strconv.Itoa(port)).Replace(j.value)
			return nginxtest.Do(port, nginxtest.Request{Target: j.target, Header: [][2]string{{j.header, v}}})
		}
		o, err1 := ask(c.port)
		d, err2 := ask(devPort)
		if err1 == nil {
			sent := strings.NewReplacer("{R}", r, "{hh}", "localhost:"+strconv.Itoa(c.port)).Replace(j.value)
			if got := o.Header.Get(strings.TrimPrefix(j.header, "X-Want-")); got != sent {
				mu.Lock()
				rewritten[o.LocID]++
				mu.Unlock()
			}
		}
		var msg string
		switch {
		case err1 != nil || err2 != nil:
			msg = fmt.Sprintf("nginx: %v, devproxy: %v", err1, err2)
		case o.Status != http.StatusFound || o.LocID == "":
			msg = fmt.Sprintf("nginx did not proxy to the redirector: %d %q", o.Status, o.Body)
		default:
			// The proxies listen on different ports, which $http_host shows.
			norm := func(s string) string { return strings.ReplaceAll(s, strconv.Itoa(devPort), strconv.Itoa(c.port)) }
			for _, h := range []string{"Location", "Refresh"} {
				ov, dv := o.Header.Values(h), d.Header.Values(h)
				for i := range dv {
					dv[i] = norm(dv[i])
				}
				if fmt.Sprint(ov) != fmt.Sprint(dv) || d.Status != o.Status || d.LocID != o.LocID {
					msg += fmt.Sprintf("%s: nginx %d %q, devproxy %d %q (loc %s/%s)\n", h, o.Status, ov, d.Status, dv, o.LocID, d.LocID)
				}
			}
		}
		if msg != "" {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("GET %s with upstream %s: %q\n  %s  location:\n%s", j.target, j.header, j.value, msg, cfg.Locs[locIndex(o.LocID)].Render(false)))
			mu.Unlock()
		}
	})
	t.Logf("%d requests over %d rule sets; values rewritten per location: %v", len(jobs), len(cases), rewritten)
	// Every rule set but off must have rewritten something, or the
	// upstream values do not exercise it.
	for i, rc := range cases {
		if id := "L" + strconv.Itoa(i); rewritten[id] == 0 && !strings.Contains(rc.body, "proxy_redirect off") {
			t.Errorf("no upstream value was rewritten by location %s %s {\n%s}", rc.mod, rc.spec, rc.body)
		}
	}
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more", len(failures)-20)
			break
		}
		t.Error(f)
	}
}

func locIndex(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "L"))
	return n
}
