package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

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

// ParseHeaders turns "Name: value" flags into a header set; Host is
// returned separately because it is not a regular header in Go.
func ParseHeaders(lines []string) (http.Header, string, error) {
	h := http.Header{}
	host := ""
	for _, line := range lines {
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, "", fmt.Errorf("--header %q: use \"Name: value\"", line)
		}
		value = strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			host = value
			continue
		}
		h.Add(name, value)
	}
	return h, host, nil
}

// RunExplain prints the match trace of one request as JSON.
func RunExplain(opts ExplainOptions, stdout, stderr io.Writer) int {
	hdr, host, err := ParseHeaders(opts.Headers)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy explain: %v\n", err)
		return ExitUsage
	}
	target := opts.Target
	if !strings.HasPrefix(target, "/") && !strings.Contains(target, "://") {
		fmt.Fprintf(stderr, "devproxy explain: %q is neither a path (/x) nor a URL (http://host/x)\n", target)
		return ExitUsage
	}
	ws, err := routing.NewWorkspace(opts.Root)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy explain: %v\n", err)
		return ExitUsage
	}
	d := ws.Table().Explain(&routing.Request{Method: opts.Method, Target: target, Host: host, Header: hdr, Tunnel: opts.Tunnel})
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		fmt.Fprintf(stderr, "devproxy explain: %v\n", err)
		return ExitFail
	}
	return ExitOK
}
