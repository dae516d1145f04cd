package nginxdiff

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/internal/nginxtest"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// returnCodes are the codes of `return CODE;` compared with nginx: every
// code nginx has a page for, its own 49x codes, codes it has none for, and
// 3xx codes with and without a page. 1xx codes are left out: nginx sends
// them as if they were final, and a client reads them as interim answers.
func returnCodes() []int {
	var out []int
	for _, r := range [][2]int{{200, 208}, {226, 226}, {299, 310}, {399, 431}, {444, 444}, {449, 451}, {494, 511}, {599, 600}, {999, 999}} {
		for c := r[0]; c <= r[1]; c++ {
			out = append(out, c)
		}
	}
	return out
}

// returnBodies are the forms of return compared for every code.
var returnBodies = []string{
	"return %d;",
	`return %d "";`,
	"return %d /to;",
	`return %d "$arg_none";`,
}

// TestDifferentialReturnCodes serves `return CODE;` (and its empty-text
// and URL forms) from nginx and from devproxy's proxy and requires the same
// status, Content-Type, Location and body, nginx's signature line aside;
// `devproxy explain` must agree too. Every target is asked for by a plain
// client and by Chrome, for which nginx pads 4xx and 5xx pages.
func TestDifferentialReturnCodes(t *testing.T) {
	cfg := nginxtest.Config{Files: 1}
	var targets []string
	for _, code := range returnCodes() {
		for i, form := range returnBodies {
			spec := fmt.Sprintf("/r%d/%d", code, i)
			targets = append(targets, spec)
			cfg.Locs = append(cfg.Locs, nginxtest.Location{ID: len(cfg.Locs), Mod: "=", Spec: spec, Body: fmt.Sprintf(form, code) + "\n"})
		}
	}
	for i, body := range []string{"rewrite ^ /to redirect;\n", "rewrite ^ /to permanent;\n", "rewrite ^ http://example.com/to;\n"} {
		spec := fmt.Sprintf("/rw/%d", i)
		targets = append(targets, spec)
		cfg.Locs = append(cfg.Locs, nginxtest.Location{ID: len(cfg.Locs), Mod: "=", Spec: spec, Body: body})
	}
	cfg.Locs = append(cfg.Locs, nginxtest.Location{ID: len(cfg.Locs), Spec: "/slash/", Body: "proxy_pass http://127.0.0.1:9;\n"})
	targets = append(targets, "/slash")

	c := &diffCase{cfg: cfg, mtimes: []int{0}}
	servers, err := c.prepare(nginxtest.FreePorts(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nginxtest.Start(t, servers); err != nil {
		t.Fatal(err)
	}
	devPort := startDevproxy(t, c)

	agents := []string{"devproxy-diff", chromeAgent}
	var mu sync.Mutex
	var failures []string
	stats := map[string]int{}
	nginxtest.Parallel(len(targets)*len(agents), 8, func(i int) {
		target, ua := targets[i/len(agents)], agents[i%len(agents)]
		kind, err := compareReturn(c, devPort, target, ua)
		mu.Lock()
		defer mu.Unlock()
		stats[kind]++
		if err != nil {
			failures = append(failures, err.Error())
		}
	})
	t.Logf("%d requests: %v", len(targets)*len(agents), stats)
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more", len(failures)-20)
			break
		}
		t.Error(f)
	}
}

const chromeAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

// answer is what a client sees of a response to compare.
type answer struct {
	status      int
	contentType []string
	location    []string
	body        string
}

func (a answer) String() string {
	return fmt.Sprintf("status=%d content-type=%q location=%q body=%q", a.status, a.contentType, a.location, a.body)
}

func compareReturn(c *diffCase, devPort int, target, ua string) (string, error) {
	req := nginxtest.Request{Target: target, Header: [][2]string{{"User-Agent", ua}}}
	o, oerr := nginxtest.Do(c.port, req)
	d, derr := nginxtest.Do(devPort, req)
	loc := locationByID(c, o.LocID)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("GET %s (%s): %s\n  location: %s", target, ua, fmt.Sprintf(format, args...), strings.TrimSpace(loc.Body))
	}
	if oerr != nil {
		// nginx closes the connection without an answer (444, 408, 499).
		if derr == nil {
			return "closed", fail("nginx closes the connection (%v); devproxy answers %d %q", oerr, d.Status, d.Body)
		}
		return "closed", nil
	}
	if derr != nil {
		return "closed", fail("devproxy closes the connection (%v); nginx answers %d", derr, o.Status)
	}
	want := answer{o.Status, o.Header["Content-Type"], o.Header["Location"], nginxtest.DevproxySignature(o.Body)}
	got := answer{d.Status, textCharset(d.Header["Content-Type"]), d.Header["Location"], d.Body}
	kind := "empty"
	if want.body != "" {
		kind = "page"
	}
	if want.String() != got.String() {
		return kind, fail("the answers differ\n  nginx:    %s\n  devproxy: %s", want, got)
	}
	// devproxy explain must show the same answer.
	e := c.table.Explain(&routing.Request{Target: target, Header: http.Header{"User-Agent": {ua}}})
	var ct, lc []string
	if v, ok := e.ResponseHeaders["Content-Type"]; ok {
		ct = textCharset([]string{v})
	}
	if v, ok := e.ResponseHeaders["Location"]; ok {
		lc = []string{v}
	}
	if ex := (answer{e.Status, ct, lc, e.Body}); ex.String() != want.String() {
		return kind, fail("explain differs\n  nginx:    %s\n  explain:  %s", want, ex)
	}
	return kind, nil
}

// textCharset drops the charset devproxy names for the text of a return
// ("text/plain; charset=utf-8"), which nginx leaves out without a charset
// directive; only the media type is compared.
func textCharset(ct []string) []string {
	if len(ct) == 1 && ct[0] == "text/plain; charset=utf-8" {
		return []string{"text/plain"}
	}
	return ct
}
