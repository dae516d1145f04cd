package routefile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// setGraph is the dependency graph of one location's set variables: an
// edge u -> v when the value of u references $v and v is itself set in the
// block. Every analysis over it visits each variable and each distinct
// reference once, so no set chain can make checking superlinear (40 lines
// of "set $vN $vN+1$vN+1;" have 2^40 paths but only 40 variables).
type setGraph struct {
	names []string // sorted, so reports come in a stable order
	index map[string]int
	deps  [][]setEdge
	// own is what each value holds besides other set variables: its
	// literal text and its request values.
	own []expansion
}

// setEdge is one distinct reference from a set value to another set
// variable; count is how often the value names it.
type setEdge struct {
	to    int
	count int
}

func newSetGraph(sets map[string]Template) *setGraph {
	if len(sets) == 0 {
		return &setGraph{} // most blocks: nothing to allocate
	}
	g := &setGraph{names: make([]string, 0, len(sets))}
	for name := range sets {
		g.names = append(g.names, name)
	}
	sort.Strings(g.names)
	index := make(map[string]int, len(g.names))
	for i, name := range g.names {
		index[name] = i
	}
	g.index = index
	g.deps = make([][]setEdge, len(g.names))
	g.own = make([]expansion, len(g.names))
	// slot[v] is 1 + the position of v in the edge list being built, for
	// the current u only (lastU says which u): duplicate references are
	// counted without a map per variable.
	slot := make([]int, len(g.names))
	lastU := make([]int, len(g.names))
	for u, name := range g.names {
		for _, p := range sets[name].Parts {
			v, ok := index[p.Var]
			if p.Var == "" || !ok {
				g.own[u] = g.own[u].add(ownExpansion(p), 1)
				continue
			}
			if lastU[v] == u+1 {
				g.deps[u][slot[v]-1].count++
				continue
			}
			lastU[v] = u + 1
			g.deps[u] = append(g.deps[u], setEdge{to: v, count: 1})
			slot[v] = len(g.deps[u])
		}
	}
	return g
}

// setCycle is one cycle of set variables, found once: start is the
// variable the search entered it by, path renders it for messages.
type setCycle struct {
	start string
	path  string
}

// dfsResult is what one depth-first search over the graph finds.
type dfsResult struct {
	// post lists the variables in post-order: each after every variable
	// its value references (unless they form a cycle with it).
	post []int
	// cyclic marks variables on a cycle or referencing one: their values
	// are never computed.
	cyclic []bool
	cycles []setCycle
}

// dfsFrame is a variable on the search stack and the next reference of its
// value to follow.
type dfsFrame struct{ node, next int }

// search runs a three-colour depth-first search from every variable in
// name order. It is iterative, so a chain of 100,000 sets cannot exhaust
// the stack. A reference to a variable still on the stack (grey) closes a
// cycle, which is reported once, from that variable.
func (g *setGraph) search() dfsResult {
	const (
		white = iota
		grey
		black
	)
	n := len(g.names)
	if n == 0 {
		return dfsResult{}
	}
	res := dfsResult{post: make([]int, 0, n), cyclic: make([]bool, n)}
	colour := make([]uint8, n)
	pos := make([]int, n) // place on the stack while grey
	var stack []dfsFrame
	for root := range g.names {
		if colour[root] != white {
			continue
		}
		colour[root] = grey
		stack = append(stack[:0], dfsFrame{node: root})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			u := top.node
			if top.next == len(g.deps[u]) {
				colour[u] = black
				res.post = append(res.post, u)
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && res.cyclic[u] {
					res.cyclic[stack[len(stack)-1].node] = true
				}
				continue
			}
			v := g.deps[u][top.next].to
			top.next++
			switch colour[v] {
			case white:
				colour[v] = grey
				pos[v] = len(stack)
				stack = append(stack, dfsFrame{node: v})
			case grey:
				res.cyclic[u] = true
				onStack := stack[pos[v]:]
				res.cycles = append(res.cycles, setCycle{start: g.names[v], path: g.cyclePath(onStack)})
			case black:
				if res.cyclic[v] {
					res.cyclic[u] = true
				}
			}
		}
	}
	return res
}

// cyclePath renders a cycle as "$a -> $b -> $a". Long cycles are shortened
// to their first two and last variables, so a report costs the same for
// any length.
func (g *setGraph) cyclePath(onStack []dfsFrame) string {
	var b strings.Builder
	write := func(i int) {
		b.WriteByte('$')
		b.WriteString(g.names[onStack[i].node])
		b.WriteString(" -> ")
	}
	if len(onStack) <= 4 {
		for i := range onStack {
			write(i)
		}
	} else {
		write(0)
		write(1)
		b.WriteString("... -> ")
		write(len(onStack) - 1)
	}
	b.WriteByte('$')
	b.WriteString(g.names[onStack[0].node])
	return b.String()
}

// Bounds on what one value may expand to. A request whose set variable
// evaluates to more than MaxValueLen bytes gets a 500; check refuses, as
// an error, a set graph that always does (more than MaxValueLen bytes of
// literal text) or can multiply a request's input past reason (more than
// MaxValueCopies request values in one value). Real snippets stay far
// below both: a value is a host, a header or a path.
const (
	MaxValueLen    = 64 << 10
	MaxValueCopies = 1000
)

// expansion is how much a value can grow when evaluated: how many request
// values (variables and captures, each as long as the request makes it)
// and how many bytes of literal text it holds once every set variable in
// it is replaced by its own value. Both saturate at expansionCap, so 2^40
// paths through a set chain cannot overflow the count.
type expansion struct {
	copies, bytes int64
}

const expansionCap = 1 << 40

func (x expansion) over() bool { return x.copies > MaxValueCopies || x.bytes > MaxValueLen }

// add returns x plus n times y, saturating.
func (x expansion) add(y expansion, n int) expansion {
	sat := func(a, b int64) int64 {
		if b > 0 && int64(n) > expansionCap/b {
			return expansionCap
		}
		return min(a+b*int64(n), expansionCap)
	}
	return expansion{copies: sat(x.copies, y.copies), bytes: sat(x.bytes, y.bytes)}
}

// ownExpansion is what one template part adds on its own.
func ownExpansion(p TemplatePart) expansion {
	if p.IsVar() {
		return expansion{copies: 1}
	}
	return expansion{bytes: int64(len(p.Lit))}
}

// describe renders an expansion that is over the bounds for messages.
func (x expansion) describe() string {
	count := func(n int64) string {
		if n >= expansionCap {
			return "more than " + strconv.FormatInt(expansionCap, 10)
		}
		return strconv.FormatInt(n, 10)
	}
	if x.copies > MaxValueCopies {
		return fmt.Sprintf("%s request values (variables or captures), more than the %d a value may hold", count(x.copies), MaxValueCopies)
	}
	return fmt.Sprintf("%s bytes of text, more than the %d a value may hold", count(x.bytes), MaxValueLen)
}

// expansions computes every variable's expansion in post-order, so each
// is computed once from its references' (the search's post-order puts
// them first). Variables on or above a cycle have none (ok false).
func (g *setGraph) expansions(res dfsResult) (exp []expansion, ok []bool) {
	exp = make([]expansion, len(g.names))
	ok = make([]bool, len(g.names))
	for _, u := range res.post {
		if res.cyclic[u] {
			continue
		}
		x := g.own[u]
		for _, e := range g.deps[u] {
			x = x.add(exp[e.to], e.count)
		}
		exp[u], ok[u] = x, true
	}
	return exp, ok
}
