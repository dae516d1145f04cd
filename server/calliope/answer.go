package calliope

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

// online answers with the model: a tool loop of at most maxToolRounds
// rounds of tool calls, the text streamed as it comes.
func (t *turn) online(past []Turn) error {
	msgs := []provider.Message{{Role: "system", Content: t.facts.systemPrompt()}}
	if len(past) > maxHistoryTurns {
		past = past[len(past)-maxHistoryTurns:]
	}
	for _, h := range past {
		if h.Role == "user" || h.Role == "assistant" {
			msgs = append(msgs, provider.Message{Role: h.Role, Content: h.Text})
		}
	}
	msgs = append(msgs, provider.Message{Role: "user", Content: t.message})
	model := t.model
	for round := 0; ; round++ {
		req := provider.Request{Messages: msgs}
		if round < maxToolRounds {
			req.Tools = Tools()
		}
		before := t.text.Len()
		resp, err := model.Chat(t.ctx, scrubRequest(req), t.delta)
		if t.ctx.Err() != nil {
			return t.ctx.Err()
		}
		if err != nil {
			return err
		}
		if t.text.Len() == before {
			// A provider that did not stream: the whole text at once.
			t.delta(resp.Text)
		}
		t.provider = resp.Provider
		if t.provider == "" {
			t.provider = model.Name()
		}
		for _, n := range resp.Notes {
			if !slices.Contains(t.notes, n) {
				t.notes = append(t.notes, n)
			}
		}
		if len(resp.ToolCalls) == 0 || round == maxToolRounds {
			return nil
		}
		msgs = append(msgs, provider.Message{Role: "assistant", Content: resp.Text, ToolCalls: resp.ToolCalls})
		for _, call := range resp.ToolCalls {
			if t.ctx.Err() != nil {
				return t.ctx.Err()
			}
			msgs = append(msgs, provider.Message{Role: "tool", ToolCallID: call.ID, Content: t.runTool(call)})
		}
	}
}

// scrubRequest is req with every message scrubbed: the one place where
// text leaves for a model (house style, habit 16).
func scrubRequest(req provider.Request) provider.Request {
	out := provider.Request{Tools: req.Tools, Messages: make([]provider.Message, len(req.Messages))}
	for i, m := range req.Messages {
		if m.Role == "tool" {
			m.Content = ScrubJSON(m.Content)
		} else {
			m.Content = Scrub(m.Content)
		}
		if len(m.ToolCalls) > 0 {
			calls := make([]provider.ToolCall, len(m.ToolCalls))
			for j, c := range m.ToolCalls {
				c.Arguments = ScrubJSON(c.Arguments)
				calls[j] = c
			}
			m.ToolCalls = calls
		}
		out.Messages[i] = m
	}
	return out
}

// offline answers from the facts alone, streamed line by line.
func (t *turn) offline() error {
	t.isOffline, t.provider = true, ""
	text := t.facts.offlineAnswer(t.text.Len() > 0)
	for _, line := range strings.SplitAfter(text, "\n") {
		if err := t.ctx.Err(); err != nil {
			return err
		}
		t.delta(line)
	}
	return nil
}

// quoteLen bounds a quoted doc passage in the offline answer.
const quoteLen = 320

// offlineAnswer is the deterministic answer from the engine and the docs.
// after says it follows a model's partial answer.
func (f *facts) offlineAnswer(after bool) string {
	var b strings.Builder
	if after {
		b.WriteString("\n\n---\n\n")
	}
	b.WriteString("**Offline answer.** No model answered, so this comes straight from devproxy's route engine")
	if len(f.hits) > 0 {
		b.WriteString(" and its docs")
	}
	b.WriteString(".\n")
	for _, m := range f.mentioned {
		fmt.Fprintf(&b, "\n### %s\n\n", m.Target)
		b.WriteString(mentionSummary(m) + ".\n")
		if len(m.Decision.Trace) > 0 {
			b.WriteString("\nHow it matched:\n\n")
			for _, step := range m.Decision.Trace {
				b.WriteString("- " + step + "\n")
			}
		}
		if m.Route == "" {
			continue
		}
		for _, c := range f.table.ConflictReports() {
			if c.Route == m.Route {
				fmt.Fprintf(&b, "\nConflict: %s is claimed by %s; %s wins (%s).\n", c.Route, strings.Join(c.Files, ", "), c.Winner, c.Reason)
			}
		}
		f.writeHealth(&b, m.Route)
	}
	var failing []string
	for _, r := range f.routes {
		if !f.isMentioned(r) {
			failing = append(failing, r)
		}
	}
	if len(failing) > 0 {
		b.WriteString("\n### Routes that fail\n")
		for _, r := range failing {
			f.writeHealth(&b, r)
		}
	}
	if len(f.mentioned) == 0 {
		n := 0
		for _, blk := range f.table.Blocks {
			if blk.Active {
				n++
			}
		}
		fmt.Fprintf(&b, "\nThe route table has %d active routes from %d files.", n, len(f.table.Files))
		if len(f.routes) == 0 {
			b.WriteString(" None of them is failing now.")
		}
		b.WriteString(" Name a route or a URL (such as `/myapp/`) for its match trace and health.\n")
	}
	if cl := conflictLines(f.table); len(cl) > 0 && len(f.mentioned) == 0 {
		b.WriteString("\n### Conflicts\n\n")
		for _, l := range cl {
			b.WriteString("- " + l + ".\n")
		}
	}
	if bf := brokenFiles(f.table); len(bf) > 0 {
		b.WriteString("\n### Route files with errors\n\n")
		for _, l := range bf {
			b.WriteString("- " + l + "\n")
		}
	}
	if len(f.advice) > 0 {
		b.WriteString("\n### What may fix it\n\n")
		for _, a := range f.advice {
			b.WriteString("- " + adviceLine(a) + "\n")
		}
	}
	if len(f.hits) > 0 {
		b.WriteString("\n### From the docs\n")
		for _, h := range f.hits {
			fmt.Fprintf(&b, "\n> %s\n\n— %s § %s\n", quote(h.Text), h.Doc, h.Heading)
		}
	}
	return b.String()
}

func (f *facts) isMentioned(route string) bool {
	for _, m := range f.mentioned {
		if m.Route == route {
			return true
		}
	}
	return false
}

// writeHealth writes a route's health, with the reason, when known.
func (f *facts) writeHealth(b *strings.Builder, route string) {
	r := f.report(route)
	if r == nil {
		if f.health.Source == "none" {
			fmt.Fprintf(b, "\nHealth of %s: unknown, no proxy runs here to probe it.\n", route)
		}
		return
	}
	fmt.Fprintf(b, "\nHealth: %s", healthLine(r))
	if !r.CheckedAt.IsZero() {
		fmt.Fprintf(b, ", checked %s", r.CheckedAt.UTC().Format(time.TimeOnly))
	}
	b.WriteString(".\n")
	if p := r.Passive; p != nil && p.LastError != "" {
		fmt.Fprintf(b, "Real traffic: %d of %d requests failed; the last: %s.\n", p.Errors, p.Requests, p.LastError)
	}
}

// quote is a passage shortened for quoting, on one line.
func quote(text string) string {
	// Prose only: a passage's headings, tables, code fences and list
	// markers would run together on one line.
	var prose []string
	fence := false
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "```"):
			fence = !fence
			continue
		case fence, t == "", strings.HasPrefix(t, "#"), strings.HasPrefix(t, "|"):
			continue
		}
		t = strings.TrimLeft(t, "-*> ")
		prose = append(prose, t)
	}
	s := strings.Join(strings.Fields(strings.Join(prose, " ")), " ")
	if len(s) > quoteLen {
		s = s[:quoteLen]
		if i := strings.LastIndexByte(s, ' '); i > quoteLen/2 {
			s = s[:i]
		}
		s += " …"
	}
	return s
}
