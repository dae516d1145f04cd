package routing

import (
	"net/http"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// nginx answers a redirect, and an error status it has no text for
// (`return 404;`), with a small HTML page of its own
// (ngx_http_special_response.c). devproxy sends the same pages, byte for
// byte, except for the signature line, which names devproxy instead of
// nginx's version.

// statusPageTitles are the titles of nginx's pages; a code missing here has
// no page (nginx sends no body). The heading is the title too, except for
// the 49x codes in statusPageOverrides.
var statusPageTitles = map[int]string{
	301: "301 Moved Permanently",
	302: "302 Found",
	303: "303 See Other",
	307: "307 Temporary Redirect",
	308: "308 Permanent Redirect",
	400: "400 Bad Request",
	401: "401 Authorization Required",
	402: "402 Payment Required",
	403: "403 Forbidden",
	404: "404 Not Found",
	405: "405 Not Allowed",
	406: "406 Not Acceptable",
	408: "408 Request Time-out",
	409: "409 Conflict",
	410: "410 Gone",
	411: "411 Length Required",
	412: "412 Precondition Failed",
	413: "413 Request Entity Too Large",
	414: "414 Request-URI Too Large",
	415: "415 Unsupported Media Type",
	416: "416 Requested Range Not Satisfiable",
	421: "421 Misdirected Request",
	429: "429 Too Many Requests",
	500: "500 Internal Server Error",
	501: "501 Not Implemented",
	502: "502 Bad Gateway",
	503: "503 Service Temporarily Unavailable",
	504: "504 Gateway Time-out",
	505: "505 HTTP Version Not Supported",
	507: "507 Insufficient Storage",
}

// statusPageOverrides are nginx's own codes: 494-497 go out as 400 with a
// page that says why, and 498 with the 404 page.
var statusPageOverrides = map[int]struct {
	status                 int
	title, heading, detail string
}{
	494: {status: 400, title: "400 Request Header Or Cookie Too Large", heading: "400 Bad Request", detail: "Request Header Or Cookie Too Large"},
	495: {status: 400, title: "400 The SSL certificate error", heading: "400 Bad Request", detail: "The SSL certificate error"},
	496: {status: 400, title: "400 No required SSL certificate was sent", heading: "400 Bad Request", detail: "No required SSL certificate was sent"},
	497: {status: 400, title: "400 The plain HTTP request was sent to HTTPS port", heading: "400 Bad Request", detail: "The plain HTTP request was sent to HTTPS port"},
	498: {status: 498, title: "404 Not Found", heading: "404 Not Found"},
}

// statusPageTail ends every page. nginx writes "nginx/1.22.1" (or "nginx"
// with server_tokens off) where devproxy writes its name.
const statusPageTail = "<hr><center>devproxy</center>\r\n</body>\r\n</html>\r\n"

// msiePadding follows 4xx and 5xx pages for Internet Explorer and Chrome,
// whose own "friendly" error page would otherwise replace a short one
// (nginx's msie_padding, on by default).
var msiePadding = strings.Repeat("<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n", 6)

// statusPage returns the status nginx answers code with, and its page ("" when
// nginx has none). userAgent decides the padding, as in nginx.
func statusPage(code int, userAgent string) (status int, page string) {
	title, heading, detail := statusPageTitles[code], statusPageTitles[code], ""
	status = code
	if o, ok := statusPageOverrides[code]; ok {
		status, title, heading, detail = o.status, o.title, o.heading, o.detail
	}
	if title == "" {
		return status, ""
	}
	var b strings.Builder
	b.WriteString("<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + heading + "</h1></center>\r\n")
	if detail != "" {
		b.WriteString("<center>" + detail + "</center>\r\n")
	}
	b.WriteString(statusPageTail)
	if code >= 400 && wantsPadding(userAgent) {
		b.WriteString(msiePadding)
	}
	return status, b.String()
}

// wantsPadding is nginx's browser test (ngx_http_process_user_agent): MSIE
// unless Opera, or Chrome unless the agent also claims Gecko/ (Firefox).
func wantsPadding(ua string) bool {
	if strings.Contains(ua, "Opera") {
		return false
	}
	if i := strings.Index(ua, "MSIE "); i >= 0 && i+7 < len(ua) {
		return true
	}
	return !strings.Contains(ua, "Gecko/") && strings.Contains(ua, "Chrome/")
}

// returnHasText reports whether a return has text in nginx's sense: a
// literal empty text (`return 404 "";`) counts as none, while text with
// variables counts even when it evaluates to nothing.
func returnHasText(r *routefile.Return) bool {
	return r.HasText && r.Text.Raw != ""
}

// statusPageReturn answers "return CODE;" for a code of 400 or more, which
// nginx hands to its special response handler: the page for the code, or
// no body for a code without one. 444, and also 408 and 499, end the
// request without an answer (ngx_http_finalize_request); with text they
// are sent like any other code.
func (e *evaluator) statusPageReturn(code, line int) {
	d := e.d
	d.Action = ActionReturn
	if code == 444 || code == http.StatusRequestTimeout || code == 499 {
		d.Status, d.CloseClient = code, true
		e.note("return %d (line %d): the connection is closed without an answer", code, line)
		return
	}
	d.Status = e.setStatusPage(code)
	e.addResponseHeaders(d.Status)
	if d.Body == "" {
		e.note("return %d (line %d): nginx has no page for %d, so the body is empty", code, line, code)
		return
	}
	e.note("return %d (line %d): nginx's page for %d", code, line, code)
}

// setStatusPage puts nginx's page for code in the answer, if it has one,
// and returns the status it goes out with.
func (e *evaluator) setStatusPage(code int) int {
	status, page := statusPage(code, e.header("User-Agent"))
	if page != "" {
		e.d.Body = page
		e.d.setResponseHeader("Content-Type", "text/html")
	}
	return status
}
