package routing_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// These tests pin how set variables are evaluated per request: each once
// per block entered, however often the block's values name it, and never
// beyond routefile.MaxValueLen.

// setChain is a block whose set variables form a chain of n: each value is
// its successor repeated `width` times; the last is leaf. X-V carries $v0.
func setChain(n, width int, leaf string) string {
	var b strings.Builder
	b.WriteString("location /p/ {\n")
	for i := 0; i < n-1; i++ {
		fmt.Fprintf(&b, "    set $v%d %s;\n", i, strings.Repeat(fmt.Sprintf("$v%d", i+1), width))
	}
	fmt.Fprintf(&b, "    set $v%d %s;\n", n-1, leaf)
	b.WriteString("    proxy_set_header X-V $v0;\n    proxy_pass http://127.0.0.1:1;\n}\n")
	return b.String()
}

// TestSetChainDeeperThan16 used to give "" for $v0: the evaluator stopped
// following set variables 16 levels down and fell back to an empty value.
func TestSetChainDeeperThan16(t *testing.T) {
	tbl := one(setChain(40, 1, "deep"))
	mustLoad(t, tbl)
	d := get(tbl, "/p/x")
	if got := d.OutHeader.Get("X-V"); got != "deep" {
		t.Errorf("X-V = %q, want %q (the value at the end of a 40-set chain)\n\t%s", got, "deep", describe(d))
	}
}

// TestSetValuesEvaluatedOncePerRequest: a 15-level chain of doubling sets
// names its leaf 2^14 times. Evaluated once per variable it costs a few
// allocations per level; re-evaluated at every reference it costs 2^15.
func TestSetValuesEvaluatedOncePerRequest(t *testing.T) {
	tbl := one(setChain(15, 2, "x"))
	mustLoad(t, tbl)
	req := &routing.Request{Target: "/p/x"}
	d := tbl.Resolve(req)
	if got := len(d.OutHeader.Get("X-V")); got != 1<<14 {
		t.Fatalf("X-V has %d bytes, want %d", got, 1<<14)
	}
	allocs := testing.AllocsPerRun(5, func() { tbl.Resolve(req) })
	if allocs > 500 {
		t.Errorf("resolving allocates %.0f times; with each set variable evaluated once it takes well under 500", allocs)
	}
}

// TestSetValueOverflow: a value is limited to routefile.MaxValueLen. A
// request that makes one longer gets a 500 whose trace names the variable
// and the line that sets it; the request is not proxied.
func TestSetValueOverflow(t *testing.T) {
	const text = "location /p/ {\n" +
		"    proxy_set_header X-V $big;\n" +
		"    set $big $http_x_in$http_x_in$http_x_in$http_x_in;\n" +
		"    proxy_pass http://127.0.0.1:1;\n" +
		"}\n"
	tbl := one(text)
	mustLoad(t, tbl)

	small := strings.Repeat("s", 100)
	d := tbl.Explain(&routing.Request{Target: "/p/x", Header: http.Header{"X-In": {small}}})
	if d.Action != routing.ActionProxy || d.OutHeader.Get("X-V") != strings.Repeat(small, 4) {
		t.Fatalf("a small header must be proxied with X-V four times it:\n\t%s", describe(d))
	}

	big := strings.Repeat("b", routefile.MaxValueLen/4+1)
	for _, explain := range []bool{true, false} {
		req := &routing.Request{Target: "/p/x", Header: http.Header{"X-In": {big}}}
		d := tbl.Resolve(req)
		if explain {
			d = tbl.Explain(req)
		}
		if d.Action != routing.ActionError || d.Status != http.StatusInternalServerError {
			t.Fatalf("explain=%v: want a 500 error decision:\n\t%s", explain, describe(d))
		}
		if d.Upstream != "" || d.UpstreamURI != "" || d.OutHeader != nil || d.UpstreamHeaders != nil {
			t.Errorf("explain=%v: an overflowing request must not be proxied:\n\t%s", explain, describe(d))
		}
		if d.Location == nil || d.Location.Spec != "/p/" {
			t.Errorf("explain=%v: the decision should still name the location:\n\t%s", explain, describe(d))
		}
		if !explain {
			continue
		}
		note := strings.Join(d.Trace, "\n")
		for _, want := range []string{"$big", "apps/t.conf:3", "65536"} {
			if !strings.Contains(note, want) {
				t.Errorf("the trace should say %q:\n%s", want, note)
			}
		}
	}
}

// TestSetMemoFollowsRewrites: memoizing must not freeze a value whose
// inputs change inside the block. $x names $1, whose value each matching
// rewrite replaces, so X-X takes the last rewrite's capture, exactly as
// when every reference evaluated it afresh.
func TestSetMemoFollowsRewrites(t *testing.T) {
	const text = "location ~ ^/m/ {\n" +
		"    set $x $1;\n" +
		"    rewrite ^/m/(a)(.*)$ /m/$x$2;\n" +
		"    rewrite ^/m/(.*)$ /z/$1 break;\n" +
		"    proxy_set_header X-X $x;\n" +
		"    proxy_pass http://127.0.0.1:1;\n" +
		"}\n"
	tbl := one(text)
	mustLoad(t, tbl)
	d := get(tbl, "/m/abc")
	if d.UpstreamURI != "/z/abc" || d.OutHeader.Get("X-X") != "abc" {
		t.Errorf("want upstream /z/abc with X-X abc:\n\t%s", describe(d))
	}
}
