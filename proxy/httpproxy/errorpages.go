package httpproxy

// Answers for requests that could not be proxied: the client's body
// failed, the upstream failed (spec §7), or error_page takes over.

import (
	"errors"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

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

// clientBodyError answers a request whose body could not be read: too
// large (413, with a lingering close, as nginx does), too slow (408,
// client_body_timeout) or malformed (400).
func (p *Proxy) clientBodyError(x *exchange, d *routing.Decision, body *clientBody) {
	err := body.err
	x.keepAlive = false
	switch {
	case errors.Is(err, errBodyTooLarge):
		writeError(x, http.StatusRequestEntityTooLarge, "Payload Too Large",
			"The request body is larger than client_max_body_size of "+d.Location.File+".", d)
		body.err = nil // the rest is read and dropped (lingering close)
	case isTimeout(err):
		writeError(x, http.StatusRequestTimeout, "Request Timeout", "The client stopped sending the request body (client_body_timeout).", d)
	default:
		writeError(x, http.StatusBadRequest, "Bad Request", "The request body is malformed or shorter than announced.", d)
	}
}

// upstreamError answers for an upstream that could not be reached or did
// not answer in time (spec §7), unless an error_page takes over.
func (p *Proxy) upstreamError(x *exchange, t *routing.RouteTable, req *routing.Request, d *routing.Decision, err error, errorPages bool) {
	status := classify(err)
	p.log.Debug("upstream error", "path", d.Path, "upstream", d.Upstream, "status", status, "err", err)
	if p.accessLog != nil {
		x.upstreamReason = upstreamReason(err, status, d)
	}
	if page := errorPageFor(d.Block.Loc, status); page != nil && errorPages {
		p.errorPage(x, t, req, d, status, page)
		return
	}
	switch status {
	case http.StatusServiceUnavailable:
		writeUnavailable(x, d)
	case http.StatusGatewayTimeout:
		msg := TimeoutMessage
		if errors.Is(err, errSendTimeout) {
			msg = "The application stopped reading the request body (proxy_send_timeout). Check that it is not stuck, or raise the timeout."
		}
		writeError(x, status, "Gateway Timeout", msg, d)
	default:
		writeError(x, status, "Bad Gateway", "The application closed the connection without a valid answer.", d)
	}
}

// classify maps a transport error to nginx's status: no connection at all
// (refused, unknown host, connect timeout) is 503 per spec §7; a read or
// send timeout is 504; anything else the upstream did wrong is 502.
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
func (p *Proxy) errorPage(x *exchange, t *routing.RouteTable, req *routing.Request, d *routing.Decision, status int, page *routefile.ErrorPage) {
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
		if status == http.StatusServiceUnavailable {
			writeUnavailable(x, d)
		} else {
			writeError(x, status, http.StatusText(status), "The upstream answered with an error.", d)
		}
		return
	}
	// The status error_page asks for replaces the page's own ("=" alone
	// keeps it).
	switch {
	case page.Response > 0:
		x.statusOverride = page.Response
	case page.Response == 0:
		x.statusOverride = status
	}
	// recursive_error_pages is off in nginx: the error page's own failures
	// are answered plainly.
	p.carryOut(x, t, req, nd, false)
}

// isTimeout reports a deadline that passed, whatever type carries it
// (net.Error, os.ErrDeadlineExceeded).
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}
