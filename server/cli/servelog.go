package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// NewServeLogs makes `devproxy serve`'s two logs on w: the process's log
// and the access log, in the format --log-format names. In "text" the
// process's log is slog's text form and the access log the compact,
// aligned lines of httpproxy.NewAccessTextHandler; in "json" both are
// slog's JSON, one object a line, the access entries' fields as
// attributes.
func NewServeLogs(w io.Writer, format string, level slog.Leveler) (log, access *slog.Logger) {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		l := slog.New(slog.NewJSONHandler(w, opts))
		return l, l
	}
	return slog.New(slog.NewTextHandler(w, opts)), slog.New(httpproxy.NewAccessTextHandler(w, level))
}

// routeProblems prints a served table's errors and warnings in `devproxy
// check`'s form (WriteDiagnosticsText), at start and whenever a reload
// changes them; a reload that leaves them as they were prints nothing.
//
// Hints and information are left to `check` and the editor: they are
// advice with quick fixes, not reasons a route does not serve, and
// repeating them at every start would bury the errors.
type routeProblems struct {
	mu   sync.Mutex
	w    io.Writer    // text: the lines as check prints them
	log  *slog.Logger // json: one record per problem
	json bool
	last string // the lines printed last, to see a change
	seen bool
	gen  uint64 // the generation of the table printed last
}

func (p *routeProblems) report(t *routing.RouteTable) {
	var diags []routefile.Diagnostic
	for _, d := range t.Diagnostics {
		if d.Severity == routefile.Error || d.Severity == routefile.Warning {
			diags = append(diags, d)
		}
	}
	var text bytes.Buffer
	WriteDiagnosticsText(&text, diags)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen && (text.String() == p.last || t.Generation < p.gen) {
		return // unchanged, or older than what was printed (start-up race)
	}
	p.gen = t.Generation
	first := !p.seen
	p.seen, p.last = true, text.String()
	if len(diags) == 0 {
		if !first {
			p.log.Info("route files: no errors or warnings now")
		}
		return
	}
	errors := 0
	for _, d := range diags {
		if d.Severity == routefile.Error {
			errors++
		}
	}
	if p.json {
		for _, d := range diags {
			level := slog.LevelWarn
			if d.Severity == routefile.Error {
				level = slog.LevelError
			}
			p.log.Log(context.Background(), level, "route file problem", "diagnostic", d.String(), "file", d.File,
				"line", d.Range.Start.Line, "col", d.Range.Start.Col, "severity", d.Severity.String(), "code", d.Code, "message", d.Message)
		}
		return
	}
	p.log.Warn("route file problems (devproxy check shows hints too)", "errors", errors, "warnings", len(diags)-errors)
	p.w.Write(text.Bytes())
}
