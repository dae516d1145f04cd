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
}

// RunExplain prints the match trace of one request as JSON. The request is
// routing.ExplainRequest's, as the language server's devproxy/explain
// builds it.
func RunExplain(opts ExplainOptions, stdout, stderr io.Writer) int {
	ws, err := routing.NewWorkspace(opts.Root)
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
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(t.Explain(req)); err != nil {
		fmt.Fprintf(stderr, "devproxy explain: %v\n", err)
		return ExitFail
	}
	return ExitOK
}
