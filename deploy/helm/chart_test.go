// Package helm checks the chart in devproxy/ without a cluster: helm's own
// lint and template (helm as a Go module), every rendered manifest decoded
// strictly into the k8s.io/api types, the hardening the issue asks for, and
// a round trip of the demo's route files through the ConfigMap.
package helm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

const chartDir = "devproxy"

// demoValues carries the demo workspace's route files as the chart's
// values.
func demoValues(t *testing.T) map[string]any {
	t.Helper()
	apps := map[string]any{}
	files, _ := filepath.Glob("../../examples/demo/apps/*.conf")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		apps[filepath.Base(f)] = string(b)
	}
	res, err := os.ReadFile("../../examples/demo/.devproxy/resolutions.json")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"routes": map[string]any{"apps": apps, "resolutions": string(res)}}
}

// render runs `helm template` on the chart with vals.
func render(t *testing.T, vals map[string]any) string {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun, install.ClientOnly, install.ReleaseName, install.Namespace = true, true, "dev", "default"
	install.KubeVersion = &chartutil.KubeVersion{Version: "v1.31.0", Major: "1", Minor: "31"}
	rel, err := install.Run(ch, vals)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	return rel.Manifest
}

// strict decodes one manifest into v, refusing unknown fields.
func strict(t *testing.T, doc string, v any) {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("not YAML: %v\n%s", err, doc)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("does not decode strictly into %T: %v\n%s", v, err, doc)
	}
}

// manifests splits helm's output into documents by kind.
func manifests(t *testing.T, out string) map[string]string {
	t.Helper()
	byKind := map[string]string{}
	for _, doc := range strings.Split(out, "\n---") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil || meta.Kind == "" {
			continue
		}
		if _, dup := byKind[meta.Kind]; dup {
			t.Fatalf("two %s manifests", meta.Kind)
		}
		byKind[meta.Kind] = doc
	}
	return byKind
}

func TestLint(t *testing.T) {
	for _, vals := range []map[string]any{{}, demoValues(t), {"ingress": map[string]any{"enabled": true}}} {
		res := action.NewLint().Run([]string{chartDir}, vals)
		for _, m := range res.Messages {
			if m.Severity > 1 { // above INFO: warnings and errors
				t.Errorf("helm lint: %s", m)
			}
		}
		for _, err := range res.Errors {
			t.Errorf("helm lint: %v", err)
		}
	}
}

func TestTemplateDecodesStrictlyAndIsHardened(t *testing.T) {
	vals := demoValues(t)
	vals["ingress"] = map[string]any{"enabled": true, "host": "dev.example.com"}
	vals["environment"] = "staging"
	docs := manifests(t, render(t, vals))
	var dep appsv1.Deployment
	var cm corev1.ConfigMap
	var svc corev1.Service
	var ing networkingv1.Ingress
	for kind, v := range map[string]any{"Deployment": &dep, "ConfigMap": &cm, "Service": &svc, "Ingress": &ing} {
		doc, ok := docs[kind]
		if !ok {
			t.Fatalf("no %s rendered; got %v", kind, keys(docs))
		}
		strict(t, doc, v)
	}
	if len(docs) != 4 {
		t.Errorf("rendered %v", keys(docs))
	}
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container securityContext not hardened: %+v", sc)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext does not run as non-root: %+v", psc)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/devproxy/healthz" {
			t.Errorf("%s probe: %+v", name, p)
		}
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources: %+v", c.Resources)
	}
	// Kubernetes appends args to the image's ENTRYPOINT unless command
	// replaces it: the command must be the binary alone.
	if strings.Join(c.Command, " ") != "/devproxy" {
		t.Errorf("command %q: args would be appended to the image's entry point", c.Command)
	}
	args := strings.Join(c.Args, " ")
	if !strings.HasPrefix(args, "serve --headless --root /routes") || !strings.Contains(args, "--env staging") {
		t.Errorf("args: %s", args)
	}
	if svc.Spec.Ports[0].Port != 8080 || ing.Spec.Rules[0].Host != "dev.example.com" {
		t.Errorf("service %+v, ingress %+v", svc.Spec.Ports, ing.Spec.Rules)
	}
}

// TestConfigMapRoundTrip: the route files the ConfigMap carries, placed
// where the Deployment mounts them, give the same route table (and
// findings) as the demo folder they came from.
func TestConfigMapRoundTrip(t *testing.T) {
	roundTrip(t, demoValues(t))
}

// roundTrip renders vals and checks that the ConfigMap's files, mounted
// as the Deployment mounts them, route as the demo does.
func roundTrip(t *testing.T, vals map[string]any) {
	t.Helper()
	docs := manifests(t, render(t, vals))
	var dep appsv1.Deployment
	var cm corev1.ConfigMap
	strict(t, docs["Deployment"], &dep)
	strict(t, docs["ConfigMap"], &cm)
	mounted := t.TempDir()
	var items []corev1.KeyToPath
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			items = v.ConfigMap.Items
		}
	}
	if len(items) == 0 {
		t.Fatal("the Deployment mounts no ConfigMap items")
	}
	for _, it := range items {
		p := filepath.Join(mounted, it.Path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(cm.Data[it.Key]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report := func(root string) string {
		ws, err := routing.NewWorkspace(root)
		if err != nil {
			t.Fatal(err)
		}
		// Files and routes come newest file first; the ConfigMap's files
		// all have one time, so the order is compared as a set.
		rep := ws.Served().Report()
		sort.Slice(rep.Files, func(i, j int) bool { return rep.Files[i].Path < rep.Files[j].Path })
		sort.Slice(rep.Routes, func(i, j int) bool {
			a, b := rep.Routes[i], rep.Routes[j]
			return a.File < b.File || a.File == b.File && a.Line < b.Line
		})
		b, _ := json.Marshal(struct {
			R routing.Report
			N int
		}{rep, len(ws.Served().Diagnostics)})
		return string(b)
	}
	if src, got := report("../../examples/demo"), report(mounted); src != got {
		t.Errorf("the ConfigMap's routes differ from the source:\nsource:    %s\nConfigMap: %s", src, got)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
