package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
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
	Version   int64                      `json:"version"`
	Root      string                     `json:"root"`
	Files     []RouteFileInfo            `json:"files"`
	Routes    []RouteInfo                `json:"routes"`
	Conflicts []httpproxy.RoutesConflict `json:"conflicts"`
	Proxy     ProxyStatus                `json:"proxy"`
}

type RouteFileInfo struct {
	Path string `json:"path"`
	URI  string `json:"uri"`
	Kind string `json:"kind"`
	OK   bool   `json:"ok"`
}

type RouteInfo struct {
	httpproxy.RoutesEntry         // route, file, line, modifier, spec, active, upstream, inactiveReason, conflict: as /routes.json
	ID                    string  `json:"id"`
	URI                   string  `json:"uri"`
	Range                 Range   `json:"range"`
	Label                 string  `json:"label"`
	URL                   *string `json:"url"`
	Health                any     `json:"health"` // the health scanner's place
}

func (s *Server) routes(_ context.Context, snap *snapshot, _ json.RawMessage) (any, error) {
	t := snap.table
	doc := httpproxy.NewRoutesDocument(t)
	res := RoutesResult{Version: snap.version, Root: t.Root, Files: []RouteFileInfo{}, Routes: []RouteInfo{},
		Conflicts: doc.Conflicts, Proxy: s.proxy.current()}
	if res.Proxy.State == "" {
		res.Proxy = ProxyStatus{State: "disabled", Address: t.Config.Listen, Message: "The proxy has not started yet."}
	}
	for _, f := range t.Files {
		res.Files = append(res.Files, RouteFileInfo{Path: f.Path, URI: s.uriOf(f.Path), Kind: f.Kind.String(), OK: f.Parsed.OK})
	}
	seen := map[string]int{}
	for i, b := range t.Blocks { // doc.Routes[i] describes t.Blocks[i]
		l := b.Loc
		id := b.File.Path + "#" + l.Label()
		seen[id]++
		if n := seen[id]; n > 1 {
			id += "#" + strconv.Itoa(n)
		}
		ri := RouteInfo{RoutesEntry: doc.Routes[i], ID: id, URI: s.uriOf(b.File.Path),
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
	hdr := http.Header{}
	host := ""
	for k, v := range p.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			host = v
			continue
		}
		hdr.Set(k, v)
	}
	port := 0
	if _, ps, err := net.SplitHostPort(snap.table.Config.Listen); err == nil {
		port, _ = strconv.Atoi(ps)
	}
	if host == "" && port != 0 {
		host = fmt.Sprintf("localhost:%d", port)
	}
	return snap.table.Explain(&routing.Request{Method: p.Method, Target: p.URL, Host: host, Header: hdr, ServerPort: port}), nil
}
