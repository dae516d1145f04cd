package live

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// SameOrigin is the default origin policy. A request without an Origin
// header is taken: browsers send one with every WebSocket handshake, so
// it is another program (another devproxy process, a test). A request
// with one is taken when the page comes from the proxy itself: its
// origin's host and port are the request's Host, or both are names of
// this machine's loopback (localhost, 127.0.0.1, [::1]) with the same port,
// since the dashboard may be opened under any of them. Everything else
// is refused, and so is Origin: null (a sandboxed frame, a file, a
// cross-origin redirect: a page that cannot say where it comes from).
//
// A route's app on another name of the same port (app.localhost:PORT) is
// another origin and is refused: apps under development are not trusted
// with the proxy's events.
func SameOrigin(r *http.Request) bool {
	values, sent := r.Header["Origin"]
	if !sent {
		return true
	}
	if len(values) != 1 || values[0] == "" || values[0] == "null" {
		return false
	}
	u, err := url.Parse(values[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return false
	}
	oHost, oPort, ok := hostPort(u.Host, defaultPort(u.Scheme))
	if !ok {
		return false
	}
	reqDefault := "80"
	if r.TLS != nil {
		reqDefault = "443"
	}
	rHost, rPort, ok := hostPort(r.Host, reqDefault)
	if !ok || oPort != rPort {
		return false
	}
	if oHost == rHost {
		return true
	}
	return isLoopbackName(oHost) && isLoopbackName(rHost)
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// hostPort splits host[:port] into a lower-case host (without brackets)
// and a port, def when there is none.
func hostPort(hp, def string) (host, port string, ok bool) {
	if hp == "" {
		return "", "", false
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		// No port: a bare name or a bracketed IPv6 address.
		host, port = strings.TrimSuffix(strings.TrimPrefix(hp, "["), "]"), def
		if strings.ContainsAny(host, "[]") {
			return "", "", false
		}
	}
	if host == "" || port == "" {
		return "", "", false
	}
	return strings.ToLower(strings.TrimSuffix(host, ".")), port, true
}

// isLoopbackName reports whether host is one of the names the proxy's
// local listener is opened under: localhost, 127.0.0.1 or ::1.
// Subdomains of localhost are names of routes, not of the proxy itself;
// another loopback address (127.0.0.2) may be another program's listener
// on the same port.
func isLoopbackName(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}
