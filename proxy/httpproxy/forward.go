package httpproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// nginx's defaults for proxy_connect_timeout and proxy_read_timeout.
const (
	defaultConnectTimeout = 60 * time.Second
	defaultReadTimeout    = 60 * time.Second
)

// limits are the per-request upstream timeouts of the matched block.
type limits struct {
	connect, read time.Duration
}

type limitsKey struct{}

func limitsFrom(ctx context.Context) limits {
	if l, ok := ctx.Value(limitsKey{}).(limits); ok {
		return l
	}
	return limits{connect: defaultConnectTimeout, read: defaultReadTimeout}
}

// errReadTimeout marks an upstream that took longer than proxy_read_timeout
// to answer (or went quiet for that long mid-body).
var errReadTimeout = errors.New("upstream read timeout")

// errSendTimeout marks an upstream that stopped taking the request body
// for longer than proxy_send_timeout.
var errSendTimeout = errors.New("upstream send timeout")

// nginx's default proxy_send_timeout and client_body_timeout.
const (
	defaultSendTimeout       = 60 * time.Second
	defaultClientBodyTimeout = 60 * time.Second
)

// clientBody reads the client's request body for the transport. It gives
// every read a deadline (nginx's client_body_timeout: a client that stalls
// mid-body must not hold a handler and an upstream request forever) and
// remembers read errors, so that a malformed or truncated body is answered
// as the client's fault (400, 408), not the upstream's (502).
type clientBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.timeout > 0 {
		b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// sendTimeoutBody applies proxy_send_timeout to a request body: the timer
// runs only while the transport is busy writing what it last read to the
// upstream, and stops while we wait for the client, so a slow client is not
// mistaken for a stuck upstream.
type sendTimeoutBody struct {
	io.ReadCloser
	timer *time.Timer
	d     time.Duration
}

func (b *sendTimeoutBody) Read(p []byte) (int, error) {
	b.timer.Stop()
	n, err := b.ReadCloser.Read(p)
	if err == nil {
		b.timer.Reset(b.d)
	}
	return n, err
}

func (b *sendTimeoutBody) Close() error {
	b.timer.Stop()
	return b.ReadCloser.Close()
}

// upstreamTransport is one pooled HTTP/1.1 transport for every upstream,
// with nginx's per-location timeouts applied per request.
type upstreamTransport struct {
	base *http.Transport
}

func newUpstreamTransport() *upstreamTransport {
	dialer := &net.Dialer{KeepAlive: 30 * time.Second}
	base := &http.Transport{
		Proxy: nil, // upstreams are reached directly, whatever HTTP_PROXY says
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := *dialer
			d.Timeout = limitsFrom(ctx).connect
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Dev servers often use self-signed certificates; nginx does not
		// verify upstream certificates by default either.
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true},
		DisableCompression: true, // pass the upstream's encoding through
		ForceAttemptHTTP2:  false,
	}
	return &upstreamTransport{base: base}
}

func (u *upstreamTransport) CloseIdleConnections() { u.base.CloseIdleConnections() }

// RoundTrip applies proxy_read_timeout: to the wait for the response
// headers, and to every pause while the body streams. WebSocket upgrades
// and server-sent events are long-lived by design and are not cut off.
func (u *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	read := limitsFrom(req.Context()).read
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(read, func() { cancel(errReadTimeout) })
	resp, err := u.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		timer.Stop()
		if context.Cause(ctx) == errReadTimeout {
			err = errReadTimeout
		}
		cancel(nil)
		return nil, err
	}
	if !timer.Stop() && context.Cause(ctx) == errReadTimeout {
		resp.Body.Close()
		cancel(nil)
		return nil, errReadTimeout
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body is the upgraded connection; it lives until the
		// WebSocket closes, and the request context ends with it.
		return resp, nil
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body = &closeCancels{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	resp.Body = &idleBody{ReadCloser: resp.Body, timer: timer, d: read, cancel: cancel}
	timer.Reset(read)
	return resp, nil
}

type closeCancels struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (c *closeCancels) Close() error {
	err := c.ReadCloser.Close()
	c.cancel(nil)
	return err
}

// idleBody restarts the read timer on every read of the response body.
type idleBody struct {
	io.ReadCloser
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelCauseFunc
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.timer.Reset(b.d)
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// bufferPool shares copy buffers between requests (httputil.BufferPool).
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

var buffers = &bufferPool{}

// interceptError carries an upstream status that error_page replaces.
type interceptError struct {
	status int
	page   *routefile.ErrorPage
}

func (e *interceptError) Error() string { return "intercepted upstream status" }

// forward proxies a request to the upstream the decision names.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, t *routing.RouteTable, req *routing.Request, d *routing.Decision, errorPages bool) {
	l := d.Block.Loc
	lim := limits{connect: defaultConnectTimeout, read: defaultReadTimeout}
	if l.ConnectTimeout > 0 {
		lim.connect = l.ConnectTimeout
	}
	if l.ReadTimeout > 0 {
		lim.read = l.ReadTimeout
	}
	ctx := context.WithValue(r.Context(), limitsKey{}, lim)
	var body *clientBody
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if l.MaxBodySize > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, l.MaxBodySize)
		}
		body = &clientBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: p.clientBodyTimeout}
		r.Body = body
		send := defaultSendTimeout
		if l.SendTimeout > 0 {
			send = l.SendTimeout
		}
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		timer := time.AfterFunc(send, func() { cancel(errSendTimeout) })
		timer.Stop()
		r.Body = &sendTimeoutBody{ReadCloser: r.Body, timer: timer, d: send}
	}
	rp := &httputil.ReverseProxy{
		Transport:  p.transport,
		BufferPool: buffers,
		ErrorLog:   nil,
		Rewrite: func(pr *httputil.ProxyRequest) {
			te := pr.Out.Header.Get("Te")
			pr.Out.URL = upstreamURL(d)
			pr.Out.Host = d.OutHost
			pr.Out.Header = d.OutHeader
			if te != "" {
				pr.Out.Header.Set("Te", te)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if l.InterceptErrors && errorPages {
				if page := errorPageFor(l, resp.StatusCode); page != nil {
					resp.Body.Close()
					return &interceptError{status: resp.StatusCode, page: page}
				}
			}
			rewriteRedirects(resp.Header, l, d)
			for _, name := range l.HideHeaders {
				resp.Header.Del(name)
			}
			for _, h := range d.AddHeaders {
				if h.Value != "" && (h.Always || routing.AddHeaderApplies(resp.StatusCode)) {
					resp.Header.Add(h.Name, h.Value)
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, out *http.Request, err error) {
			if context.Cause(ctx) == errSendTimeout {
				err = errSendTimeout
			}
			if body != nil && body.err != nil {
				p.clientBodyError(w, r, d, body.err)
				return
			}
			p.upstreamError(w, r, t, req, d, err, errorPages)
		},
	}
	rp.ServeHTTP(w, r.WithContext(ctx))
}

// upstreamURL turns the decision into the outgoing URL, keeping the
// upstream URI byte for byte (Go would otherwise re-escape the path).
func upstreamURL(d *routing.Decision) *url.URL {
	u := &url.URL{Scheme: d.Target.Scheme, Host: d.Target.HostPort()}
	path, query, hasQuery := strings.Cut(d.UpstreamURI, "?")
	if strings.HasPrefix(path, "//") {
		// An opaque "//x" would be sent as an absolute URL.
		u.Path, u.RawPath = unescapeOrSelf(path), path
	} else {
		u.Opaque = path
	}
	u.RawQuery = query
	u.ForceQuery = hasQuery && query == ""
	return u
}

func unescapeOrSelf(s string) string {
	if v, err := url.PathUnescape(s); err == nil {
		return v
	}
	return s
}

func errorPageFor(l *routefile.Location, status int) *routefile.ErrorPage {
	for i := range l.ErrorPages {
		for _, c := range l.ErrorPages[i].Codes {
			if c == status {
				return &l.ErrorPages[i]
			}
		}
	}
	return nil
}

// rewriteRedirects applies proxy_redirect to Location and Refresh. The
// default (nginx's "proxy_redirect default") turns the proxy_pass URL back
// into the location's path, so an upstream's absolute redirect to itself
// becomes a relative one through the proxy.
func rewriteRedirects(h http.Header, l *routefile.Location, d *routing.Decision) {
	if l.RedirectOff {
		return
	}
	loc := h.Get("Location")
	refresh := h.Get("Refresh")
	if loc == "" && refresh == "" {
		return
	}
	rules := l.ProxyRedirects
	if len(rules) == 0 {
		rules = []routefile.ProxyRedirect{{Default: true}}
	}
	apply := func(v string) string {
		for _, r := range rules {
			if out, ok := applyRedirectRule(v, r, l, d); ok {
				return out
			}
		}
		return v
	}
	if loc != "" {
		h.Set("Location", apply(loc))
	}
	if refresh != "" {
		// Refresh: "5; url=http://..."
		if i := strings.Index(strings.ToLower(refresh), "url="); i >= 0 {
			h.Set("Refresh", refresh[:i+4]+apply(refresh[i+4:]))
		}
	}
}

func applyRedirectRule(v string, r routefile.ProxyRedirect, l *routefile.Location, d *routing.Decision) (string, bool) {
	switch {
	case r.Default:
		u := l.ProxyPass.Static
		if u == nil || l.Modifier.IsRegex() {
			return v, false
		}
		from := u.Scheme + "://" + u.ProxyHost()
		to := "/"
		if u.HasURI {
			from += u.URI
			to = l.Spec
		} else {
			from += "/"
		}
		if strings.HasPrefix(v, from) {
			return to + v[len(from):], true
		}
		// nginx writes the upstream with its port; accept the form
		// without a default port and with an explicit one alike.
		alt := u.Scheme + "://" + u.HostPort() + strings.TrimPrefix(from, u.Scheme+"://"+u.ProxyHost())
		if alt != from && strings.HasPrefix(v, alt) {
			return to + v[len(alt):], true
		}
	case r.FromRe != nil:
		if m := r.FromRe.FindStringSubmatchIndex(v); m != nil {
			caps := make([]string, len(m)/2)
			for i := range caps {
				if m[2*i] >= 0 {
					caps[i] = v[m[2*i]:m[2*i+1]]
				}
			}
			to := r.To.Eval(func(string) string { return "" }, func(n int) string {
				if n < len(caps) {
					return caps[n]
				}
				return ""
			})
			return to + v[m[1]:], true
		}
	default:
		from := r.From.Eval(func(string) string { return "" }, func(int) string { return "" })
		if from != "" && strings.HasPrefix(v, from) {
			to := r.To.Eval(func(string) string { return "" }, func(int) string { return "" })
			return to + v[len(from):], true
		}
	}
	return v, false
}

// upstreamError answers for an upstream that could not be reached or did
// not answer in time (spec §7), unless an error_page takes over.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, t *routing.RouteTable, req *routing.Request, d *routing.Decision, err error, errorPages bool) {
	var ie *interceptError
	if errors.As(err, &ie) {
		p.errorPage(w, r, t, req, d, ie.status, ie.page)
		return
	}
	if r.Context().Err() != nil {
		// The client went away: abort instead of letting net/http send a
		// default 200 that nobody asked for.
		panic(http.ErrAbortHandler)
	}
	status := classify(err)
	p.log.Debug("upstream error", "path", d.Path, "upstream", d.Upstream, "status", status, "err", err)
	if page := errorPageFor(d.Block.Loc, status); page != nil && errorPages {
		p.errorPage(w, r, t, req, d, status, page)
		return
	}
	switch status {
	case http.StatusServiceUnavailable:
		writeUnavailable(w, d)
	case http.StatusGatewayTimeout:
		msg := "The application did not answer in time (proxy_read_timeout). Check that it is not stuck, or raise the timeout."
		if errors.Is(err, errSendTimeout) {
			msg = "The application stopped reading the request body (proxy_send_timeout). Check that it is not stuck, or raise the timeout."
		}
		writeJSONError(w, status, "Gateway Timeout", msg, d)
	default:
		writeJSONError(w, status, "Bad Gateway", "The application closed the connection without a valid answer.", d)
	}
}

// clientBodyError answers a request whose body could not be read: too
// large (413), too slow (408, client_body_timeout) or malformed (400).
func (p *Proxy) clientBodyError(w http.ResponseWriter, r *http.Request, d *routing.Decision, err error) {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		writeJSONError(w, http.StatusRequestEntityTooLarge, "Payload Too Large",
			"The request body is larger than client_max_body_size of "+d.Location.File+".", d)
	case errors.As(err, &ne) && ne.Timeout():
		w.Header().Set("Connection", "close")
		writeJSONError(w, http.StatusRequestTimeout, "Request Timeout", "The client stopped sending the request body (client_body_timeout).", d)
	case r.Context().Err() != nil:
		panic(http.ErrAbortHandler) // the client is gone
	default:
		w.Header().Set("Connection", "close")
		writeJSONError(w, http.StatusBadRequest, "Bad Request", "The request body is malformed or shorter than announced: "+err.Error()+".", d)
	}
}

// classify maps a transport error to nginx's status: no connection at all
// (refused, unknown host, connect timeout) is 503 per spec §7; a read
// timeout is 504; anything else the upstream did wrong is 502.
func classify(err error) int {
	if errors.Is(err, errReadTimeout) || errors.Is(err, errSendTimeout) {
		return http.StatusGatewayTimeout
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return http.StatusServiceUnavailable
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

// errorPage runs error_page: a named location or an internal redirect to a
// URI answers instead, with the status error_page asks for.
func (p *Proxy) errorPage(w http.ResponseWriter, r *http.Request, t *routing.RouteTable, req *routing.Request, d *routing.Decision, status int, page *routefile.ErrorPage) {
	var nd *routing.Decision
	if strings.HasPrefix(page.Target, "@") {
		nd = t.ResolveNamed(req, d.Block, page.Target)
	} else {
		sub := *req
		sub.Method = http.MethodGet
		sub.Target = page.Target
		nd = t.Resolve(&sub)
	}
	if nd == nil {
		writeUnavailableOr(w, status, d)
		return
	}
	code := status
	switch {
	case page.Response > 0:
		code = page.Response
	case page.Response < 0:
		code = 0 // the error page's own status
	}
	ww := w
	if code != 0 {
		ww = &statusOverride{ResponseWriter: w, status: code}
	}
	// recursive_error_pages is off in nginx: the error page's own
	// failures are answered plainly.
	p.carryOut(ww, r, t, req, nd, false)
}

func writeUnavailableOr(w http.ResponseWriter, status int, d *routing.Decision) {
	if status == http.StatusServiceUnavailable {
		writeUnavailable(w, d)
		return
	}
	writeJSONError(w, status, http.StatusText(status), "The upstream answered with an error.", d)
}

// statusOverride replaces the status code of whatever answers.
type statusOverride struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusOverride) WriteHeader(code int) {
	if s.wrote || code < 200 {
		if code < 200 {
			s.ResponseWriter.WriteHeader(code) // 1xx pass through
		}
		return
	}
	s.wrote = true
	s.ResponseWriter.WriteHeader(s.status)
}

func (s *statusOverride) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusOverride) Unwrap() http.ResponseWriter { return s.ResponseWriter }
