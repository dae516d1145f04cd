package routing_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// page is nginx's HTML page as devproxy writes it: nginx's own signature
// line names devproxy instead.
func page(title, heading string, extra ...string) string {
	s := "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + heading + "</h1></center>\r\n"
	for _, e := range extra {
		s += "<center>" + e + "</center>\r\n"
	}
	return s + "<hr><center>devproxy</center>\r\n</body>\r\n</html>\r\n"
}

const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

// TestReturnWithoutText follows ngx_http_script_return_code and
// ngx_http_special_response_handler: a code of 400 or more without text
// (or with a literal empty text) gets nginx's page for it, a redirect
// always gets its page, other codes get an empty body.
func TestReturnWithoutText(t *testing.T) {
	padding := strings.Repeat("<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n", 6)
	tests := []struct {
		conf, target, ua string
		action           string
		status           int
		contentType      string
		body             string
		location         *string // nil: no Location header
		closes           bool
	}{
		{conf: `return 404;`, action: "return", status: 404, contentType: "text/html", body: page("404 Not Found", "404 Not Found")},
		{conf: `return 405;`, action: "return", status: 405, contentType: "text/html", body: page("405 Not Allowed", "405 Not Allowed")},
		{conf: `return 500;`, action: "return", status: 500, contentType: "text/html", body: page("500 Internal Server Error", "500 Internal Server Error")},
		{conf: `return 503;`, action: "return", status: 503, contentType: "text/html", body: page("503 Service Temporarily Unavailable", "503 Service Temporarily Unavailable")},
		{conf: `return 401;`, action: "return", status: 401, contentType: "text/html", body: page("401 Authorization Required", "401 Authorization Required")},
		{conf: `return 404 "";`, action: "return", status: 404, contentType: "text/html", body: page("404 Not Found", "404 Not Found")},
		{conf: `return 404 "$arg_none";`, action: "return", status: 404, contentType: "text/plain"},
		{conf: `return 494;`, action: "return", status: 400, contentType: "text/html",
			body: page("400 Request Header Or Cookie Too Large", "400 Bad Request", "Request Header Or Cookie Too Large")},
		{conf: `return 498;`, action: "return", status: 498, contentType: "text/html", body: page("404 Not Found", "404 Not Found")},
		{conf: `return 418;`, action: "return", status: 418},
		{conf: `return 599;`, action: "return", status: 599},
		{conf: `return 999;`, action: "return", status: 999},
		{conf: `return 408;`, action: "return", status: 408, closes: true},
		{conf: `return 499;`, action: "return", status: 499, closes: true},
		{conf: `return 200;`, action: "return", status: 200, contentType: "text/plain"},
		{conf: `return 201;`, action: "return", status: 201, contentType: "text/plain"},
		{conf: `return 204;`, action: "return", status: 204},
		{conf: `return 300;`, action: "return", status: 300, contentType: "text/plain"},
		{conf: `return 304;`, action: "return", status: 304, contentType: "text/plain"},
		{conf: `return 301;`, action: "redirect", status: 301, contentType: "text/html", body: page("301 Moved Permanently", "301 Moved Permanently"), location: ptr("")},
		{conf: `return 302 "";`, action: "redirect", status: 302, contentType: "text/html", body: page("302 Found", "302 Found"), location: ptr("")},
		{conf: `return 308;`, action: "redirect", status: 308, contentType: "text/html", body: page("308 Permanent Redirect", "308 Permanent Redirect"), location: ptr("")},
		{conf: `return 303 /next;`, action: "redirect", status: 303, contentType: "text/html", body: page("303 See Other", "303 See Other"), location: ptr("/next")},
		{conf: `return http://example.com/;`, action: "redirect", status: 302, contentType: "text/html", body: page("302 Found", "302 Found"), location: ptr("http://example.com/")},
		{conf: `rewrite ^ /next permanent;`, action: "redirect", status: 301, contentType: "text/html", body: page("301 Moved Permanently", "301 Moved Permanently"), location: ptr("/next")},
		// nginx pads 4xx and 5xx pages for Chrome and MSIE, not redirects
		{conf: `return 404;`, ua: chrome, action: "return", status: 404, contentType: "text/html", body: page("404 Not Found", "404 Not Found") + padding},
		{conf: `return 404;`, ua: "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)", action: "return", status: 404, contentType: "text/html", body: page("404 Not Found", "404 Not Found") + padding},
		{conf: `return 404;`, ua: "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", action: "return", status: 404, contentType: "text/html", body: page("404 Not Found", "404 Not Found")},
		{conf: `return 301 /x;`, ua: chrome, action: "redirect", status: 301, contentType: "text/html", body: page("301 Moved Permanently", "301 Moved Permanently"), location: ptr("/x")},
		// text is sent as it is, but never in a 204 or 304
		{conf: `return 404 "gone";`, action: "return", status: 404, contentType: "text/plain; charset=utf-8", body: "gone"},
		{conf: `return 444 "x";`, action: "return", status: 444, contentType: "text/plain; charset=utf-8", body: "x"},
		{conf: `return 444 "";`, action: "return", status: 444, closes: true},
		{conf: `return 204 "x";`, action: "return", status: 204},
		{conf: `return 304 "x";`, action: "return", status: 304, contentType: "text/plain"},
		// the missing-slash redirect is a 301 like any other
		{conf: `proxy_pass http://u:1;`, target: "/t", action: "redirect", status: 301, contentType: "text/html", body: page("301 Moved Permanently", "301 Moved Permanently"), location: ptr("/t/")},
	}
	for _, tt := range tests {
		name := tt.conf
		if tt.ua != "" {
			name += " for " + tt.ua[:12]
		}
		t.Run(name, func(t *testing.T) {
			tbl := one("location /t/ {\n" + tt.conf + "\n}\n")
			mustLoad(t, tbl)
			target := tt.target
			if target == "" {
				target = "/t/x"
			}
			d := tbl.Explain(&routing.Request{Target: target, Header: http.Header{"User-Agent": {tt.ua}}})
			if d.Action != tt.action || d.Status != tt.status || d.CloseClient != tt.closes {
				t.Errorf("action %s status %d closes %v, want %s %d %v\n\t%s", d.Action, d.Status, d.CloseClient, tt.action, tt.status, tt.closes, describe(d))
			}
			if got, ok := d.ResponseHeaders["Content-Type"]; got != tt.contentType || ok != (tt.contentType != "") {
				t.Errorf("Content-Type %q (set %v), want %q", got, ok, tt.contentType)
			}
			if d.Body != tt.body {
				t.Errorf("body\n%q\nwant\n%q", d.Body, tt.body)
			}
			loc, ok := d.ResponseHeaders["Location"]
			if ok != (tt.location != nil) || (ok && loc != *tt.location) {
				t.Errorf("Location %q (set %v), want %v", loc, ok, tt.location)
			}
		})
	}
}

func ptr(s string) *string { return &s }
