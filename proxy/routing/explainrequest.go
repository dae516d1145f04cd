package routing

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// ErrHeader marks an ExplainRequest error about a header line, so a caller
// can say where the line came from (the CLI's --header flag).
var ErrHeader = errors.New("header")

// ExplainRequest builds the request that `devproxy explain` and the
// language server's devproxy/explain describe, so the two cannot disagree.
// target is a path ("/api/x?y=1") or an absolute URL; headers are "Name:
// value" lines, where a Host line sets the Host. The request arrives as the
// proxy would receive it: on the port of cfg.Listen, or of
// cfg.Tunnel.Listen with tunnel set, so $server_port and X-Forwarded-Host
// are what the running proxy sends.
func ExplainRequest(cfg Config, target, method string, headers []string, tunnel bool) (*Request, error) {
	if !strings.HasPrefix(target, "/") && !strings.Contains(target, "://") {
		return nil, fmt.Errorf("%q is neither a path (/x) nor a URL (http://host/x)", target)
	}
	req := &Request{Method: method, Target: target, Header: http.Header{}, Tunnel: tunnel}
	for _, line := range headers {
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%w %q: use \"Name: value\"", ErrHeader, line)
		}
		value = strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			req.Host = value // not a regular header in Go
			continue
		}
		req.Header.Add(name, value)
	}
	listen := cfg.Listen
	if tunnel {
		listen = cfg.Tunnel.Listen
	}
	// Without a Host line the resolver uses localhost:ServerPort, or the
	// host of an absolute URL, as nginx does.
	if _, port, err := net.SplitHostPort(listen); err == nil {
		req.ServerPort, _ = strconv.Atoi(port)
	}
	return req, nil
}
