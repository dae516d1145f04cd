package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// ExportK8sOptions are the flags of `devproxy export k8s`.
type ExportK8sOptions struct {
	Root    string
	Env     string // the environment profile the chart runs with (--env)
	Ingress string // "": a values file for deploy/helm/devproxy; "nginx": Ingress resources for ingress-nginx
	Name    string // the Ingress's name
	Host    string // the Ingress rule's host; any host when empty
	Output  string // a file; stdout when empty or "-"
}

// RunExportK8s writes either a values file for the Helm chart, carrying
// the workspace's route files (JSON, which YAML reads), or with --ingress
// nginx the routes an Ingress can express as an ingress-nginx Ingress. What
// cannot be carried is printed on stderr with its file and line.
func RunExportK8s(opts ExportK8sOptions, stdout, stderr io.Writer) int {
	ws, err := openWorkspace(opts.Root, opts.Env)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy export k8s: %v\n", err)
		return ExitUsage
	}
	t := ws.Served()
	var doc any
	var warns []string
	switch opts.Ingress {
	case "":
		doc, warns = chartValues(ws.Root(), t, opts.Env)
	case "nginx":
		name := opts.Name
		if name == "" {
			name = "devproxy-routes"
		}
		doc, warns = ingress(t, name, opts.Host)
	default:
		fmt.Fprintf(stderr, "devproxy export k8s: --ingress %q: the only Ingress controller is nginx (ingress-nginx)\n", opts.Ingress)
		return ExitUsage
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	b = append(b, '\n')
	if opts.Output == "" || opts.Output == "-" {
		stdout.Write(b)
	} else if err := os.WriteFile(opts.Output, b, 0o644); err != nil {
		fmt.Fprintf(stderr, "devproxy export k8s: %v\n", err)
		return ExitFail
	}
	for _, w := range warns {
		fmt.Fprintln(stderr, w)
	}
	return ExitOK
}

// chartValues carries the route files as deploy/helm/devproxy's values:
// apps/*.conf, overrides/*.conf, devproxy.json and the pins.
func chartValues(root string, t *routing.RouteTable, env string) (any, []string) {
	apps, overrides := map[string]string{}, map[string]string{}
	var warns []string
	for _, f := range t.Files {
		dir, base := filepath.Split(filepath.ToSlash(f.Path))
		switch {
		case dir == "apps/" && f.Kind == routing.AppFile:
			apps[base] = string(f.Text)
		case dir == "overrides/" && f.Kind == routing.OverrideFile:
			overrides[base] = string(f.Text)
		default:
			warns = append(warns, f.Path+":1: warning: the chart carries apps/*.conf and overrides/*.conf only; this file is left out")
		}
	}
	routes := map[string]any{"apps": apps, "overrides": overrides}
	for key, rel := range map[string]string{"devproxyJson": routing.ConfigFile, "resolutions": routing.ResolutionsFile} {
		if b, err := os.ReadFile(filepath.Join(root, rel)); err == nil {
			routes[key] = string(b)
		}
	}
	return map[string]any{"routes": routes, "environment": env}, warns
}

// ingress is an ingress-nginx Ingress for the active prefix and exact
// locations that pass the path on unchanged (proxy_pass without a URI
// part) to a Service named by cluster DNS (name, name.ns,
// name.ns.svc[.cluster.local]) and a port. Anything else (regex
// locations, prefix rewriting, rewrite and return, IP addresses) is
// reported with its file and line: the chart serves those.
func ingress(t *routing.RouteTable, name, host string) (any, []string) {
	type backend struct {
		Service struct {
			Name string `json:"name"`
			Port struct {
				Number int `json:"number"`
			} `json:"port"`
		} `json:"service"`
	}
	type path struct {
		Path     string  `json:"path"`
		PathType string  `json:"pathType"`
		Backend  backend `json:"backend"`
	}
	var paths []path
	var warns []string
	for _, blk := range t.Blocks {
		if !blk.Active {
			continue
		}
		loc := blk.Loc
		at := fmt.Sprintf("%s:%d: warning: ", blk.File.Path, loc.Line())
		pathType := ""
		switch loc.Modifier {
		case routefile.ModPrefix, routefile.ModNoRegex:
			pathType = "Prefix"
		case routefile.ModExact:
			pathType = "Exact"
		default:
			warns = append(warns, at+"a regex location is not expressed as an Ingress path")
			continue
		}
		if loc.ProxyPass == nil || loc.ProxyPass.Static == nil || len(loc.Script) > 0 {
			warns = append(warns, at+"only a plain proxy_pass to a literal Service is expressed as an Ingress path")
			continue
		}
		u := loc.ProxyPass.Static // a literal proxy_pass, checked above
		if m, _, ok := blk.MapUpstream(u); ok {
			u = m
		}
		svc, ok := serviceName(u.Host)
		switch {
		case u.HasURI && u.URI != "" && u.URI != loc.Spec:
			warns = append(warns, at+"proxy_pass replaces the path ("+loc.Spec+" → "+u.URI+"); an Ingress passes it unchanged")
			continue
		case u.Scheme != "http":
			warns = append(warns, at+"an https upstream needs the backend-protocol annotation per Service; not expressed")
			continue
		case !ok:
			warns = append(warns, at+"the upstream "+u.Host+" is not a Service name (name, name.namespace or name.namespace.svc.cluster.local)")
			continue
		}
		if pathType == "Prefix" && !strings.HasSuffix(loc.Spec, "/") {
			// An Ingress prefix matches whole path segments; nginx's
			// matches characters.
			warns = append(warns, at+"the prefix "+loc.Spec+" also matches "+loc.Spec+"x in devproxy; the Ingress path sends only "+loc.Spec+" and "+loc.Spec+"/… to the Service")
		}
		p := path{Path: strings.TrimSuffix(loc.Spec, "/"), PathType: pathType}
		if pathType == "Exact" || p.Path == "" {
			p.Path = loc.Spec
		}
		p.Backend.Service.Name = svc
		p.Backend.Service.Port.Number = u.Port
		paths = append(paths, p)
	}
	rule := map[string]any{"http": map[string]any{"paths": paths}}
	if host != "" {
		rule["host"] = host
	}
	if paths == nil {
		rule["http"] = map[string]any{"paths": []path{}}
	}
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "Ingress",
		"metadata":   map[string]any{"name": name, "labels": map[string]string{"app.kubernetes.io/managed-by": "devproxy"}},
		"spec":       map[string]any{"ingressClassName": "nginx", "rules": []any{rule}},
	}, warns
}

// serviceName is the Service a cluster DNS name names: "web",
// "web.shop", "web.shop.svc", "web.shop.svc.cluster.local".
func serviceName(host string) (string, bool) {
	if net.ParseIP(strings.Trim(host, "[]")) != nil || host == "localhost" {
		return "", false
	}
	labels := strings.Split(strings.TrimSuffix(host, ".cluster.local"), ".")
	if len(labels) > 3 || len(labels) == 3 && labels[2] != "svc" {
		return "", false
	}
	for _, l := range labels {
		if l == "" {
			return "", false
		}
	}
	_, err := strconv.Atoi(labels[0])
	return labels[0], err != nil
}
