package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/devtunnelproxy/devproxy/server/calliope"
	"github.com/devtunnelproxy/devproxy/server/calliope/heal"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider/providertest"
)

// scriptedModel is a provider.Provider that records the requests it gets
// and answers each with the next scripted reply: deltas streamed one by
// one, then tool calls. hold makes a reply stream, then wait until its
// request is cancelled.
type scriptedModel struct {
	replies []scriptedReply
	mu      sync.Mutex
	seen    []provider.Request
}

type scriptedReply struct {
	deltas []string
	calls  []provider.ToolCall
	hold   bool
}

func (m *scriptedModel) Name() string { return "scripted" }

func (m *scriptedModel) Chat(ctx context.Context, req provider.Request, onDelta func(string)) (provider.Response, error) {
	m.mu.Lock()
	n := len(m.seen)
	m.seen = append(m.seen, req)
	m.mu.Unlock()
	r := m.replies[min(n, len(m.replies)-1)]
	for _, d := range r.deltas {
		onDelta(d)
	}
	if r.hold {
		<-ctx.Done()
		return provider.Response{}, ctx.Err()
	}
	return provider.Response{Text: strings.Join(r.deltas, ""), ToolCalls: r.calls, Provider: "scripted", Model: "s-1"}, nil
}

func (m *scriptedModel) Embed(context.Context, []string) ([][]float32, error) {
	return nil, provider.ErrNoEmbeddings
}

func (m *scriptedModel) requests() []provider.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.seen)
}

// withModel is the test server's options with Calliope over model.
func withModel(model provider.Provider) Options {
	opts := Options{Version: "test", Debounce: 20 * time.Millisecond, DisableProxy: true}
	opts.Assistant = func(e calliope.Engine) *calliope.Assistant {
		return calliope.New(calliope.Options{Model: model, Engine: e})
	}
	return opts
}

// chatStream is what the client received for the chat call made after
// message from: the deltas and thinking lines, in order, until the
// answer.
func chatStream(t *testing.T, c *client, from int) (deltas, thinking []string, conversations map[string]bool) {
	t.Helper()
	notes := schema(t, "lsp-chat-delta.schema.json")
	c.mu.Lock()
	defer c.mu.Unlock()
	conversations = map[string]bool{}
	for _, m := range c.messages[from:] {
		switch m.method {
		case "devproxy/chatDelta":
			var p calliope.DeltaParams
			json.Unmarshal(m.params, &p)
			deltas = append(deltas, p.Delta)
			conversations[p.Conversation] = true
			validate(t, notes, p)
		case "devproxy/chatThinking":
			var p calliope.ThinkingParams
			json.Unmarshal(m.params, &p)
			thinking = append(thinking, p.Text)
			conversations[p.Conversation] = true
			validate(t, notes, p)
		}
		if m.dir == "<=" && m.method == "devproxy/chat" {
			break
		}
	}
	return deltas, thinking, conversations
}

// TestChatOffline: with the proxy hosted here and no model, a question
// about a route whose upstream is down answers offline with the match
// and the reason the probe found; the text streams as devproxy/chatDelta
// notifications, in order, before the answer, and the answer matches its
// schema.
func TestChatOffline(t *testing.T) {
	dead := proxytest.FreeAddr(t)
	root := workspace(t, fmt.Sprintf("-- apps/a.conf --\nlocation /ok/ { return 200 fine; }\nlocation /myapp/ { proxy_pass http://%s; }\n", dead))
	c := startWithProxy(t, root, proxytest.FreeAddr(t))
	waitStatus(t, c, "running")
	c.waitFor("/myapp/ probed as an error", func(ms []message) bool {
		d, ok := lastHealth(ms)
		return ok && routeStatus(d, "/myapp/") == health.StatusError
	})
	from := c.mark()
	var res calliope.ChatResult
	if err := c.call("devproxy/chat", map[string]any{"message": "Why does /myapp/ not load?"}, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Offline || res.Provider != "" || res.Conversation == "" {
		t.Errorf("result: %+v", res)
	}
	for _, want := range []string{"Offline answer", "apps/a.conf:2", "connection refused on " + dead} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("the answer lacks %q:\n%s", want, res.Text)
		}
	}
	deltas, thinking, convs := chatStream(t, c, from)
	if strings.Join(deltas, "") != res.Text || len(deltas) < 3 {
		t.Errorf("%d deltas do not make the text in order:\n%q", len(deltas), deltas)
	}
	if !slices.Contains(thinking, "explaining /myapp/ …") {
		t.Errorf("thinking: %q", thinking)
	}
	if len(convs) != 1 || !convs[res.Conversation] {
		t.Errorf("notifications name conversations %v, the answer %s", convs, res.Conversation)
	}
	validate(t, schema(t, "lsp-chat.schema.json"), res)

	// The conversation goes on, and is kept in the data directory, never
	// in the workspace.
	var next calliope.ChatResult
	if err := c.call("devproxy/chat", map[string]any{"message": "and /ok/?", "conversation": res.Conversation}, &next); err != nil {
		t.Fatal(err)
	}
	if next.Conversation != res.Conversation || !strings.Contains(next.Text, "apps/a.conf:1") {
		t.Errorf("the second turn: %+v", next)
	}
	kept, _ := filepath.Glob(filepath.Join(os.Getenv("DEVPROXY_STATE_DIR"), "data", "*", "calliope.db"))
	inWorkspace, _ := filepath.Glob(filepath.Join(root, "*", "*.db"))
	if len(kept) == 0 || len(inWorkspace) != 0 {
		t.Errorf("the history is in %q; in the workspace: %q", kept, inWorkspace)
	}
	if err := c.call("devproxy/chat", map[string]any{"message": ""}, nil); err == nil || !strings.Contains(err.Error(), "devproxy/chat takes") {
		t.Errorf("an empty message: %v", err)
	}
}

// TestChatWithAModel: the model calls tools (explain a URL, probe the
// route: no proxy runs here, which the tool says), then streams its
// answer; the client sees the thinking lines and the deltas in order.
// The route file's Authorization value and the user's cookie never reach
// the model.
func TestChatWithAModel(t *testing.T) {
	root := workspace(t, "-- apps/api.conf --\nlocation /api/ {\n    proxy_pass http://127.0.0.1:1;\n    proxy_set_header Authorization \"Bearer abc123\";\n}\n")
	model := &scriptedModel{replies: []scriptedReply{
		{calls: []provider.ToolCall{{ID: "t1", Name: "explain_url", Arguments: `{"url":"/api/users"}`}, {ID: "t2", Name: "probe_route", Arguments: `{"route":"/api/"}`}}},
		{deltas: []string{"The ", "API ", "upstream ", "is down."}},
	}}
	c, _ := startServer(t, root, nil, withModel(model))
	from := c.mark()
	var res calliope.ChatResult
	if err := c.call("devproxy/chat", map[string]any{"message": "/api/users fails; my browser sends Cookie: session=hunter2cookie"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Text != "The API upstream is down." || res.Offline || res.Provider != "scripted" {
		t.Errorf("result: %+v", res)
	}
	deltas, thinking, _ := chatStream(t, c, from)
	if !slices.Equal(deltas, []string{"The ", "API ", "upstream ", "is down."}) {
		t.Errorf("deltas %q", deltas)
	}
	if !slices.Contains(thinking, "probing /api/ …") || !slices.Contains(thinking, "explaining /api/users …") {
		t.Errorf("thinking %q", thinking)
	}
	reqs := model.requests()
	if len(reqs) != 2 || len(reqs[0].Tools) != 6 {
		t.Fatalf("%d requests", len(reqs))
	}
	var tools []string
	for _, m := range reqs[1].Messages {
		if m.Role == "tool" {
			tools = append(tools, m.ToolCallID+" "+m.Content)
		}
	}
	if len(tools) != 2 || !strings.Contains(tools[0], `"upstream":"http://127.0.0.1:1"`) || !strings.Contains(tools[1], "no proxy runs") {
		t.Errorf("tool answers: %q", tools)
	}
	wire, _ := json.Marshal(reqs)
	for _, secret := range []string{"abc123", "hunter2cookie"} {
		if strings.Contains(string(wire), secret) {
			t.Errorf("the model received %q", secret)
		}
	}
	if !strings.Contains(string(wire), "upstream_headers") {
		t.Error("the explain_url answer did not reach the model")
	}
}

// TestChatCancel: $/cancelRequest stops a turn while the model streams;
// the request ends with RequestCancelled and the connection goes on.
func TestChatCancel(t *testing.T) {
	root := workspace(t, "-- apps/a.conf --\nlocation /a/ { return 200; }\n")
	model := &scriptedModel{replies: []scriptedReply{{deltas: []string{"Half "}, hold: true}}}
	c, _ := startServer(t, root, nil, withModel(model))
	errc := make(chan error, 1)
	go func() { errc <- c.call("devproxy/chat", map[string]any{"message": "go on"}, nil) }()
	c.waitFor("the first delta", func(ms []message) bool {
		return slices.ContainsFunc(ms, func(m message) bool { return m.method == "devproxy/chatDelta" })
	})
	// initialize was call 1, so the chat is call 2.
	c.notify("$/cancelRequest", map[string]any{"id": 2})
	select {
	case err := <-errc:
		if code(err) != protocol.CodeRequestCancelled {
			t.Errorf("a cancelled chat: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("$/cancelRequest did not stop the chat")
	}
	var rr RoutesResult
	if err := c.call("devproxy/routes", map[string]any{}, &rr); err != nil {
		t.Fatal(err)
	}
}

// TestChatOverTheHub: another client of the proxy this window hosts (a
// script, the dashboard) chats with the same Calliope over /devproxy/ws:
// the deltas reach it in order, before the result, which names the
// route's trouble.
func TestChatOverTheHub(t *testing.T) {
	dead := proxytest.FreeAddr(t)
	root := workspace(t, fmt.Sprintf("-- apps/a.conf --\nlocation /dead/ { proxy_pass http://%s; }\n", dead))
	c := startWithProxy(t, root, proxytest.FreeAddr(t))
	st := waitStatus(t, c, "running")
	var mu sync.Mutex
	var deltas []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := live.Dial(ctx, st.Address, nil, func(method string, params json.RawMessage) {
		if method == "devproxy/chatDelta" {
			var p calliope.DeltaParams
			json.Unmarshal(params, &p)
			mu.Lock()
			deltas = append(deltas, p.Delta)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var res calliope.ChatResult
	if err := client.Call(ctx, "devproxy/chat", map[string]string{"message": "why does /dead/ fail?"}, &res); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	streamed := strings.Join(deltas, "")
	mu.Unlock()
	if !res.Offline || res.Text == "" || streamed != res.Text {
		t.Fatalf("offline %v; streamed %q; result %q", res.Offline, streamed, res.Text)
	}
	if !strings.Contains(res.Text, "/dead/") {
		t.Errorf("the answer does not talk about /dead/: %s", res.Text)
	}
}

// TestChatWithTheFakeOpenAI: the editor's Calliope, as Build makes it from
// the settings (devproxy.calliope.baseUrl, model), talks to an
// OpenAI-compatible server speaking the real wire format: the deltas
// reach the client in order, the model got the tools and the grounded
// context without the route file's secret, and $/cancelRequest ends the
// model's request.
func TestChatWithTheFakeOpenAI(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OLLAMA_HOST", "127.0.0.1:1")
	fake := providertest.New(t)
	root := workspace(t, "-- apps/a.conf --\nlocation /a/ {\n    proxy_set_header Authorization \"Bearer s3cret-token\";\n    proxy_pass http://127.0.0.1:5999;\n}\n")
	settings := map[string]any{"calliope": map[string]any{"providers": []string{"local"}, "baseUrl": fake.URL(), "model": "fake-chat"}}
	c, _ := startServer(t, root, settings, Options{Version: "test", Debounce: 20 * time.Millisecond, DisableProxy: true})
	fake.Script(providertest.Turn{Text: []string{"Start", " the app", " on 5999."}})
	from := c.mark()
	var res calliope.ChatResult
	if err := c.call("devproxy/chat", map[string]any{"message": "why does /a/ fail?"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Offline || res.Provider != "local" || res.Text != "Start the app on 5999." {
		t.Fatalf("%+v", res)
	}
	var streamed []string
	c.mu.Lock()
	for _, m := range c.messages[from:] {
		if m.method == "devproxy/chatDelta" {
			var p calliope.DeltaParams
			json.Unmarshal(m.params, &p)
			streamed = append(streamed, p.Delta)
		}
	}
	c.mu.Unlock()
	if !slices.Equal(streamed, []string{"Start", " the app", " on 5999."}) {
		t.Errorf("deltas %q", streamed)
	}
	req := fake.ChatRequests()[0]
	if len(req.Tools) == 0 || !strings.Contains(req.Messages[0].Content, "/a/") {
		t.Errorf("the model got %d tools and the context %q", len(req.Tools), req.Messages[0].Content)
	}
	if strings.Contains(string(req.Body), "s3cret-token") {
		t.Error("the route file's secret reached the model")
	}

	fake.Hold()
	errc := make(chan error, 1)
	go func() {
		errc <- c.call("devproxy/chat", map[string]any{"message": "and now?", "conversation": res.Conversation}, nil)
	}()
	c.waitFor("the held answer's first delta", func(ms []message) bool {
		n := 0
		for _, m := range ms {
			if m.method == "devproxy/chatDelta" {
				n++
			}
		}
		return n > len(streamed)
	})
	// initialize was call 1, the first chat 2, so this one is 3.
	c.notify("$/cancelRequest", map[string]any{"id": 3})
	select {
	case <-fake.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the model's request was not cancelled")
	}
	if err := <-errc; code(err) != protocol.CodeRequestCancelled {
		t.Errorf("the cancelled chat answered %v", err)
	}

	// Another model in the settings: Calliope is built again; this one
	// does not answer, so the next answer is offline and says why.
	dead := "http://" + proxytest.FreeAddr(t) + "/v1"
	c.mu.Lock()
	c.settings = map[string]any{"calliope": map[string]any{"providers": []string{"local"}, "baseUrl": dead, "model": "m"}}
	c.mu.Unlock()
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": nil})
	deadline := time.Now().Add(10 * time.Second)
	for {
		var later calliope.ChatResult
		if err := c.call("devproxy/chat", map[string]any{"message": "why does /a/ fail?"}, &later); err != nil {
			t.Fatal(err)
		}
		if later.Offline {
			if !strings.Contains(strings.Join(later.Notes, " "), strings.TrimSuffix(dead, "/v1")) {
				t.Errorf("the offline answer's notes do not name the server: %q", later.Notes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a change of devproxy.calliope.baseUrl did not reach Calliope")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPatternsRecord: devproxy/patterns lists every healing pattern, the
// built-in ones and the workspace's own (.devproxy/patterns/*.json), with
// its record: no attempts yet, the prior's confidence, switched on.
func TestPatternsRecord(t *testing.T) {
	root := workspace(t, "-- apps/a.conf --\nlocation /a/ { return 200; }\n"+
		"-- .devproxy/patterns/teapot.json --\n"+`{"id": "teapot", "title": "The app is a teapot", "description": "418 from the app", "match": {"httpStatus": 418}, "advice": "Make coffee elsewhere."}`+"\n")
	c, _ := startServer(t, root, nil, Options{Version: "test", Debounce: 20 * time.Millisecond, DisableProxy: true})
	var stats []heal.PatternStats
	if err := c.call("devproxy/patterns", map[string]any{}, &stats); err != nil {
		t.Fatal(err)
	}
	ids := map[string]heal.PatternStats{}
	for _, s := range stats {
		ids[s.ID] = s
	}
	if len(stats) < 9 || ids[heal.SlashPitfall].Source != "builtin" || ids["teapot"].Source == "builtin" || ids["teapot"].Title != "The app is a teapot" {
		t.Fatalf("%+v", stats)
	}
	if s := ids[heal.HMRRefused]; s.Attempts != 0 || s.Confidence != 0.5 || s.Disabled {
		t.Errorf("a pattern never tried: %+v", s)
	}
}

// TestSetSecrets: the OpenAI key the editor keeps in its secret storage
// arrives with devproxy/setSecrets; Calliope, offline without it, answers
// through OpenAI (here the fake at OPENAI_BASE_URL, which demands the key)
// once it is set, and offline again once it is forgotten.
func TestSetSecrets(t *testing.T) {
	fake := providertest.New(t)
	fake.RequireKey("sk-test-key-123")
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", fake.URL())
	t.Setenv("OLLAMA_HOST", "127.0.0.1:1")
	root := workspace(t, "-- apps/a.conf --\nlocation /a/ { return 200; }\n")
	c, _ := startServer(t, root, map[string]any{"calliope": map[string]any{"providers": []string{"openai"}}},
		Options{Version: "test", Debounce: 20 * time.Millisecond, DisableProxy: true})
	ask := func() calliope.ChatResult {
		t.Helper()
		var res calliope.ChatResult
		if err := c.call("devproxy/chat", map[string]any{"message": "what is /a/?"}, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := ask(); !res.Offline {
		t.Fatalf("without a key: %+v", res)
	}
	c.notify("devproxy/setSecrets", map[string]any{"openaiApiKey": "sk-test-key-123"})
	if res := ask(); res.Offline || res.Provider != "openai" {
		t.Fatalf("with the key: %+v", res)
	}
	if !fake.ChatRequests()[0].HasAuthorization {
		t.Error("the key was not sent to OpenAI")
	}
	c.notify("devproxy/setSecrets", map[string]any{"openaiApiKey": ""})
	if res := ask(); !res.Offline {
		t.Errorf("after forgetting the key: %+v", res)
	}
}
