package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// ExplainOptions are the flags of `devproxy explain`.
type ExplainOptions struct {
	Root    string
	Headers []string // "Name: value"
	Method  string
	Tunnel  bool // as if the request came through the tunnel (https)
	Target  string
	Format  string // "json" (the default) or "text"
	Env     string // --env: the environment profile of devproxy.json to apply
}

// RunExplain prints the match trace of one request as JSON, or with
// Format "text" as a short summary for people. The request is
// routing.ExplainRequest's, as the language server's devproxy/explain
// builds it.
func RunExplain(opts ExplainOptions, stdout, stderr io.Writer) int {
	ws, err := openWorkspace(opts.Root, opts.Env)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy explain: %v\n", err)
		return ExitUsage
	}
	t := ws.Table()
	req, err := routing.ExplainRequest(t.Config, opts.Target, opts.Method, opts.Headers, opts.Tunnel)
	if errors.Is(err, routing.ErrHeader) {
		fmt.Fprintf(stderr, "devproxy explain: --%v\n", err) // --header "x": use "Name: value"
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "devproxy explain: %v\n", err)
		return ExitUsage
	}
	d := t.Explain(req)
	if opts.Format == "text" {
		writeExplainText(stdout, opts.Method, d)
		return ExitOK
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		fmt.Fprintf(stderr, "devproxy explain: %v\n", err)
		return ExitFail
	}
	return ExitOK
}

// writeExplainText prints a decision for people: where the request goes
// and why, one fact a line, then the trace.
//
//	GET /app/x
//	  location  apps/app.conf:1 (location /app/)
//	  action    proxy, status 200
//	  upstream  http://127.0.0.1:3000/x?y=1
//	  why       longest prefix: ...
func writeExplainText(w io.Writer, method string, d *routing.Decision) {
	if method == "" {
		method = "GET"
	}
	fmt.Fprintf(w, "%s %s\n", method, d.Path)
	line := func(label, value string) { fmt.Fprintf(w, "  %-9s %s\n", label, value) }
	if l := d.Location; l != nil {
		spec := l.Spec
		if l.Modifier != "" {
			spec = l.Modifier + " " + spec
		}
		line("location", fmt.Sprintf("%s:%d (location %s)", l.File, l.Line, spec))
	} else {
		line("location", "none matches")
	}
	line("action", fmt.Sprintf("%s, status %d", d.Action, d.Status))
	if d.Upstream != "" {
		line("upstream", d.Upstream+d.UpstreamURI)
	}
	if loc, ok := d.ResponseHeaders["Location"]; ok {
		line("redirect", loc)
	}
	for i, step := range d.Trace {
		label := ""
		if i == 0 {
			label = "why"
		}
		line(label, step)
	}
}
