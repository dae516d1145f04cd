package nginxdiff

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/internal/nginxtest"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The HTTP/1.x wire, checked against nginx: raw requests nginx accepts or
// refuses (bare LF, versions, duplicate single-value headers, methods,
// Host forms, framing headers), what a client gets back (the status,
// whether the connection stays open, chunked or not for HTTP/1.0,
// add_header values and name case, Content-Type), and upstream answers
// with bare LF heads.

// wireSite is the route file both servers run. %[1]s is the echo
// upstream, %[2]s the raw upstream.
const wireSite = `
location /echo/ { proxy_pass http://%[1]s/; }
location /raw/ { proxy_pass http://%[2]s; }
location = / { return 200 "root $request_uri"; }
location = /hdrs { add_header X-Multi one; add_header X-Multi two; add_header x-lower-Case v; return 200 ok; }
location = /r400 { return 400; }
location = /r404 { return 404; }
location = /r405 { return 405; }
location = /r413 { return 413; }
location = /r414 { return 414; }
location = /r500 { return 500; }
location = /r501 { return 501; }
location = /r502 { return 502; }
location = /r503 { return 503; }
location /ah/ { add_header X-Multi one; add_header X-Multi two; add_header x-lower-Case v; proxy_pass http://%[1]s/; }
`

// rawWireUpstream answers by path: bare-LF heads, an answer without
// Content-Type, a chunked answer.
func rawWireUpstream(t *testing.T) string {
	t.Helper()
	return proxytest.ServeConns(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			switch req.URL.Path {
			case "/raw/lf":
				io.WriteString(c, "HTTP/1.1 200 OK\nContent-Type: text/plain\nX-Up: lf\nContent-Length: 5\n\nhello")
			case "/raw/lf-chunked":
				io.WriteString(c, "HTTP/1.1 200 OK\nContent-Type: text/plain\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n")
			case "/raw/no-type":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			case "/raw/chunked":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
			default:
				io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
			}
		}
	})
}

// wireReply is what a raw request got: the head as sent (names in their
// case and order) and the body, and whether the server closed the
// connection afterwards.
type wireReply struct {
	status  int
	fields  [][2]string
	body    string
	chunked bool
	closed  bool
}

func (w wireReply) values(name string) []string {
	var out []string
	for _, f := range w.fields {
		if strings.EqualFold(f[0], name) {
			out = append(out, f[1])
		}
	}
	return out
}

func (w wireReply) hasName(exact string) bool {
	for _, f := range w.fields {
		if f[0] == exact {
			return true
		}
	}
	return false
}

func (w wireReply) String() string {
	if w.status == 0 {
		return "no answer"
	}
	return fmt.Sprintf("%d closed=%v chunked=%v body=%.40q", w.status, w.closed, w.chunked, w.body)
}

// sendWire writes payload to port and reads one answer, then, with
// checkClose, whether the server closes the connection within 300ms.
func sendWire(port int, payload, method string, checkClose bool) (wireReply, error) {
	var w wireReply
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return w, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, payload); err != nil {
		return w, err
	}
	br := bufio.NewReader(c)
	var head bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if head.Len() == 0 {
				w.closed = true
				return w, nil // closed without an answer
			}
			return w, err
		}
		head.WriteString(line)
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	for i, line := range strings.Split(strings.TrimRight(head.String(), "\r\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		if i == 0 {
			fmt.Sscanf(line, "HTTP/1.1 %d", &w.status)
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			w.fields = append(w.fields, [2]string{k, strings.TrimSpace(v)})
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(&head, br)), &http.Request{Method: method})
	if err != nil {
		return w, err
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return w, fmt.Errorf("reading the body: %w", err)
	}
	w.body, w.chunked = string(b), len(resp.TransferEncoding) > 0
	if resp.Close {
		w.closed = true
		return w, nil
	}
	if !checkClose {
		return w, nil
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = br.ReadByte()
	w.closed = err != nil && !isTimeoutErr(err)
	return w, nil
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

type wireCase struct {
	name    string
	payload string // HOST is replaced by localhost:port
	method  string
	// what to compare beyond the status
	closed, chunked, headers, contentType, body bool
}

func wireCases() []wireCase {
	get := func(target, headers string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: HOST\r\n" + headers + "\r\n"
	}
	cs := []wireCase{
		{name: "plain", payload: get("/echo/a", ""), closed: true},
		{name: "bare LF", payload: "GET /echo/a HTTP/1.1\nHost: HOST\nX-A: 1\n\n", closed: true},
		{name: "mixed line ends", payload: "GET /echo/a HTTP/1.1\r\nHost: HOST\nX-A: 1\r\n\n", closed: true},
		{name: "empty lines before the request", payload: "\r\n\n" + get("/echo/a", ""), closed: true},
		{name: "HTTP/2.0", payload: "GET /echo/a HTTP/2.0\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "HTTP/3.0", payload: "GET /echo/a HTTP/3.0\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "HTTP/10.0", payload: "GET /echo/a HTTP/10.0\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "HTTP/1.9", payload: "GET /echo/a HTTP/1.9\r\nHost: HOST\r\n\r\n"},
		{name: "HTTP/0.9 version", payload: "GET /echo/a HTTP/0.9\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "HTTP/1.x", payload: "GET /echo/a HTTP/1.x\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "lower-case method", payload: "get /echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "CONNECT authority form", payload: "CONNECT localhost:443 HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "CONNECT origin form", payload: "CONNECT /echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "TRACE", payload: "TRACE /echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "asterisk", payload: "OPTIONS * HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "two different headers of one name", payload: get("/echo/a", "X-Dup: 1\r\nX-Dup: 2\r\n"), closed: true},
		{name: "two Content-Lengths", payload: "POST /echo/a HTTP/1.1\r\nHost: HOST\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", closed: true},
		{name: "Content-Length and chunked", payload: "POST /echo/a HTTP/1.1\r\nHost: HOST\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", closed: true},
		{name: "unknown Transfer-Encoding", payload: "POST /echo/a HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: gzip\r\n\r\n", closed: true},
		{name: "HTTP/1.0 chunked request", payload: "POST /echo/a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", closed: true},
		{name: "bad Content-Length", payload: "POST /echo/a HTTP/1.1\r\nHost: HOST\r\nContent-Length: 1x\r\n\r\n", closed: true},
		{name: "obsolete folding", payload: get("/echo/a", "X-A: 1\r\n  folded\r\n"), closed: true},
		{name: "space before colon", payload: get("/echo/a", "X-A : 1\r\n"), closed: true},
		{name: "HTTP/1.1 without Host", payload: "GET /echo/a HTTP/1.1\r\n\r\n", closed: true},
		{name: "HTTP/1.0 without Host", payload: "GET /echo/a HTTP/1.0\r\n\r\n", closed: true},
		{name: "HTTP/1.0 keep-alive", payload: "GET /hdrs HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", closed: true},
		{name: "HTTP/1.0 chunked upstream", payload: "GET /raw/chunked HTTP/1.0\r\n\r\n", closed: true, chunked: true, body: true},
		{name: "HTTP/1.1 chunked upstream", payload: get("/raw/chunked", ""), closed: true, chunked: true, body: true},
		{name: "bare-LF upstream head", payload: get("/raw/lf", ""), headers: true, body: true, contentType: true},
		{name: "bare-LF chunked upstream", payload: get("/raw/lf-chunked", ""), body: true},
		{name: "upstream without Content-Type", payload: get("/raw/no-type", ""), contentType: true, body: true},
		{name: "repeated add_header on return", payload: get("/hdrs", ""), headers: true, body: true},
		{name: "repeated add_header on a proxied answer", payload: get("/ah/x", ""), headers: true},
		{name: "Connection close", payload: get("/hdrs", "Connection: close\r\n"), closed: true},
		{name: "absolute form", payload: "GET http://localhost/echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "absolute form, upper-case scheme", payload: "GET HTTP://LOCALHOST/echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n"},
		{name: "absolute form, IPv6", payload: "GET http://[::1]:80/echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n"},
		{name: "absolute form, bad port", payload: "GET http://localhost:ab/echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "absolute form, underscore", payload: "GET http://under_score/echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "absolute form, double dot", payload: "GET http://a..b/echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		{name: "absolute form, no host", payload: "GET http:///echo/a HTTP/1.1\r\nHost: HOST\r\n\r\n", closed: true},
		// The root belongs to the user: "= /" takes it, in every form.
		{name: "root", payload: get("/", ""), body: true},
		{name: "root with a query", payload: get("/?x=1", ""), body: true},
		{name: "root, dot segments", payload: get("/a/..", ""), body: true},
		{name: "root, dot", payload: get("/./", ""), body: true},
		{name: "root, double slash", payload: get("//", ""), body: true},
		{name: "root, absolute form", payload: "GET http://localhost/ HTTP/1.1\r\nHost: HOST\r\n\r\n", body: true},
		{name: "root, absolute form without path", payload: "GET http://localhost HTTP/1.1\r\nHost: HOST\r\n\r\n", body: true},
		{name: "root, absolute form with only a query", payload: "GET http://localhost?x=1 HTTP/1.1\r\nHost: HOST\r\n\r\n", body: true},
		{name: "absolute form with a query", payload: "GET http://localhost/echo/a?x=1 HTTP/1.1\r\nHost: HOST\r\n\r\n"},
	}
	// nginx closes the connection after its own 400, 413, 414, 500 and
	// 501 pages, and keeps it after the others.
	for _, code := range []string{"400", "404", "405", "413", "414", "500", "501", "502", "503"} {
		cs = append(cs, wireCase{name: "return " + code, payload: get("/r"+code, ""), closed: true, body: true})
	}
	for _, h := range []string{"Host", "Content-Length", "Transfer-Encoding", "Authorization", "If-Match", "If-None-Match",
		"If-Modified-Since", "If-Unmodified-Since", "If-Range", "Content-Range", "Expect"} {
		v := "x"
		switch h {
		case "Host":
			v = "HOST"
		case "Content-Length":
			v = "0"
		case "Transfer-Encoding":
			v = "chunked"
		case "Expect":
			v = "100-continue"
		}
		cs = append(cs, wireCase{name: "two " + h, payload: "GET /echo/a HTTP/1.1\r\n" + h + ": " + v + "\r\n" + h + ": " + v + "\r\n" + func() string {
			if h == "Host" {
				return ""
			}
			return "Host: HOST\r\n"
		}() + "\r\n", closed: true})
	}
	for _, host := range []string{
		"localhost", "LocalHost", "example.com", "example.com.", "a..b", "a/b", "a\\b", "", ".", "..", ".a", "a.",
		"[::1]", "[::1]:8080", "[::1", "::1", "[fe80::1%25eth0]", "[::1]x", "a:b:c", "x:99999", "under_score",
		"-dash", "127.1", "0x7f000001", "xn--bcher-kva.example", "a\tb", "[v1.fe80::a+b]", "[]", ":80", "é.example",
	} {
		cs = append(cs, wireCase{name: "Host " + fmt.Sprintf("%q", host), payload: "GET /echo/a HTTP/1.1\r\nHost: " + host + "\r\n\r\n", closed: true})
	}
	return cs
}

func TestDifferentialWire(t *testing.T) {
	echo := nginxtest.StartEcho(t)
	raw := rawWireUpstream(t)
	site := fmt.Sprintf(wireSite, echo, raw)
	f := routefile.Parse("apps/wire.conf", []byte(site))
	for _, d := range f.Diagnostics {
		if d.Severity == routefile.Error {
			t.Fatalf("devproxy rejects the site: %s", d)
		}
	}
	// Host validation is compared alone: devproxy's allow-list (DNS
	// rebinding) is switched off here, since nginx has none.
	table := routing.Compose(routing.Config{AllowedHosts: []string{"*"}},
		[]*routing.SourceFile{{Path: "apps/wire.conf", Kind: routing.AppFile, ModTime: time.Unix(1000, 0), Parsed: f}}, nil)
	ports := nginxtest.FreePorts(t, 1)
	if _, err := nginxtest.Start(t, []nginxtest.Server{{Port: ports[0], Body: site}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := httpproxy.New(table, nil)
	srv := p.NewServer(false)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); p.Close() })
	devPort := ln.Addr().(*net.TCPAddr).Port

	cases := wireCases()
	var mu sync.Mutex
	nginxtest.Parallel(len(cases), 8, func(i int) {
		c := cases[i]
		method := c.method
		if method == "" {
			method = strings.Fields(strings.TrimLeft(c.payload, "\r\n"))[0]
		}
		send := func(port int) (wireReply, error) {
			return sendWire(port, strings.ReplaceAll(c.payload, "HOST", fmt.Sprintf("localhost:%d", port)), method, c.closed)
		}
		o, err := send(ports[0])
		if err != nil {
			t.Errorf("%s: nginx: %v", c.name, err)
			return
		}
		d, err := send(devPort)
		if err != nil {
			t.Errorf("%s: devproxy: %v", c.name, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fail := func(what string) {
			t.Errorf("%s: %s\n  nginx:    %v %q\n  devproxy: %v %q", c.name, what, o, o.fields, d, d.fields)
		}
		switch {
		case o.status != d.status:
			fail("status differs")
		case c.closed && o.closed != d.closed:
			fail("only one of them closed the connection")
		case c.chunked && o.chunked != d.chunked:
			fail("chunked encoding differs")
		case c.body && nginxtest.DevproxySignature(o.body) != d.body:
			fail("body differs")
		case c.contentType && strings.Join(o.values("Content-Type"), ",") != strings.Join(d.values("Content-Type"), ","):
			fail("Content-Type differs")
		case c.headers && strings.Join(o.values("X-Multi"), ",") != strings.Join(d.values("X-Multi"), ","):
			fail("repeated add_header values differ")
		case c.headers && o.hasName("x-lower-Case") != d.hasName("x-lower-Case"):
			fail("the case of an add_header name differs")
		case c.headers && strings.Join(o.values("X-Up"), ",") != strings.Join(d.values("X-Up"), ","):
			fail("upstream headers differ")
		}
	})
}
