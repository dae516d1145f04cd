package routing_test

import (
	"errors"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

func TestExplainRequest(t *testing.T) {
	cfg := routing.Config{Listen: "127.0.0.1:9000", Tunnel: routing.TunnelConfig{Listen: "127.0.0.1:9001"}}
	req, err := routing.ExplainRequest(cfg, "/api/x?y=1", "POST", []string{"Host: a.test:8080", "X-A: 1", "X-A: 2", "Accept:text/html"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if req.Host != "a.test:8080" || req.Method != "POST" || req.Target != "/api/x?y=1" || req.Tunnel {
		t.Errorf("request = %+v", req)
	}
	if got := req.Header.Values("X-A"); len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("X-A = %q", got)
	}
	if req.Header.Get("Accept") != "text/html" || req.Header.Get("Host") != "" {
		t.Errorf("headers = %v", req.Header)
	}
	// The port is the listener's the request arrives on.
	if req.ServerPort != 9000 {
		t.Errorf("ServerPort = %d, want 9000 (listen)", req.ServerPort)
	}
	if req, _ := routing.ExplainRequest(cfg, "/", "", nil, true); req.ServerPort != 9001 || !req.Tunnel {
		t.Errorf("through the tunnel: ServerPort = %d, tunnel %v; want 9001 (tunnel.listen), true", req.ServerPort, req.Tunnel)
	}
	// Without a Host line the resolver picks the Host: localhost and the
	// listen port, or the host of an absolute URL.
	tbl := routing.Compose(cfg, []*routing.SourceFile{src("apps/a.conf", t0, "location /a/ { proxy_pass http://127.0.0.1:1; }\n")}, nil)
	for target, host := range map[string]string{"/a/x": "localhost:9000", "http://dev.test/a/x": "dev.test"} {
		req, err := routing.ExplainRequest(tbl.Config, target, "", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := tbl.Explain(req).UpstreamHeaders["X-Forwarded-Host"]; got != host {
			t.Errorf("%s: X-Forwarded-Host = %q, want %q", target, got, host)
		}
	}

	for _, c := range []struct {
		name, target string
		headers      []string
		header       bool // an ErrHeader
	}{
		{"not a path", "myapp", nil, false},
		{"empty", "", nil, false},
		{"no colon", "/x", []string{"no colon"}, true},
		{"space in the name", "/x", []string{"X Y: 1"}, true},
		{"no name", "/x", []string{": 1"}, true},
	} {
		_, err := routing.ExplainRequest(cfg, c.target, "", c.headers, false)
		if err == nil || errors.Is(err, routing.ErrHeader) != c.header {
			t.Errorf("%s: err = %v, header error %v", c.name, err, c.header)
		}
	}
}
