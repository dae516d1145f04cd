package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// openWorkspace opens root with the environment profile env of its
// devproxy.json applied ("" for none). A name devproxy.json does not define
// is an error that lists the ones it does.
func openWorkspace(root, env string) (*routing.Workspace, error) {
	ws, err := routing.NewWorkspaceWithDefaults(root, routing.Config{Environment: env})
	if err != nil {
		return nil, err
	}
	if err := ws.Table().Config.UnknownEnvironment(); err != nil {
		return nil, err
	}
	return ws, nil
}

// EnvDiffOptions are the flags of `devproxy env diff A B`.
type EnvDiffOptions struct {
	Root   string
	A, B   string // environment names; "" is no environment (the top level)
	Format string // "text" (the default) or "json"
}

// EnvDiff is the document of `devproxy env diff --format json`: the routes
// whose upstream differs between two environments, and the listen and
// tunnel settings that differ.
type EnvDiff struct {
	A        string          `json:"a"`
	B        string          `json:"b"`
	Routes   []RouteUpstream `json:"routes"`
	Settings []SettingDiff   `json:"settings"`
}

// RouteUpstream is one location block whose upstream differs: where it is
// written and the origin it sends to in each environment. A proxy_pass
// whose host comes from a request variable is known only per request, so
// it appears here only when its text is a known origin.
type RouteUpstream struct {
	Route string `json:"route"` // the location as written: "/api/", "~ ^/img/"
	File  string `json:"file"`
	Line  int    `json:"line"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// SettingDiff is one listen or tunnel setting that differs.
type SettingDiff struct {
	Setting string `json:"setting"` // "listen", "tunnel.listen", "tunnel.publicUrl", "tunnel.provider"
	A       string `json:"a"`
	B       string `json:"b"`
}

// RunEnvDiff prints the differences between two environment profiles. It
// exits 0 whether or not they differ (a report, not a check), 2 on bad
// usage or an unknown name.
func RunEnvDiff(opts EnvDiffOptions, stdout, stderr io.Writer) int {
	var tables [2]*routing.RouteTable
	for i, env := range []string{opts.A, opts.B} {
		ws, err := openWorkspace(opts.Root, env)
		if err != nil {
			fmt.Fprintf(stderr, "devproxy env diff: %v\n", err)
			return ExitUsage
		}
		tables[i] = ws.Table()
	}
	diff := diffEnvironments(opts.A, opts.B, tables[0], tables[1])
	if opts.Format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(diff); err != nil {
			fmt.Fprintf(stderr, "devproxy env diff: %v\n", err)
			return ExitFail
		}
		return ExitOK
	}
	writeEnvDiffText(stdout, diff)
	return ExitOK
}

// diffEnvironments compares two tables of the same files: the blocks are
// in the same composed order, so they pair up by file, line and route.
func diffEnvironments(a, b string, ta, tb *routing.RouteTable) EnvDiff {
	d := EnvDiff{A: a, B: b, Routes: []RouteUpstream{}, Settings: []SettingDiff{}}
	type key struct {
		file string
		line int
		spec string
	}
	upstreamB := map[key]string{}
	for _, blk := range tb.Blocks {
		upstreamB[key{blk.File.Path, blk.Loc.Line(), blk.Loc.Label()}] = blk.Upstream
	}
	for _, blk := range ta.Blocks {
		if blk.Loc.ProxyPass == nil {
			continue
		}
		k := key{blk.File.Path, blk.Loc.Line(), blk.Loc.Label()}
		if ub, ok := upstreamB[k]; ok && ub != blk.Upstream {
			d.Routes = append(d.Routes, RouteUpstream{Route: k.spec, File: k.file, Line: k.line, A: blk.Upstream, B: ub})
		}
	}
	ca, cb := ta.Config, tb.Config
	for _, s := range []struct{ name, a, b string }{
		{"listen", ca.Listen, cb.Listen},
		{"tunnel.listen", ca.Tunnel.Listen, cb.Tunnel.Listen},
		{"tunnel.publicUrl", ca.Tunnel.PublicURL, cb.Tunnel.PublicURL},
		{"tunnel.provider", ca.Tunnel.Provider, cb.Tunnel.Provider},
	} {
		if s.a != s.b {
			d.Settings = append(d.Settings, SettingDiff{Setting: s.name, A: s.a, B: s.b})
		}
	}
	return d
}

// writeEnvDiffText prints the differences for people:
//
//	dev -> staging
//	  apps/web.conf:1 location /web/: http://127.0.0.1:5173 -> http://web.staging.internal:80
//	  listen: 127.0.0.1:8080 -> 0.0.0.0:8080
func writeEnvDiffText(w io.Writer, d EnvDiff) {
	fmt.Fprintf(w, "%s -> %s\n", cmp.Or(d.A, "(no environment)"), cmp.Or(d.B, "(no environment)"))
	if len(d.Routes) == 0 && len(d.Settings) == 0 {
		fmt.Fprintln(w, "  no differences in upstreams, listen or tunnel")
		return
	}
	for _, r := range d.Routes {
		fmt.Fprintf(w, "  %s:%d location %s: %s -> %s\n", r.File, r.Line, r.Route, r.A, r.B)
	}
	for _, s := range d.Settings {
		fmt.Fprintf(w, "  %s: %s -> %s\n", s.Setting, cmp.Or(s.A, "(none)"), cmp.Or(s.B, "(none)"))
	}
}
