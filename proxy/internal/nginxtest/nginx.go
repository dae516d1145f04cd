// Package nginxtest runs Debian's nginx as the oracle of devproxy's
// differential tests: an nginx process on loopback serving generated
// location sets (one server block each), an echo upstream that reports
// exactly what it received, a raw HTTP/1.1 client that sends request
// targets byte for byte (Go's client would clean "..", "//" and escapes
// before they reach the server), and seeded generators of route files and
// requests.
package nginxtest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary finds Debian's nginx. make test installs it
// (scripts/test-deps.sh); a missing nginx fails the test rather than
// silently skipping the oracle.
func Binary(t testing.TB) string {
	for _, p := range []string{"/usr/sbin/nginx", "/usr/bin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	t.Fatalf("nginx not found: the differential tests need Debian's nginx; run `make test-deps` (apt-get install nginx)")
	return ""
}

// Echo is what the echo upstream saw.
type Echo struct {
	Method  string              `json:"method"`
	URI     string              `json:"uri"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	BodyLen int                 `json:"body_len"`
	BodySHA string              `json:"body_sha"`
}

// StartEcho starts the upstream every generated proxy_pass points at.
func StartEcho(t testing.TB) (addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Echo{Method: r.Method, URI: r.RequestURI, Host: r.Host, Headers: r.Header,
			BodyLen: int(n), BodySHA: hex.EncodeToString(h.Sum(nil))})
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// FreePorts reserves n loopback ports. They are released before nginx
// binds them; the window is small and the ports are random.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// Server is one server block: a port and the route-file text inside.
type Server struct {
	Port int
	Body string
}

type Instance struct {
	dir string
	cmd *exec.Cmd
}

// Start writes a config with the given server blocks, checks it with
// `nginx -t`, and starts nginx in the foreground. It returns the output of
// nginx -t when the configuration is rejected.
func Start(t testing.TB, servers []Server) (*Instance, error) {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	for _, d := range []string{"tmp", "logs"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	var b strings.Builder
	if os.Geteuid() == 0 {
		b.WriteString("user root;\n")
	}
	fmt.Fprintf(&b, `daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log error;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    # devproxy's redirects are relative (spec §5 [intent]); the oracle is
    # configured the same way, as the original product's nginx was.
    absolute_redirect off;
    client_max_body_size 0;
`, dir)
	for _, s := range servers {
		fmt.Fprintf(&b, "    server {\n        listen 127.0.0.1:%d;\n        server_name localhost;\n        root %s/nonexistent;\n", s.Port, dir)
		for _, line := range strings.Split(strings.TrimRight(s.Body, "\n"), "\n") {
			b.WriteString("        " + line + "\n")
		}
		b.WriteString("    }\n")
	}
	b.WriteString("}\n")
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-q", "-p", dir, "-c", conf).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx -t rejected the configuration: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inst := &Instance{dir: dir, cmd: cmd}
	t.Cleanup(inst.Stop)
	// Wait until every port answers (bounded), and check that nginx is
	// the one answering: a port released by FreePorts can be taken by
	// another listener first, and then nginx exits on the bind error.
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range servers {
		for {
			o, err := Get(s.Port, "/")
			if err == nil {
				if !strings.HasPrefix(o.Header.Get("Server"), "nginx") {
					return nil, fmt.Errorf("port %d is answered by %q, not nginx: the port was taken before nginx could bind it", s.Port, o.Header.Get("Server"))
				}
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("nginx did not answer on %d: %v", s.Port, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return inst, nil
}

func (n *Instance) Stop() {
	if n.cmd.Process != nil {
		n.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			n.cmd.Process.Kill()
			<-done
		}
	}
}

// Observed is nginx's answer to one request.
type Observed struct {
	Status   int
	LocID    string // the X-Loc header every generated location adds
	Location string
	Body     string
	Header   http.Header
	Echo     *Echo // when the echo upstream answered
}

// Request is a raw request: the target is sent exactly as given.
type Request struct {
	Method string // GET when empty
	Target string
	Header [][2]string // extra header lines, in order; a User-Agent replaces devproxy-diff
	Body   []byte      // sent with Content-Length when not nil
}

// Get sends "GET target" exactly as given.
func Get(port int, target string) (Observed, error) {
	return Do(port, Request{Target: target})
}

// Do sends a raw request to 127.0.0.1:port and reads the answer.
func Do(port int, r Request) (Observed, error) {
	var o Observed
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return o, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	method := r.Method
	if method == "" {
		method = "GET"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n", method, r.Target, port)
	ua := "devproxy-diff"
	for _, h := range r.Header {
		if strings.EqualFold(h[0], "User-Agent") {
			ua = "" // the request brings its own
		}
	}
	if ua != "" {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", ua)
	}
	for _, h := range r.Header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if r.Body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		return o, err
	}
	if r.Body != nil {
		if _, err := c.Write(r.Body); err != nil {
			return o, err
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return o, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	o.Status = resp.StatusCode
	o.LocID = resp.Header.Get("X-Loc")
	o.Location = resp.Header.Get("Location")
	o.Body = string(body)
	o.Header = resp.Header
	if resp.Header.Get("Content-Type") == "application/json" && o.Status == 200 {
		var e Echo
		if json.Unmarshal(body, &e) == nil && e.Method != "" {
			o.Echo = &e
		}
	}
	return o, nil
}

// Parallel runs fn for i in [0,n) on a few workers.
func Parallel(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
