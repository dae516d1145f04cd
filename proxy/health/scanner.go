// Package health probes routes the way a browser uses them, through the
// proxy: the page, the same-origin assets it loads (with content-type
// checks) and its hot-reload WebSocket, and classifies each route ok,
// warning or error with the reason in words. It reads the engine's
// RouteTable and knows nothing of LSP, VS Code or storage; scheduling,
// passive health and the store are its callers' (issue 11).
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Defaults for Options.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultConcurrency = 5
	// maxAssets bounds the assets checked per page; a dev page that loads
	// more is still judged by its first ones.
	maxAssets = 32
	// maxPage bounds how much of a page is read for references.
	maxPage = 2 << 20
)

// Options configure a Scanner.
type Options struct {
	Timeout     time.Duration // per probe (a page, an asset, an upgrade); DefaultTimeout when zero
	Concurrency int           // routes probed at once; DefaultConcurrency when zero
	// Header is added to every probe (httpproxy.ProbeHeader, so that the
	// proxy tells its probes from real traffic).
	Header http.Header
	// PageOnly probes the page alone, not its assets or hot-reload socket
	// (the tunnel, where each request crosses the internet).
	PageOnly bool
}

// Scanner probes routes through the proxy at Base with one pooled client.
// It is safe for concurrent use; Close releases its idle connections.
type Scanner struct {
	base        *url.URL
	timeout     time.Duration
	concurrency int
	pageOnly    bool
	header      http.Header
	client      *http.Client
	dialer      *websocket.Dialer
	now         func() time.Time
}

// New makes a scanner for the proxy whose local listener is base
// ("http://127.0.0.1:8080").
func New(base string, opts Options) (*Scanner, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("health: base %q is not an http URL such as http://127.0.0.1:8080", base)
	}
	u.Path, u.RawQuery = "", ""
	s := &Scanner{base: u, timeout: opts.Timeout, concurrency: opts.Concurrency, header: opts.Header.Clone(), pageOnly: opts.PageOnly, now: time.Now}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.concurrency <= 0 {
		s.concurrency = DefaultConcurrency
	}
	// Every probe goes to the same host (the proxy), so the per-host pool
	// is the pool: one idle connection per worker.
	tr := &http.Transport{
		Proxy:               nil, // the proxy is ours: never an HTTP_PROXY from the environment
		DialContext:         (&net.Dialer{Timeout: s.timeout}).DialContext,
		MaxIdleConns:        s.concurrency * 2,
		MaxIdleConnsPerHost: s.concurrency * 2,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	s.client = &http.Client{
		Transport: tr,
		Timeout:   s.timeout,
		// A redirect is a finding, not something to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.dialer = &websocket.Dialer{Proxy: nil, HandshakeTimeout: s.timeout}
	return s, nil
}

// Close releases the client's idle connections.
func (s *Scanner) Close() { s.client.CloseIdleConnections() }

// target is one route to probe.
type target struct {
	block  *routing.Block
	path   string // the page's path on the proxy
	prefix string // the route's prefix; "" for an exact route
	// expect is the status a route that answers itself (return, a
	// redirect) is written to give; that answer is ok. 0 for a proxied
	// route.
	expect int
}

// Targets are the routes Scan probes in t: active prefix (plain and ^~)
// and exact locations; regex and named locations have no one URL.
// Inactive blocks are reported as unknown, with their config state.
func targets(t *routing.RouteTable) (probe []target, inactive []*routing.Block) {
	for _, b := range t.Blocks {
		m := b.Loc.Modifier
		if !m.IsPrefix() && m != routefile.ModExact {
			continue
		}
		if !strings.HasPrefix(b.Loc.Spec, "/") {
			continue
		}
		if !b.Active {
			inactive = append(inactive, b)
			continue
		}
		tg := target{block: b, path: b.Loc.Spec}
		if d := t.Resolve(&routing.Request{Method: http.MethodGet, Target: b.Loc.Spec}); d != nil && d.Block == b &&
			(d.Action == routing.ActionReturn || d.Action == routing.ActionRedirect) {
			tg.expect = d.Status
		}
		if m.IsPrefix() {
			tg.prefix = b.Loc.Spec
		}
		probe = append(probe, tg)
	}
	return probe, inactive
}

// RouteOf is the identity a report carries for a block: its route, else
// its spec.
func RouteOf(b *routing.Block) string {
	if b.Loc.HasRoute {
		return b.Loc.Route
	}
	return b.Loc.Spec
}

// Scan probes every active prefix and exact route of t (only those whose
// route or spec is in only, when only is not empty) and returns their
// reports in table order, then the upstreams'. It returns when every
// probe has finished or ctx ends (the unfinished are then "unknown").
func (s *Scanner) Scan(ctx context.Context, t *routing.RouteTable, only ...string) *ScanReport {
	start := s.now()
	probe, inactive := targets(t)
	if len(only) > 0 {
		keep := func(b *routing.Block) bool {
			return slices.Contains(only, RouteOf(b)) || slices.Contains(only, b.Loc.Spec)
		}
		probe = slices.DeleteFunc(probe, func(tg target) bool { return !keep(tg.block) })
		inactive = slices.DeleteFunc(inactive, func(b *routing.Block) bool { return !keep(b) })
	}
	reports := make([]Report, len(probe))
	diag := newUpstreamDiagnoser(s.timeout)
	sem := make(chan struct{}, s.concurrency)
	var wg sync.WaitGroup
	for i, tg := range probe {
		reports[i] = baseReport(t, tg.block)
		reports[i].URL = s.base.String() + tg.path
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				reports[i].Reason = "the scan was cancelled"
				return
			}
			defer func() { <-sem }()
			s.probeRoute(ctx, tg, &reports[i], diag)
		}()
	}
	wg.Wait()
	for _, b := range inactive {
		r := baseReport(t, b)
		r.Reason = inactiveReason(b)
		reports = append(reports, r)
	}
	out := &ScanReport{GeneratedAt: start.UTC(), Base: s.base.String(), Routes: reports, Upstreams: Upstreams(reports)}
	out.Summary = Summarize(reports)
	out.DurationMs = ms(s.now().Sub(start))
	return out
}

// Summarize counts reports by status.
func Summarize(reports []Report) Summary {
	var sum Summary
	for _, r := range reports {
		sum.Total++
		switch r.Status {
		case StatusOK:
			sum.OK++
		case StatusWarning:
			sum.Warning++
		case StatusError:
			sum.Error++
		default:
			sum.Unknown++
		}
	}
	return sum
}

// Unprobed is the report of every route Scan would cover in t, before
// any probe: config state filled in, runtime health unknown.
func Unprobed(t *routing.RouteTable) []Report {
	probe, inactive := targets(t)
	out := make([]Report, 0, len(probe)+len(inactive))
	for _, tg := range probe {
		out = append(out, baseReport(t, tg.block))
	}
	for _, b := range inactive {
		r := baseReport(t, b)
		r.Reason = inactiveReason(b)
		out = append(out, r)
	}
	return out
}

func inactiveReason(b *routing.Block) string {
	return "not probed: the block is inactive (" + b.InactiveSentence() + ")"
}

func baseReport(t *routing.RouteTable, b *routing.Block) Report {
	r := Report{
		Route: RouteOf(b), File: b.File.Path, Line: b.Loc.Line(), Modifier: string(b.Loc.Modifier),
		Active: b.Active, Status: StatusUnknown, Assets: []AssetReport{},
	}
	if !b.Active {
		code := string(b.Inactive)
		r.InactiveCode = &code
	}
	// The upstream the table sends the page to, decided by the engine as
	// for a real request ($variables included).
	if d := t.Resolve(&routing.Request{Method: http.MethodGet, Target: b.Loc.Spec}); d != nil && d.Block == b {
		r.Upstream = d.Upstream
	} else {
		r.Upstream = b.Upstream
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// probeRoute fills r: the page, then for an HTML page its assets and its
// hot-reload channel.
func (s *Scanner) probeRoute(ctx context.Context, tg target, r *Report, diag *upstreamDiagnoser) {
	r.CheckedAt = s.now().UTC()
	start := time.Now()
	resp, body, err := s.get(ctx, tg.path, "text/html,application/xhtml+xml,*/*;q=0.8", maxPage)
	r.LatencyMs = ms(time.Since(start))
	if err != nil {
		r.Status, r.Reason = classifyError(err, s.base.Host, s.timeout)
		return
	}
	r.HTTPStatus = resp.StatusCode
	r.Status, r.Reason = classifyStatus(resp)
	if tg.expect != 0 && resp.StatusCode == tg.expect {
		// The route's own answer, as written: config, not a failure.
		r.Status, r.Reason = StatusOK, ""
	}
	if resp.StatusCode >= 500 && r.Upstream != "" && !s.pageOnly {
		// The proxy's own 502/503/504 says little over the wire; ask the
		// upstream directly why (refused, unknown host, silent).
		if why := diag.diagnose(ctx, r.Upstream); why != "" {
			r.Reason = why
		}
	}
	if s.pageOnly || r.Status != StatusOK || !isHTML(resp.Header.Get("Content-Type")) {
		return
	}
	page, _ := url.Parse(s.base.String() + tg.path)
	facts := parsePage(string(body))
	var scripts []string
	seen := map[string]bool{}
	failed := 0
	for _, ref := range facts.Refs {
		u, ok := s.sameOrigin(page, ref.URL)
		if !ok {
			continue
		}
		if ref.Kind == "script" {
			scripts = append(scripts, u.Path)
		}
		// Assets under another route are that route's business.
		if tg.prefix == "" || !strings.HasPrefix(u.Path, tg.prefix) || seen[u.String()] || len(r.Assets) >= maxAssets {
			continue
		}
		seen[u.String()] = true
		a := s.probeAsset(ctx, u, ref.Kind)
		if !a.OK {
			failed++
		}
		r.Assets = append(r.Assets, a)
	}
	if failed > 0 {
		r.Status = StatusWarning
		first := ""
		for _, a := range r.Assets {
			if !a.OK {
				first = a.URL + ": " + a.Reason
				break
			}
		}
		r.Reason = fmt.Sprintf("%d of %d assets failed; %s", failed, len(r.Assets), first)
	}
	if ch, ok := detectHMR(scripts, facts.Inline, tg.prefix); ok {
		h := s.probeHMR(ctx, ch)
		r.HMR = &h
		if !h.OK {
			if r.Status == StatusOK {
				r.Status, r.Reason = StatusWarning, "hot reload ("+h.Framework+"): "+h.Reason
			} else {
				r.Reason += "; hot reload (" + h.Framework + "): " + h.Reason
			}
		}
	}
}

// sameOrigin resolves ref against the page and keeps it when it is on the
// proxy's origin.
func (s *Scanner) sameOrigin(page *url.URL, ref string) (*url.URL, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.HasPrefix(ref, "data:") || strings.HasPrefix(ref, "blob:") {
		return nil, false
	}
	u, err := page.Parse(ref)
	if err != nil || u.Scheme != s.base.Scheme || u.Host != s.base.Host {
		return nil, false
	}
	u.Fragment = ""
	return u, true
}

func (s *Scanner) get(ctx context.Context, target, accept string, limit int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base.String()+target, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "devproxy-health")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return resp, body, err
	}
	// Drain a little more so the connection can be reused.
	io.CopyN(io.Discard, resp.Body, 64<<10)
	return resp, body, nil
}

// expectedTypes are the content types an asset of each kind may have.
var expectedTypes = map[string][]string{
	"script": {"text/javascript", "application/javascript", "application/x-javascript", "text/ecmascript", "application/ecmascript", "module/javascript"},
	"style":  {"text/css"},
	"wasm":   {"application/wasm"},
	"font":   {"font/", "application/font-", "application/x-font-", "application/vnd.ms-fontobject", "application/octet-stream"},
}

func (s *Scanner) probeAsset(ctx context.Context, u *url.URL, kind string) AssetReport {
	a := AssetReport{URL: u.RequestURI(), Kind: kind}
	resp, _, err := s.get(ctx, u.RequestURI(), "*/*", 0)
	if err != nil {
		_, a.Reason = classifyError(err, s.base.Host, s.timeout)
		return a
	}
	a.Status = resp.StatusCode
	a.ContentType = resp.Header.Get("Content-Type")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.Reason = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		return a
	}
	mt, _, _ := mime.ParseMediaType(a.ContentType)
	want := expectedTypes[kind]
	if want == nil {
		a.OK = true
		return a
	}
	for _, w := range want {
		if mt == w || strings.HasSuffix(w, "/") && strings.HasPrefix(mt, w) || strings.HasSuffix(w, "-") && strings.HasPrefix(mt, w) {
			a.OK = true
			return a
		}
	}
	switch {
	case mt == "text/html":
		a.Reason = fmt.Sprintf("an HTML page where a %s was expected (often a fallback to index.html: the file is not where the page looks)", kind)
	case mt == "":
		a.Reason = fmt.Sprintf("no Content-Type where a %s was expected", kind)
	default:
		a.Reason = fmt.Sprintf("Content-Type %s where a %s was expected", mt, kind)
	}
	return a
}

func (s *Scanner) probeHMR(ctx context.Context, ch hmrChannel) HMRReport {
	ws := *s.base
	ws.Scheme = "ws"
	if s.base.Scheme == "https" {
		ws.Scheme = "wss"
	}
	h := HMRReport{Framework: ch.Framework, URL: ws.String() + ch.Path}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var protocols []string
	if ch.Subprotocol != "" {
		protocols = []string{ch.Subprotocol}
	}
	d := *s.dialer
	d.Subprotocols = protocols
	hdr := s.header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("User-Agent", "devproxy-health")
	conn, resp, err := d.DialContext(ctx, h.URL, hdr)
	if err != nil {
		switch {
		case resp != nil:
			h.Reason = fmt.Sprintf("the WebSocket upgrade was refused with HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		default:
			_, h.Reason = classifyError(err, s.base.Host, s.timeout)
			h.Reason = "the WebSocket upgrade failed: " + h.Reason
		}
		return h
	}
	conn.Close()
	h.OK = true
	return h
}

func isHTML(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// classifyStatus is the page's status by its HTTP answer: 2xx and 308 are
// ok (a 308 is how a prefix route adds its slash); other 3xx and 4xx are
// warnings; 5xx are errors.
func classifyStatus(resp *http.Response) (Status, string) {
	c := resp.StatusCode
	text := fmt.Sprintf("HTTP %d %s", c, http.StatusText(c))
	switch {
	case c >= 200 && c <= 299, c == http.StatusPermanentRedirect:
		return StatusOK, ""
	case c >= 300 && c <= 399:
		if loc := resp.Header.Get("Location"); loc != "" {
			return StatusWarning, text + ": redirects to " + loc
		}
		return StatusWarning, text
	case c >= 400 && c <= 499:
		return StatusWarning, text
	case c >= 500:
		return StatusError, text
	}
	return StatusWarning, text
}

// classifyError says why nothing answered: a refused connection is an
// error, a timeout (or anything else) a warning.
func classifyError(err error, host string, timeout time.Duration) (Status, string) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return StatusError, "connection refused on " + host
	case isTimeout(err):
		return StatusWarning, fmt.Sprintf("no answer within %v", timeout)
	case errors.Is(err, context.Canceled):
		return StatusUnknown, "the scan was cancelled"
	}
	return StatusWarning, err.Error()
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}
