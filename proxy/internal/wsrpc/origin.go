package wsrpc

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// OriginIs reports whether r carries no Origin, or one that names the
// proxy itself: the request's Host with the same port (reqScheme's port
// when Host has none), or a loopback alias of it (localhost, 127.0.0.1,
// [::1]) on that port. wantScheme, when not empty, is the scheme the
// origin must have. Origin: null, several Origins and malformed ones are
// refused. proxy/live and proxy/auth apply it.
func OriginIs(r *http.Request, reqScheme, wantScheme string) bool {
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
	if wantScheme != "" && u.Scheme != wantScheme {
		return false
	}
	oHost, oPort, ok := hostPort(u.Host, defaultPort(u.Scheme))
	if !ok {
		return false
	}
	rHost, rPort, ok := hostPort(r.Host, defaultPort(reqScheme))
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
