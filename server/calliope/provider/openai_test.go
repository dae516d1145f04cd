package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider/providertest"
)

func local(f *providertest.Fake) *provider.OpenAICompatible {
	return provider.NewOpenAICompatible(f.Endpoint("fake"))
}

// closedPort returns a base URL nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

var ask = provider.Request{Messages: []provider.Message{{Role: "user", Content: "why does /app/ 404?"}}}

func TestChatStreamsDeltasInOrder(t *testing.T) {
	f := providertest.New(t)
	pieces := []string{"The ", "route ", "/app/ ", "has no ", "trailing", " slash."}
	f.Script(providertest.Turn{Text: pieces})
	var got []string
	resp, err := local(f).Chat(t.Context(), ask, func(d string) { got = append(got, d) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, pieces) {
		t.Errorf("deltas %q, want %q", got, pieces)
	}
	if want := strings.Join(pieces, ""); resp.Text != want {
		t.Errorf("Text %q, want %q", resp.Text, want)
	}
	if resp.Provider != "fake" || resp.Model != "fake-chat" || len(resp.ToolCalls) != 0 || len(resp.Notes) != 0 {
		t.Errorf("response %+v", resp)
	}
}

func TestChatAssemblesToolCallsFromFragments(t *testing.T) {
	f := providertest.New(t)
	calls := []provider.ToolCall{
		{ID: "call_a", Name: "explain_url", Arguments: `{"url":"http://localhost:8080/app/main.js","method":"GET"}`},
		{ID: "call_b", Name: "route_health", Arguments: `{"route":"/api/"}`},
	}
	// Three bytes a fragment cuts keys, strings and escapes in half.
	f.Script(providertest.Turn{Text: []string{"Let me check."}, ToolCalls: calls, ArgumentPiece: 3})
	var deltas []string
	resp, err := local(f).Chat(t.Context(), ask, func(d string) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.ToolCalls, calls) {
		t.Errorf("tool calls\n got %+v\nwant %+v", resp.ToolCalls, calls)
	}
	for _, c := range resp.ToolCalls {
		if !json.Valid([]byte(c.Arguments)) {
			t.Errorf("%s arguments %q are not JSON", c.Name, c.Arguments)
		}
	}
	if resp.Text != "Let me check." || strings.Join(deltas, "") != "Let me check." {
		t.Errorf("text %q deltas %q", resp.Text, deltas)
	}
}

func TestChatSendsMessagesAndToolsAsGiven(t *testing.T) {
	f := providertest.New(t)
	req := provider.Request{
		Messages: []provider.Message{
			{Role: "system", Content: "You are Calliope."},
			{Role: "user", Content: "Is /api/ healthy?"},
			{Role: "assistant", ToolCalls: []provider.ToolCall{{ID: "call_1", Name: "route_health", Arguments: `{"route":"/api/"}`}}},
			{Role: "tool", ToolCallID: "call_1", Content: `{"status":"down"}`},
		},
		Tools: []provider.Tool{
			{Name: "route_health", Description: "Health of a route", Parameters: json.RawMessage(`{"type":"object","properties":{"route":{"type":"string"}},"required":["route"]}`)},
			{Name: "list_routes", Description: "All routes"},
		},
	}
	if _, err := local(f).Chat(t.Context(), req, nil); err != nil {
		t.Fatal(err)
	}
	recs := f.ChatRequests()
	if len(recs) != 1 {
		t.Fatalf("%d chat requests", len(recs))
	}
	got := recs[0]
	if got.Model != "fake-chat" || !got.Stream || got.HasAuthorization {
		t.Errorf("model %q stream %v authorization %v; want fake-chat, streamed, no key", got.Model, got.Stream, got.HasAuthorization)
	}
	if !reflect.DeepEqual(got.Messages, req.Messages) {
		t.Errorf("messages\n got %+v\nwant %+v", got.Messages, req.Messages)
	}
	if len(got.Tools) != 2 || got.Tools[0].Name != "route_health" || got.Tools[0].Description != "Health of a route" ||
		!jsonEqual(got.Tools[0].Parameters, req.Tools[0].Parameters) {
		t.Fatalf("tools %+v", got.Tools)
	}
	// A tool without a schema still sends one: OpenAI requires it.
	if !jsonEqual(got.Tools[1].Parameters, []byte(`{"type":"object","properties":{}}`)) {
		t.Errorf("schemaless tool parameters %s", got.Tools[1].Parameters)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func TestChatCancelEndsTheUpstreamRequest(t *testing.T) {
	f := providertest.New(t)
	f.Hold()
	f.Script(providertest.Turn{Text: []string{"Thinking", " more"}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		resp provider.Response
		err  error
	}
	first := make(chan string, 1)
	done := make(chan result, 1)
	go func() {
		resp, err := local(f).Chat(ctx, ask, func(d string) {
			select {
			case first <- d:
			default:
			}
		})
		done <- result{resp, err}
	}()
	select {
	case d := <-first:
		if d != "Thinking" {
			t.Errorf("first delta %q", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no first delta")
	}
	cancel() // Stop
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Chat error %v, want context.Canceled", r.err)
		}
		if r.resp.Text != "Thinking" {
			t.Errorf("partial text %q", r.resp.Text)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Chat did not return promptly after cancel")
	}
	select {
	case <-f.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the request end")
	}
}

func TestChatErrorsNameTheServer(t *testing.T) {
	base := closedPort(t)
	p := provider.NewOpenAICompatible(provider.Endpoint{Name: "ollama", BaseURL: base, Model: "m"})
	_, err := p.Chat(t.Context(), ask, nil)
	var ce *provider.CallError
	if !errors.As(err, &ce) || ce.Kind != provider.FailRefused || ce.Reason != "connection refused" {
		t.Fatalf("error %v, want a CallError saying connection refused", err)
	}
	if want := "ollama at " + base + ": connection refused"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	f := providertest.New(t)
	f.FailWith(500)
	_, err = local(f).Chat(t.Context(), ask, nil)
	if !errors.As(err, &ce) || ce.Kind != provider.FailHTTP || ce.Status != 500 || !strings.HasPrefix(ce.Reason, "HTTP 500") {
		t.Errorf("error %v, want HTTP 500", err)
	}

	noModel := provider.NewOpenAICompatible(provider.Endpoint{Name: "ollama", BaseURL: f.URL()})
	if _, err := noModel.Chat(t.Context(), ask, nil); !errors.As(err, &ce) || ce.Kind != provider.FailNoModel || !strings.Contains(err.Error(), "no chat model") {
		t.Errorf("without a model: %v", err)
	}
}

func TestEmbed(t *testing.T) {
	f := providertest.New(t)
	texts := []string{"serve Vite under a prefix", "HMR websocket refused"}
	vecs, err := local(f).Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		if !reflect.DeepEqual(vecs[i], providertest.Vector(text)) {
			t.Errorf("vector %d is not the fake's vector for %q", i, text)
		}
	}
	if f.EmbedCalls() != 1 || !reflect.DeepEqual(f.EmbeddedTexts(), texts) {
		t.Errorf("embed calls %d texts %q", f.EmbedCalls(), f.EmbeddedTexts())
	}
	if rec := f.Requests()[0]; rec.Model != "fake-embed" {
		t.Errorf("embedding model %q", rec.Model)
	}
}

func TestEmbedWithoutModel(t *testing.T) {
	f := providertest.New(t)
	p := provider.NewOpenAICompatible(provider.Endpoint{Name: "local", BaseURL: f.URL(), Model: "fake-chat"})
	if _, err := p.Embed(t.Context(), []string{"x"}); !errors.Is(err, provider.ErrNoEmbeddings) {
		t.Errorf("no embed model: %v, want ErrNoEmbeddings", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests sent without an embedding model", n)
	}

	f.FailWith(404) // a server without the embeddings endpoint
	_, err := local(f).Embed(t.Context(), []string{"x"})
	if !errors.Is(err, provider.ErrNoEmbeddings) {
		t.Errorf("404: %v, want ErrNoEmbeddings", err)
	}
	f.FailWith(500)
	if _, err := local(f).Embed(t.Context(), []string{"x"}); err == nil || errors.Is(err, provider.ErrNoEmbeddings) {
		t.Errorf("500: %v, want an error other than ErrNoEmbeddings", err)
	}
}

// sseServer answers every chat request with these event payloads, as a
// server that strays from OpenAI's habits might.
func sseServer(t *testing.T, events ...string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			fmt.Fprintf(w, "data: %s\n\n", e)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func TestChatToolCallsWithoutIndex(t *testing.T) {
	base := sseServer(t,
		`{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"probe","arguments":"{\"url\":"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"\"/x\"}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","type":"function","function":{"name":"list_routes","arguments":"{}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`[DONE]`,
	)
	p := provider.NewOpenAICompatible(provider.Endpoint{Name: "llamacpp", BaseURL: base, Model: "m"})
	resp, err := p.Chat(t.Context(), ask, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.ToolCall{{ID: "a", Name: "probe", Arguments: `{"url":"/x"}`}, {ID: "b", Name: "list_routes", Arguments: `{}`}}
	if !reflect.DeepEqual(resp.ToolCalls, want) {
		t.Errorf("tool calls %+v, want %+v", resp.ToolCalls, want)
	}
}

func TestChatStreamFailures(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []string
		text   string
		kind   provider.FailureKind
		reason string
	}{
		{"closed without a word", nil, "", provider.FailBroken, "the stream ended without an answer"},
		{"error event mid-answer", []string{
			`{"choices":[{"index":0,"delta":{"content":"The route"}}]}`,
			`{"error":{"message":"model runner crashed","type":"server_error"}}`,
		}, "The route", provider.FailBroken, "model runner crashed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := provider.NewOpenAICompatible(provider.Endpoint{Name: "local", BaseURL: sseServer(t, c.events...), Model: "m"})
			resp, err := p.Chat(t.Context(), ask, nil)
			var ce *provider.CallError
			if !errors.As(err, &ce) || ce.Kind != c.kind || ce.Reason != c.reason {
				t.Fatalf("error %#v, want kind %q reason %q", err, c.kind, c.reason)
			}
			if resp.Text != c.text {
				t.Errorf("text %q, want %q", resp.Text, c.text)
			}
		})
	}
}
