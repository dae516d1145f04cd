package routing

import "errors"

// ParsedURI is a request target split and normalised the way nginx does it
// (ngx_http_parse_complex_uri with merge_slashes on).
type ParsedURI struct {
	Raw     string // the request target as received: $request_uri
	Path    string // percent-decoded, dot segments resolved, slashes merged: $uri
	Args    string // the raw query after '?': $args
	HasArgs bool
	// Quoted is set when the path had percent-escapes; nginx then
	// re-escapes the path when it builds the upstream URI.
	Quoted bool
	// Plus is set when the path had a '+' (nginx's plus_in_uri).
	Plus bool
}

// errBadURI is the 400 case: malformed escapes, control characters, or
// dot segments that climb above "/".
var errBadURI = errors.New("bad request path")

const (
	stUsual = iota
	stSlash
	stDot
	stDotDot
	stQuoted
	stQuotedSecond
)

// ParseURI normalises a request target ("/a/../b%20c?x=1"). It follows
// nginx's state machine byte for byte, including its quirks: %2F and %2E
// are decoded before slashes and dots are interpreted, while %25, %23 and
// %3F stay literal characters of the path.
func ParseURI(raw string) (ParsedURI, error) {
	res := ParsedURI{Raw: raw}
	if raw == "" || raw[0] != '/' {
		return res, errBadURI
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return res, errBadURI
		}
	}
	u := make([]byte, 0, len(raw))
	state, quotedState := stUsual, stUsual
	var decoded byte
	p := 1
	ch := raw[0]
	advance := func() {
		if p < len(raw) {
			ch = raw[p]
		} else {
			ch = '\n' // nginx relies on the line feed after the URI
		}
		p++
	}
	// climb drops the segment before a "/.." that was just written.
	climb := func() bool {
		i := len(u) - 4
		for {
			if i < 0 {
				return false
			}
			if u[i] == '/' {
				u = u[:i+1]
				return true
			}
			i--
		}
	}
	argsAt := -1
	// fragment is set when a '#' ended the path: nginx jumps straight to
	// its done label there, past the final resolution of a trailing "."
	// or "..", which the states below have already done for that byte.
	fragment := false
loop:
	for p <= len(raw) {
		switch state {
		case stUsual:
			switch ch {
			case '/':
				state = stSlash
				u = append(u, ch)
			case '%':
				quotedState, state = state, stQuoted
			case '?':
				argsAt = p
				break loop
			case '#':
				fragment = true
				break loop
			case '+':
				res.Plus = true
				u = append(u, ch)
			default:
				u = append(u, ch)
			}
			advance()
		case stSlash:
			switch ch {
			case '/':
				// merge_slashes: drop it
			case '.':
				state = stDot
				u = append(u, ch)
			case '%':
				quotedState, state = state, stQuoted
			case '?':
				argsAt = p
				break loop
			case '#':
				fragment = true
				break loop
			case '+':
				res.Plus = true
				state = stUsual
				u = append(u, ch)
			default:
				state = stUsual
				u = append(u, ch)
			}
			advance()
		case stDot:
			switch ch {
			case '/':
				state = stSlash
				u = u[:len(u)-1]
			case '.':
				state = stDotDot
				u = append(u, ch)
			case '%':
				quotedState, state = state, stQuoted
			case '?':
				u = u[:len(u)-1]
				argsAt = p
				break loop
			case '#':
				u = u[:len(u)-1]
				fragment = true
				break loop
			case '+':
				res.Plus = true
				state = stUsual
				u = append(u, ch)
			default:
				state = stUsual
				u = append(u, ch)
			}
			advance()
		case stDotDot:
			switch ch {
			case '/', '?', '#':
				if !climb() {
					return res, errBadURI
				}
				if ch == '?' {
					argsAt = p
					break loop
				}
				if ch == '#' {
					fragment = true
					break loop
				}
				state = stSlash
			case '%':
				quotedState, state = state, stQuoted
			case '+':
				res.Plus = true
				state = stUsual
				u = append(u, ch)
			default:
				state = stUsual
				u = append(u, ch)
			}
			advance()
		case stQuoted:
			res.Quoted = true
			if h, ok := unhex(ch); ok {
				decoded = h
				state = stQuotedSecond
				advance()
				continue
			}
			return res, errBadURI
		case stQuotedSecond:
			h, ok := unhex(ch)
			if !ok {
				return res, errBadURI
			}
			letter := ch > '9'
			ch = decoded<<4 | h
			switch {
			case !letter && (ch == '%' || ch == '#'):
				state = stUsual
				u = append(u, ch)
				advance()
				continue
			case !letter && ch == 0:
				return res, errBadURI
			case letter && ch == '?':
				state = stUsual
				u = append(u, ch)
				advance()
				continue
			case letter && ch == '+':
				res.Plus = true
			}
			// Interpret the decoded byte in the state before the escape.
			state = quotedState
		}
	}
	switch {
	case fragment:
		// the path is complete
	case argsAt < 0:
		switch state {
		case stQuoted, stQuotedSecond:
			return res, errBadURI
		case stDot:
			u = u[:len(u)-1]
		case stDotDot:
			if !climb() {
				return res, errBadURI
			}
		}
	default:
		res.HasArgs = true
		args := raw[argsAt:]
		for i := 0; i < len(args); i++ {
			if args[i] == '#' {
				args = args[:i]
				break
			}
		}
		res.Args = args
	}
	res.Path = string(u)
	return res, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

// escapeTable marks bytes to percent-encode.
type escapeTable [256]bool

func makeEscapeTable(extra string) *escapeTable {
	var t escapeTable
	for c := 0; c < 256; c++ {
		t[c] = c <= 0x1f || c >= 0x7f
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return &t
}

// nginx's NGX_ESCAPE_URI and NGX_ESCAPE_ARGS tables.
var (
	escapeURITable  = makeEscapeTable(" #%?")
	escapeArgsTable = makeEscapeTable(" #%&+;?")
	// escapeUnsafeTable escapes only what can never appear raw in a
	// request target: control characters, space and DEL. Values that are
	// already escaped ($request_uri, $args) pass unchanged.
	escapeUnsafeTable = func() *escapeTable {
		var t escapeTable
		for c := 0; c <= ' '; c++ {
			t[c] = true
		}
		t[0x7f] = true
		return &t
	}()
)

func escape(s string, t *escapeTable) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if t[s[i]] {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if t[c] {
			out = append(out, '%', hex[c>>4], hex[c&15])
		} else {
			out = append(out, c)
		}
	}
	return string(out)
}

// unescapeRedirect mirrors nginx's NGX_UNESCAPE_REDIRECT, applied to a
// rewrite's redirect target: escapes of printable characters above '%' are
// decoded, others kept, and nothing after '?' is touched.
func unescapeRedirect(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '?' {
			return string(append(out, s[i:]...))
		}
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				d := hi<<4 | lo
				if d > '%' && d < 0x7f {
					out = append(out, d)
					i += 2
					continue
				}
			}
		}
		out = append(out, c)
	}
	return string(out)
}
