package helm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/devtunnelproxy/devproxy/server/cli"
)

// TestExportK8sValues: `devproxy export k8s` writes the demo's route files
// as the chart's values; the chart renders them into manifests that decode
// strictly, and the mounted ConfigMap gives the demo's route table.
func TestExportK8sValues(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli.RunExportK8s(cli.ExportK8sOptions{Root: "../../examples/demo"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var vals map[string]any
	if err := json.Unmarshal(out.Bytes(), &vals); err != nil {
		t.Fatalf("the values are not JSON (YAML): %v\n%s", err, out.String())
	}
	roundTrip(t, vals)
}

// TestExportK8sIngress: --ingress nginx writes a List of Ingresses for
// the routes an Ingress can express (a prefix or exact location passing
// the path unchanged to a Service by cluster DNS, after the environment's
// map), each with the ingress-nginx annotations that send its paths as
// devproxy does, paths needing other annotations (or another namespace)
// in another Ingress; and
// it names every other route, and what a route loses, with file and line.
func TestExportK8sIngress(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(root, rel), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("apps/shop.conf", strings.Join([]string{
		"location /web/ { proxy_pass http://web.shop.svc.cluster.local:80; }",
		"location = /ping { proxy_pass http://api:8080; }",
		"location ~ ^/re/ { proxy_pass http://api:8080; }",
		"location /local/ { proxy_pass http://127.0.0.1:5173; }",
		"location /strip/ { proxy_pass http://web:80/; }",
		"location = /exact-strip { proxy_pass http://web:80/x; }",
		"location /mapped/ { proxy_pass http://127.0.0.1:5174; }",
		"location /bare { proxy_pass http://bare:80; }",
		"location /upload/ { client_max_body_size 10m; proxy_read_timeout 1500ms; proxy_set_header Host $host; proxy_set_header X-Team shop; proxy_pass http://files:8000; }",
		"location /secure/ { proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection upgrade; proxy_pass https://vault.sec:8443; }",
	}, "\n")+"\n")
	write("devproxy.json", `{"environments": {"staging": {"upstreams": {"127.0.0.1:5174": "docs.shop.svc:8081"}}}}`)
	var out, errb bytes.Buffer
	if code := cli.RunExportK8s(cli.ExportK8sOptions{Root: root, Env: "staging", Ingress: "nginx", Host: "dev.example.com"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var list corev1.List
	strict(t, out.String(), &list)
	const a = "nginx.ingress.kubernetes.io/"
	got := map[string]string{} // path -> type, backend and the Ingress's annotations
	names := map[string]bool{}
	namespaces := map[string]string{} // path -> its Ingress's namespace
	for _, item := range list.Items {
		var ing networkingv1.Ingress
		strict(t, string(item.Raw), &ing)
		names[ing.Name] = true
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || ing.Spec.Rules[0].Host != "dev.example.com" {
			t.Errorf("%s: class %v, host %q", ing.Name, ing.Spec.IngressClassName, ing.Spec.Rules[0].Host)
		}
		var ann []string
		for k, v := range ing.Annotations {
			ann = append(ann, strings.TrimPrefix(k, a)+"="+v)
		}
		slices.Sort(ann)
		for _, p := range ing.Spec.Rules[0].HTTP.Paths {
			namespaces[p.Path] = ing.Namespace
			got[p.Path] = string(*p.PathType) + " " + p.Backend.Service.Name + ":" + itoa(p.Backend.Service.Port.Number) + " " + strings.Join(ann, ",")
		}
	}
	want := map[string]string{
		"/web":        "Prefix web:80 proxy-body-size=0,upstream-vhost=web.shop.svc.cluster.local",
		"/ping":       "Exact api:8080 proxy-body-size=0,upstream-vhost=api:8080",
		"/mapped":     "Prefix docs:8081 proxy-body-size=0,upstream-vhost=docs.shop.svc:8081",
		"/bare":       "Prefix bare:80 proxy-body-size=0,upstream-vhost=bare",
		"/upload":     "Prefix files:8000 proxy-body-size=10485760,proxy-read-timeout=2",
		"/secure":     "Prefix vault:8443 backend-protocol=HTTPS,proxy-body-size=0,upstream-vhost=vault.sec:8443",
		"/strip/(.*)": "ImplementationSpecific web:80 proxy-body-size=0,rewrite-target=/$1,upstream-vhost=web,use-regex=true",
	}
	if len(got) != len(want) {
		t.Errorf("paths %v, want %v", got, want)
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q, want %q", p, got[p], w)
		}
	}
	// An Ingress reaches the Services of its namespace: the one the
	// cluster DNS name gives, or the current one (kubectl's).
	for path, want := range map[string]string{"/web": "shop", "/mapped": "shop", "/secure": "sec", "/ping": "", "/upload": ""} {
		if namespaces[path] != want {
			t.Errorf("%s: namespace %q, want %q", path, namespaces[path], want)
		}
	}
	if len(list.Items) != 7 || !names["devproxy-routes"] || !names["devproxy-routes-7"] {
		t.Errorf("%d Ingresses %v: one per set of annotations, the first named devproxy-routes", len(list.Items), names)
	}
	for _, line := range []string{
		"apps/shop.conf:3: warning: a regex",
		"apps/shop.conf:4: warning: the upstream 127.0.0.1",
		"apps/shop.conf:6: warning: proxy_pass replaces the path (/exact-strip → /x); an Ingress rewrites it only under a prefix ending in /",
		"apps/shop.conf:8: warning: the prefix /bare also matches /barex in devproxy",
		"apps/shop.conf:9: warning: proxy_set_header X-Team is not carried",
		"note: ingress-nginx matches every path of a host as a case-insensitive regex",
	} {
		if !strings.Contains(errb.String(), line) {
			t.Errorf("stderr lacks %q:\n%s", line, errb.String())
		}
	}
	if strings.Contains(errb.String(), "shop.conf:10") {
		t.Errorf("the WebSocket headers, which ingress-nginx passes itself, are reported:\n%s", errb.String())
	}
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }
