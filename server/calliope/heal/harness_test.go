package heal

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The tests run the real thing: dev servers on loopback ports, the real
// proxy (httpproxy.Serve) over route files in a temporary workspace, the
// real scanner through it. (proxy/proxytest is out of reach
// from server/, so this is its small twin.)

const probeTimeout = 3 * time.Second

// upstream serves h on a real loopback port and returns host:port.
func upstream(tb testing.TB, h http.Handler) string {
	tb.Helper()
	s := httptest.NewServer(h)
	tb.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// refusedAddr is a loopback address where nothing listens.
func refusedAddr(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// workspace is a proxy serving a temporary workspace.
type workspace struct {
	root string
	info httpproxy.ServeInfo
}

func (w *workspace) base() string       { return "http://" + w.info.Addr }
func (w *workspace) tunnelBase() string { return "http://" + w.info.TunnelAddr }

// serve writes files to a new workspace (prepare may touch it, e.g. file
// times) and serves it until the test ends.
func serve(tb testing.TB, files map[string]string, prepare ...func(root string)) *workspace {
	tb.Helper()
	return serveWith(tb, files, httpproxy.ServeOptions{}, prepare...)
}

// serveWith is serve with more options (an access log).
func serveWith(tb testing.TB, files map[string]string, opts httpproxy.ServeOptions, prepare ...func(root string)) *workspace {
	tb.Helper()
	root := tb.TempDir()
	proxytest.WriteFiles(tb, root, files)
	for _, p := range prepare {
		p(root)
	}
	opts.Root = root
	return &workspace{root: root, info: proxytest.Serve(tb, nil, opts)}
}

// scan scans the workspace's routes as a browser would.
func (w *workspace) scan(tb testing.TB, routes ...string) []health.Report {
	tb.Helper()
	rep, err := BrowserScan(context.Background(), w.base(), w.info.Table, probeTimeout, routes...)
	if err != nil {
		tb.Fatal(err)
	}
	return rep.Routes
}

func (w *workspace) inputs(tb testing.TB, routes ...string) Inputs {
	return Inputs{Table: w.info.Table, Reports: w.scan(tb, routes...), Base: w.base(), TunnelBase: w.tunnelBase(), Timeout: probeTimeout}
}

func (w *workspace) env() VerifyEnv {
	return VerifyEnv{Table: w.info.Table, Timeout: probeTimeout, CandidatePorts: []int{}}
}

// only returns the one finding of pattern, failing the test otherwise.
func only(tb testing.TB, fs []Finding, pattern string) Finding {
	tb.Helper()
	var hit []Finding
	for _, f := range fs {
		if f.Pattern == pattern {
			hit = append(hit, f)
		}
	}
	if len(hit) != 1 {
		tb.Fatalf("want one %s finding, got %d in %+v", pattern, len(hit), fs)
	}
	return hit[0]
}

func none(tb testing.TB, fs []Finding, pattern string) {
	tb.Helper()
	for _, f := range fs {
		if f.Pattern == pattern {
			tb.Fatalf("unexpected %s finding: %+v", pattern, f)
		}
	}
}

// applied is the text of file after fix's edit, applied to the table the
// fix was made for.
func applied(tb testing.TB, t *routing.RouteTable, fix Fix, file string) string {
	tb.Helper()
	if fix.Edit == nil {
		tb.Fatalf("no edit in %+v", fix)
	}
	es, ok := fix.Edit.Changes[file]
	if !ok {
		tb.Fatalf("the edit does not change %s: %+v", file, fix.Edit)
	}
	var base []byte
	if f := t.FileByPath(file); f != nil && !isCreate(fix.Edit, file) {
		base = f.Text
	} else if file == routing.ResolutionsFile && !isCreate(fix.Edit, file) {
		base = t.ResolutionsText
	}
	out, err := Apply(base, es)
	if err != nil {
		tb.Fatal(err)
	}
	return string(out)
}

func html(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(body))
}

func js(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/javascript")
	w.Write([]byte("export {}\n"))
}

func contains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// olderFile sets rel's modification time an hour back, so that the other
// files are newer (and win conflicts).
func olderFile(tb testing.TB, root, rel string) {
	tb.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(root, rel), old, old); err != nil {
		tb.Fatal(err)
	}
}

func portOf(tb testing.TB, addr string) int {
	tb.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
