package httpproxy

import (
	"net"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// hostAllowed decides whether the local listener serves a request for host
// (validated, lowercased, without port; IPv6 in brackets). A page on
// another site can point its own name at 127.0.0.1 (DNS rebinding) and
// then read whatever the proxy answers; like Vite and webpack-dev-server,
// devproxy answers only for names that cannot be rebound or that the
// developer named:
//   - localhost and *.localhost, and loopback IP addresses;
//   - the listener's own address, and any IP address when it listens on
//     every interface (an IP literal cannot be rebound);
//   - the host of "listen" in devproxy.json, and of tunnel.publicUrl;
//   - the names in allowedHosts ("name", ".domain" for it and its
//     subdomains, "*" for any).
//
// A request without a Host (HTTP/1.0) is served: browsers always send one.
func hostAllowed(host string, local net.Addr, cfg *routing.Config) bool {
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); ip != nil {
		if ip.IsLoopback() {
			return true
		}
		if a, ok := local.(*net.TCPAddr); ok && (a.IP.IsUnspecified() || a.IP.Equal(ip)) {
			return true
		}
	}
	if h, _, err := net.SplitHostPort(cfg.Listen); err == nil && h != "" && strings.EqualFold(h, host) {
		return true
	}
	if cfg.Tunnel.PublicURL != "" && routing.PublicHost(cfg.Tunnel.PublicURL) == host {
		return true
	}
	for _, a := range cfg.AllowedHosts {
		switch {
		case a == "*", a == host:
			return true
		case strings.HasPrefix(a, ".") && (host == a[1:] || strings.HasSuffix(host, a)):
			return true
		}
	}
	return false
}
