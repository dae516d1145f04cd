package node

// Traffic: the owner's request analytics (proxy/metrics) as the dashboard
// and the editor read them: a route's requests per time bucket, and every
// route's for the dashboard's sparklines.

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/metrics"
)

// TrafficPoint is one time bucket of a route's traffic
// (schemas/lsp-route-metrics.schema.json).
type TrafficPoint struct {
	Start      time.Time `json:"start"`
	Requests   int64     `json:"requests"`
	Errors     int64     `json:"errors"` // 5xx or no answer
	Bytes      int64     `json:"bytes"`
	UpstreamMs float64   `json:"upstreamMs"` // mean per request
	ProxyMs    float64   `json:"proxyMs"`    // mean time the proxy added
}

// RouteMetrics is devproxy/routeMetrics' answer: one route's traffic,
// oldest bucket first.
type RouteMetrics struct {
	Route             string         `json:"route"`
	ResolutionSeconds int            `json:"resolutionSeconds"`
	Points            []TrafficPoint `json:"points"`
}

// Traffic is devproxy/traffic's answer and devproxy/trafficChanged's
// params: every route's traffic, for the dashboard.
type Traffic struct {
	ResolutionSeconds int                       `json:"resolutionSeconds"`
	Routes            map[string][]TrafficPoint `json:"routes"`
}

// Default and largest spans of traffic asked for, in minutes.
const (
	defaultTrafficMinutes = 60
	maxTrafficMinutes     = 24 * 60
)

func points(ps []metrics.Point) []TrafficPoint {
	out := make([]TrafficPoint, len(ps))
	for i, p := range ps {
		out[i] = TrafficPoint{Start: p.Start.UTC(), Requests: p.Requests, Errors: p.ByClass[metrics.Class5xx] + p.ByClass[metrics.ClassNone],
			Bytes: p.Bytes, UpstreamMs: p.UpstreamMs, ProxyMs: p.ProxyMs}
	}
	return out
}

func span(minutes int) time.Duration {
	if minutes <= 0 {
		minutes = defaultTrafficMinutes
	}
	return time.Duration(min(minutes, maxTrafficMinutes)) * time.Minute
}

// routeMetrics is one route's traffic over the last minutes.
func (n *Node) routeMetrics(route string, minutes int) RouteMetrics {
	now := time.Now()
	reg := n.metrics
	return RouteMetrics{Route: route, ResolutionSeconds: int(reg.Resolution() / time.Second),
		Points: points(reg.Series(route, now.Add(-span(minutes)), now.Add(reg.Resolution())))}
}

// traffic is every route's traffic over the last minutes.
func (n *Node) traffic(minutes int) Traffic {
	now := time.Now()
	reg := n.metrics
	out := Traffic{ResolutionSeconds: int(reg.Resolution() / time.Second), Routes: map[string][]TrafficPoint{}}
	for _, route := range reg.Routes() {
		if route == metrics.NoRoute || route == metrics.OtherRoute {
			continue
		}
		out.Routes[route] = points(reg.Series(route, now.Add(-span(minutes)), now.Add(reg.Resolution())))
	}
	return out
}

// errNoRoute is the answer to a routeMetrics without a route.
var errNoRoute = &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "devproxy/routeMetrics needs {\"route\": \"/app/\", \"minutes\"?: 60}"}

// RouteMetrics is one route's traffic over the last minutes (60 when 0):
// this process's while it owns the port, the owner's while a member.
func (n *Node) RouteMetrics(ctx context.Context, route string, minutes int) (RouteMetrics, error) {
	if route == "" {
		return RouteMetrics{}, errNoRoute
	}
	n.mu.Lock()
	rt, c := n.rt, n.remote
	n.mu.Unlock()
	if rt != nil || c == nil {
		return n.routeMetrics(route, minutes), nil
	}
	var out RouteMetrics
	err := c.Call(ctx, "devproxy/routeMetrics", map[string]any{"route": route, "minutes": minutes}, &out)
	return out, err
}

// trafficMethods are the hub's analytics methods.
func (n *Node) trafficMethods() (routeMetrics, traffic func(context.Context, json.RawMessage) (any, error)) {
	routeMetrics = func(ctx context.Context, raw json.RawMessage) (any, error) {
		var p struct {
			Route   string `json:"route"`
			Minutes int    `json:"minutes"`
		}
		if err := json.Unmarshal(raw, &p); err != nil || p.Route == "" {
			return nil, errNoRoute
		}
		return n.routeMetrics(p.Route, p.Minutes), nil
	}
	traffic = func(_ context.Context, raw json.RawMessage) (any, error) {
		var p struct {
			Minutes int `json:"minutes"`
		}
		if len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "devproxy/traffic takes {\"minutes\"?: 30}"}
			}
		}
		return n.traffic(p.Minutes), nil
	}
	return routeMetrics, traffic
}
