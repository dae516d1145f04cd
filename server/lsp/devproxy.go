package lsp

import (
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

// The devproxy/ requests (docs/lsp.md), served through Request
// (initialize.go); their types are in devproxy_types.go.

// routes answers devproxy/routes: the route table as the routes view shows
// it.
func (s *Server) routes(snap *snapshot) (*RoutesResult, error) {
	t := snap.table
	doc := httpproxy.NewRoutesDocument(t)
	res := RoutesResult{Version: snap.version, Root: t.Root, Files: []RouteFileInfo{}, Routes: []RouteInfo{},
		Conflicts: doc.Conflicts, Proxy: s.proxy.current()}
	if res.Proxy.State == "" {
		res.Proxy = ProxyStatus{State: "disabled", Address: t.Config.Listen, Message: "The proxy has not started yet."}
	}
	for _, f := range t.Files {
		res.Files = append(res.Files, RouteFileInfo{Path: f.Path, URI: string(s.uriOf(f.Path)), Kind: f.Kind.String(), OK: f.Parsed.OK})
	}
	seen := map[string]int{}
	for i, b := range t.Blocks { // doc.Routes[i] describes t.Blocks[i]
		l := b.Loc
		id := b.File.Path + "#" + l.Label()
		seen[id]++
		if n := seen[id]; n > 1 {
			id += "#" + strconv.Itoa(n)
		}
		ri := RouteInfo{RoutesEntry: doc.Routes[i], ID: id, URI: string(s.uriOf(b.File.Path)),
			Range: lspRange(l.Directive.HeaderRange()), Label: l.Label()}
		if u := routeURL(t, l); u != "" {
			ri.URL = &u
		}
		res.Routes = append(res.Routes, ri)
	}
	return &res, nil
}

// routeURL is where a person opens a location through the proxy; empty for
// regex and named locations.
func routeURL(t *routing.RouteTable, l *routefile.Location) string {
	if !(l.Modifier.IsPrefix() || l.Modifier == routefile.ModExact) || len(l.Spec) == 0 || l.Spec[0] != '/' {
		return ""
	}
	return "http://" + t.Config.Listen + l.Spec
}

// explain answers devproxy/explain: what the proxy would do with a
// request, from the same resolver that serves.
func (s *Server) explain(snap *snapshot, params []byte) (*routing.Decision, error) {
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
