package lsp

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The custom devproxy/ methods (docs/lsp.md, schemas/lsp-*.json).

func init() {
	requests["devproxy/routes"] = (*Server).routes
	requests["devproxy/explain"] = (*Server).explain
}

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
	routing.RouteReport         // route, file, line, modifier, spec, active, upstream, inactiveCode, inactiveReason, conflict, health: as /routes.json
	ID                  string  `json:"id"`
	URI                 string  `json:"uri"`
	Range               Range   `json:"range"`
	Label               string  `json:"label"`
	URL                 *string `json:"url"`
}

func (s *Server) routes(_ context.Context, snap *snapshot, _ json.RawMessage) (any, error) {
	t := snap.table
	res := RoutesResult{Version: snap.version, Root: t.Root, Files: []RouteFileInfo{}, Routes: []RouteInfo{},
		Conflicts: t.ConflictReports(), Proxy: s.proxy.current()}
	if res.Proxy.State == "" {
		res.Proxy = ProxyStatus{State: "disabled", Address: t.Config.Listen, Message: "The proxy has not started yet."}
	}
	for _, f := range t.FileReports() {
		res.Files = append(res.Files, RouteFileInfo{FileReport: f, URI: s.uriOf(f.Path)})
	}
	seen := map[string]int{}
	for _, b := range t.Blocks {
		l := b.Loc
		id := b.File.Path + "#" + l.Label()
		seen[id]++
		if n := seen[id]; n > 1 {
			id += "#" + strconv.Itoa(n)
		}
		ri := RouteInfo{RouteReport: b.Report(), ID: id, URI: s.uriOf(b.File.Path),
			Range: lspRange(l.Directive.HeaderRange()), Label: l.Label()}
		if u := routeURL(t, l); u != "" {
			ri.URL = &u
		}
		res.Routes = append(res.Routes, ri)
	}
	return res, nil
}

// routeURL is where a person opens a location through the proxy; empty for
// regex and named locations.
func routeURL(t *routing.RouteTable, l *routefile.Location) string {
	if !(l.Modifier.IsPrefix() || l.Modifier == routefile.ModExact) || len(l.Spec) == 0 || l.Spec[0] != '/' {
		return ""
	}
	return "http://" + t.Config.Listen + l.Spec
}

// ExplainParams are devproxy/explain's (schemas/lsp-explain-params.schema.json).
type ExplainParams struct {
	URL     string            `json:"url"`
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

func (s *Server) explain(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	var p ExplainParams
	if err := json.Unmarshal(params, &p); err != nil || p.URL == "" {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, "devproxy/explain needs {\"url\": \"/path\"}")
	}
	// The request `devproxy explain` would build (routing.ExplainRequest).
	lines := make([]string, 0, len(p.Headers))
	for k, v := range p.Headers {
		lines = append(lines, k+": "+v)
	}
	sort.Strings(lines)
	req, err := routing.ExplainRequest(snap.table.Config, p.URL, p.Method, lines, false)
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, "devproxy/explain: "+err.Error())
	}
	return snap.table.Explain(req), nil
}
