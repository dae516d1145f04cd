package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sync"
	"syscall"
	"time"
)

// upstreamDiagnoser finds out, once per upstream and scan, why the proxy
// could not reach it: the proxy answers 502, 503 or 504 over the wire
// and the scanner, on the same machine, dials the upstream itself to say
// which ("connection refused on 127.0.0.1:5999"). Several routes that
// share an upstream share the one dial, so an upstream that is down is
// one failure said the same way on each of its routes.
type upstreamDiagnoser struct {
	timeout time.Duration
	mu      sync.Mutex
	seen    map[string]*diagnosis
}

type diagnosis struct {
	once   sync.Once
	reason string
}

func newUpstreamDiagnoser(timeout time.Duration) *upstreamDiagnoser {
	return &upstreamDiagnoser{timeout: timeout, seen: map[string]*diagnosis{}}
}

// diagnose returns the reason the upstream cannot be reached, or "" when
// it accepts connections (the 5xx is then its own).
func (u *upstreamDiagnoser) diagnose(ctx context.Context, upstream string) string {
	host := HostPort(upstream)
	if host == "" {
		return ""
	}
	u.mu.Lock()
	d := u.seen[host]
	if d == nil {
		d = &diagnosis{}
		u.seen[host] = d
	}
	u.mu.Unlock()
	d.once.Do(func() { d.reason = DialReason(ctx, host, u.timeout) })
	return d.reason
}

// DialReason dials host ("127.0.0.1:5173") once and returns why it
// cannot be reached in words, or "" when it accepts connections.
func DialReason(ctx context.Context, host string, timeout time.Duration) string {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(dctx, "tcp", host)
	if err == nil {
		c.Close()
		return ""
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused on " + host
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("unknown host %q (the upstream %s)", dnsErr.Name, host)
	case isTimeout(err):
		return fmt.Sprintf("no connection to %s within %v", host, timeout)
	}
	return fmt.Sprintf("cannot connect to %s: %v", host, err)
}

// HostPort is the host:port of an upstream origin ("http://api:8000"),
// with the scheme's port when it has none; "" when it is not a URL (a
// proxy_pass with variables the table could not resolve).
func HostPort(upstream string) string {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	switch u.Scheme {
	case "https":
		return net.JoinHostPort(u.Hostname(), "443")
	case "http":
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return ""
}

// Upstreams groups the route reports by upstream: the worst status, the
// reason of the first route with it, and the routes.
func Upstreams(reports []Report) []UpstreamReport {
	var out []UpstreamReport
	index := map[string]int{}
	for _, r := range reports {
		if r.Upstream == "" || !r.Active {
			continue
		}
		i, ok := index[r.Upstream]
		if !ok {
			i = len(out)
			index[r.Upstream] = i
			out = append(out, UpstreamReport{Upstream: r.Upstream, Status: r.Status, Reason: r.Reason})
		} else if worse(out[i].Status, r.Status) != out[i].Status {
			out[i].Status, out[i].Reason = r.Status, r.Reason
		}
		out[i].Routes = append(out[i].Routes, r.Route)
	}
	slices.SortFunc(out, func(a, b UpstreamReport) int {
		if a.Upstream < b.Upstream {
			return -1
		}
		if a.Upstream > b.Upstream {
			return 1
		}
		return 0
	})
	return out
}
