package nginxexport_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/internal/nginxtest"
	"github.com/devtunnelproxy/devproxy/proxy/nginxexport"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

func table(t testing.TB, files map[string]string) *routing.RouteTable {
	t.Helper()
	root := t.TempDir()
	proxytest.WriteFiles(t, root, files)
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	return ws.Table()
}

// nginxAccepts runs nginx -t on a complete configuration.
func nginxAccepts(t *testing.T, conf string) error {
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		// nginx's compiled-in log and temp paths (/var/log/nginx,
		// /var/lib/nginx) are root's: point them into dir, as an
		// unprivileged nginx would be configured.
		conf = strings.Replace(conf, "http {\n", fmt.Sprintf("http {\naccess_log off;\nclient_body_temp_path %[1]s/body;\nproxy_temp_path %[1]s/proxy;\nfastcgi_temp_path %[1]s/fastcgi;\nuwsgi_temp_path %[1]s/uwsgi;\nscgi_temp_path %[1]s/scgi;\n", dir), 1)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	g := fmt.Sprintf("pid %[1]s/nginx.pid; error_log %[1]s/error.log;", dir)
	if os.Geteuid() == 0 {
		g += " user root;"
	}
	out, err := exec.Command(nginxtest.Binary(t), "-t", "-q", "-p", dir, "-c", path, "-g", g).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nginx -t: %v\n%s\n--- config ---\n%s", err, out, conf)
	}
	return nil
}

// TestNginxAcceptsEveryExport checks both output forms of every route set
// of the differential corpus with nginx -t: the complete nginx.conf, and
// the server block inside an http block.
func TestNginxAcceptsEveryExport(t *testing.T) {
	needNginx(t)
	sets := append(handSets("127.0.0.1:9", "127.0.0.1:9"), generatedRouteSets("127.0.0.1:9", generatedSets)...)
	for _, s := range sets {
		tbl := table(t, s.files)
		full := nginxexport.Export(tbl, nginxexport.Options{Listen: "127.0.0.1:8080"})
		if err := nginxAccepts(t, full.Text); err != nil {
			t.Errorf("%s: complete nginx.conf: %v", s.name, err)
		}
		server := nginxexport.Export(tbl, nginxexport.Options{Listen: "127.0.0.1:8080", ServerOnly: true})
		if err := nginxAccepts(t, "events {}\nhttp {\n"+server.Text+"}\n"); err != nil {
			t.Errorf("%s: --server-only: %v", s.name, err)
		}
	}
}

// TestExportCarriesTheComposedTable checks what the export says about the
// blocks it leaves out and the translations it makes.
func TestExportCarriesTheComposedTable(t *testing.T) {
	tbl := table(t, map[string]string{
		"apps/a.conf":        "location /api/ { proxy_pass http://127.0.0.1:1/; }\n",
		"apps/b.conf":        "location /api { proxy_pass http://127.0.0.1:2/; }\n",
		"overrides/ops.conf": "location /ops/ { proxy_pass http://$u/v/; set $u $h; set $h 127.0.0.1:3; }\n",
		"apps/devproxy.conf": "location /devproxy/x/ { return 204; }\n",
		"apps/re.conf":       "location ~* ^/re/(.*)$ { proxy_pass http://127.0.0.1:4/c/$1; }\n",
		"apps/text.conf":     "location = /two-lines {\n    return 200 \"one\ntwo\";\n}\n",
	})
	r := nginxexport.Export(tbl, nginxexport.Options{})
	for _, want := range []string{
		"listen 127.0.0.1:8080;",
		"absolute_redirect off;",
		"proxy_set_header X-Forwarded-Proto $scheme;\n            set $devproxy_answer",
		"error_page 502 503 = @devproxy_unavailable;\n            error_page 504 = @devproxy_timeout;",
		"location /ops/ {\n            set $h 127.0.0.1:3;\n            set $u $h;\n            proxy_pass http://127.0.0.1:3/v/;",
		"location /devproxy/x/ is left out",
		"return 200 \"one\\ntwo\";", // the newline escaped, not indented
		"location ~* ^/re/(.*)$ {\n            rewrite (?i)^/re/(.*)$ /c/$1 break;\n            proxy_pass http://127.0.0.1:4;",
		"return 404 ",
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("export lacks %q:\n%s", want, r.Text)
		}
	}
	// Exactly one of the files contesting /api/ is exported, and the other
	// is a comment naming the winner.
	if strings.Count(r.Text, "location /api") != 2 || !strings.Contains(r.Text, "wins /api/") {
		t.Errorf("the conflict over /api/ is not carried:\n%s", r.Text)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
}

// TestExportWarnsWhatNginxCannotSay checks the warning (file:line) for a
// proxy_pass nginx would run differently.
func TestExportWarnsWhatNginxCannotSay(t *testing.T) {
	tbl := table(t, map[string]string{
		"apps/a.conf": "# a comment\nlocation /a/ { proxy_pass http://$http_x_up/v/; }\n",
	})
	r := nginxexport.Export(tbl, nginxexport.Options{})
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0].String(), "apps/a.conf:2: ") {
		t.Fatalf("warnings = %v", r.Warnings)
	}
	tbl = table(t, map[string]string{"apps/re.conf": "location ~ ^/re/(.*)$ {\n    rewrite ^/re/old/(.*)$ /re/new/$1 break;\n    proxy_pass http://127.0.0.1:4/c/$1;\n}\n"})
	r = nginxexport.Export(tbl, nginxexport.Options{})
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0].String(), "apps/re.conf:1: ") {
		t.Fatalf("warnings = %v", r.Warnings)
	}
	tbl = table(t, map[string]string{"apps/broken.conf": "location /b/ { proxy_pass http://127.0.0.1:1/ }\n"})
	r = nginxexport.Export(tbl, nginxexport.Options{})
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0].String(), "apps/broken.conf:1: has errors") {
		t.Fatalf("warnings = %v", r.Warnings)
	}
	if strings.Contains(r.Text, "location /b/") {
		t.Errorf("a file with errors is exported:\n%s", r.Text)
	}
}

// BenchmarkExport500Files exports a workspace of 500 route files (three
// locations each, one contested route per ten files): "export" is
// nginxexport.Export of the composed table; "from-disk" is what
// `devproxy export nginx` does, reading and composing the folder first.
func BenchmarkExport500Files(b *testing.B) {
	files := map[string]string{}
	for i := 0; i < 500; i++ {
		files[fmt.Sprintf("apps/app%03d.conf", i)] = fmt.Sprintf(
			"location /app%d/ { set $u 127.0.0.1:%d; proxy_set_header Host $host; proxy_pass http://$u/; }\n"+
				"location ~ ^/app%d/api/(.*)$ { proxy_pass http://127.0.0.1:%d/api/$1; }\n"+
				"location /shared%d/ { return 200 \"from %d\"; }\n",
			i, 3000+i, i, 3000+i, i/10, i)
	}
	root := b.TempDir()
	proxytest.WriteFiles(b, root, files)
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		b.Fatal(err)
	}
	tbl := ws.Table()
	if len(tbl.Blocks) != 1500 {
		b.Fatalf("%d blocks", len(tbl.Blocks))
	}
	b.Run("export", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nginxexport.Export(tbl, nginxexport.Options{})
		}
	})
	b.Run("from-disk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ws, err := routing.NewWorkspace(root)
			if err != nil {
				b.Fatal(err)
			}
			nginxexport.Export(ws.Table(), nginxexport.Options{})
		}
	})
}
