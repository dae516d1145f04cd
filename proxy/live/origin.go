package live

import (
	"net/http"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
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
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return wsrpc.OriginIs(r, scheme, "")
}
