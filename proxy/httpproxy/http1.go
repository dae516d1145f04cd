package httpproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// The HTTP/1.x wire format, read the way nginx 1.22 reads it
// (ngx_http_parse_request_line, ngx_http_parse_header_line,
// ngx_http_process_request_header, ngx_http_validate_host): lines may end
// in CRLF or a bare LF, header names nginx does not accept are dropped,
// and every ambiguity that could let two parsers disagree about where a
// message ends (duplicate framing headers, Content-Length beside
// Transfer-Encoding) is refused. Where nginx is laxer than the RFCs in a
// way that could smuggle bytes past another parser, devproxy is strict and
// says so in a comment.

// headerField is one header line, its name as it was sent or written.
type headerField struct {
	Name, Value string
}

// wireError is a request devproxy refuses while reading it: the status to
// answer and a message that names the problem without repeating anything
// the client sent.
type wireError struct {
	status int
	msg    string
}

func (e *wireError) Error() string { return e.msg }

func badRequest(msg string) error { return &wireError{http.StatusBadRequest, msg} }

// Refusals met while parsing, made once: the parser is on the hot path.
var (
	errBadVersion    = badRequest("The HTTP version in the request line is invalid.")
	errBadTarget     = badRequest("The request target is malformed.")
	errBadHeaderLine = badRequest("A request header line is malformed.")
	errBadStatusLine = &errBadUpstream{"malformed status line"}
)

var (
	errHeadTooLarge = &wireError{http.StatusRequestHeaderFieldsTooLarge, "The request line or headers are too large."}
	// errHeadTimeout is a client that did not finish its request line and
	// headers in time (slowloris).
	errHeadTimeout = &wireError{http.StatusRequestTimeout, "The request was not received in time."}
)

// requestHead is a parsed request line and header section.
type requestHead struct {
	Method       string
	Target       string // the request target as sent
	Major, Minor int
	// Fields are the header lines in arrival order, names as sent. Lines
	// nginx ignores (names with '_' or characters outside [A-Za-z0-9-])
	// are not here.
	Fields []headerField
	// Host is the validated host the request names: from an absolute-form
	// target, else the Host header; "" when there is none (HTTP/1.0).
	Host string
	// HostHeader is the Host header as sent ($http_host).
	HostHeader    string
	ContentLength int64 // -1 without a Content-Length header
	Chunked       bool
	// KeepAlive is whether the client lets the connection stay open after
	// this request (HTTP/1.1 unless "close"; HTTP/1.0 with "keep-alive").
	KeepAlive bool
	Expect100 bool
}

func (h *requestHead) reset() {
	*h = requestHead{Fields: h.Fields[:0], ContentLength: -1}
}

// atLeast11 reports HTTP/1.1 or later.
func (h *requestHead) atLeast11() bool { return h.Major > 1 || h.Major == 1 && h.Minor >= 1 }

// lineReader reads header sections line by line within a byte budget.
type lineReader struct {
	br     *bufio.Reader
	budget int    // bytes the rest of the head may take
	long   []byte // assembles a line longer than br's buffer
}

// next returns the next line without its LF (a CR before it is kept), or
// errHeadTooLarge once the budget is spent. The slice is valid until the
// next call.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.br.ReadSlice('\n')
	if err == nil {
		if lr.budget -= len(line); lr.budget < 0 {
			return nil, errHeadTooLarge
		}
		return line[:len(line)-1], nil
	}
	if err != bufio.ErrBufferFull {
		return nil, err
	}
	lr.long = append(lr.long[:0], line...)
	for {
		if len(lr.long) > lr.budget {
			return nil, errHeadTooLarge
		}
		line, err = lr.br.ReadSlice('\n')
		lr.long = append(lr.long, line...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
	}
	if lr.budget -= len(lr.long); lr.budget < 0 {
		return nil, errHeadTooLarge
	}
	return lr.long[:len(lr.long)-1], nil
}

// trimCR removes the CR of a CRLF line ending. A CR anywhere else is an
// error in nginx's parser (sw_almost_done wants LF after CR).
func trimCR(line []byte) ([]byte, bool) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, bytes.IndexByte(line, '\r') < 0
}

// readRequestHead reads one request line and its headers. Empty lines
// before the request line are skipped, as nginx does. Errors are
// *wireError for requests devproxy answers, or the reader's error (io.EOF,
// a timeout) when the client sent nothing or stopped.
func readRequestHead(lr *lineReader, h *requestHead) error {
	h.reset()
	var line []byte
	var err error
	for {
		if line, err = lr.next(); err != nil {
			return err
		}
		var ok bool
		if line, ok = trimCR(line); !ok {
			return badRequest("The request line is malformed.")
		}
		if len(line) > 0 {
			break
		}
	}
	if err := parseRequestLine(line, h); err != nil {
		return err
	}
	for {
		if line, err = lr.next(); err != nil {
			if err == io.EOF {
				return badRequest("The request headers end early.")
			}
			return err
		}
		var ok bool
		if line, ok = trimCR(line); !ok {
			return badRequest("A request header line is malformed.")
		}
		if len(line) == 0 {
			break
		}
		name, value, keep, err := parseHeaderLine(line, false)
		if err != nil {
			return err
		}
		if keep {
			h.Fields = append(h.Fields, headerField{Name: string(name), Value: string(value)})
		}
	}
	return processRequestHeaders(h)
}

// parseRequestLine reads "METHOD target HTTP/x.y" (ngx_http_parse_request_line).
func parseRequestLine(line []byte, h *requestHead) error {
	i := 0
	for i < len(line) && line[i] != ' ' {
		if c := line[i]; (c < 'A' || c > 'Z') && c != '_' && c != '-' {
			return badRequest("The request method is invalid.")
		}
		i++
	}
	if i == 0 || i == len(line) {
		return badRequest("The request line is malformed.")
	}
	h.Method = methodString(line[:i])
	for i < len(line) && line[i] == ' ' {
		i++
	}
	start := i
	for i < len(line) && line[i] != ' ' {
		if c := line[i]; c < 0x20 || c == 0x7f {
			return badRequest("The request target holds a control character.")
		}
		i++
	}
	target := line[start:i]
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i == len(line) {
		// HTTP/0.9 has no headers and no status line; devproxy does not
		// speak it.
		return badRequest("The request line has no HTTP version.")
	}
	major, minor, err := parseVersion(bytes.TrimRight(line[i:], " "))
	if err != nil {
		return err
	}
	h.Major, h.Minor = major, minor
	host, err := checkTarget(target)
	if err != nil {
		return err
	}
	h.Target = string(target)
	if host != nil {
		v, ok := validateHost(host)
		if !ok {
			return badRequest("The host in the request line is invalid.")
		}
		h.Host = v
	}
	return nil
}

// methodString avoids an allocation for the common methods.
func methodString(b []byte) string {
	switch string(b) {
	case "GET":
		return http.MethodGet
	case "POST":
		return http.MethodPost
	case "HEAD":
		return http.MethodHead
	case "PUT":
		return http.MethodPut
	case "DELETE":
		return http.MethodDelete
	case "PATCH":
		return http.MethodPatch
	case "OPTIONS":
		return http.MethodOptions
	}
	return string(b)
}

// parseVersion reads "HTTP/major.minor". A major version above 1 is 505,
// as in nginx; anything else malformed is 400.
func parseVersion(p []byte) (int, int, error) {
	bad := errBadVersion
	if len(p) < 6 || string(p[:5]) != "HTTP/" {
		return 0, 0, bad
	}
	p = p[5:]
	if p[0] < '1' || p[0] > '9' {
		return 0, 0, bad
	}
	major := 0
	i := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		major = major*10 + int(p[i]-'0')
		if major > 1 {
			return 0, 0, &wireError{http.StatusHTTPVersionNotSupported, "Only HTTP/1.0 and HTTP/1.1 are supported."}
		}
	}
	if i == len(p) || p[i] != '.' {
		return 0, 0, bad
	}
	i++
	if i == len(p) {
		return 0, 0, bad
	}
	minor := 0
	for ; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' || minor > 99 {
			return 0, 0, bad
		}
		minor = minor*10 + int(p[i]-'0')
	}
	return major, minor, nil
}

// checkTarget accepts the origin form ("/path?query") and the absolute form
// ("http://host:port/path"), as nginx does, and returns the host of the
// absolute form. The asterisk and authority forms (OPTIONS *, CONNECT
// host:port) are refused, as nginx refuses them.
func checkTarget(t []byte) (host []byte, err error) {
	bad := errBadTarget
	if len(t) == 0 {
		return nil, bad
	}
	if t[0] == '/' {
		return nil, nil
	}
	// scheme
	i := 0
	for i < len(t) && (isAlpha(t[i]) || i > 0 && (isDigit(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.')) {
		i++
	}
	if i == 0 || i+3 > len(t) || string(t[i:i+3]) != "://" {
		return nil, bad
	}
	i += 3
	start := i
	if i < len(t) && t[i] == '[' {
		for i++; i < len(t) && t[i] != ']'; i++ {
			if !isIPLiteralChar(t[i]) {
				return nil, bad
			}
		}
		if i == len(t) {
			return nil, bad
		}
		i++
	} else {
		for i < len(t) && (isAlpha(t[i]) || isDigit(t[i]) || t[i] == '.' || t[i] == '-') {
			i++
		}
	}
	hostEnd := i
	if i < len(t) && t[i] == ':' {
		for i++; i < len(t) && isDigit(t[i]); i++ {
		}
	}
	if i < len(t) && t[i] != '/' && t[i] != '?' {
		return nil, bad
	}
	return t[start:hostEnd], nil
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIPLiteralChar is nginx's sw_host_ip_literal: unreserved, sub-delims
// and ':'.
func isIPLiteralChar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	switch c {
	case ':', '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

// parseHeaderLine splits "Name: value" as ngx_http_parse_header_line does.
// keep is false for lines nginx ignores (ignore_invalid_headers): names
// with characters outside [A-Za-z0-9-], or with '_' unless
// allowUnderscore (nginx allows them from upstreams). Leading and trailing
// spaces of the value are dropped.
//
// Stricter than nginx, because a laxer reading is how requests are
// smuggled past another parser: a line without a colon, a control
// character other than tab in a value, and obsolete line folding are 400.
func parseHeaderLine(line []byte, allowUnderscore bool) (name, value []byte, keep bool, err error) {
	bad := errBadHeaderLine
	if c := line[0]; c <= 0x20 || c == 0x7f || c == ':' {
		return nil, nil, false, bad // includes obsolete line folding
	}
	keep = true
	i := 0
	for ; i < len(line) && line[i] != ':'; i++ {
		c := line[i]
		switch {
		case isAlpha(c) || isDigit(c) || c == '-':
		case c == '_':
			keep = keep && allowUnderscore
		case c <= 0x20 || c == 0x7f:
			return nil, nil, false, bad
		default:
			keep = false
		}
	}
	if i == len(line) {
		return nil, nil, false, bad
	}
	name = line[:i]
	value = line[i+1:]
	for len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	for len(value) > 0 && value[len(value)-1] == ' ' {
		value = value[:len(value)-1]
	}
	for _, c := range value {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return nil, nil, false, badRequest("A request header value holds a control character.")
		}
	}
	return name, value, keep, nil
}

// uniqueRequestHeaders may appear once: nginx answers a second copy with
// 400 (ngx_http_process_unique_header_line), so that the proxy and the
// app can never act on different copies.
var uniqueRequestHeaders = []string{
	"Host", "Content-Length", "Transfer-Encoding", "Authorization", "If-Match", "If-None-Match",
	"If-Modified-Since", "If-Unmodified-Since", "If-Range", "Content-Range", "Expect",
}

// processRequestHeaders applies nginx's checks on the whole header section
// (ngx_http_process_request_header) and fills the framing fields.
func processRequestHeaders(h *requestHead) error {
	var seen uint16 // bit i: uniqueRequestHeaders[i] was seen
	var hostHeader, contentLength, transferEncoding, connection string
	var haveHost, haveCL, haveTE bool
	for _, f := range h.Fields {
		for i, u := range uniqueRequestHeaders {
			if len(f.Name) != len(u) || !asciiEqualFold(f.Name, u) {
				continue
			}
			if seen&(1<<i) != 0 {
				return badRequest("The request has more than one " + u + " header.")
			}
			seen |= 1 << i
			switch i {
			case 0:
				hostHeader, haveHost = f.Value, true
			case 1:
				contentLength, haveCL = f.Value, true
			case 2:
				transferEncoding, haveTE = f.Value, true
			case 10:
				h.Expect100 = asciiEqualFold(f.Value, "100-continue")
			}
			break
		}
		if len(f.Name) == 10 && asciiEqualFold(f.Name, "Connection") {
			connection = f.Value
		}
	}
	if haveHost {
		h.HostHeader = hostHeader
		v, ok := validateHost([]byte(hostHeader))
		if !ok {
			return badRequest("The Host header is invalid.")
		}
		if h.Host == "" {
			h.Host = v
		}
	} else if h.atLeast11() {
		return badRequest("An HTTP/1.1 request needs a Host header.")
	}
	if haveCL {
		n, ok := parseContentLength(contentLength)
		if !ok {
			return badRequest("The Content-Length header is invalid.")
		}
		h.ContentLength = n
	}
	if haveTE {
		if !h.atLeast11() {
			return badRequest("An HTTP/1.0 request cannot use Transfer-Encoding.")
		}
		if !asciiEqualFold(transferEncoding, "chunked") {
			return &wireError{http.StatusNotImplemented, "This Transfer-Encoding is not supported; send the body with Content-Length or chunked."}
		}
		if haveCL {
			return badRequest("The request has both Content-Length and Transfer-Encoding.")
		}
		h.Chunked = true
	}
	if h.atLeast11() {
		h.KeepAlive = !containsFold(connection, "close")
	} else {
		h.KeepAlive = containsFold(connection, "keep-alive") && !containsFold(connection, "close")
	}
	if !h.atLeast11() {
		h.Expect100 = false
	}
	switch h.Method {
	case "CONNECT", "TRACE":
		return &wireError{http.StatusMethodNotAllowed, "The " + h.Method + " method is not allowed."}
	}
	return nil
}

// parseContentLength reads a Content-Length: decimal digits only, as
// nginx's ngx_atoof.
func parseContentLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// validateHost is ngx_http_validate_host: no "..", no '/', no control
// characters or spaces, not empty; a trailing dot and the port are
// dropped and the name is lowercased. IPv6 literals keep their brackets.
func validateHost(h []byte) (string, bool) {
	dot := -2
	hostLen := len(h)
	state := 0 // 0 usual, 1 in an IP literal, 2 after the host
	lower := false
	for i, c := range h {
		switch c {
		case '.':
			if dot == i-1 {
				return "", false
			}
			dot = i
		case ':':
			if state == 0 {
				hostLen, state = i, 2
			}
		case '[':
			if i == 0 {
				state = 1
			}
		case ']':
			if state == 1 {
				hostLen, state = i+1, 2
			}
		default:
			if c == '/' || c <= 0x20 || c == 0x7f {
				return "", false
			}
			if c >= 'A' && c <= 'Z' {
				lower = true
			}
		}
	}
	if dot == hostLen-1 {
		hostLen--
	}
	if hostLen <= 0 {
		return "", false
	}
	out := h[:hostLen]
	if lower {
		return string(bytes.ToLower(out)), true
	}
	return string(out), true
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if ca, cb := a[i], b[i]; ca != cb && !(isAlpha(ca) && ca|0x20 == cb|0x20) {
			return false
		}
	}
	return true
}

// containsFold is nginx's ngx_strcasestrn for the Connection header.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// --- upstream responses ---------------------------------------------------

// responseHead is an upstream's status line and headers.
type responseHead struct {
	Major, Minor int
	Status       int
	Reason       string
	Fields       []headerField
	// Framing, from the headers.
	ContentLength int64 // -1 when not given
	Chunked       bool
	Close         bool // Connection: close, or HTTP/1.0 without keep-alive
}

func (r *responseHead) reset() {
	*r = responseHead{Fields: r.Fields[:0], ContentLength: -1}
}

// get returns the first value of a header ("" without one).
func (r *responseHead) get(name string) string {
	for _, f := range r.Fields {
		if len(f.Name) == len(name) && asciiEqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// errBadUpstream is an upstream answer devproxy will not pass on; the
// client gets 502.
type errBadUpstream struct{ msg string }

func (e *errBadUpstream) Error() string { return "upstream sent an invalid answer: " + e.msg }

// readResponseHead reads an upstream's status line and headers, with bare
// LF line endings accepted as nginx accepts them.
func readResponseHead(lr *lineReader, r *responseHead) error {
	r.reset()
	line, err := lr.next()
	if err != nil {
		return err
	}
	line, ok := trimCR(line)
	if !ok {
		return &errBadUpstream{"malformed status line"}
	}
	if err := parseStatusLine(line, r); err != nil {
		return err
	}
	for {
		if line, err = lr.next(); err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if line, ok = trimCR(line); !ok {
			return &errBadUpstream{"malformed header line"}
		}
		if len(line) == 0 {
			break
		}
		// IIS may repeat its status line among the headers; nginx skips it.
		if bytes.HasPrefix(line, []byte("HTTP/")) {
			continue
		}
		name, value, keep, err := parseHeaderLine(line, true)
		if err != nil {
			return &errBadUpstream{"malformed header line"}
		}
		if keep {
			r.Fields = append(r.Fields, headerField{Name: string(name), Value: string(value)})
		}
	}
	return r.framing()
}

// parseStatusLine reads "HTTP/x.y NNN reason" (ngx_http_parse_status_line).
func parseStatusLine(line []byte, r *responseHead) error {
	bad := errBadStatusLine
	if len(line) < 12 || string(line[:5]) != "HTTP/" {
		return bad
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return bad
	}
	ver := line[5:sp]
	dot := bytes.IndexByte(ver, '.')
	if dot <= 0 || dot == len(ver)-1 {
		return bad
	}
	major, err1 := strconv.Atoi(string(ver[:dot]))
	minor, err2 := strconv.Atoi(string(ver[dot+1:]))
	if err1 != nil || err2 != nil || major != 1 {
		return bad
	}
	rest := bytes.TrimLeft(line[sp+1:], " ")
	if len(rest) < 3 || !isDigit(rest[0]) || !isDigit(rest[1]) || !isDigit(rest[2]) || len(rest) > 3 && rest[3] != ' ' {
		return bad
	}
	r.Major, r.Minor = major, minor
	r.Status = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	if r.Status < 100 {
		return bad
	}
	if len(rest) > 4 {
		r.Reason = string(rest[4:])
	}
	return nil
}

// framing reads the response's framing headers. Duplicate or conflicting
// ones are refused: they are how responses are smuggled.
func (r *responseHead) framing() error {
	var haveCL, haveTE bool
	var connection string
	for _, f := range r.Fields {
		switch {
		case asciiEqualFold(f.Name, "Content-Length"):
			n, ok := parseContentLength(f.Value)
			if !ok || haveCL {
				return &errBadUpstream{"invalid or duplicate Content-Length"}
			}
			haveCL, r.ContentLength = true, n
		case asciiEqualFold(f.Name, "Transfer-Encoding"):
			if haveTE || !asciiEqualFold(f.Value, "chunked") {
				return &errBadUpstream{"unsupported Transfer-Encoding"}
			}
			haveTE, r.Chunked = true, true
		case asciiEqualFold(f.Name, "Connection"):
			connection = f.Value
		}
	}
	if haveCL && haveTE {
		return &errBadUpstream{"both Content-Length and Transfer-Encoding"}
	}
	if r.Major == 1 && r.Minor == 0 {
		r.Close = !containsFold(connection, "keep-alive")
	} else {
		r.Close = containsFold(connection, "close")
	}
	return nil
}

// --- chunked bodies ---------------------------------------------------------

var errBadChunk = errors.New("malformed chunked encoding")

// maxChunkTrailer bounds the trailer section after the last chunk.
const maxChunkTrailer = 16 << 10

// chunkedReader decodes a chunked body (ngx_http_parse_chunked): chunk
// sizes in hex with optional extensions, CRLF or bare LF line endings,
// and a trailer section that is read and dropped (nginx does not pass
// trailers on either). It returns io.EOF only after the last chunk and
// the trailers: a body cut short is io.ErrUnexpectedEOF.
type chunkedReader struct {
	br        *bufio.Reader
	remaining int64 // of the current chunk
	inChunk   bool
	done      bool
	err       error
}

func newChunkedReader(br *bufio.Reader) *chunkedReader { return &chunkedReader{br: br} }

func (cr *chunkedReader) Read(p []byte) (int, error) {
	if cr.err != nil {
		return 0, cr.err
	}
	if cr.done {
		return 0, io.EOF
	}
	if !cr.inChunk {
		if err := cr.beginChunk(); err != nil {
			cr.err = err
			return 0, err
		}
		if cr.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > cr.remaining {
		p = p[:cr.remaining]
	}
	n, err := cr.br.Read(p)
	cr.remaining -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		cr.err = err
		return n, err
	}
	if cr.remaining == 0 {
		cr.inChunk = false
		if err := cr.endOfData(); err != nil {
			cr.err = err
			return n, nil // the bytes read are good; the error comes next
		}
	}
	return n, nil
}

// beginChunk reads a chunk-size line; at the last chunk it reads the
// trailers and sets done.
func (cr *chunkedReader) beginChunk() error {
	line, err := cr.line(256)
	if err != nil {
		return err
	}
	var size int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i] | 0x20
		var d int64
		switch {
		case line[i] >= '0' && line[i] <= '9':
			d = int64(line[i] - '0')
		case c >= 'a' && c <= 'f':
			d = int64(c-'a') + 10
		default:
			goto sizeEnd
		}
		if size > (1<<62)/16 {
			return errBadChunk
		}
		size = size*16 + d
	}
sizeEnd:
	if i == 0 {
		return errBadChunk
	}
	if i < len(line) {
		// Only an extension may follow: ";name=value", after optional
		// whitespace (nginx: ';', ' ' or '\t').
		if c := line[i]; c != ';' && c != ' ' && c != '\t' {
			return errBadChunk
		}
	}
	if size == 0 {
		for total := 0; ; {
			t, err := cr.line(maxChunkTrailer)
			if err != nil {
				return err
			}
			if len(t) == 0 {
				cr.done = true
				return nil
			}
			if total += len(t); total > maxChunkTrailer {
				return errBadChunk
			}
		}
	}
	cr.remaining, cr.inChunk = size, true
	return nil
}

// endOfData reads the CRLF (or LF) after a chunk's data.
func (cr *chunkedReader) endOfData() error {
	c, err := cr.br.ReadByte()
	if err == nil && c == '\r' {
		c, err = cr.br.ReadByte()
	}
	switch {
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	case err != nil:
		return err
	case c != '\n':
		return errBadChunk
	}
	return nil
}

// line reads one line of at most max bytes, without CRLF or LF.
func (cr *chunkedReader) line(max int) ([]byte, error) {
	line, err := cr.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || len(line) > max+2:
		return nil, errBadChunk
	case err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	line, ok := trimCR(line[:len(line)-1])
	if !ok {
		return nil, errBadChunk
	}
	return line, nil
}

// chunkedWriter frames what is written to w as chunks. Close writes the
// last chunk.
type chunkedWriter struct{ w *bufio.Writer }

func (cw chunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var size [16]byte
	cw.w.Write(strconv.AppendInt(size[:0], int64(len(p)), 16))
	cw.w.WriteString("\r\n")
	cw.w.Write(p)
	_, err := cw.w.WriteString("\r\n")
	return len(p), err
}

func (cw chunkedWriter) Close() error {
	_, err := cw.w.WriteString("0\r\n\r\n")
	return err
}
