package lsp

import (
	"encoding/json"
	"sort"
	"strconv"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The devproxy/ requests (docs/lsp.md), served through Request
// (initialize.go); their types are in devproxy_types.go.

// routes answers devproxy/routes: the route table as the routes view shows
// it.
func (s *Server) routes(snap *snapshot) (*RoutesResult, error) {
	t := snap.table
	res := RoutesResult{Version: snap.version, Root: t.Root, Folders: []FolderInfo{}, Files: []RouteFileInfo{}, Routes: []RouteInfo{},
		Conflicts: t.ConflictReports(), Proxy: s.proxy.current()}
	if res.Proxy.State == "" {
		res.Proxy = ProxyStatus{State: "starting", Address: t.Config.Listen, Message: "The proxy has not started yet.", Folders: []ProxyFolder{}}
	}
	for _, f := range t.Folders {
		res.Folders = append(res.Folders, FolderInfo{Label: f.Label, Root: f.Root})
	}
	for _, f := range t.FileReports() {
		res.Files = append(res.Files, RouteFileInfo{FileReport: f, URI: string(s.uriOf(f.Path))})
	}
	seen := map[string]int{}
	for _, b := range t.Blocks {
		l := b.Loc
		id := b.File.Path + "#" + l.Label()
		seen[id]++
		if n := seen[id]; n > 1 {
			id += "#" + strconv.Itoa(n)
		}
		ri := RouteInfo{RouteReport: b.Report(), ID: id, URI: string(s.uriOf(b.File.Path)),
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
