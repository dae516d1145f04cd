package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

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

// ingress is a List of ingress-nginx Ingresses for the active prefix and
// exact locations that pass the path on unchanged (proxy_pass without a
// URI part) to a Service named by cluster DNS (name, name.ns,
// name.ns.svc[.cluster.local]) and a port. Each path carries the
// annotations that make ingress-nginx send it as devproxy does
// (ingressAnnotations); paths that need different ones go to separate
// Ingresses, since annotations apply to a whole Ingress. Anything else
// (regex locations, prefix rewriting, rewrite and return, IP addresses)
// is reported with its file and line: the chart serves those.
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
	type group struct {
		namespace   string
		annotations map[string]string
		paths       []path
	}
	var groups []*group
	byKey := map[string]*group{}
	var warns []string
	regexPaths := false
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
		svc, ns, ok := serviceName(u.Host)
		rewrite := u.HasURI && u.URI != "" && u.URI != loc.Spec
		switch {
		case rewrite && (pathType != "Prefix" || !strings.HasSuffix(loc.Spec, "/")):
			warns = append(warns, at+"proxy_pass replaces the path ("+loc.Spec+" → "+u.URI+"); an Ingress rewrites it only under a prefix ending in /")
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
		ann, lost := ingressAnnotations(loc, u)
		for _, l := range lost {
			warns = append(warns, at+l)
		}
		p := path{Path: strings.TrimSuffix(loc.Spec, "/"), PathType: pathType}
		if pathType == "Exact" || p.Path == "" {
			p.Path = loc.Spec
		}
		if rewrite {
			// nginx replaces the prefix with proxy_pass's URI part:
			// ingress-nginx's rewrite-target on a regex path does the same.
			p.Path, p.PathType = regexp.QuoteMeta(loc.Spec)+"(.*)", "ImplementationSpecific"
			ann[ingressAnnotation+"use-regex"] = "true"
			ann[ingressAnnotation+"rewrite-target"] = u.URI + "$1"
			regexPaths = true
		}
		p.Backend.Service.Name = svc
		p.Backend.Service.Port.Number = u.Port
		// An Ingress reaches the Services of its own namespace only.
		key, _ := json.Marshal([]any{ns, ann}) // maps marshal with sorted keys
		g := byKey[string(key)]
		if g == nil {
			g = &group{namespace: ns, annotations: ann}
			byKey[string(key)] = g
			groups = append(groups, g)
		}
		g.paths = append(g.paths, p)
	}
	if regexPaths {
		warns = append(warns, "note: ingress-nginx matches every path of a host as a case-insensitive regex once one Ingress of the host has use-regex (the paths that strip their prefix): a prefix /a then also matches /A and /ab")
	}
	items := []any{}
	for i, g := range groups {
		rule := map[string]any{"http": map[string]any{"paths": g.paths}}
		if host != "" {
			rule["host"] = host
		}
		n := name
		if i > 0 {
			n = name + "-" + strconv.Itoa(i+1)
		}
		meta := map[string]any{"name": n, "labels": map[string]string{"app.kubernetes.io/managed-by": "devproxy"}, "annotations": g.annotations}
		if g.namespace != "" {
			meta["namespace"] = g.namespace
		}
		items = append(items, map[string]any{
			"apiVersion": "networking.k8s.io/v1",
			"kind":       "Ingress",
			"metadata":   meta,
			"spec":       map[string]any{"ingressClassName": "nginx", "rules": []any{rule}},
		})
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, warns
}

// ingressAnnotation is the prefix of ingress-nginx's annotations.
const ingressAnnotation = "nginx.ingress.kubernetes.io/"

// ingressAnnotations are the ingress-nginx annotations under which a
// location's requests reach u as devproxy sends them, and what of the
// location they cannot carry:
//   - the body size: any unless the location sets client_max_body_size
//     (ingress-nginx's default is 1m);
//   - https to the upstream (backend-protocol);
//   - proxy_read/send/connect_timeout, in whole seconds;
//   - the Host the upstream gets: nginx's default is the upstream's host
//     (port aside when it is the scheme's), where ingress-nginx sends the
//     client's unless upstream-vhost says otherwise; proxy_set_header
//     Host $host keeps the client's.
//
// WebSocket upgrades and the X-Forwarded-* headers ingress-nginx passes
// itself; other request and response headers it cannot set per path
// without configuration snippets, which clusters often forbid.
func ingressAnnotations(loc *routefile.Location, u *routefile.UpstreamURL) (map[string]string, []string) {
	a := map[string]string{ingressAnnotation + "proxy-body-size": "0"}
	var lost []string
	if loc.MaxBodySize > 0 {
		a[ingressAnnotation+"proxy-body-size"] = strconv.FormatInt(loc.MaxBodySize, 10)
	}
	if u.Scheme == "https" {
		a[ingressAnnotation+"backend-protocol"] = "HTTPS"
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"proxy-read-timeout", loc.ReadTimeout}, {"proxy-send-timeout", loc.SendTimeout}, {"proxy-connect-timeout", loc.ConnectTimeout}} {
		if t.d > 0 {
			a[ingressAnnotation+t.name] = strconv.FormatInt(int64((t.d+time.Second-1)/time.Second), 10)
		}
	}
	vhost := u.ProxyHost() // nginx's Host for the upstream
	for _, h := range loc.ProxySetHeaders {
		switch name := strings.ToLower(h.Name); {
		case name == "host" && (h.Value.Raw == "$host" || h.Value.Raw == "$http_host"):
			vhost = "" // the client's Host, ingress-nginx's default
		case name == "host" && !strings.Contains(h.Value.Raw, "$"):
			vhost = h.Value.Raw
		case name == "upgrade" || name == "connection" || strings.HasPrefix(name, "x-forwarded-") || name == "x-real-ip":
			// ingress-nginx sends these itself
		default:
			lost = append(lost, "proxy_set_header "+h.Name+" is not carried by the Ingress (ingress-nginx sets no request header per path)")
		}
	}
	if vhost != "" {
		a[ingressAnnotation+"upstream-vhost"] = vhost
	}
	if len(loc.AddHeaders) > 0 || len(loc.HideHeaders) > 0 {
		lost = append(lost, "add_header and proxy_hide_header are not carried by the Ingress")
	}
	if len(loc.ErrorPages) > 0 || loc.InterceptErrors {
		lost = append(lost, "error_page and proxy_intercept_errors are not carried by the Ingress")
	}
	return a, lost
}

// serviceName is the Service a cluster DNS name names, and its namespace
// when the name says it: "web", "web.shop", "web.shop.svc",
// "web.shop.svc.cluster.local".
func serviceName(host string) (name, namespace string, ok bool) {
	if net.ParseIP(strings.Trim(host, "[]")) != nil || host == "localhost" {
		return "", "", false
	}
	labels := strings.Split(strings.TrimSuffix(host, ".cluster.local"), ".")
	if len(labels) > 3 || len(labels) == 3 && labels[2] != "svc" {
		return "", "", false
	}
	for _, l := range labels {
		if l == "" {
			return "", "", false
		}
	}
	if len(labels) > 1 {
		namespace = labels[1]
	}
	_, err := strconv.Atoi(labels[0])
	return labels[0], namespace, err != nil
}
