package httpproxy

// What the client gets of an upstream's answer: its headers with
// proxy_redirect, proxy_hide_header and add_header applied.

import (
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// hopByHopResponse are response headers that describe one connection, and
// those nginx sets itself instead of passing the upstream's.
var hopByHopResponse = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding",
	"Upgrade", "Te", "Trailer", "Content-Length", "Date", "Server",
}

func isHopByHopResponse(name string) bool {
	for _, h := range hopByHopResponse {
		if asciiEqualFold(h, name) {
			return true
		}
	}
	return false
}

// responseFields are the headers the client gets: the upstream's, with
// proxy_redirect, proxy_hide_header and add_header applied, names as the
// upstream and the route file wrote them.
func responseFields(rh *responseHead, l *routefile.Location, d *routing.Decision) []headerField {
	hidden := connectionTokens(rh.get("Connection"))
	out := make([]headerField, 0, len(rh.Fields)+len(d.AddHeaders))
	for _, f := range rh.Fields {
		k := f.Name
		if isHopByHopResponse(k) || (hidden != nil && hidden[strings.ToLower(k)]) {
			continue
		}
		if hiddenByRoute(l, k) {
			continue
		}
		switch {
		case asciiEqualFold(k, "Location"):
			f.Value = d.RewriteLocation(f.Value)
		case asciiEqualFold(k, "Refresh"):
			f.Value = d.RewriteRefresh(f.Value)
		}
		out = append(out, f)
	}
	for _, h := range d.AddHeaders {
		if h.Value != "" && (h.Always || routing.AddHeaderApplies(rh.Status)) {
			out = append(out, headerField{h.Name, h.Value})
		}
	}
	return out
}

func hiddenByRoute(l *routefile.Location, name string) bool {
	for _, h := range l.HideHeaders {
		if len(h) == len(name) && strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// connectionTokens lists the headers a Connection header names.
func connectionTokens(v string) map[string]bool {
	if v == "" {
		return nil
	}
	out := map[string]bool{}
	for _, tok := range strings.Split(v, ",") {
		out[strings.ToLower(strings.TrimSpace(tok))] = true
	}
	return out
}
