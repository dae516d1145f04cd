package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
)

// TestErrorRingWraps: the ring keeps the newest recentErrorsKept
// failures, newest first, and never an ok answer or a probe.
func TestErrorRingWraps(t *testing.T) {
	var r errorRing
	now := time.Now()
	for i := range recentErrorsKept + 10 {
		r.add(httpproxy.AccessEntry{Path: fmt.Sprint("/x/", i), Location: "/x/", Status: 502}, now)
	}
	r.add(httpproxy.AccessEntry{Path: "/x/ok", Location: "/x/", Status: 200}, now)
	r.add(httpproxy.AccessEntry{Path: "/x/probe", Location: "/x/", Status: 503, Probe: true}, now)
	got := r.newest("/x/", 1000)
	if len(got) != recentErrorsKept {
		t.Fatalf("%d kept, want %d", len(got), recentErrorsKept)
	}
	if got[0].Path != fmt.Sprint("/x/", recentErrorsKept+9) || got[len(got)-1].Path != "/x/10" {
		t.Errorf("newest %s, oldest %s", got[0].Path, got[len(got)-1].Path)
	}
	if len(r.newest("/y/", 10)) != 0 {
		t.Error("another route's errors")
	}
}
