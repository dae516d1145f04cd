package calliope

import (
	"fmt"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// TestErrorLog keeps failures only (5xx, unanswered with a reason), not
// probes nor successes, newest first, bounded per route.
func TestErrorLog(t *testing.T) {
	l := NewErrorLog()
	l.Observe(httpproxy.AccessEntry{Method: "GET", Path: "/a/ok", Location: "/a/", Status: 200})
	l.Observe(httpproxy.AccessEntry{Method: "GET", Path: "/a/probe", Location: "/a/", Status: 502, Probe: true})
	l.Observe(httpproxy.AccessEntry{Method: "GET", Path: "/a/x", Location: "/a/", Status: 502, Reason: "connection refused on 127.0.0.1:1"})
	l.Observe(httpproxy.AccessEntry{Method: "POST", Path: "/a/y", Location: "/a/", Status: 500})
	l.Observe(httpproxy.AccessEntry{Method: "GET", Path: "/b/", Location: "/b/", Status: 404})
	got := l.Recent("/a/", 10)
	if len(got) != 2 || got[0].Path != "/a/y" || got[0].Reason != "answered 500 Internal Server Error" || got[1].Reason != "connection refused on 127.0.0.1:1" {
		t.Errorf("%+v", got)
	}
	if len(l.Recent("/b/", 10)) != 0 {
		t.Error("a 404 is not a proxy error")
	}
	for i := range ErrorsPerRoute + 5 {
		l.Observe(httpproxy.AccessEntry{Method: "GET", Path: fmt.Sprint("/c/", i), Location: "/c/", Status: 504})
	}
	if c := l.Recent("/c/", 100); len(c) != ErrorsPerRoute || c[0].Path != fmt.Sprint("/c/", ErrorsPerRoute+4) {
		t.Errorf("%d kept, newest %s", len(c), c[0].Path)
	}
}
