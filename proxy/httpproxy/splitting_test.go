package httpproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/internal/testpeer"
)

// These tests play a hostile client that tries to split the upstream
// request, and upstreams that send more than they announce, against the
// real proxy. The upstream answers every request it parses with the
// request line it saw, on a kept-alive connection, the way a dev server
// does: if a request were ever split in two, the second answer would wait
// on the pooled connection for the next, unrelated client.

// lineUpstream records every request line it reads and answers each with
// "answer to <target>".
type lineUpstream struct {
	addr string
	mu   sync.Mutex
	seen []string
}

func startLineUpstream(t *testing.T) *lineUpstream {
	t.Helper()
	u := &lineUpstream{}
	u.addr = answerEach(t, func(c net.Conn, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		u.mu.Lock()
		u.seen = append(u.seen, req.Method+" "+req.RequestURI)
		u.mu.Unlock()
		body := "answer to " + req.RequestURI
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
	return u
}

func (u *lineUpstream) requests() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

// rawUpstream runs serve for every connection to a loopback listener until
// the test ends, and returns its address.
func rawUpstream(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	return testpeer.ServeConns(t, serve)
}

// answerEach runs an upstream that reads request after request on each
// connection and lets answer write whatever bytes it likes for each.
func answerEach(t *testing.T, answer func(c net.Conn, req *http.Request)) string {
	t.Helper()
	return rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			answer(c, req)
		}
	})
}

// rawGet sends one request with the target exactly as given on a fresh
// connection and returns the status and body (status 0: closed without an
// answer).
func rawGet(t *testing.T, addr, target string, extra ...string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(addr, "http://"), hostileWait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hostileWait))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", target, strings.Join(extra, ""))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

const splitPath = "a%0d%0aContent-Length:%200%0d%0a%0d%0aGET%20/x%20HTTP/1.1%0d%0aHost:%20u%0d%0aX:%20"

// TestVariablesCannotSplitTheUpstreamRequest covers every way the review
// found to put the decoded path into the upstream request line or a
// header: it is escaped in proxy_pass (as nginx escapes captures), refused
// with 400 in a header, and no second request ever reaches the upstream.
func TestVariablesCannotSplitTheUpstreamRequest(t *testing.T) {
	up := startLineUpstream(t)
	r := startServe(t, map[string]string{"apps/split.conf": fmt.Sprintf(`
location /hdr/ { proxy_set_header X-Path $uri; proxy_pass http://%[1]s; }
location ~ ^/cap/([^/]*) { proxy_set_header X-Cap $1; proxy_pass http://%[1]s; }
location ~ ^/c1/([^/]+) { set $x $1; proxy_pass http://%[1]s/c1/$x; }
location ~ ^/named/(?<rest>[^/]*) { proxy_pass http://%[1]s/n/$rest; }
location ~ ^/u/ { proxy_pass http://%[1]s$uri; }
location /cfg/ { proxy_set_header X-Bad "a\r\nb"; proxy_pass http://%[1]s; }
`, up.addr)})

	for _, c := range []struct {
		target     string
		wantStatus int
		wantSeen   string // the request line the upstream must see ("" for none)
	}{
		{"/hdr/" + splitPath, 400, ""},
		{"/cap/" + splitPath, 400, ""},
		// nginx escapes a capture copied by set; so does devproxy.
		{"/c1/a%20b", 200, "GET /c1/a%20b"},
		{"/c1/" + splitPath, 200, ""},
		{"/named/" + splitPath, 200, ""},
		{"/u/" + splitPath, 200, ""},
		// A route file's own "\r\n" is the route file's fault: 500.
		{"/cfg/", 500, ""},
	} {
		status, body := rawGet(t, r.addr, c.target)
		if status != c.wantStatus {
			t.Errorf("GET %s: %d %q, want %d", c.target, status, body, c.wantStatus)
		}
		if c.wantSeen != "" && !strings.Contains(strings.Join(up.requests(), "\n"), c.wantSeen) {
			t.Errorf("GET %s: the upstream saw %q, want %q", c.target, up.requests(), c.wantSeen)
		}
		if strings.Contains(body, "hunter") {
			t.Errorf("GET %s: the answer echoes request content: %q", c.target, body)
		}
	}
	for _, line := range up.requests() {
		if strings.HasPrefix(line, "GET /x") || strings.ContainsAny(line, "\r\n ") && !strings.HasPrefix(line, "GET /") {
			t.Errorf("the upstream received a smuggled request: %q", line)
		}
		if rest := strings.TrimPrefix(line, "GET "); strings.ContainsAny(rest, " \r\n") {
			t.Errorf("the upstream received a request line with raw control characters or spaces: %q", line)
		}
	}
}

// TestTunnelClientCannotPoisonAnotherClientsAnswers is the attack of the
// review: an attacker with the tunnel URL sends a request that would split
// into two upstream requests; the victim, on the local listener, must get
// the answer to its own request every time.
func TestTunnelClientCannotPoisonAnotherClientsAnswers(t *testing.T) {
	up := startLineUpstream(t)
	r := startServe(t, map[string]string{"apps/split.conf": fmt.Sprintf(`
location /hdr/ { proxy_set_header X-Path $uri; proxy_pass http://%[1]s; }
location ~ ^/u/ { proxy_pass http://%[1]s$uri; }
`, up.addr)})
	victim := &http.Client{Timeout: hostileWait}
	for round := 0; round < 5; round++ {
		for _, prefix := range []string{"/hdr/", "/u/"} {
			status, _ := rawGet(t, r.tunnelAddr, prefix+splitPath)
			if status == 200 && prefix == "/hdr/" {
				t.Errorf("round %d: the splitting request through the tunnel got 200", round)
			}
			for i := 0; i < 3; i++ {
				path := fmt.Sprintf("%svictim-%d-%d", prefix, round, i)
				resp, err := victim.Get(r.addr + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := "answer to " + path; string(b) != want {
					t.Fatalf("round %d: the victim asked for %s and got %q: another client's answer", round, path, b)
				}
			}
		}
	}
}

// misbehavingUpstream answers every request as script says for its path,
// then, on the same connection, whatever extra bytes the script adds: a
// whole fake answer that must never reach anyone.
func misbehavingUpstream(t *testing.T) string {
	t.Helper()
	const poison = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nPOISONED"
	return answerEach(t, func(c net.Conn, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		p := req.URL.Path
		switch {
		case strings.HasSuffix(p, "/overlong"):
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"+poison)
		case strings.HasSuffix(p, "/late-extra"):
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(50 * time.Millisecond)
			fmt.Fprint(c, poison)
		case strings.HasSuffix(p, "/nocontent"):
			fmt.Fprint(c, "HTTP/1.1 204 No Content\r\n\r\n"+poison)
		case strings.HasSuffix(p, "/notmodified"):
			fmt.Fprint(c, "HTTP/1.1 304 Not Modified\r\n\r\n"+poison)
		case req.Method == http.MethodHead:
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nHEADBODY"+poison)
		case strings.HasSuffix(p, "/slow"):
			// Answers after the proxy gave up (proxy_read_timeout).
			time.Sleep(400 * time.Millisecond)
			fmt.Fprint(c, poison)
		default:
			body := "fresh " + p
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
}

// TestPooledUpstreamConnectionsAreClean: an upstream that sends more than
// it announced (bytes past Content-Length, a body after HEAD, 204 or 304),
// or answers after a timeout, must never have those bytes handed to the
// next client.
func TestPooledUpstreamConnectionsAreClean(t *testing.T) {
	up := misbehavingUpstream(t)
	r := startServe(t, map[string]string{"apps/m.conf": fmt.Sprintf(`
location /m/ { proxy_read_timeout 150ms; proxy_pass http://%s; }
`, up)})
	client := &http.Client{Timeout: hostileWait} // keep-alive to the proxy too
	for _, first := range []struct{ method, path string }{
		{"GET", "/m/overlong"}, {"GET", "/m/late-extra"}, {"GET", "/m/nocontent"},
		{"GET", "/m/notmodified"}, {"HEAD", "/m/head"}, {"GET", "/m/slow"},
	} {
		req, _ := http.NewRequest(first.method, r.addr+first.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", first.method, first.path, err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		time.Sleep(100 * time.Millisecond) // let late bytes arrive
		for i := 0; i < 3; i++ {
			path := fmt.Sprintf("/m/next-%d", i)
			resp, err := client.Get(r.addr + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := "fresh " + path; resp.StatusCode != 200 || string(b) != want {
				t.Fatalf("after %s %s, GET %s got %d %q, want %q: a dirty connection went back to the pool",
					first.method, first.path, path, resp.StatusCode, b, want)
			}
		}
	}
}

// TestClientGoneMidAnswerClosesTheUpstream: a client that leaves during a
// large answer must not leave the rest of it in a pooled connection.
func TestClientGoneMidAnswerClosesTheUpstream(t *testing.T) {
	big := strings.Repeat("b", 1<<20)
	up := answerEach(t, func(c net.Conn, req *http.Request) {
		body := "fresh " + req.URL.Path
		if strings.HasSuffix(req.URL.Path, "/big") {
			body = big
		}
		if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			return
		}
	})
	r := startServe(t, map[string]string{"apps/m.conf": fmt.Sprintf("location /m/ { proxy_pass http://%s; }\n", up)})
	c, err := net.Dial("tcp", strings.TrimPrefix(r.addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "GET /m/big HTTP/1.1\r\nHost: localhost\r\n\r\n")
	buf := make([]byte, 64<<10)
	io.ReadFull(c, buf)
	c.Close()
	time.Sleep(100 * time.Millisecond)
	for i := 0; i < 5; i++ {
		path := fmt.Sprintf("/m/after-%d", i)
		resp, err := http.Get(r.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "fresh "+path {
			t.Fatalf("GET %s after a client left mid-answer: %.60q", path, b)
		}
	}
}

// TestTruncatedUpstreamBodiesAreNotComplete: an upstream that dies
// mid-body, or sends a bad chunk size, must not give the client a clean
// end of body (a browser or cache would keep half a script).
func TestTruncatedUpstreamBodiesAreNotComplete(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		switch req.URL.Path {
		case "/t/chunked-dies":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n100\r\nonly part")
		case "/t/bad-chunk":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n")
		case "/t/short-large":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", 200<<10, strings.Repeat("x", 100<<10))
		case "/t/short-small":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
		case "/t/close-delimited":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\n\r\nall of it")
		}
	})
	r := startServe(t, map[string]string{"apps/t.conf": fmt.Sprintf("location /t/ { proxy_pass http://%s; }\n", up)})
	for _, c := range []struct {
		path     string
		complete bool
	}{
		{"/t/chunked-dies", false},
		{"/t/bad-chunk", false},
		{"/t/short-large", false},
		{"/t/short-small", false},
		{"/t/close-delimited", true}, // ends when the upstream closes: that is complete
	} {
		for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
			conn, err := net.Dial("tcp", strings.TrimPrefix(r.addr, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(hostileWait))
			fmt.Fprintf(conn, "GET %s %s\r\nHost: localhost\r\n\r\n", c.path, proto)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				conn.Close()
				if c.complete {
					t.Errorf("%s %s: %v", proto, c.path, err)
				}
				continue
			}
			b, err := io.ReadAll(resp.Body)
			conn.Close()
			whole := err == nil && resp.StatusCode == 200
			if proto == "HTTP/1.0" && resp.ContentLength < 0 {
				// Without chunked encoding, an HTTP/1.0 client cannot tell
				// a cut answer of unknown length from a whole one (nginx's
				// clients cannot either); only the framing is checked.
				whole = c.complete
			}
			if whole != c.complete {
				t.Errorf("%s %s: status %d, %d bytes, read error %v: complete=%v, want %v",
					proto, c.path, resp.StatusCode, len(b), err, whole, c.complete)
			}
			if proto == "HTTP/1.0" && len(resp.TransferEncoding) > 0 {
				t.Errorf("%s %s: an HTTP/1.0 client got Transfer-Encoding %v", proto, c.path, resp.TransferEncoding)
			}
		}
	}
}

// TestResponseHeadersCannotBeSplit: a route file that puts the decoded
// path into a response header (add_header, a redirect) can never give a
// client a header line of the path's making.
func TestResponseHeadersCannotBeSplit(t *testing.T) {
	up := echoUpstream(t)
	r := startServe(t, map[string]string{"apps/r.conf": fmt.Sprintf(`
location /ah/ { add_header X-Path $uri; proxy_pass http://%[1]s/; }
location /ret/ { add_header X-Path $uri; return 200 ok; }
location ~ ^/go/(.*) { return 302 /to/$1; }
`, up)})
	for _, target := range []string{
		"/ah/a%0d%0aSet-Cookie:%20evil=1",
		"/ret/a%0d%0aSet-Cookie:%20evil=1",
		"/go/a%0d%0aSet-Cookie:%20evil=1",
	} {
		c, err := net.Dial("tcp", strings.TrimPrefix(r.addr, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(hostileWait))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", target)
		raw, _ := io.ReadAll(c)
		c.Close()
		head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
		for _, line := range strings.Split(head, "\r\n") {
			if strings.HasPrefix(strings.ToLower(line), "set-cookie") {
				t.Errorf("GET %s: the answer carries a header line made by the path: %q", target, line)
			}
		}
		if strings.Contains(head, "\n") && strings.Count(head, "\n") != strings.Count(head, "\r\n") {
			t.Errorf("GET %s: a bare LF in the answer's head: %q", target, head)
		}
	}
}

// TestAmbiguousUpstreamFramingIs502: an upstream answer whose length two
// parsers could read differently is refused, never passed on, and its
// connection is not reused.
func TestAmbiguousUpstreamFramingIs502(t *testing.T) {
	up := answerEach(t, func(c net.Conn, req *http.Request) {
		switch req.URL.Path {
		case "/f/two-lengths":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nX")
		case "/f/length-and-chunked":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
		case "/f/bad-length":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok")
		case "/f/gzip-coding":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok")
		default:
			body := "fresh " + req.URL.Path
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
	r := startServe(t, map[string]string{"apps/f.conf": fmt.Sprintf("location /f/ { proxy_pass http://%s; }\n", up)})
	client := &http.Client{Timeout: hostileWait}
	for _, path := range []string{"/f/two-lengths", "/f/length-and-chunked", "/f/bad-length", "/f/gzip-coding"} {
		resp, err := client.Get(r.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("GET %s: %d, want 502", path, resp.StatusCode)
		}
		resp, err = client.Get(r.addr + "/f/next")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "fresh /f/next" {
			t.Errorf("after GET %s, the next request got %q", path, b)
		}
	}
}
