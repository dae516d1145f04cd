package calliope

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/server/calliope/knowledge"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

const deadWorkspace = "location /shop/ { proxy_pass http://127.0.0.1:5173; }\nlocation /dead/ { proxy_pass http://127.0.0.1:1; }\n"

var docHits = fakeDocs{
	{Chunk: knowledge.Chunk{Doc: "docs/troubleshooting.md", Heading: "Connection refused", Text: "The upstream is not listening: start the dev server, or fix the port in proxy_pass."}, Score: 0.9},
	{Chunk: knowledge.Chunk{Doc: "docs/vite.md", Heading: "Serving Vite under a prefix", Text: "Set base: '/myapp/' in vite.config.js."}, Score: 0.5},
}

func deadEngine(t testing.TB) *fakeEngine {
	return &fakeEngine{table: table(t, "apps/a.conf", deadWorkspace), doc: healthDoc(
		health.Report{Route: "/shop/", File: "apps/a.conf", Line: 1, Upstream: "http://127.0.0.1:5173", Status: health.StatusOK},
		health.Report{Route: "/dead/", File: "apps/a.conf", Line: 2, Upstream: "http://127.0.0.1:1", Status: health.StatusError, Reason: "connection refused on 127.0.0.1:1"},
	)}
}

var startFix = Fix{Title: "Start the dev server of /dead/", Pattern: "unreachable-upstream",
	AppChange: &AppChange{File: "package.json", Description: "run the dev server on port 1", Snippet: "vite --port 1"}}

func deadHealer() HealerFunc {
	return func(_ context.Context, route string) []Advice {
		if route != "/dead/" {
			return nil
		}
		return []Advice{{Pattern: "unreachable-upstream", Summary: "nothing listens on 127.0.0.1:1.", Fix: &startFix}}
	}
}

// TestOfflineAnswer: with no model, a question about a route whose
// upstream is dead gets the match trace, the health with its reason, the
// healing advice and the doc passages with their source, marked offline,
// streamed as deltas that add up to the text, and the same every time.
func TestOfflineAnswer(t *testing.T) {
	a := New(Options{Engine: deadEngine(t), Knowledge: docHits, Healer: deadHealer()})
	var texts []string
	for range 2 {
		var rec recorder
		res, err := a.Chat(context.Background(), ChatParams{Message: "Why does http://127.0.0.1:8080/dead/ fail?"}, rec.emit)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Offline || res.Provider != "" || !strings.Contains(res.Text, "Offline answer") {
			t.Errorf("not marked offline: %+v", res)
		}
		for _, want := range []string{"apps/a.conf:2", "connection refused on 127.0.0.1:1", "dead/ is error",
			"unreachable-upstream", "docs/troubleshooting.md § Connection refused", "start the dev server"} {
			if !strings.Contains(res.Text, want) {
				t.Errorf("the answer lacks %q:\n%s", want, res.Text)
			}
		}
		if got := strings.Join(rec.text(EventDelta), ""); got != res.Text || len(rec.text(EventDelta)) < 3 {
			t.Errorf("the deltas (%d) do not add up to the text:\n%q\n%q", len(rec.text(EventDelta)), got, res.Text)
		}
		if !slices.Contains(rec.text(EventThinking), "explaining http://127.0.0.1:8080/dead/ …") {
			t.Errorf("thinking: %q", rec.text(EventThinking))
		}
		if len(res.Sources) != 2 || res.Sources[0] != (Source{File: "docs/troubleshooting.md", Heading: "Connection refused"}) {
			t.Errorf("sources: %+v", res.Sources)
		}
		if len(res.Fixes) != 1 || res.Fixes[0].Title != startFix.Title {
			t.Errorf("fixes: %+v", res.Fixes)
		}
		if len(res.Notes) == 0 || res.Conversation == "" {
			t.Errorf("notes %q, conversation %q", res.Notes, res.Conversation)
		}
		texts = append(texts, res.Text)
	}
	if texts[0] != texts[1] {
		t.Errorf("the offline answer is not deterministic:\n%s\n---\n%s", texts[0], texts[1])
	}
}

// TestOfflineAnswerWithoutARoute: a general question still lists what
// fails.
func TestOfflineAnswerWithoutARoute(t *testing.T) {
	a := New(Options{Engine: deadEngine(t)})
	res, err := a.Chat(context.Background(), ChatParams{Message: "what is broken?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Text, "Routes that fail") || !strings.Contains(res.Text, "connection refused on 127.0.0.1:1") {
		t.Errorf("%s", res.Text)
	}
}

// TestToolLoop: the model calls every tool in its first answer; Calliope
// runs them (probing the route, with a thinking line), sends their
// answers back under the calls' ids and streams the second answer.
func TestToolLoop(t *testing.T) {
	e := deadEngine(t)
	e.errors = map[string][]ProxyError{"/dead/": {{At: time.Unix(1_700_000_000, 0).UTC(), Method: "GET", Path: "/dead/x", Status: 502, Reason: "connection refused"}}}
	calls := []provider.ToolCall{
		{ID: "c1", Name: "list_routes", Arguments: `{}`},
		{ID: "c2", Name: "explain_url", Arguments: `{"url":"/dead/x"}`},
		{ID: "c3", Name: "route_health", Arguments: `{"route":"/dead/"}`},
		{ID: "c4", Name: "probe_route", Arguments: `{"route":"/dead/"}`},
		{ID: "c5", Name: "recent_errors", Arguments: `{"route":"/dead/"}`},
		{ID: "c6", Name: "propose_fix", Arguments: `{"route":"/dead/"}`},
	}
	m := &fakeModel{name: "fake", rounds: []round{{deltas: []string{"Let me look. "}, calls: calls}, {deltas: []string{"The ", "upstream ", "is down."}}}}
	a := New(Options{Model: m, Engine: e, Healer: deadHealer(), Knowledge: docHits})
	var rec recorder
	res, err := a.Chat(context.Background(), ChatParams{Message: "Why is /dead/ down?"}, rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Let me look. The upstream is down." || res.Offline || res.Provider != "fake" {
		t.Errorf("result: %+v", res)
	}
	if got := rec.text(EventDelta); !slices.Equal(got, []string{"Let me look. ", "The ", "upstream ", "is down."}) {
		t.Errorf("deltas: %q", got)
	}
	if th := rec.text(EventThinking); !slices.Contains(th, "probing /dead/ …") {
		t.Errorf("thinking: %q", th)
	}
	if !slices.Equal(e.rescanned, []string{"/dead/"}) {
		t.Errorf("rescanned %q", e.rescanned)
	}
	reqs := m.recorded()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	var names []string
	for _, tool := range reqs[0].Tools {
		names = append(names, tool.Name)
		var schema map[string]any
		if err := json.Unmarshal(tool.Parameters, &schema); err != nil || schema["type"] != "object" {
			t.Errorf("tool %s parameters: %s", tool.Name, tool.Parameters)
		}
	}
	if !slices.Equal(names, []string{"list_routes", "explain_url", "route_health", "probe_route", "recent_errors", "propose_fix"}) {
		t.Errorf("tools offered: %q", names)
	}
	sys := reqs[0].Messages[0]
	for _, want := range []string{"Calliope", "location /dead/ (apps/a.conf:2) → http://127.0.0.1:1", "/dead/ is error: connection refused", "unreachable-upstream", "[docs/troubleshooting.md § Connection refused]"} {
		if sys.Role != "system" || !strings.Contains(sys.Content, want) {
			t.Errorf("the system prompt lacks %q:\n%s", want, sys.Content)
		}
	}
	second := reqs[1].Messages
	answers := map[string]string{}
	for _, msg := range second {
		if msg.Role == "tool" {
			answers[msg.ToolCallID] = msg.Content
		}
	}
	wants := map[string]string{"c1": `"spec":"/shop/"`, "c2": `"upstream":"http://127.0.0.1:1"`, "c3": "connection refused on 127.0.0.1:1",
		"c4": "connection refused on 127.0.0.1:1", "c5": `"status":502`, "c6": "unreachable-upstream"}
	for id, want := range wants {
		if !strings.Contains(answers[id], want) {
			t.Errorf("tool answer %s lacks %s: %s", id, want, answers[id])
		}
	}
	if asst := second[len(second)-len(calls)-1]; asst.Role != "assistant" || len(asst.ToolCalls) != len(calls) {
		t.Errorf("the assistant's calls are not sent back before their answers: %+v", asst)
	}
	if len(res.Fixes) != 1 || res.Fixes[0].Pattern != "unreachable-upstream" {
		t.Errorf("fixes: %+v", res.Fixes)
	}
}

// TestToolLoopIsBounded: a model that only ever calls tools is asked
// once more without tools after maxToolRounds rounds.
func TestToolLoopIsBounded(t *testing.T) {
	m := &fakeModel{name: "fake", rounds: []round{{calls: []provider.ToolCall{{ID: "x", Name: "list_routes"}}}}}
	a := New(Options{Model: m, Engine: deadEngine(t)})
	if _, err := a.Chat(context.Background(), ChatParams{Message: "loop"}, nil); err != nil {
		t.Fatal(err)
	}
	reqs := m.recorded()
	if len(reqs) != maxToolRounds+1 || reqs[maxToolRounds].Tools != nil || reqs[maxToolRounds-1].Tools == nil {
		t.Errorf("%d requests; the last offers %d tools", len(reqs), len(reqs[len(reqs)-1].Tools))
	}
}

// TestUnknownToolAnswersAnError: a bad call is answered, not fatal.
func TestUnknownToolAnswersAnError(t *testing.T) {
	m := &fakeModel{name: "fake", rounds: []round{{calls: []provider.ToolCall{{ID: "a", Name: "rm_rf"}, {ID: "b", Name: "explain_url", Arguments: "{"}}}, {deltas: []string{"ok"}}}}
	a := New(Options{Model: m, Engine: deadEngine(t)})
	if _, err := a.Chat(context.Background(), ChatParams{Message: "hi"}, nil); err != nil {
		t.Fatal(err)
	}
	msgs := m.recorded()[1].Messages
	if c := msgs[len(msgs)-2].Content; !strings.Contains(c, `"error":"there is no tool \"rm_rf\""`) {
		t.Errorf("%s", c)
	}
	if c := msgs[len(msgs)-1].Content; !strings.Contains(c, "not JSON") {
		t.Errorf("%s", c)
	}
}

// TestProviderFailureAnswersOffline: no provider, or a failing one, and
// the answer is the offline one with a note saying why.
func TestProviderFailureAnswersOffline(t *testing.T) {
	for _, err := range []error{fmt.Errorf("ollama: %w", provider.ErrNoProvider), errors.New("openai: 500 Internal Server Error")} {
		m := &fakeModel{name: "fake", rounds: []round{{err: err}}}
		a := New(Options{Model: m, Engine: deadEngine(t)})
		res, cerr := a.Chat(context.Background(), ChatParams{Message: "/dead/ ?"}, nil)
		if cerr != nil {
			t.Fatal(cerr)
		}
		if !res.Offline || !strings.Contains(res.Text, "connection refused on 127.0.0.1:1") || len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "offline") {
			t.Errorf("%v: %+v", err, res)
		}
	}
}

// TestCancelStopsTheTurn: cancelling stops the model's request at once,
// Chat answers context.Canceled, and the partial answer is kept, marked
// stopped.
func TestCancelStopsTheTurn(t *testing.T) {
	h, err := OpenHistory(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	m := &fakeModel{name: "fake", rounds: []round{{deltas: []string{"Half an ", "answer"}, block: true}}, streamed: make(chan struct{})}
	a := New(Options{Model: m, Engine: deadEngine(t), History: h})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-m.streamed
		cancel()
	}()
	res, err := a.Chat(ctx, ChatParams{Message: "tell me", Conversation: "c1"}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if res.Text != "Half an answer" {
		t.Errorf("partial text %q", res.Text)
	}
	turns := h.Conversation("c1")
	if len(turns) != 2 || turns[1].Text != "Half an answer" || !turns[1].Stopped || turns[0].Text != "tell me" {
		t.Errorf("history: %+v", turns)
	}
}

// TestConversationContinues: the second turn of a conversation sends the
// first back to the model, and the history lists it.
func TestConversationContinues(t *testing.T) {
	h, err := OpenHistory(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	m := &fakeModel{name: "fake", rounds: []round{{deltas: []string{"first answer"}}, {deltas: []string{"second answer"}}}}
	a := New(Options{Model: m, Engine: deadEngine(t), History: h})
	res, err := a.Chat(context.Background(), ChatParams{Message: "first question"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Chat(context.Background(), ChatParams{Message: "second question", Conversation: res.Conversation}, nil); err != nil {
		t.Fatal(err)
	}
	msgs := m.recorded()[1].Messages
	var got []string
	for _, msg := range msgs[1:] {
		got = append(got, msg.Role+": "+msg.Content)
	}
	if !slices.Equal(got, []string{"user: first question", "assistant: first answer", "user: second question"}) {
		t.Errorf("%q", got)
	}
	list, err := h.List()
	if err != nil || len(list) != 1 || list[0].ID != res.Conversation || list[0].Turns != 4 || list[0].Title != "first question" {
		t.Errorf("%+v %v", list, err)
	}
}

// failAfter is a model that streams a little, then fails.
type failAfter struct{ fakeModel }

func (m *failAfter) Chat(_ context.Context, _ provider.Request, onDelta func(string)) (provider.Response, error) {
	onDelta("Looking at /dead/")
	return provider.Response{}, errors.New("stream broken")
}

// TestModelFailsMidAnswer: the part already streamed stays, the offline
// answer follows it, and the result says offline.
func TestModelFailsMidAnswer(t *testing.T) {
	a := New(Options{Model: &failAfter{fakeModel{name: "fake"}}, Engine: deadEngine(t)})
	var rec recorder
	res, err := a.Chat(context.Background(), ChatParams{Message: "what about /dead/?"}, rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Offline || !strings.HasPrefix(res.Text, "Looking at /dead/\n\n---\n\n**Offline answer.**") || strings.Join(rec.text(EventDelta), "") != res.Text {
		t.Errorf("%+v", res)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "stream broken") {
		t.Errorf("notes %q", res.Notes)
	}
}

func TestTargets(t *testing.T) {
	got := targets("why do http://127.0.0.1:8080/app/x?y=1 and /api/ (or `/ws`) fail, not apps/a.conf? And /")
	want := []string{"http://127.0.0.1:8080/app/x?y=1", "/api/", "/ws", "/"}
	if !slices.Equal(got, want) {
		t.Errorf("%q", got)
	}
}

// BenchmarkFirstDelta is the latency Calliope adds before the first token
// of a model that answers at once: grounding (the table, health, docs,
// advice) and the request's scrubbing. The goal is under 50 ms.
func BenchmarkFirstDelta(b *testing.B) {
	var conf strings.Builder
	for i := range 200 {
		fmt.Fprintf(&conf, "location /app%d/ { proxy_pass http://127.0.0.1:%d; proxy_set_header Authorization \"Bearer t%d\"; }\n", i, 3000+i, i)
	}
	e := &fakeEngine{table: table(b, "apps/big.conf", conf.String()), doc: deadEngine(b).doc}
	m := &fakeModel{name: "fake", rounds: []round{{deltas: []string{"first", " rest"}}}}
	a := New(Options{Model: m, Engine: e, Knowledge: docHits, Healer: deadHealer()})
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		var first time.Duration
		a.Chat(context.Background(), ChatParams{Message: "Why does /app7/x fail with Cookie: a=b?"}, func(ev Event) {
			if ev.Kind == EventDelta && first == 0 {
				first = time.Since(start)
			}
		})
		total += first
		m.mu.Lock()
		m.requests = nil
		m.mu.Unlock()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/first-delta")
}

// TestQuoteIsProse: an offline answer quotes a passage's prose, without
// the headings, tables and code that would run together on one line.
func TestQuoteIsProse(t *testing.T) {
	got := quote("## Access log\n\n| Guarantee | Tests |\n|---|---|\n| a | b |\n\nThe log never holds cookies.\n\n```nginx\nlocation / {}\n```\n- Start the app.\n")
	if got != "The log never holds cookies. Start the app." {
		t.Errorf("%q", got)
	}
}

// TestTheModelKnowsTheTunnel: the system prompt names the tunnel's public
// URL while one runs (and the private routes), and says there is none
// otherwise.
func TestTheModelKnowsTheTunnel(t *testing.T) {
	system := func(e *fakeEngine) string {
		m := &fakeModel{name: "fake", rounds: []round{{deltas: []string{"ok"}}}}
		a := New(Options{Model: m, Engine: e, Healer: deadHealer(), Knowledge: docHits})
		if _, err := a.Chat(context.Background(), ChatParams{Message: "How do I share /shop/?"}, (&recorder{}).emit); err != nil {
			t.Fatal(err)
		}
		return m.recorded()[0].Messages[0].Content
	}
	e := deadEngine(t)
	if sys := system(e); !strings.Contains(sys, "No tunnel is running") || strings.Contains(sys, "Public tunnel URL") {
		t.Errorf("without a tunnel:\n%s", sys)
	}
	shared := *e.table
	shared.Config.Tunnel.PublicURL = "https://team.ngrok.app"
	shared.Config.Private = []string{"/dead/"}
	e.table = &shared
	sys := system(e)
	for _, want := range []string{"Public tunnel URL: https://team.ngrok.app", "answering 404 through the tunnel: /dead/"} {
		if !strings.Contains(sys, want) {
			t.Errorf("the system prompt lacks %q:\n%s", want, sys)
		}
	}
}
