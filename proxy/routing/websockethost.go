package routing

import (
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// The WebSocket Host pitfall. nginx sends proxy_pass's host as Host unless
// the block says otherwise (proxy_set_header Host $proxy_host is the
// default), and so does devproxy. A browser opening a WebSocket sends the
// page's Origin, http://127.0.0.1:8080 behind the proxy, while the dev
// server sees Host: 127.0.0.1:5173. Dev servers compare the two, or check
// Host against a list of their own names (Vite, webpack-dev-server's
// "Invalid Host header", Next.js's allowedDevOrigins, Rails' host
// authorization, gorilla/websocket's default CheckOrigin), and refuse the
// HMR socket with a 403; curl sends no Origin and passes.
//
// devproxy passes WebSocket upgrades whatever the block says, so the
// block's intent is what tells a dev server's socket from any other proxy:
// proxy_set_header Upgrade ..., or Connection with "upgrade" in it. The fix
// is proxy_set_header Host $http_host: the browser's Host with its port,
// which is what Origin carries ($host drops the port, and a check that
// compares host:port, as gorilla's and Vite's do, still fails).

// WebSocketHostFix is the directive the quick fix inserts.
const WebSocketHostFix = "proxy_set_header Host $http_host;"

// webSocketHostOf returns the proxy_set_header directive that makes the
// block pass WebSocket upgrades, when the block proxies and leaves Host at
// the default; else nil.
func webSocketHostOf(l *routefile.Location) *routefile.Directive {
	if l.ProxyPass == nil || l.Directive == nil || l.Directive.Block == nil {
		return nil
	}
	for _, r := range l.ProxySetHeaders {
		if strings.EqualFold(r.Name, "Host") {
			return nil
		}
	}
	for _, d := range l.Directive.Block.Directives {
		if d.Name.Value != "proxy_set_header" || len(d.Args) != 2 {
			continue
		}
		name, value := d.Args[0].Value, strings.ToLower(d.Args[1].Value)
		if strings.EqualFold(name, "Upgrade") && value != "" ||
			strings.EqualFold(name, "Connection") && strings.Contains(value, "upgrade") {
			return d
		}
	}
	return nil
}

// reportWebSocketHosts hints on every running block that passes WebSocket
// upgrades with the default Host.
func (t *RouteTable) reportWebSocketHosts() {
	for _, b := range t.Blocks {
		if b.neverRuns() {
			continue
		}
		d := webSocketHostOf(b.Loc)
		if d == nil {
			continue
		}
		b.WebSocketHost = d
		t.Diagnostics = append(t.Diagnostics, routefile.Diagnostic{
			File:     b.File.Path,
			Severity: routefile.Hint,
			Code:     routefile.CodeWebSocketHost,
			Range:    d.HeaderRange(),
			Message:  webSocketHostSentence,
		})
	}
}

const webSocketHostSentence = "this block passes WebSocket upgrades with Host left at proxy_pass's host: " +
	"dev servers (Vite, webpack-dev-server, Next.js, Rails) check the browser's Origin against Host and refuse the HMR socket with 403; " +
	"add " + WebSocketHostFix + " (quick fix) so the upstream sees the Host the browser sent"
