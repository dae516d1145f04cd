package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/node"
)

// Route health (docs/lsp.md): the devproxy/health and devproxy/rescan
// requests and the devproxy/healthChanged notification carry the
// monitor's Document (schemas/health.schema.json). The process that owns
// the port probes; a member reads the owner's health over /devproxy/ws.

// RescanParams are devproxy/rescan's.
type RescanParams struct {
	// Route names one route ("/app/"); empty rescans every route.
	Route string `json:"route,omitempty"`
}

// health answers devproxy/health.
func (h *proxyHost) health() monitor.Document {
	h.mu.Lock()
	n := h.node
	h.mu.Unlock()
	if n == nil {
		return monitor.NoDocument(time.Now())
	}
	return n.Health()
}

// rescan answers devproxy/rescan.
func (h *proxyHost) rescan(ctx context.Context, raw json.RawMessage) (monitor.Document, error) {
	var p RescanParams
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p); err != nil {
			return monitor.Document{}, jsonrpc2.NewError(jsonrpc2.InvalidParams, "devproxy/rescan takes {\"route\"?: \"/app/\"}: "+err.Error())
		}
	}
	h.mu.Lock()
	n := h.node
	h.mu.Unlock()
	if n == nil {
		return monitor.Document{}, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "no proxy runs in this window, so there is nothing to probe; see the proxy's status")
	}
	var routes []string
	if p.Route != "" {
		routes = []string{p.Route}
	}
	doc, err := n.Rescan(ctx, routes...)
	if errors.Is(err, node.ErrNoProxy) {
		return doc, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the proxy is not running yet, so there is nothing to probe")
	}
	return doc, err
}

// RouteMetricsParams are devproxy/routeMetrics'
// (schemas/lsp-route-metrics.schema.json).
type RouteMetricsParams struct {
	Route   string `json:"route"`
	Minutes int    `json:"minutes,omitempty"`
}

// routeMetrics answers devproxy/routeMetrics: the route's traffic through
// the proxy, from the owner of the port.
func (h *proxyHost) routeMetrics(ctx context.Context, raw json.RawMessage) (node.RouteMetrics, error) {
	var p RouteMetricsParams
	if err := json.Unmarshal(raw, &p); err != nil || p.Route == "" {
		return node.RouteMetrics{}, jsonrpc2.NewError(jsonrpc2.InvalidParams, "devproxy/routeMetrics takes {\"route\": \"/app/\", \"minutes\"?: 60}")
	}
	h.mu.Lock()
	n := h.node
	h.mu.Unlock()
	if n == nil {
		return node.RouteMetrics{Route: p.Route, ResolutionSeconds: 60, Points: []node.TrafficPoint{}}, nil
	}
	return n.RouteMetrics(ctx, p.Route, p.Minutes)
}

// healthChanged is the node's OnHealth: devproxy/healthChanged.
func (h *proxyHost) healthChanged(doc monitor.Document) {
	h.s.notify("devproxy/healthChanged", doc)
}
