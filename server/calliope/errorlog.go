package calliope

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// ErrorLog keeps the newest failed requests of each route, for an
// Engine's RecentErrors: the owner of the port feeds it the proxy's
// access log (Observe). It is bounded: ErrorsPerRoute per route, and
// routes beyond MaxErrorRoutes are dropped, the least recent first.
type ErrorLog struct {
	mu     sync.Mutex
	routes map[string][]ProxyError // newest last
	order  []string                // routes, least recently failed first
}

// Bounds of an ErrorLog.
const (
	ErrorsPerRoute = 20
	MaxErrorRoutes = 500
)

// NewErrorLog returns an empty log.
func NewErrorLog() *ErrorLog { return &ErrorLog{routes: map[string][]ProxyError{}} }

// Observe records e when it failed: a 5xx, or no answer at all with a
// reason. The health scanner's probes are not traffic and are skipped.
// Paths come from the access log, whose queries are already elided.
func (l *ErrorLog) Observe(e httpproxy.AccessEntry) {
	if e.Probe || e.Location == "" || !(e.Status >= 500 || e.Status == 0 && e.Reason != "") {
		return
	}
	reason := e.Reason
	if reason == "" {
		reason = "answered " + httpStatusText(e.Status)
	}
	pe := ProxyError{At: time.Now().UTC(), Method: e.Method, Path: e.Path, Status: e.Status, Reason: reason}
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := append(l.routes[e.Location], pe)
	if len(errs) > ErrorsPerRoute {
		errs = errs[len(errs)-ErrorsPerRoute:]
	}
	l.routes[e.Location] = errs
	for i, r := range l.order {
		if r == e.Location {
			l.order = append(l.order[:i], l.order[i+1:]...)
			break
		}
	}
	l.order = append(l.order, e.Location)
	if len(l.order) > MaxErrorRoutes {
		delete(l.routes, l.order[0])
		l.order = l.order[1:]
	}
}

// Recent is the newest n failures of route ("/app/"), newest first.
func (l *ErrorLog) Recent(route string, n int) []ProxyError {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := l.routes[route]
	out := make([]ProxyError, 0, min(n, len(errs)))
	for i := len(errs) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, errs[i])
	}
	return out
}

func httpStatusText(code int) string {
	return strings.TrimSpace(strconv.Itoa(code) + " " + http.StatusText(code))
}
