package routefile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Template is a directive value that may hold variables: "http://$u/x/$1",
// "${scheme}://host". It is compiled once when the file is read and
// evaluated per request by the routing package.
type Template struct {
	Raw   string
	Parts []TemplatePart
}

// TemplatePart is either literal text or one variable reference.
type TemplatePart struct {
	Lit     string
	Var     string // variable name without '$', e.g. "host" or "http_upgrade"
	Capture int    // 0..9 for $0..$9, -1 otherwise
}

// IsVar reports whether the part is a variable (or capture) reference.
func (p TemplatePart) IsVar() bool { return p.Var != "" || p.Capture >= 0 }

// HasVars reports whether evaluating t depends on the request.
func (t Template) HasVars() bool {
	for _, p := range t.Parts {
		if p.IsVar() {
			return true
		}
	}
	return false
}

// Vars lists the named variables t references (captures excluded).
func (t Template) Vars() []string {
	var out []string
	for _, p := range t.Parts {
		if p.Var != "" {
			out = append(out, p.Var)
		}
	}
	return out
}

// Captures reports whether t references $0..$9.
func (t Template) Captures() bool {
	for _, p := range t.Parts {
		if p.Capture >= 0 {
			return true
		}
	}
	return false
}

// Value renders one part: its literal text, or the variable or capture it
// names, looked up with lookup and capture.
func (p TemplatePart) Value(lookup func(name string) string, capture func(n int) string) string {
	switch {
	case p.Capture >= 0:
		return capture(p.Capture)
	case p.Var != "":
		return lookup(p.Var)
	}
	return p.Lit
}

// Eval renders t, looking variables up with lookup and captures with
// capture.
func (t Template) Eval(lookup func(name string) string, capture func(n int) string) string {
	if len(t.Parts) == 1 && !t.Parts[0].IsVar() {
		return t.Parts[0].Lit
	}
	var b strings.Builder
	for _, p := range t.Parts {
		b.WriteString(p.Value(lookup, capture))
	}
	return b.String()
}

// EvalLimit is Eval for values that must stay under limit bytes: it stops
// once the result is longer and reports ok false, with the result cut
// there, so a value that would grow without bound costs at most limit
// bytes of work plus one part.
func (t Template) EvalLimit(lookup func(name string) string, capture func(n int) string, limit int) (s string, ok bool) {
	if len(t.Parts) == 1 {
		// One part needs no copy.
		s = t.Parts[0].Value(lookup, capture)
		if len(s) > limit {
			return s[:limit], false
		}
		return s, true
	}
	var b strings.Builder
	for _, p := range t.Parts {
		b.WriteString(p.Value(lookup, capture))
		if b.Len() > limit {
			return b.String()[:limit], false
		}
	}
	return b.String(), true
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ParseTemplate compiles a value the way nginx's script compiler reads it:
// "$1".."$9" are captures (one digit), "${name}" and "$name" are variables.
func ParseTemplate(s string) (Template, error) {
	t := Template{Raw: s}
	lit := 0
	flush := func(end int) {
		if end > lit {
			t.Parts = append(t.Parts, TemplatePart{Lit: s[lit:end], Capture: -1})
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			i++
			continue
		}
		flush(i)
		j := i + 1
		switch {
		case j < len(s) && s[j] >= '0' && s[j] <= '9':
			t.Parts = append(t.Parts, TemplatePart{Capture: int(s[j] - '0')})
			i = j + 1
		case j < len(s) && s[j] == '{':
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return t, fmt.Errorf("the closing '}' of the variable name in %q is missing", s)
			}
			name := s[j+1 : j+end]
			if name == "" || !allVarChars(name) {
				return t, fmt.Errorf("invalid variable name %q in %q", name, s)
			}
			t.Parts = append(t.Parts, TemplatePart{Var: strings.ToLower(name), Capture: -1})
			i = j + end + 1
		default:
			k := j
			for k < len(s) && isVarChar(s[k]) {
				k++
			}
			if k == j {
				return t, fmt.Errorf("invalid variable name after '$' in %q", s)
			}
			t.Parts = append(t.Parts, TemplatePart{Var: strings.ToLower(s[j:k]), Capture: -1})
			i = k
		}
		lit = i
	}
	flush(len(s))
	if len(t.Parts) == 0 {
		t.Parts = []TemplatePart{{Lit: "", Capture: -1}}
	}
	return t, nil
}

func allVarChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isVarChar(s[i]) {
			return false
		}
	}
	return true
}

// builtinVars are nginx variables that devproxy evaluates. Prefix families
// (http_*, arg_*, cookie_*) are handled by IsBuiltinVar.
var builtinVars = map[string]bool{
	"host": true, "http_host": true, "scheme": true, "remote_addr": true, "remote_port": true,
	"proxy_host": true, "proxy_port": true, "uri": true, "document_uri": true, "request_uri": true,
	"args": true, "query_string": true, "is_args": true, "server_port": true, "server_name": true,
	"server_addr": true, "server_protocol": true, "request_method": true, "content_type": true,
	"content_length": true, "proxy_add_x_forwarded_for": true, "https": true, "request": true,
	"hostname": true, "nginx_version": true, "msec": true, "time_iso8601": true, "request_id": true,
}

// IsBuiltinVar reports whether name is a variable nginx provides (and
// devproxy evaluates).
func IsBuiltinVar(name string) bool {
	if builtinVars[name] {
		return true
	}
	for _, p := range []string{"http_", "arg_", "cookie_"} {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// nginxFixedVars are the variables nginx 1.22 defines by their full name
// and refuses to set ("the duplicate ... variable"), as `nginx -t` reports
// for Debian's build. Variables of the prefix families (http_*, arg_*,
// cookie_*, sent_http_*, upstream_http_*...) are not among them: nginx
// lets set give those a value, except for the few it defines by full name
// ($http_host, $sent_http_content_type...), which are listed here. The
// list is held to nginx by proxy/nginxdiff.
var nginxFixedVars = map[string]bool{}

func init() {
	for _, name := range strings.Fields(`
		binary_remote_addr body_bytes_sent bytes_sent connection connection_requests
		connection_time connections_active connections_reading connections_waiting
		connections_writing content_length content_type date_gmt date_local document_root
		document_uri fastcgi_path_info fastcgi_script_name grpc_internal_trailers gzip_ratio
		host hostname http2 http_cookie http_host http_referer http_user_agent http_via
		http_x_forwarded_for https is_args limit_conn_status limit_req_status msec
		nginx_version pid pipe proxy_add_x_forwarded_for proxy_internal_body_length
		proxy_internal_chunked proxy_protocol_addr proxy_protocol_port
		proxy_protocol_server_addr proxy_protocol_server_port query_string realip_remote_addr
		realip_remote_port realpath_root remote_addr remote_port remote_user request
		request_body request_body_file request_completion request_filename request_id
		request_length request_method request_time request_uri scheme secure_link
		secure_link_expires sent_http_cache_control sent_http_connection
		sent_http_content_length sent_http_content_type sent_http_keep_alive
		sent_http_last_modified sent_http_link sent_http_location sent_http_transfer_encoding
		server_addr server_name server_port server_protocol slice_range status
		tcpinfo_rcv_space tcpinfo_rtt tcpinfo_rttvar tcpinfo_snd_cwnd time_iso8601 time_local
		uid_got uid_set upstream_addr upstream_bytes_received upstream_bytes_sent
		upstream_cache_etag upstream_cache_last_modified upstream_cache_status
		upstream_connect_time upstream_header_time upstream_response_length
		upstream_response_time upstream_status uri`) {
		nginxFixedVars[name] = true
	}
}

// setEffects are the built-ins nginx lets set change with an effect beyond
// the variable's value, which devproxy does not implement: such a set is
// accepted and ignored.
var setEffects = map[string]string{
	"args":       "in nginx it replaces the request's query, and so what the upstream receives; change the query with rewrite instead",
	"proxy_host": "in nginx it changes the Host header sent upstream; use proxy_set_header Host instead",
	"proxy_port": "in nginx it changes $proxy_port only; devproxy reads the port from proxy_pass",
}

// settableVar says what set does with a variable name (lower case, without
// '$'), as nginx does: "" when set gives it a value, which for a variable
// of a built-in prefix family ($http_x_user) overrides the request's value
// in that block; otherwise why nginx refuses it (refused true) or why
// devproxy ignores it.
func settableVar(name string) (why string, refused bool) {
	if nginxFixedVars[name] {
		return "is a built-in variable and cannot be set (nginx refuses it too)", true
	}
	return setEffects[name], false
}

// BuiltinVariables lists the nginx variables devproxy evaluates, by name
// (without '$'); the http_*, arg_* and cookie_* families are listed by
// their prefix.
func BuiltinVariables() []string {
	out := slices.Sorted(maps.Keys(builtinVars))
	return append(out, "http_", "arg_", "cookie_")
}
