package lsp

import (
	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The payloads of the devproxy/ messages (docs/lsp.md), the only protocol
// types this package defines; the standard ones are go.lsp.dev/protocol's.
// Each is checked against its schema in schemas/ by the tests, and is
// encoded with encoding/json.

// RoutesResult is devproxy/routes' answer (schemas/lsp-routes.schema.json).
type RoutesResult struct {
	Version   int64                    `json:"version"`
	Root      string                   `json:"root"`
	Files     []RouteFileInfo          `json:"files"`
	Routes    []RouteInfo              `json:"routes"`
	Conflicts []routing.ConflictReport `json:"conflicts"`
	Proxy     ProxyStatus              `json:"proxy"`
}

type RouteFileInfo struct {
	routing.FileReport        // path, kind, ok: as /routes.json
	URI                string `json:"uri"`
}

type RouteInfo struct {
	routing.RouteReport                // route, file, line, modifier, spec, active, upstream, inactiveCode, inactiveReason, conflict, health: as /routes.json
	ID                  string         `json:"id"`
	URI                 string         `json:"uri"`
	Range               protocol.Range `json:"range"` // of the location's header
	Label               string         `json:"label"`
	URL                 *string        `json:"url"`
}

// ExplainParams are devproxy/explain's (schemas/lsp-explain-params.schema.json).
// The answer is the `devproxy explain` document (schemas/explain.schema.json).
type ExplainParams struct {
	URL     string            `json:"url"`
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// RoutesChangedParams are the devproxy/routesChanged notification's
// (schemas/lsp-routes-changed.schema.json): the client then asks
// devproxy/routes.
type RoutesChangedParams struct {
	Version int64 `json:"version"`
}

// ProxyStatus is the devproxy/status notification (schemas/lsp-status.schema.json),
// also part of RoutesResult.
type ProxyStatus struct {
	State   string `json:"state"` // running, other-devproxy, port-in-use, disabled, error
	Address string `json:"address"`
	URL     string `json:"url"`
	Message string `json:"message"`
}
