package httpproxy

// The last check on what leaves for an upstream: no byte a variable or a
// route file put there can split the request.

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// unsafeRequestError is an upstream request devproxy refuses to write: its
// request line or a header would carry a byte that ends or splits it.
type unsafeRequestError struct {
	status int    // 400 when the client's path brought the byte, 500 when the route file did
	what   string // where: "the request target", "header X-Path"
	char   byte
}

func (e *unsafeRequestError) Error() string {
	return fmt.Sprintf("refusing to send %s with the byte %q to the upstream", e.what, e.char)
}

// guardRequest is the last check before bytes leave for the upstream: no
// control character or space in the request target, no CR, LF or NUL in a
// header value, header names that are tokens. Whatever produced the value
// (a variable holding the decoded path, a capture, a route file's quoted
// "\r\n"), it can never split the request, so no second answer can wait in
// a pooled connection for the next client.
func guardRequest(d *routing.Decision, method string) error {
	blame := func(what string, c byte) error {
		status := http.StatusInternalServerError
		if strings.IndexByte(d.Path, c) >= 0 {
			status = http.StatusBadRequest
		}
		return &unsafeRequestError{status: status, what: what, char: c}
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; c <= ' ' || c >= 0x7f {
			return blame("the method", c)
		}
	}
	uri := d.UpstreamURI
	if uri == "" {
		return blame("an empty request target", ' ')
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c == 0x7f {
			return blame("the request target", c)
		}
	}
	if c, bad := unsafeValueByte(d.OutHost, true); bad {
		return blame("the Host header", c)
	}
	for k, vs := range d.OutHeader {
		if !validHeaderName(k) {
			return &unsafeRequestError{status: http.StatusInternalServerError, what: "a header name", char: ' '}
		}
		for _, v := range vs {
			if c, bad := unsafeValueByte(v, false); bad {
				return blame("header "+k, c)
			}
		}
	}
	return nil
}

// unsafeValueByte finds CR, LF or NUL in a header value (and, for Host,
// any control character or space).
func unsafeValueByte(v string, host bool) (byte, bool) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' || c == 0 || host && (c <= ' ' || c == 0x7f) {
			return c, true
		}
	}
	return 0, false
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 0x80 || !isTokenChar[c] {
			return false
		}
	}
	return true
}

var isTokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// refuseUnsafe answers a request guardRequest refused.
func (p *Proxy) refuseUnsafe(x *exchange, d *routing.Decision, e *unsafeRequestError) {
	x.keepAlive = false
	if e.status == http.StatusBadRequest {
		p.log.Warn("refused a request whose path would split the upstream request", "path_bytes", len(d.Path), "location", locationOf(d), "why", e.Error())
		writeError(x, e.status, "Bad Request",
			"The request path holds a control character that "+locationOf(d)+" would put into the upstream request ("+e.what+").", d)
		return
	}
	p.log.Error("a route file produced an upstream request that cannot be sent", "location", locationOf(d), "why", e.Error())
	writeError(x, e.status, "Internal Server Error",
		"The route file "+locationOf(d)+" produces an upstream request that cannot be sent ("+e.what+" holds a control character). Fix that value.", d)
}

func locationOf(d *routing.Decision) string {
	if d.Location == nil {
		return "the route file"
	}
	return d.Location.File + ":" + strconv.Itoa(d.Location.Line)
}
