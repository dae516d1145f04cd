package calliope

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/calliope/knowledge"
)

// Grounding: before a turn, Calliope gathers what the engine knows about
// the routes the message mentions and the routes that fail, the healing
// advice for them and the best doc passages. The model gets them as its
// system prompt; the offline answer is written from them.

// docPassages is how many doc passages a turn reads.
const docPassages = 4

// facts are what a turn is grounded in.
type facts struct {
	table     *routing.RouteTable
	health    monitor.Document
	mentioned []mention
	routes    []string // mentioned, then failing; each once
	advice    []Advice
	asked     []string // the routes the healer was asked about
	hits      []knowledge.Hit
}

// mention is a URL or path the message names, explained.
type mention struct {
	Target   string
	Route    string // the route that handles it; "" when none
	Decision *routing.Decision
}

// reTarget finds URLs and absolute paths in a message.
var reTarget = regexp.MustCompile("(?:https?://[^\\s\"'<>`]+|(?:^|[\\s(\"'`])(/[A-Za-z0-9._~%!$&*+,;=:@/?#-]*))")

// targets are the URLs and paths a message names, in order, each once.
func targets(message string) []string {
	var out []string
	for _, m := range reTarget.FindAllStringSubmatch(message, -1) {
		s := m[0]
		if m[1] != "" {
			s = m[1]
		}
		s = strings.TrimRight(s, ".,;:!?)'\"`")
		if s == "" || slices.Contains(out, s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// gather collects the facts a turn is grounded in.
func (t *turn) gather() {
	e := t.a.opts.Engine
	f := &facts{table: e.Table(), health: e.Health()}
	t.facts = f
	for _, target := range targets(t.message) {
		req, err := routing.ExplainRequest(f.table.Config, target, "GET", nil, false)
		if err != nil {
			continue
		}
		t.thinking("explaining %s …", target)
		d := f.table.Explain(req)
		m := mention{Target: target, Decision: d}
		if d.Block != nil {
			m.Route = routeOf(d.Block)
		}
		f.mentioned = append(f.mentioned, m)
		if m.Route != "" && !slices.Contains(f.routes, m.Route) {
			f.routes = append(f.routes, m.Route)
		}
	}
	for _, r := range f.health.Routes {
		if r.Active && (r.Status == health.StatusError || r.Status == health.StatusWarning) && !slices.Contains(f.routes, r.Route) {
			f.routes = append(f.routes, r.Route)
		}
	}
	if h := t.a.opts.Healer; h != nil {
		asks := f.routes
		if len(asks) == 0 {
			asks = []string{""}
		}
		// Checking a fix probes throwaway proxies: the grounding takes
		// only what is checked already, so the model hears the question at
		// once, and the result picks up what was checked meanwhile
		// (pickUpFixes).
		quick := withQuickAdvice(t.ctx)
		for _, r := range asks {
			for _, adv := range h.Advise(quick, r) {
				f.addAdvice(r, adv)
			}
		}
		f.asked = asks
	}
	if k := t.a.opts.Knowledge; k != nil {
		t.thinking("searching the docs …")
		hits, err := k.Search(t.ctx, t.message, docPassages)
		if err != nil {
			t.a.log.Warn("calliope: doc search failed", "err", err)
		}
		f.hits = hits
	}
}

// pickUpFixes asks the healer again, at once, for the routes of the
// grounding: the fixes it checked while the answer was written join the
// result.
func (t *turn) pickUpFixes() {
	h := t.a.opts.Healer
	if h == nil || t.facts == nil {
		return
	}
	quick := withQuickAdvice(context.WithoutCancel(t.ctx))
	for _, r := range t.facts.asked {
		for _, adv := range h.Advise(quick, r) {
			t.facts.addAdvice(r, adv)
		}
	}
}

// addAdvice keeps a pattern's advice for a route once, however often it
// was asked for (grounding, then propose_fix).
func (f *facts) addAdvice(route string, adv Advice) {
	if adv.Route == "" {
		adv.Route = route
	}
	for i, have := range f.advice {
		if have.Pattern == adv.Pattern && have.Route == adv.Route {
			if have.Fix == nil && adv.Fix != nil {
				f.advice[i].Fix = adv.Fix // checked since it was first given
			}
			return
		}
	}
	f.advice = append(f.advice, adv)
}

// routeOf is a block's route as the health reports name it.
func routeOf(b *routing.Block) string {
	if b.Loc.HasRoute {
		return b.Loc.Route
	}
	return b.Loc.Spec
}

// report is the health of an active route; nil when unknown.
func (f *facts) report(route string) *health.Report {
	for i := range f.health.Routes {
		if r := &f.health.Routes[i]; r.Route == route && r.Active {
			return r
		}
	}
	return nil
}

func (f *facts) sources() []Source {
	out := []Source{}
	for _, h := range f.hits {
		s := Source{File: h.Doc, Heading: h.Heading}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (f *facts) fixes() []Fix {
	out := []Fix{}
	for _, a := range f.advice {
		if a.Fix != nil {
			fix := *a.Fix
			if fix.Pattern == "" {
				fix.Pattern = a.Pattern
			}
			out = append(out, fix)
		}
	}
	return out
}

// conflictsOf are the table's contested routes in words.
func conflictLines(t *routing.RouteTable) []string {
	var out []string
	for _, c := range t.ConflictReports() {
		out = append(out, fmt.Sprintf("%s is claimed by %s; %s wins (%s)", c.Route, strings.Join(c.Files, ", "), c.Winner, c.Reason))
	}
	return out
}

// brokenFiles are the route files with errors, each with its first error.
func brokenFiles(t *routing.RouteTable) []string {
	var out []string
	for _, fr := range t.FileReports() {
		if fr.OK {
			continue
		}
		line := fr.Path + " has errors"
		if fr.Stale {
			line += " (the proxy serves its last good version)"
		} else {
			line += " and contributes no routes"
		}
		for _, d := range t.Diagnostics {
			if d.File == fr.Path && d.Severity == routefile.Error {
				line += fmt.Sprintf(": line %d: %s", d.Range.Start.Line, d.Message)
				break
			}
		}
		out = append(out, line)
	}
	return out
}

// healthLine is a route's health in words.
func healthLine(r *health.Report) string {
	s := fmt.Sprintf("%s is %s", r.Route, r.Status)
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	if r.Upstream != "" {
		s += " (upstream " + r.Upstream + ")"
	}
	return s
}

// maxPromptRoutes bounds the route list in the system prompt; the model
// can ask list_routes for all of them.
const maxPromptRoutes = 60

// systemPrompt is the grounding a model gets.
func (f *facts) systemPrompt() string {
	var b strings.Builder
	b.WriteString(`You are Calliope, the assistant of devproxy: a local reverse proxy for development that composes nginx-style route files (apps/*.conf owned by apps, overrides/*.conf owned by the operator) into one route table and serves many dev servers under path prefixes on one port (and through an https tunnel). You explain and fix routing problems.
Answer from the facts below and from what your tools return; say so when you do not know. Use the tools to explain URLs, read or probe a route's health, read recent proxy errors and ask for a checked fix. When you use a doc passage, cite it as [file § heading]. Show route-file changes as nginx snippets. Never ask for or repeat credentials.
`)
	t := f.table
	fmt.Fprintf(&b, "\n## Route table (listening on %s)\n", t.Config.Listen)
	if u := t.Config.Tunnel.PublicURL; u != "" {
		// The public URL only: who holds a key is not the model's business.
		fmt.Fprintf(&b, "Public tunnel URL: %s (a route's public address is this URL followed by its path", u)
		if len(t.Config.Private) > 0 {
			fmt.Fprintf(&b, "; private, local only, answering 404 through the tunnel: %s", strings.Join(t.Config.Private, ", "))
		}
		b.WriteString(")\n")
	} else {
		b.WriteString("No tunnel is running: the routes are reachable from this machine only.\n")
	}
	n := 0
	for _, blk := range t.Blocks {
		if n == maxPromptRoutes {
			fmt.Fprintf(&b, "- … %d more (list_routes)\n", len(t.Blocks)-n)
			break
		}
		n++
		fmt.Fprintf(&b, "- location %s (%s:%d)", strings.TrimSpace(blk.Loc.Label()), blk.File.Path, blk.Loc.Line())
		if blk.Upstream != "" {
			b.WriteString(" → " + blk.Upstream)
		}
		if !blk.Active {
			b.WriteString("; inactive: " + blk.InactiveSentence())
		}
		b.WriteString("\n")
	}
	if n == 0 {
		b.WriteString("(no routes)\n")
	}
	section(&b, "Conflicts and how they were settled", conflictLines(t))
	section(&b, "Route files with errors", brokenFiles(t))
	var hl []string
	for _, r := range f.routes {
		if rep := f.report(r); rep != nil {
			hl = append(hl, healthLine(rep))
		}
	}
	section(&b, "Health of the routes in question", hl)
	var ml []string
	for _, m := range f.mentioned {
		ml = append(ml, mentionSummary(m))
	}
	section(&b, "URLs in the question", ml)
	var al []string
	for _, a := range f.advice {
		al = append(al, adviceLine(a))
	}
	section(&b, "Healing patterns that match", al)
	if len(f.hits) > 0 {
		b.WriteString("\n## Doc passages\n")
		for _, h := range f.hits {
			fmt.Fprintf(&b, "\n[%s § %s]\n%s\n", h.Doc, h.Heading, strings.TrimSpace(h.Text))
		}
	}
	return b.String()
}

func section(b *strings.Builder, title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	b.WriteString("\n## " + title + "\n")
	for _, l := range lines {
		b.WriteString("- " + l + "\n")
	}
}

// mentionSummary is what the engine does with a URL, in one line.
func mentionSummary(m mention) string {
	d := m.Decision
	s := m.Target + ": "
	if d.Location == nil {
		return s + "no route matches (404)"
	}
	s += fmt.Sprintf("handled by %s:%d (location %s)", d.Location.File, d.Location.Line, strings.TrimSpace(d.Location.Modifier+" "+d.Location.Spec))
	switch d.Action {
	case routing.ActionProxy:
		s += ", proxied to " + d.Upstream + d.UpstreamURI
	case routing.ActionRedirect:
		s += fmt.Sprintf(", redirected (%d) to %s", d.Status, d.ResponseHeaders["Location"])
	default:
		s += fmt.Sprintf(", answered %d by the route file", d.Status)
	}
	return s
}

func adviceLine(a Advice) string {
	s := a.Pattern
	if a.Route != "" {
		s += " (" + a.Route + ")"
	}
	s += ": " + a.Summary
	if a.Fix != nil && a.Fix.Title != "" {
		s += " Proposed fix: " + a.Fix.Title + "."
	}
	return s
}
