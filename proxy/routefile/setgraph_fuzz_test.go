package routefile_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// fuzzSetGraph is a block of set variables v0..vN-1 built from fuzz input,
// with a plain model of it to check the engine against.
type fuzzSetGraph struct {
	n     int
	parts [][]fuzzPart
}

// fuzzPart is one piece of a set value: another set variable, literal
// text, or a request value ($host, the capture $1).
type fuzzPart struct {
	ref int    // -1 unless a reference to v<ref>
	lit string // literal text or a request value's text
	req bool   // a request value: lit is what the request makes it
}

// The request every fuzzed block is asked about, and what its values are.
const (
	fuzzTarget  = "/f/cap"
	fuzzHostVal = "localhost"
	fuzzCapVal  = "cap"
)

// newFuzzSetGraph reads the input as: a variable count, then for each
// variable a part count and that many parts. Small byte values are
// references, so most inputs make dense graphs with cycles and repeated
// paths; running out of input ends every remaining value with "x".
func newFuzzSetGraph(data []byte) fuzzSetGraph {
	next := func() (byte, bool) {
		if len(data) == 0 {
			return 0, false
		}
		b := data[0]
		data = data[1:]
		return b, true
	}
	g := fuzzSetGraph{n: 1}
	if b, ok := next(); ok {
		g.n = 1 + int(b)%48
	}
	g.parts = make([][]fuzzPart, g.n)
	for i := range g.parts {
		k, ok := next()
		if !ok {
			g.parts[i] = []fuzzPart{{ref: -1, lit: "x"}}
			continue
		}
		for j := 0; j <= int(k)%4; j++ {
			b, ok := next()
			var p fuzzPart
			switch {
			case !ok:
				p = fuzzPart{ref: -1, lit: "x"}
			case b < 64:
				p = fuzzPart{ref: int(b) % g.n}
			case b < 128:
				p = fuzzPart{ref: -1, lit: strings.Repeat(string(rune('a'+b%26)), int(b-63)*int(b-63))}
			case b < 160:
				p = fuzzPart{ref: -1, lit: fuzzHostVal, req: true}
			case b < 192:
				p = fuzzPart{ref: -1, lit: fuzzCapVal, req: true}
			default:
				p = fuzzPart{ref: int(b) * 7 % g.n}
			}
			g.parts[i] = append(g.parts[i], p)
		}
	}
	return g
}

// file renders the block: a regex location (for $1) that sets every
// variable and sends each in a header.
func (g fuzzSetGraph) file() string {
	var b strings.Builder
	b.WriteString("location ~ ^/f/(.*)$ {\n")
	for i, parts := range g.parts {
		fmt.Fprintf(&b, "    set $v%d \"", i)
		for _, p := range parts {
			switch {
			case p.ref >= 0:
				fmt.Fprintf(&b, "${v%d}", p.ref)
			case p.req && p.lit == fuzzHostVal:
				b.WriteString("${host}")
			case p.req:
				b.WriteString("$1")
			default:
				b.WriteString(p.lit)
			}
		}
		b.WriteString("\";\n")
	}
	for i := range g.parts {
		fmt.Fprintf(&b, "    proxy_set_header X-V%d ${v%d};\n", i, i)
	}
	b.WriteString("    proxy_pass http://127.0.0.1:1;\n}\n")
	return b.String()
}

// reach is the reference answer for cycles: the transitive closure of the
// reference relation (Warshall's algorithm), so v is on a cycle iff
// reach[v][v].
func (g fuzzSetGraph) reach() [][]bool {
	r := make([][]bool, g.n)
	for i := range r {
		r[i] = make([]bool, g.n)
		for _, p := range g.parts[i] {
			if p.ref >= 0 {
				r[i][p.ref] = true
			}
		}
	}
	for k := 0; k < g.n; k++ {
		for i := 0; i < g.n; i++ {
			if !r[i][k] {
				continue
			}
			for j := 0; j < g.n; j++ {
				r[i][j] = r[i][j] || r[k][j]
			}
		}
	}
	return r
}

func (g fuzzSetGraph) edge(from, to int) bool {
	for _, p := range g.parts[from] {
		if p.ref == to {
			return true
		}
	}
	return false
}

// size is the reference expansion of an acyclic graph: request values and
// literal bytes, saturating far above the bounds.
func (g fuzzSetGraph) size(i int, memo map[int][2]int64) [2]int64 {
	if s, ok := memo[i]; ok {
		return s
	}
	const ceiling = 1 << 50
	var s [2]int64
	for _, p := range g.parts[i] {
		switch {
		case p.ref >= 0:
			sub := g.size(p.ref, memo)
			s[0], s[1] = min(s[0]+sub[0], ceiling), min(s[1]+sub[1], ceiling)
		case p.req:
			s[0]++
		default:
			s[1] += int64(len(p.lit))
		}
	}
	memo[i] = s
	return s
}

func over(s [2]int64) bool {
	return s[0] > routefile.MaxValueCopies || s[1] > routefile.MaxValueLen
}

// value is the reference evaluation of an acyclic graph within the bounds.
func (g fuzzSetGraph) value(i int, memo map[int]string) string {
	if v, ok := memo[i]; ok {
		return v
	}
	var b strings.Builder
	for _, p := range g.parts[i] {
		if p.ref >= 0 {
			b.WriteString(g.value(p.ref, memo))
		} else {
			b.WriteString(p.lit)
		}
	}
	memo[i] = b.String()
	return memo[i]
}

var cycleMessage = regexp.MustCompile(`^\$(v\d+) is defined in terms of itself: (.*)$`)

// FuzzSetGraph builds random set graphs and checks that the check
// terminates, agrees with a plain reference about cycles and about the
// expansion bounds, and that a block that loads evaluates every variable
// to the reference value (or fails the request with a 500 when a value is
// over routefile.MaxValueLen).
func FuzzSetGraph(f *testing.F) {
	// 40 doubling variables: v_i = v_{i+1} v_{i+1}, the last "x".
	chain := []byte{39}
	for i := 1; i < 40; i++ {
		chain = append(chain, 1, byte(i), byte(i))
	}
	f.Add(chain)
	f.Add(append(append([]byte(nil), chain...), 0, 0)) // and back to v0
	f.Add([]byte{1, 0, 1, 0, 0})                       // v0 = v1, v1 = v0
	f.Add([]byte{0, 3, 0, 0, 0, 0})                    // v0 = v0 v0 v0 v0
	f.Add([]byte{4, 2, 1, 2, 130, 1, 3, 140, 1, 3, 170, 0, 100})
	f.Add([]byte{2, 3, 1, 1, 1, 1, 3, 2, 2, 2, 2, 0, 127})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := newFuzzSetGraph(data)
		src := g.file()
		file := routefile.Parse("apps/fuzz.conf", []byte(src))
		reach := g.reach()

		// Cycles: reported iff the reference finds one, each report a real
		// cycle, each cyclic group of variables reported at least once,
		// no report twice.
		hasCycle := false
		for i := range reach {
			hasCycle = hasCycle || reach[i][i]
		}
		covered := make([]bool, g.n)
		seen := map[string]bool{}
		for _, d := range file.Diagnostics {
			m := cycleMessage.FindStringSubmatch(d.Message)
			if m == nil {
				continue
			}
			if seen[d.Message] {
				t.Fatalf("cycle reported twice: %s\n%s", d.Message, src)
			}
			seen[d.Message] = true
			path := strings.Split(m[2], " -> ")
			var nodes []int
			for _, p := range path {
				var v int
				if p == "..." {
					nodes = append(nodes, -1)
					continue
				}
				if _, err := fmt.Sscanf(p, "$v%d", &v); err != nil || v >= g.n {
					t.Fatalf("bad cycle path %q in %q", p, d.Message)
				}
				nodes = append(nodes, v)
			}
			if len(nodes) < 2 || nodes[0] != nodes[len(nodes)-1] || "$"+m[1] != path[0] {
				t.Fatalf("a cycle path must start and end at the reported variable: %q", d.Message)
			}
			for k := 0; k+1 < len(nodes); k++ {
				a, b := nodes[k], nodes[k+1]
				switch {
				case a == -1 || b == -1:
				case !g.edge(a, b):
					t.Fatalf("%q: $v%d does not reference $v%d\n%s", d.Message, a, b, src)
				}
				if a == -1 && !(reach[nodes[k-1]][b]) {
					t.Fatalf("%q: $v%d does not lead to $v%d\n%s", d.Message, nodes[k-1], b, src)
				}
			}
			if !reach[nodes[0]][nodes[0]] {
				t.Fatalf("%q: the reference finds no cycle through $v%d\n%s", d.Message, nodes[0], src)
			}
			for j := 0; j < g.n; j++ {
				if reach[nodes[0]][j] && reach[j][nodes[0]] {
					covered[j] = true
				}
			}
		}
		full := len(withCode(file.Diagnostics, routefile.CodeTooMany)) > 0
		for i := 0; i < g.n && !full; i++ {
			if reach[i][i] && !covered[i] {
				t.Fatalf("$v%d is on a cycle no report covers:%s\n%s", i, dump(file.Diagnostics), src)
			}
		}
		if hasCycle {
			if file.OK {
				t.Fatalf("a block with a cycle must not load\n%s", src)
			}
			return
		}

		// No cycle: the file loads iff no value is over the bounds, and
		// every bound error sits where the bound is crossed.
		memo := map[int][2]int64{}
		anyOver := false
		for i := 0; i < g.n; i++ {
			anyOver = anyOver || over(g.size(i, memo))
		}
		for _, d := range file.Diagnostics {
			if d.Severity == routefile.Error && !strings.Contains(d.Message, "expands to") &&
				d.Code != routefile.CodeTooMany && d.Code != routefile.CodeTooComplex {
				t.Fatalf("unexpected error %s\n%s", d, src)
			}
			var v int
			if _, err := fmt.Sscanf(d.Message, "$v%d expands to", &v); err == nil {
				if !over(g.size(v, memo)) {
					t.Fatalf("%s: the reference says $v%d is within the bounds\n%s", d, v, src)
				}
				for _, p := range g.parts[v] {
					if p.ref >= 0 && over(g.size(p.ref, memo)) {
						t.Fatalf("%s: reported above the set where the bound is crossed ($v%d)\n%s", d, p.ref, src)
					}
				}
			}
		}
		if anyOver == file.OK && len(withCode(file.Diagnostics, routefile.CodeTooComplex)) == 0 {
			t.Fatalf("over the bounds: %v, but the file loads: %v:%s\n%s", anyOver, file.OK, dump(file.Diagnostics), src)
		}
		if !file.OK {
			return
		}

		// The block loads: the request sees the reference values, or a 500
		// when one of them is longer than a value may be.
		tbl := routing.Compose(routing.Config{}, []*routing.SourceFile{{Path: "apps/fuzz.conf", Parsed: file}}, nil)
		d := tbl.Explain(&routing.Request{Target: fuzzTarget})
		vals := map[int]string{}
		tooLong := false
		for i := 0; i < g.n; i++ {
			tooLong = tooLong || len(g.value(i, vals)) > routefile.MaxValueLen
		}
		if tooLong {
			if d.Action != routing.ActionError || d.Status != http.StatusInternalServerError {
				t.Fatalf("a value over %d bytes must fail the request: %s %d\n%s", routefile.MaxValueLen, d.Action, d.Status, src)
			}
			return
		}
		if d.Action != routing.ActionProxy {
			t.Fatalf("action %s, want proxy: %v\n%s", d.Action, d.Trace, src)
		}
		for i := 0; i < g.n; i++ {
			if got, want := d.OutHeader.Get(fmt.Sprintf("X-V%d", i)), vals[i]; got != want {
				t.Fatalf("$v%d = %.40q (%d bytes), want %.40q (%d bytes)\n%s", i, got, len(got), want, len(want), src)
			}
		}
	})
}
