package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestScan runs `devproxy scan` on a workspace with a healthy route and
// one whose upstream never ran: exit 1, and each format says which.
func TestScan(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "ok")
	}))
	defer up.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	root := t.TempDir()
	writeFile(t, root, "apps/a.conf", fmt.Sprintf("location /ok/ { proxy_pass %s; }\nlocation /down/ { proxy_pass http://%s; }\n", up.URL, down))

	t.Run("text", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"scan", "--root", root}, &stdout, &stderr); code != 1 {
			t.Fatalf("exit %d, want 1; stderr: %s", code, stderr.String())
		}
		out := stdout.String()
		for _, want := range []string{"ok       /ok/  apps/a.conf:1  200", "error    /down/  apps/a.conf:2  503", "connection refused on " + down, "2 routes: 1 ok, 0 warning, 1 error"} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("junit", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"scan", "--root", root, "--format", "junit", "--concurrency", "2"}, &stdout, &stderr); code != 1 {
			t.Fatalf("exit %d, want 1; stderr: %s", code, stderr.String())
		}
		var suite struct {
			XMLName  xml.Name `xml:"testsuite"`
			Tests    int      `xml:"tests,attr"`
			Failures int      `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		}
		if err := xml.Unmarshal(stdout.Bytes(), &suite); err != nil {
			t.Fatalf("%v\n%s", err, stdout.String())
		}
		if suite.Tests != 2 || suite.Failures != 1 || len(suite.Cases) != 2 {
			t.Fatalf("%+v", suite)
		}
		for _, c := range suite.Cases {
			switch c.Name {
			case "/ok/":
				if c.Failure != nil {
					t.Errorf("/ok/ failed: %+v", c.Failure)
				}
			case "/down/":
				if c.Failure == nil || c.Failure.Type != "error" || c.Failure.Message != "connection refused on "+down {
					t.Errorf("/down/: %+v", c.Failure)
				}
			}
		}
	})
	t.Run("json, one route", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"scan", "--root", root, "--format", "json", "--route", "/ok/"}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d, want 0; stderr: %s", code, stderr.String())
		}
		var rep struct {
			Routes []struct{ Route, Status string } `json:"routes"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Routes) != 1 || rep.Routes[0].Route != "/ok/" || rep.Routes[0].Status != "ok" {
			t.Errorf("%+v", rep.Routes)
		}
	})
	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"--format", "xml"}, "--format must be text, json or junit"},
		{[]string{"--concurrency", "0"}, "--concurrency must be at least 1"},
		{[]string{"--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"--route", "/nowhere/"}, "no prefix or exact route /nowhere/"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"scan", "--root", root}, tt.args...), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.says) {
			t.Errorf("scan %q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.says)
		}
	}
}
