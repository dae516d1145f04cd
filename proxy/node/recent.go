package node

// Recent proxy errors: the owner keeps the last failed requests (5xx, or
// no answer) so that people and Calliope can ask what went wrong on a
// route without reading the log.

import (
	"context"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// ProxyError is one request the proxy could not answer well.
type ProxyError struct {
	At       time.Time `json:"at"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`     // as the access log shows it: no query values
	Location string    `json:"location"` // the route identity ("/app/"); "" when none took it
	Upstream string    `json:"upstream"`
	Status   int       `json:"status"` // 0: closed without an answer
	Reason   string    `json:"reason"` // "connection refused on 127.0.0.1:5999"; "" when the upstream answered the 5xx itself
}

// recentErrorsKept bounds the ring.
const recentErrorsKept = 256

// errorRing keeps the newest failed requests.
type errorRing struct {
	mu   sync.Mutex
	buf  []ProxyError
	next int
	full bool
}

// ErrorOf is the access-log entry e as a ProxyError; ok is false for an
// entry that is no failure (an answer below 500) or a health probe.
func ErrorOf(e httpproxy.AccessEntry, at time.Time) (ProxyError, bool) {
	if e.Probe || (e.Status != 0 && e.Status < 500) {
		return ProxyError{}, false
	}
	return ProxyError{At: at.UTC(), Method: e.Method, Path: e.Path, Location: e.Location, Upstream: e.Upstream, Status: e.Status, Reason: e.Reason}, true
}

func (r *errorRing) add(e httpproxy.AccessEntry, at time.Time) {
	pe, ok := ErrorOf(e, at)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf == nil {
		r.buf = make([]ProxyError, recentErrorsKept)
	}
	r.buf[r.next] = pe
	r.next = (r.next + 1) % recentErrorsKept
	if r.next == 0 {
		r.full = true
	}
}

// newest returns up to n errors of route ("" for every route), newest
// first.
func (r *errorRing) newest(route string, n int) []ProxyError {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []ProxyError{}
	size := r.next
	if r.full {
		size = recentErrorsKept
	}
	for i := 1; i <= size && len(out) < n; i++ {
		e := r.buf[(r.next-i+recentErrorsKept)%recentErrorsKept]
		if route == "" || e.Location == route {
			out = append(out, e)
		}
	}
	return out
}

// RecentErrors returns up to n of the newest failed requests (5xx, or no
// answer) of route ("" for every route), newest first: this process's
// while it owns the port, the owner's while it is a member.
func (n *Node) RecentErrors(ctx context.Context, route string, limit int) ([]ProxyError, error) {
	if limit <= 0 {
		limit = 20
	}
	n.mu.Lock()
	rt, c := n.rt, n.remote
	n.mu.Unlock()
	if rt != nil || c == nil {
		return n.errors.newest(route, limit), nil
	}
	var out []ProxyError
	err := c.Call(ctx, "devproxy/recentErrors", map[string]any{"route": route, "limit": limit}, &out)
	return out, err
}
