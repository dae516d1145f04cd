package metrics

// The Prometheus text exposition format, version 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/
// Route labels come from route files, which anyone who can write to the
// workspace controls: every label value is escaped where it is written.

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PrometheusContentType is the Content-Type of WritePrometheus's output.
const PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

// routeTotals is one route's totals, copied out of the lock.
type routeTotals struct {
	name string
	totals
}

// snapshot copies every route's totals, sorted by label.
func (r *Registry) snapshot() []routeTotals {
	r.mu.Lock()
	out := make([]routeTotals, 0, len(r.routes))
	for _, rt := range r.routes {
		out = append(out, routeTotals{rt.name, rt.total})
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b routeTotals) int { return strings.Compare(a.name, b.name) })
	return out
}

// WritePrometheus writes every route's totals in the Prometheus text
// format (PrometheusContentType), metric names prefixed "devproxy_".
func (r *Registry) WritePrometheus(w io.Writer) error {
	routes := r.snapshot()
	p := promWriter{w: w, buf: make([]byte, 0, 32<<10)}

	p.family("devproxy_requests_total", "counter", "Requests answered, by route and status class (none: closed without an answer).")
	for i := range routes {
		rt := &routes[i]
		for c, n := range rt.byClass {
			p.sample("devproxy_requests_total", rt.name, "code_class", Class(c).String(), n)
		}
	}
	p.family("devproxy_response_bytes_total", "counter", "Response body bytes sent, by route.")
	for i := range routes {
		p.sample("devproxy_response_bytes_total", routes[i].name, "", "", routes[i].bytes)
	}
	p.family("devproxy_listener_requests_total", "counter", "Requests by the listener they came through: local, or tunnel (the public internet).")
	for i := range routes {
		rt := &routes[i]
		n := rt.requests()
		p.sample("devproxy_listener_requests_total", rt.name, "listener", "local", n-rt.tunnel)
		p.sample("devproxy_listener_requests_total", rt.name, "listener", "tunnel", rt.tunnel)
	}
	p.family("devproxy_upstream_seconds", "histogram", "Time from connecting to the upstream until its response head arrived (or the attempt failed), by route.")
	for i := range routes {
		p.histogram("devproxy_upstream_seconds", routes[i].name, &routes[i].upstream)
	}
	p.family("devproxy_proxy_seconds", "histogram", "Time the proxy added before the response head: time to first byte less the upstream's time, by route.")
	for i := range routes {
		p.histogram("devproxy_proxy_seconds", routes[i].name, &routes[i].proxy)
	}
	return p.flush()
}

// promWriter appends exposition lines to a buffer, written out as it fills.
type promWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (p *promWriter) family(name, typ, help string) {
	p.buf = append(p.buf, "# HELP "...)
	p.buf = append(p.buf, name...)
	p.buf = append(p.buf, ' ')
	p.buf = append(p.buf, help...) // constant text: no backslash or newline
	p.buf = append(p.buf, "\n# TYPE "...)
	p.buf = append(p.buf, name...)
	p.buf = append(p.buf, ' ')
	p.buf = append(p.buf, typ...)
	p.buf = append(p.buf, '\n')
}

// sample writes name{route="...",key="value"} n; key "" leaves the second
// label out.
func (p *promWriter) sample(name, route, key, value string, n uint64) {
	p.labels(name, route, key, value)
	p.buf = strconv.AppendUint(p.buf, n, 10)
	p.end()
}

func (p *promWriter) labels(name, route, key, value string) {
	p.buf = append(p.buf, name...)
	p.buf = append(p.buf, `{route="`...)
	p.buf = appendLabelValue(p.buf, route)
	p.buf = append(p.buf, '"')
	if key != "" {
		p.buf = append(p.buf, ',')
		p.buf = append(p.buf, key...)
		p.buf = append(p.buf, `="`...)
		p.buf = appendLabelValue(p.buf, value)
		p.buf = append(p.buf, '"')
	}
	p.buf = append(p.buf, "} "...)
}

func (p *promWriter) end() {
	p.buf = append(p.buf, '\n')
	if len(p.buf) >= 28<<10 {
		p.flush()
	}
}

// leLabels are LatencyBuckets in seconds, as "le" label values.
var leLabels = func() (out [len(LatencyBuckets) + 1]string) {
	for i, d := range LatencyBuckets {
		out[i] = strconv.FormatFloat(d.Seconds(), 'g', -1, 64)
	}
	out[len(LatencyBuckets)] = "+Inf"
	return out
}()

func (p *promWriter) histogram(name, route string, h *histogram) {
	var cum uint64
	for i, n := range h.counts {
		cum += n
		p.sample(name+"_bucket", route, "le", leLabels[i], cum)
	}
	p.labels(name+"_sum", route, "", "")
	p.buf = strconv.AppendFloat(p.buf, h.sum.Seconds(), 'g', -1, 64)
	p.end()
	p.sample(name+"_count", route, "", "", h.n)
}

func (p *promWriter) flush() error {
	if p.err == nil && len(p.buf) > 0 {
		_, p.err = p.w.Write(p.buf)
	}
	p.buf = p.buf[:0]
	return p.err
}

// appendLabelValue appends s escaped as the format requires (backslash,
// double quote and line feed), invalid UTF-8 replaced by U+FFFD, since
// the format is UTF-8 and a route file need not be.
func appendLabelValue(buf []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '\\':
				buf = append(buf, `\\`...)
			case '"':
				buf = append(buf, `\"`...)
			case '\n':
				buf = append(buf, `\n`...)
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = utf8.AppendRune(buf, utf8.RuneError)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return buf
}
