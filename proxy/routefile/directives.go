package routefile

import (
	"maps"
	"slices"
)

// directiveSpec describes a directive devproxy accepts inside a location:
// how the parser checks it and what editors say about it (hover,
// completion). It is the one table of the directives: nothing else lists
// their arguments, signatures or effects.
type directiveSpec struct {
	min, max int  // argument count bounds; max < 0 means unbounded
	single   bool // nginx rejects a second one in the same block ("is duplicate")
	// noEffect, when set, is the reason the directive changes nothing in
	// devproxy; it is reported as a hint.
	noEffect string
	// sig is the directive as written, with its arguments in capitals
	// ("proxy_pass URL;"); nginx says what nginx does with it, in one
	// line; here what devproxy does, when it says more than "the same".
	sig, nginx, here string
}

// implemented lists the directives of the route-file contract
// (spec/route-files.md §2).
var implemented = map[string]directiveSpec{
	"proxy_pass": {min: 1, max: 1, single: true, sig: "proxy_pass URL;",
		nginx: "forwards the request to URL; when URL has a path, it replaces the part of the URI the location matched",
		here:  "the same; the host may be a $variable, resolved when the request is forwarded"},
	"set": {min: 2, max: 2, sig: "set $VARIABLE VALUE;",
		nginx: "gives a variable a value, in the order the block's directives run",
		here:  "a declaration: the value is computed when the variable is used, so order inside the block does not matter"},
	"proxy_set_header": {min: 2, max: 2, sig: "proxy_set_header NAME VALUE;",
		nginx: "sets a request header sent upstream; an empty VALUE removes it"},
	"rewrite": {min: 2, max: 3, sig: "rewrite REGEX REPLACEMENT [last|break|redirect|permanent];",
		nginx: "changes the URI when it matches REGEX, then searches the locations again (last), stays in the block (break) or redirects"},
	"return": {min: 1, max: 2, sig: "return CODE [TEXT|URL]; or return URL;",
		nginx: "stops processing and answers with CODE (and a body or a Location)"},
	"add_header": {min: 2, max: 3, sig: "add_header NAME VALUE [always];",
		nginx: "adds a response header to 2xx and 3xx responses, to every response with always"},
	"proxy_hide_header": {min: 1, max: 1, sig: "proxy_hide_header NAME;",
		nginx: "drops a header of the upstream's response"},
	"proxy_redirect": {min: 1, max: 2, sig: "proxy_redirect off|default|FROM TO;",
		nginx: "rewrites the Location and Refresh headers of the upstream's redirects"},
	"proxy_read_timeout": {min: 1, max: 1, single: true, sig: "proxy_read_timeout TIME;",
		nginx: "how long to wait between two reads of the upstream's response (default 60s)"},
	"proxy_send_timeout": {min: 1, max: 1, single: true, sig: "proxy_send_timeout TIME;",
		nginx: "how long to wait between two writes of the request to the upstream (default 60s)"},
	"proxy_connect_timeout": {min: 1, max: 1, single: true, sig: "proxy_connect_timeout TIME;",
		nginx: "how long to wait for the connection to the upstream (default 60s)"},
	"proxy_buffering": {min: 1, max: 1, single: true, sig: "proxy_buffering on|off;",
		nginx: "buffers the upstream's response before sending it to the client",
		here:  "devproxy always streams responses as they arrive; off is what it does anyway, on has no effect"},
	"proxy_request_buffering": {min: 1, max: 1, single: true, sig: "proxy_request_buffering on|off;",
		nginx: "reads the whole request body before sending it upstream",
		here:  "devproxy always streams request bodies; off is what it does anyway, on has no effect"},
	"proxy_intercept_errors": {min: 1, max: 1, single: true, sig: "proxy_intercept_errors on|off;",
		nginx: "with on, upstream responses with a code listed in error_page are replaced by that page"},
	"error_page": {min: 2, max: -1, sig: "error_page CODE... [=[RESPONSE]] URI|@NAME;",
		nginx: "answers the listed codes with another URI or a named location"},
	"empty_gif": {min: 0, max: 0, single: true, sig: "empty_gif;",
		nginx: "answers with a 1x1 transparent GIF"},
	"break": {min: 0, max: 0, sig: "break;",
		nginx: "stops running the block's rewrite directives"},
	"client_max_body_size": {min: 1, max: 1, single: true, sig: "client_max_body_size SIZE;",
		nginx: "refuses request bodies larger than SIZE with 413 (default 1m; 0 disables the check)"},

	"proxy_http_version": {min: 1, max: 1, single: true, sig: "proxy_http_version 1.0|1.1;",
		nginx:    "the HTTP version nginx speaks to the upstream (1.1 is needed for WebSockets)",
		noEffect: "devproxy always talks HTTP/1.1 to upstreams and passes WebSocket upgrades on its own"},
	"resolver": {min: 1, max: -1, sig: "resolver ADDRESS... [valid=TIME];",
		nginx:    "the DNS servers nginx asks for upstream names given by variables",
		noEffect: "devproxy resolves upstream hosts with the system resolver when it connects, so hosts that come and go just work"},
	"resolver_timeout": {min: 1, max: 1, single: true, sig: "resolver_timeout TIME;",
		nginx:    "how long nginx waits for the resolver",
		noEffect: "devproxy uses the system resolver; proxy_connect_timeout bounds the whole connect"},
	"absolute_redirect": {min: 1, max: 1, single: true, sig: "absolute_redirect on|off;",
		nginx:    "whether nginx's own redirects carry scheme and host",
		noEffect: "devproxy's own redirects are always relative (/path/), so they work through the https tunnel"},
	"port_in_redirect": {min: 1, max: 1, single: true, sig: "port_in_redirect on|off;",
		nginx:    "whether nginx's own absolute redirects carry the port",
		noEffect: "devproxy's own redirects are relative and never carry a port"},
	"proxy_cache_bypass": {min: 1, max: -1, sig: "proxy_cache_bypass VALUE...;",
		nginx:    "answers from the upstream instead of the cache when a VALUE is set",
		noEffect: "devproxy does not cache responses"},
}

// knownToNginx lists directives nginx accepts inside a location (from the
// modules Debian's nginx package builds) that devproxy does not implement.
// They are accepted with a warning so that snippets keep loading.
var knownToNginx = map[string]bool{}

func init() {
	for _, n := range []string{
		// core
		"alias", "root", "try_files", "index", "autoindex", "autoindex_exact_size", "autoindex_format",
		"autoindex_localtime", "internal", "limit_except", "limit_rate", "limit_rate_after", "default_type",
		"types", "types_hash_max_size", "types_hash_bucket_size", "client_body_buffer_size",
		"client_body_in_file_only", "client_body_in_single_buffer", "client_body_temp_path",
		"client_body_timeout", "keepalive_timeout", "keepalive_requests", "keepalive_time",
		"keepalive_disable", "send_timeout", "sendfile", "sendfile_max_chunk", "tcp_nopush", "tcp_nodelay",
		"access_log", "error_log", "log_not_found", "log_subrequest", "open_file_cache",
		"open_file_cache_errors", "open_file_cache_min_uses", "open_file_cache_valid", "output_buffers",
		"postpone_output", "read_ahead", "recursive_error_pages", "reset_timedout_connection",
		"satisfy", "send_lowat", "server_name_in_redirect", "server_tokens", "subrequest_output_buffer_size",
		"msie_padding", "msie_refresh", "chunked_transfer_encoding", "etag", "if_modified_since",
		"ignore_invalid_headers", "directio", "directio_alignment", "disable_symlinks", "aio", "aio_write",
		"lingering_close", "lingering_time", "lingering_timeout", "max_ranges", "auth_delay",
		"log_format", "open_log_file_cache", "underscores_in_headers",
		// rewrite module (if and location are handled separately)
		"rewrite_log", "uninitialized_variable_warn",
		// proxy module
		"proxy_bind", "proxy_buffer_size", "proxy_buffers", "proxy_busy_buffers_size", "proxy_cache",
		"proxy_cache_background_update", "proxy_cache_convert_head", "proxy_cache_key", "proxy_cache_lock",
		"proxy_cache_lock_age", "proxy_cache_lock_timeout", "proxy_cache_max_range_offset",
		"proxy_cache_methods", "proxy_cache_min_uses", "proxy_cache_revalidate", "proxy_cache_use_stale",
		"proxy_cache_valid", "proxy_cookie_domain", "proxy_cookie_flags", "proxy_cookie_path",
		"proxy_force_ranges", "proxy_headers_hash_bucket_size", "proxy_headers_hash_max_size",
		"proxy_ignore_client_abort", "proxy_ignore_headers", "proxy_limit_rate", "proxy_max_temp_file_size",
		"proxy_method", "proxy_next_upstream", "proxy_next_upstream_timeout", "proxy_next_upstream_tries",
		"proxy_no_cache", "proxy_pass_header", "proxy_pass_request_body", "proxy_pass_request_headers",
		"proxy_set_body", "proxy_socket_keepalive", "proxy_ssl_certificate", "proxy_ssl_certificate_key",
		"proxy_ssl_ciphers", "proxy_ssl_conf_command", "proxy_ssl_crl", "proxy_ssl_name",
		"proxy_ssl_password_file", "proxy_ssl_protocols", "proxy_ssl_server_name", "proxy_ssl_session_reuse",
		"proxy_ssl_trusted_certificate", "proxy_ssl_verify", "proxy_ssl_verify_depth", "proxy_store",
		"proxy_store_access", "proxy_temp_file_write_size", "proxy_temp_path", "proxy_cache_path",
		// other http modules in Debian's build
		"allow", "deny", "auth_basic", "auth_basic_user_file", "auth_request", "auth_request_set",
		"expires", "gzip", "gzip_buffers", "gzip_comp_level", "gzip_disable", "gzip_http_version",
		"gzip_min_length", "gzip_proxied", "gzip_types", "gzip_vary", "gzip_static", "gunzip", "gunzip_buffers",
		"sub_filter", "sub_filter_last_modified", "sub_filter_once", "sub_filter_types",
		"charset", "charset_types", "override_charset", "source_charset", "ssi", "ssi_last_modified",
		"ssi_min_file_chunk", "ssi_silent_errors", "ssi_types", "ssi_value_length", "addition_types",
		"add_before_body", "add_after_body", "add_trailer", "limit_conn", "limit_conn_dry_run",
		"limit_conn_log_level", "limit_conn_status", "limit_req", "limit_req_dry_run", "limit_req_log_level",
		"limit_req_status", "mirror", "mirror_request_body", "random_index", "real_ip_header",
		"real_ip_recursive", "set_real_ip_from", "secure_link", "secure_link_md5", "secure_link_secret",
		"slice", "split_clients", "stub_status", "userid", "userid_domain", "userid_expires", "userid_flags",
		"userid_mark", "userid_name", "userid_p3p", "userid_path", "userid_service", "dav_methods",
		"dav_access", "create_full_put_path", "min_delete_depth", "flv", "mp4", "mp4_buffer_size",
		"mp4_max_buffer_size", "image_filter", "xslt_stylesheet", "perl", "http2_chunk_size",
		"fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass", "fastcgi_param",
		"fastcgi_index", "uwsgi_param", "scgi_param", "grpc_set_header", "grpc_read_timeout",
		"echo", "echo_before_body", "echo_after_body",
	} {
		knownToNginx[n] = true
	}
}

// topLevelKnown lists statements nginx accepts at the level where route
// files are included (server) or that people paste from http-level configs.
// They are reported as "not applied" warnings; anything else at top level is
// an unknown directive.
func topLevelKnown(name string) bool {
	switch name {
	case "server", "upstream", "map", "set", "if", "include", "listen", "server_name", "geo",
		"limit_req_zone", "limit_conn_zone", "proxy_cache_path", "log_format", "http", "events",
		"worker_processes", "user", "pid", "error_log", "rewrite", "return":
		return true
	}
	_, ok := implemented[name]
	return ok || knownToNginx[name]
}

// DirectiveInfo describes a directive for editors (hover, completion).
type DirectiveInfo struct {
	Name      string
	Args      string // "1 argument", "2 to 3 arguments", ...
	Signature string // "proxy_pass URL;"
	Nginx     string // what nginx does with it, one line
	// Here is what devproxy does with it: the same as nginx when empty
	// and NoEffect is empty too.
	Here string
	// NoEffect is set when devproxy accepts it without effect, and why.
	NoEffect string
	// Ignored is set for a directive nginx knows and devproxy does not
	// implement: accepted with a warning, and not applied.
	Ignored bool
}

// Directives lists the directives of the route-file contract, by name.
func Directives() []DirectiveInfo {
	out := make([]DirectiveInfo, 0, len(implemented))
	for _, name := range slices.Sorted(maps.Keys(implemented)) {
		out = append(out, directiveInfo(name, implemented[name]))
	}
	return out
}

// DirectiveByName describes a directive of a location block: one of the
// contract's, or one nginx knows that devproxy ignores (Ignored); false
// for a name neither knows.
func DirectiveByName(name string) (DirectiveInfo, bool) {
	if spec, ok := implemented[name]; ok {
		return directiveInfo(name, spec), true
	}
	if knownToNginx[name] {
		return DirectiveInfo{Name: name, Ignored: true, Signature: name + " ...;",
			Here: "devproxy does not implement it: the file still loads, with a warning, and the directive changes nothing"}, true
	}
	return DirectiveInfo{}, false
}

func directiveInfo(name string, spec directiveSpec) DirectiveInfo {
	return DirectiveInfo{Name: name, Args: argCount(spec), Signature: spec.sig, Nginx: spec.nginx, Here: spec.here, NoEffect: spec.noEffect}
}
