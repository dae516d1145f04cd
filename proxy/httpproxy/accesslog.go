package httpproxy

// The access log: one entry per request, handed to a hook the host sets
// (ServeOptions.AccessLog). Nothing is measured when no hook is set.
//
// Privacy: an entry never holds request headers, cookies, bodies or the
// query string's values, which may carry tokens. The path is the request
// target's path; a query is shown as "?…".

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// AccessEntry describes one request the proxy answered.
type AccessEntry struct {
	Method string
	// Path is the request target's path as sent (an absolute-form
	// target's scheme and host dropped), with "?…" in place of a query.
	Path string
	// Route is the location that took the request, "file:line"; "" when
	// none did.
	Route string
	// Location is the route identity health reports use for the block
	// that took the request (its route, else its spec: "/app/"); "" when
	// none did.
	Location string
	// Upstream is the proxy_pass origin; "" when the proxy answered itself.
	Upstream string
	// Status is the status sent; 0 when the connection was closed without
	// an answer (return 444, a client gone while dialling).
	Status   int
	Duration time.Duration
	// Bytes counts the response body bytes sent.
	Bytes int64
	// Reason says why the upstream could not answer (503, 504, 502), as
	// "connection refused on 127.0.0.1:5999"; "" otherwise.
	Reason string
	Tunnel bool
	// Probe marks the health scanner's own requests (ProbeHeader).
	Probe bool
}

// SetAccessLog installs fn, called once per request when its answer has
// been written (for a WebSocket, when the tunnel closes). Set it before
// serving; nil turns the log off.
func (p *Proxy) SetAccessLog(fn func(AccessEntry)) { p.accessLog = fn }

// logExchange hands one finished exchange to the access log.
func (p *Proxy) logExchange(x *exchange) {
	e := AccessEntry{
		Method:   x.req.Method,
		Path:     loggedPath(x.req.Target),
		Status:   x.status,
		Duration: x.duration(),
		Bytes:    x.sent,
		Reason:   x.upstreamReason,
		Tunnel:   x.c.srv.tunnel,
	}
	if x.aborted && !x.wroteHead {
		e.Status = 0
	}
	for _, f := range x.req.Fields {
		if len(f.Name) == len(ProbeHeader) && strings.EqualFold(f.Name, ProbeHeader) {
			e.Probe = f.Value == p.probeToken
			break
		}
	}
	if d := x.decision; d != nil {
		if d.Location != nil {
			e.Route = d.Location.File + ":" + strconv.Itoa(d.Location.Line)
		}
		if b := d.Block; b != nil {
			e.Location = b.Loc.Spec
			if b.Loc.HasRoute {
				e.Location = b.Loc.Route
			}
		}
		e.Upstream = d.Upstream
	}
	p.accessLog(e)
}

func (x *exchange) duration() time.Duration {
	if !x.end.IsZero() {
		return x.end.Sub(x.start)
	}
	return time.Since(x.start)
}

// maxLoggedPath bounds a path in the log; request lines may be 64 KB.
const maxLoggedPath = 256

// loggedPath is a target's path for the log: the query's values dropped.
func loggedPath(target string) string {
	if !strings.HasPrefix(target, "/") {
		// Absolute form: http://host/path.
		if i := strings.Index(target, "://"); i >= 0 {
			rest := target[i+3:]
			if j := strings.IndexAny(rest, "/?"); j >= 0 {
				target = rest[j:]
			} else {
				target = "/"
			}
		}
	}
	path, _, query := strings.Cut(target, "?")
	if len(path) > maxLoggedPath {
		path = path[:maxLoggedPath] + "…"
	}
	if query {
		path += "?…"
	}
	return path
}

// upstreamReason says in a few words why an upstream failed, for the log.
func upstreamReason(err error, status int, d *routing.Decision) string {
	l := d.Block.Loc
	connect, read, send := timeouts(l)
	host := d.Target.HostPort()
	switch {
	case errors.Is(err, errReadTimeout):
		return "no answer within " + read.String() + " (proxy_read_timeout)"
	case errors.Is(err, errSendTimeout):
		return "stopped reading the request body for " + send.String() + " (proxy_send_timeout)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused on " + host
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "cannot resolve " + dnsErr.Name
	}
	if status == 503 {
		if isTimeout(err) {
			return "no connection to " + host + " within " + connect.String() + " (proxy_connect_timeout)"
		}
		return "cannot connect to " + host
	}
	return "no valid answer from " + host
}

// The access log's attribute keys, shared by the JSON form (one attribute
// each) and the compact text form.
const (
	accessMethod   = "method"
	accessPath     = "path"
	accessRoute    = "route"
	accessUpstream = "upstream"
	accessStatus   = "status"
	accessDuration = "duration_ms"
	accessBytes    = "bytes"
	accessReason   = "reason"
	accessTunnel   = "tunnel"
)

// AccessMessage is the message of every access-log record.
const AccessMessage = "request"

// LogAccess returns an access-log hook that logs each entry at info level
// (the health scanner's probes at debug level) on l, with one attribute per field (for slog.NewJSONHandler, or the
// compact NewAccessTextHandler).
func LogAccess(l *slog.Logger) func(AccessEntry) {
	return func(e AccessEntry) {
		attrs := [...]slog.Attr{
			slog.String(accessMethod, e.Method),
			slog.String(accessPath, e.Path),
			slog.String(accessRoute, e.Route),
			slog.String(accessUpstream, e.Upstream),
			slog.Int(accessStatus, e.Status),
			slog.Float64(accessDuration, float64(e.Duration.Microseconds())/1000),
			slog.Int64(accessBytes, e.Bytes),
			slog.String(accessReason, e.Reason),
			slog.Bool(accessTunnel, e.Tunnel),
		}
		n := len(attrs)
		if e.Reason == "" && !e.Tunnel {
			n -= 2 // reason and tunnel only when they say something
		}
		level := slog.LevelInfo
		if e.Probe {
			level = slog.LevelDebug // the health scanner's, every few seconds
		}
		l.LogAttrs(context.Background(), level, AccessMessage, attrs[:n]...)
	}
}

// NewAccessTextHandler returns a slog handler that writes access-log
// records as compact, aligned lines, as Caddy's and Vite's do:
//
//	14:02:03 GET    /api/users?…        → apps/api.conf:3      http://127.0.0.1:4000  200    3.2ms   512B
//
// Records are expected to come from LogAccess; other attributes are
// ignored.
func NewAccessTextHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return &accessTextHandler{w: w, level: level, mu: new(sync.Mutex)}
}

type accessTextHandler struct {
	w     io.Writer
	level slog.Leveler
	mu    *sync.Mutex
}

func (h *accessTextHandler) Enabled(_ context.Context, l slog.Level) bool {
	min := slog.LevelInfo
	if h.level != nil {
		min = h.level.Level()
	}
	return l >= min
}

func (h *accessTextHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *accessTextHandler) WithGroup(string) slog.Handler      { return h }

func (h *accessTextHandler) Handle(_ context.Context, r slog.Record) error {
	var method, path, route, upstream, reason string
	var status, bytes int64
	var ms float64
	var tunnel bool
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case accessMethod:
			method = a.Value.String()
		case accessPath:
			path = a.Value.String()
		case accessRoute:
			route = a.Value.String()
		case accessUpstream:
			upstream = a.Value.String()
		case accessStatus:
			status = a.Value.Int64()
		case accessDuration:
			ms = a.Value.Float64()
		case accessBytes:
			bytes = a.Value.Int64()
		case accessReason:
			reason = a.Value.String()
		case accessTunnel:
			tunnel = a.Value.Bool()
		}
		return true
	})
	buf := make([]byte, 0, 160)
	buf = r.Time.AppendFormat(buf, "15:04:05")
	buf = append(buf, ' ')
	buf = pad(buf, method, 6)
	buf = append(buf, ' ')
	buf = pad(buf, printable(path), 24)
	buf = append(buf, " → "...)
	buf = pad(buf, dash(route), 20)
	buf = append(buf, ' ')
	buf = pad(buf, dash(upstream), 22)
	buf = append(buf, ' ')
	if status == 0 {
		buf = append(buf, "---"...)
	} else {
		buf = strconv.AppendInt(buf, status, 10)
	}
	buf = append(buf, ' ')
	buf = padLeft(buf, formatMillis(ms), 8)
	buf = append(buf, ' ')
	buf = padLeft(buf, formatBytes(bytes), 6)
	if tunnel {
		buf = append(buf, "  via tunnel"...)
	}
	if reason != "" {
		buf = append(buf, "  "...)
		buf = append(buf, printable(reason)...)
	}
	buf = append(buf, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// pad appends s and spaces up to width runes.
func pad(buf []byte, s string, width int) []byte {
	buf = append(buf, s...)
	for n := utf8.RuneCountInString(s); n < width; n++ {
		buf = append(buf, ' ')
	}
	return buf
}

func padLeft(buf []byte, s string, width int) []byte {
	for n := utf8.RuneCountInString(s); n < width; n++ {
		buf = append(buf, ' ')
	}
	return append(buf, s...)
}

// printable escapes control characters, so that no log line can be split
// or forged by what it reports.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			q := strconv.QuoteToASCII(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func formatMillis(ms float64) string {
	switch {
	case ms >= 10000:
		return strconv.FormatFloat(ms/1000, 'f', 0, 64) + "s"
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
}

func formatBytes(n int64) string {
	switch {
	case n >= 10<<20:
		return strconv.FormatInt(n>>20, 10) + "MB"
	case n >= 10<<10:
		return strconv.FormatInt(n>>10, 10) + "kB"
	}
	return strconv.FormatInt(n, 10) + "B"
}
