package routing

import (
	"fmt"
	"net/http"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// setValues memoizes a block's set variables for one request. [intent] set
// is a declaration, so a variable's value depends only on the block and on
// what the request looks like at the moment: the URI, the query, the
// captures and the upstream. While those stay the same, each variable is
// evaluated once, however often values name it; a chain of sets that each
// repeat the next would otherwise be re-evaluated along every path, 2^n
// times for n lines. A change of any of them (a rewrite, a restart in
// another block) starts afresh, so the values are exactly those of
// evaluating every reference anew.
type setValues struct {
	block  *Block
	caps   []string
	uri    string
	args   string
	target *routefile.UpstreamURL
	// The values so far: in few, without allocating, for the usual block
	// of a handful of sets; in many beyond that.
	few  [4]setValue
	nfew int
	many map[string]*setValue
	// overflow is the first variable whose value went over
	// routefile.MaxValueLen; the request then fails with a 500.
	overflow *valueOverflow
}

type setValue struct {
	name       string
	v          string
	evaluating bool
}

// find returns the entry for name, or nil.
func (m *setValues) find(name string) *setValue {
	if m.many != nil {
		return m.many[name]
	}
	for i := range m.nfew {
		if m.few[i].name == name {
			return &m.few[i]
		}
	}
	return nil
}

// add makes the entry for name.
func (m *setValues) add(name string) *setValue {
	if m.many == nil && m.nfew < len(m.few) {
		m.few[m.nfew] = setValue{name: name}
		m.nfew++
		return &m.few[m.nfew-1]
	}
	if m.many == nil {
		m.many = make(map[string]*setValue, 2*len(m.few))
		for i := range m.nfew {
			v := m.few[i]
			m.many[v.name] = &v
		}
	}
	v := &setValue{name: name}
	m.many[name] = v
	return v
}

// valueOverflow names the set variable that grew too long and where the
// block sets it.
type valueOverflow struct {
	name string
	file string
	line int
}

// current reports whether the memoized values still hold for e.
func (m *setValues) current(e *evaluator) bool {
	return m.block == e.block && m.uri == e.uri && m.args == e.args && m.target == e.target &&
		len(m.caps) == len(e.caps) && (len(e.caps) == 0 || &m.caps[0] == &e.caps[0])
}

// setValue returns the value of the block's set variable name, whose
// template is t, evaluating it at most once while the request's state
// stays the same.
func (e *evaluator) setValue(name string, t routefile.Template) string {
	m := &e.sets
	if m.overflow != nil {
		return "" // the request fails anyway; do no more work for it
	}
	if !m.current(e) {
		*m = setValues{block: e.block, caps: e.caps, uri: e.uri, args: e.args, target: e.target}
	}
	if sv := m.find(name); sv != nil {
		// A variable met again while it is being evaluated is a cycle,
		// which check refuses; it evaluates to "" like an unset variable.
		return sv.v
	}
	m.add(name).evaluating = true
	v, ok := t.EvalLimit(e.lookup, e.setCapture, routefile.MaxValueLen)
	if !ok && m.overflow == nil {
		line := 0
		if d := e.block.Loc.SetDirectives[name]; d != nil {
			line = d.Name.Range.Start.Line
		}
		m.overflow = &valueOverflow{name: name, file: e.block.File.Path, line: line}
	}
	if m.overflow != nil {
		v = ""
	}
	// Found again: evaluating may have moved the entries into many.
	sv := m.find(name)
	if sv == nil {
		sv = m.add(name)
	}
	sv.v, sv.evaluating = v, false
	return v
}

// finish completes the decision as resolve returns it.
func (e *evaluator) finish() {
	e.d.URI = e.uri
	if e.d.URI == "" {
		e.d.URI = e.d.Path // a malformed target
	}
	e.failOnOverflow()
}

// failOnOverflow turns the decision into a 500 when a set variable grew
// over routefile.MaxValueLen while the request was resolved: nothing built
// from a cut value may reach the upstream or the client.
func (e *evaluator) failOnOverflow() {
	o := e.sets.overflow
	if o == nil {
		return
	}
	d := e.d
	d.Action, d.Status = ActionError, http.StatusInternalServerError
	d.ResponseHeaders, d.Body, d.BinaryBody, d.CloseClient = nil, "", nil, false
	d.Upstream, d.UpstreamURI, d.UpstreamHeaders = "", "", nil
	d.Target, d.OutHeader, d.OutHost, d.AddHeaders = nil, nil, "", nil
	e.note("%s", o.message())
}

func (o *valueOverflow) message() string {
	return fmt.Sprintf("$%s (set in %s:%d) evaluates to more than %d bytes, the limit on a value: 500",
		o.name, o.file, o.line, routefile.MaxValueLen)
}
