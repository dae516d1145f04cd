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
	Folders   []FolderInfo             `json:"folders"`
	Files     []RouteFileInfo          `json:"files"`
	Routes    []RouteInfo              `json:"routes"`
	Conflicts []routing.ConflictReport `json:"conflicts"`
	Proxy     ProxyStatus              `json:"proxy"`
}

// FolderInfo is one folder whose route files the table holds.
type FolderInfo struct {
	Label string `json:"label"`
	Root  string `json:"root"`
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
	// State is running (this process holds the port), joined (another
	// devproxy does and serves this window's folders too), idle (no route
	// files here), starting, port-in-use, disabled or error.
	State   string `json:"state"`
	Address string `json:"address"`
	URL     string `json:"url"`
	Message string `json:"message"`
	Role    string `json:"role,omitempty"` // owner (running) or member (joined)
	// Folders are every folder the proxy on the port serves, the
	// owner's first.
	Folders []ProxyFolder `json:"folders"`
	Owner   *ProxyOwner   `json:"owner,omitempty"`
}

// ProxyFolder is one folder the proxy on the port serves.
type ProxyFolder struct {
	Root  string `json:"root"`
	Label string `json:"label"`
	Mine  bool   `json:"mine"` // registered by this window
	PID   int    `json:"pid"`
	Kind  string `json:"kind"` // vscode or serve
}

// ProxyOwner is the process that holds the port.
type ProxyOwner struct {
	PID  int    `json:"pid"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	Root string `json:"root"`
}

// TakeOverResult is devproxy/takeOver's answer (schemas/lsp-takeover.schema.json).
type TakeOverResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}
