package nginxdiff

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/internal/nginxtest"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// setNames are the variable names whose `set` nginx and devproxy must
// accept or refuse alike: the prefix families nginx lets set override
// (http_, arg_, cookie_, sent_http_, upstream_http_...), the variables of
// those families nginx defines by full name and so refuses ($http_host,
// $sent_http_content_type...), every built-in devproxy evaluates, and
// ordinary names.
var setNames = []string{
	"http_x_user", "HTTP_X_User", "http_", "http_connection", "http_x_real_ip",
	"arg_id", "arg_", "cookie_sid", "cookie_", "cookie",
	"sent_http_x_a", "sent_http_", "sent_trailer_x", "upstream_http_x", "upstream_cookie_x", "upstream_trailer_x",
	"http_host", "http_user_agent", "http_referer", "http_via", "http_x_forwarded_for", "http_cookie",
	"sent_http_content_type", "sent_http_location", "sent_http_cache_control",
	"limit_rate", "my_var", "status", "request_time", "realpath_root", "binary_remote_addr",
	"Host", "URI",
}

func init() {
	// Every built-in variable devproxy evaluates, by full name; the
	// families are covered above.
	for _, v := range routefile.BuiltinVariables() {
		if !strings.HasSuffix(v, "_") {
			setNames = append(setNames, v)
		}
	}
}

// nginxAccepts runs `nginx -t` on a server with the given location text
// and reports whether nginx accepts it, with its complaint when it does not.
func nginxAccepts(t *testing.T, locations string) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	text := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log %[1]s/error.log error;
events { worker_connections 16; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen 127.0.0.1:1;
%[2]s
    }
}
`, dir, locations)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nginxtest.Binary(t), "-t", "-q", "-p", dir, "-c", conf).CombinedOutput()
	return err == nil, strings.TrimSpace(string(out))
}

// TestSetNamesAgreeWithNginx: for each name, a block with `set $NAME v;`
// loads in devproxy exactly when nginx -t accepts it.
func TestSetNamesAgreeWithNginx(t *testing.T) {
	var mu sync.Mutex
	var failures []string
	nginxtest.Parallel(len(setNames), 8, func(i int) {
		name := setNames[i]
		loc := "location /x/ {\n    set $" + name + " v;\n    return 200 \"$" + name + "\";\n}\n"
		ok, complaint := nginxAccepts(t, loc)
		f := routefile.Parse("apps/set.conf", []byte(loc))
		if ok != f.OK {
			mu.Lock()
			defer mu.Unlock()
			var diags []string
			for _, d := range f.Diagnostics {
				diags = append(diags, d.String())
			}
			failures = append(failures, fmt.Sprintf("set $%s: nginx accepts: %v (%s); devproxy loads: %v (%s)",
				name, ok, complaint, f.OK, strings.Join(diags, "; ")))
		}
	})
	for _, f := range failures {
		t.Error(f)
	}
}

// TestSetOverrideHeadersAgreeWithNginx: the echo upstream must see the same
// request headers from nginx as devproxy's explain computes, for blocks
// that set prefix-family variables and blocks that read them unset.
func TestSetOverrideHeadersAgreeWithNginx(t *testing.T) {
	echo := nginxtest.StartEcho(t)
	pass := "proxy_pass http://" + echo + ";"
	headers := "proxy_set_header X-User $http_x_user;\n" +
		"proxy_set_header X-Id $arg_id;\n" +
		"proxy_set_header X-Sid $cookie_sid;\n" +
		"proxy_set_header X-A \"[$sent_http_x_a]\";\n"
	body := "" +
		// Every family overridden in the block that uses it.
		"location /over/ {\n" +
		"set $http_x_user admin;\nset $arg_id 42;\nset $cookie_sid s1;\nset $sent_http_x_a a;\n" +
		headers + pass + "\n}\n" +
		// The same names, not set here: the request's values (and an empty
		// $sent_http_x_a, which nginx knows but devproxy does not, so it is
		// set to "" to keep the block valid in both).
		"location /plain/ {\n" +
		"set $sent_http_x_a \"\";\n" +
		headers + pass + "\n}\n" +
		// An override built from another request value.
		"location /derived/ {\n" +
		"set $http_x_user \"$http_x_role-$arg_id\";\n" +
		"proxy_set_header X-User $http_x_user;\n" + pass + "\n}\n" +
		// set written after the use and after proxy_pass: nginx runs set in
		// the rewrite phase, before the request is proxied.
		"location /late/ {\n" +
		"proxy_set_header X-User $http_x_user;\n" + pass + "\nset $http_x_user late;\n}\n"

	tbl := routing.Compose(routing.Config{}, []*routing.SourceFile{{
		Path: "apps/set.conf", Kind: routing.AppFile, ModTime: time.Unix(1000, 0),
		Parsed: routefile.Parse("apps/set.conf", []byte(body)),
	}}, nil)
	for _, d := range tbl.Diagnostics {
		if d.Severity == routefile.Error {
			t.Fatalf("devproxy rejects a config nginx is asked to serve: %s", d)
		}
	}
	ports := nginxtest.FreePorts(t, 1)
	if _, err := nginxtest.Start(t, []nginxtest.Server{{Port: ports[0], Body: body}}); err != nil {
		t.Fatal(err)
	}
	reqHeaders := [][2]string{{"X-User", "bob"}, {"X-Role", "ops"}, {"Cookie", "sid=real; other=1"}}
	for _, target := range []string{"/over/a?id=7", "/plain/a?id=7", "/plain/a", "/derived/a?id=7", "/late/a"} {
		o, err := nginxtest.Do(ports[0], nginxtest.Request{Target: target, Header: reqHeaders})
		if err != nil {
			t.Fatalf("GET %s: nginx: %v", target, err)
		}
		if o.Echo == nil {
			t.Fatalf("GET %s: nginx did not reach the upstream: status %d %q", target, o.Status, o.Body)
		}
		h := http.Header{"User-Agent": {"devproxy-diff"}}
		for _, kv := range reqHeaders {
			h.Add(kv[0], kv[1])
		}
		d := tbl.Explain(&routing.Request{Target: target, Host: fmt.Sprintf("localhost:%d", ports[0]), ServerPort: ports[0], Header: h})
		if d.Action != routing.ActionProxy {
			t.Fatalf("GET %s: devproxy: action %s, trace %v", target, d.Action, d.Trace)
		}
		for _, name := range []string{"X-User", "X-Id", "X-Sid", "X-A"} {
			want := strings.Join(o.Echo.Headers[name], ", ")
			if got := d.UpstreamHeaders[name]; got != want {
				t.Errorf("GET %s: %s: nginx sent %q, devproxy %q", target, name, want, got)
			}
		}
	}
}
