package calliope

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

// The tools a model may call, answered by the engine, the scanner and the
// healer. Each answers JSON text; failures answer {"error": "…"} so the
// model can say what went wrong instead of the turn failing.

const (
	toolListRoutes   = "list_routes"
	toolExplainURL   = "explain_url"
	toolRouteHealth  = "route_health"
	toolProbeRoute   = "probe_route"
	toolRecentErrors = "recent_errors"
	toolProposeFix   = "propose_fix"
)

const routeParam = `{"type":"object","properties":{"route":{"type":"string","description":"the route as the table names it, such as /myapp/"}},"required":["route"],"additionalProperties":false}`

// Tools are the tools offered to the model.
func Tools() []provider.Tool {
	return []provider.Tool{
		{Name: toolListRoutes, Description: "List every route of the composed route table: file, line, upstream, whether it is active and why not, conflicts and files with errors.",
			Parameters: json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`)},
		{Name: toolExplainURL, Description: "Explain what the proxy does with a request: the location that matches, the match trace, and what the upstream receives.",
			Parameters: json.RawMessage(`{"type":"object","properties":{"url":{"type":"string","description":"a path (/myapp/x?y=1) or a URL through the proxy"}},"required":["url"],"additionalProperties":false}`)},
		{Name: toolRouteHealth, Description: "The latest health of a route: status, reason, assets, hot reload, real traffic.",
			Parameters: json.RawMessage(routeParam)},
		{Name: toolProbeRoute, Description: "Probe a route now (its page, assets and hot-reload socket) and return its fresh health.",
			Parameters: json.RawMessage(routeParam)},
		{Name: toolRecentErrors, Description: "The newest requests of a route that failed through the proxy (5xx or unanswered).",
			Parameters: json.RawMessage(routeParam)},
		{Name: toolProposeFix, Description: "Ask the healing patterns for a checked fix of a route's problem: a route-file edit or the change to make in the app's config.",
			Parameters: json.RawMessage(routeParam)},
	}
}

// runTool answers one tool call.
func (t *turn) runTool(call provider.ToolCall) string {
	var args struct {
		URL   string `json:"url"`
		Route string `json:"route"`
	}
	if strings.TrimSpace(call.Arguments) != "" {
		if err := json.Unmarshal([]byte(call.Arguments), &args); err != nil {
			return toolError("the arguments are not JSON: %v", err)
		}
	}
	e := t.a.opts.Engine
	switch call.Name {
	case toolListRoutes:
		t.thinking("reading the route table …")
		table := e.Table()
		return toolJSON(struct {
			Listen string `json:"listen"`
			routing.Report
			BrokenFiles []string `json:"filesWithErrors"`
		}{table.Config.Listen, table.Report(), brokenFiles(table)})
	case toolExplainURL:
		if args.URL == "" {
			return toolError("explain_url needs {\"url\": \"/path\"}")
		}
		t.thinking("explaining %s …", args.URL)
		table := e.Table()
		req, err := routing.ExplainRequest(table.Config, args.URL, "GET", nil, false)
		if err != nil {
			return toolError("%v", err)
		}
		return toolJSON(table.Explain(req))
	case toolRouteHealth, toolProbeRoute, toolRecentErrors, toolProposeFix:
		if args.Route == "" {
			return toolError("%s needs {\"route\": \"/app/\"}", call.Name)
		}
	default:
		return toolError("there is no tool %q", call.Name)
	}
	switch call.Name {
	case toolRouteHealth:
		t.thinking("reading the health of %s …", args.Route)
		return t.healthOf(args.Route)
	case toolProbeRoute:
		t.thinking("probing %s …", args.Route)
		doc, err := e.Rescan(t.ctx, args.Route)
		if err != nil {
			return toolError("cannot probe %s: %v", args.Route, err)
		}
		t.facts.health = doc
		return t.healthOf(args.Route)
	case toolRecentErrors:
		t.thinking("reading the recent errors of %s …", args.Route)
		errs := e.RecentErrors(args.Route, 10)
		if errs == nil {
			errs = []ProxyError{}
		}
		return toolJSON(map[string]any{"route": args.Route, "errors": errs})
	}
	// propose_fix
	t.thinking("looking for a fix for %s …", args.Route)
	if t.a.opts.Healer == nil {
		return toolJSON(map[string]any{"route": args.Route, "advice": []any{}, "note": "no healing patterns are loaded"})
	}
	type advice struct {
		Pattern string `json:"pattern"`
		Summary string `json:"summary"`
		Fix     *Fix   `json:"fix,omitempty"`
	}
	out := []advice{}
	for _, a := range t.a.opts.Healer.Advise(t.ctx, args.Route) {
		t.facts.addAdvice(args.Route, a)
		out = append(out, advice{a.Pattern, a.Summary, a.Fix})
	}
	return toolJSON(map[string]any{"route": args.Route, "advice": out})
}

// healthOf is a route's health report as a tool answer.
func (t *turn) healthOf(route string) string {
	if r := t.facts.report(route); r != nil {
		return toolJSON(r)
	}
	if t.facts.health.Source == "none" {
		return toolError("no proxy runs, so %s has no health; explain_url still works", route)
	}
	return toolError("no active route %s has a health report", route)
}

func toolJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return toolError("%v", err)
	}
	return string(b)
}

func toolError(format string, args ...any) string {
	b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(format, args...)})
	return string(b)
}
