// Package providertest is a fake OpenAI-compatible server for tests: it
// speaks the wire format of OpenAI's API reference, not go-openai's view
// of it, so a test that passes against it passes against OpenAI and Ollama.
//
//   - POST /v1/chat/completions, streamed ("stream": true) as server-sent
//     events: "data: {chunk}" lines of object "chat.completion.chunk", the
//     role first, then delta.content pieces, tool calls as
//     delta.tool_calls fragments (the first with index, id, type and name,
//     the rest with pieces of the arguments), a last chunk with
//     finish_reason "stop" or "tool_calls", then "data: [DONE]"; or as one
//     "chat.completion" object when not streamed;
//   - POST /v1/embeddings: deterministic vectors (a hashed bag of words,
//     Dimensions long, unit length), see Vector;
//   - GET /v1/models: the models set with SetModels.
//
// Tests script the answers (Script), read what was sent (Requests), hold a
// stream open to test cancellation (Hold, Cancelled) and inject failures
// (FailWith, RequireKey).
package providertest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

// Dimensions is the length of the fake's embedding vectors.
const Dimensions = 64

// Turn is the fake model's answer to one chat request: text streamed in
// the pieces given, then tool calls, each streamed as fragments whose
// arguments are cut every ArgumentPiece bytes (mid-JSON, as models do).
type Turn struct {
	Text          []string
	ToolCalls     []provider.ToolCall
	ArgumentPiece int // bytes per arguments fragment; 0 means 5
}

// RecordedRequest is one request the fake received, decoded from the wire.
type RecordedRequest struct {
	Method, Path string
	Model        string
	Stream       bool
	Messages     []provider.Message // chat: as sent
	Tools        []provider.Tool    // chat: the function tools offered
	Input        []string           // embeddings: the texts
	// Header is the request's headers with the Authorization value
	// removed; HasAuthorization says whether one was sent.
	Header           http.Header
	HasAuthorization bool
	Body             []byte // the raw JSON body
}

// Fake is the fake server. Its methods are safe for concurrent use.
type Fake struct {
	srv     *httptest.Server
	closing chan struct{}

	mu        sync.Mutex
	turns     []Turn
	requests  []RecordedRequest
	fail      []int
	hold      bool
	cancelled chan struct{}
	models    []string
	key       string
	embedded  []string
	embedN    int
	chatN     int
}

// New starts a fake on a loopback port, closed when the test ends.
func New(tb testing.TB) *Fake {
	tb.Helper()
	f := &Fake{
		closing:   make(chan struct{}),
		cancelled: make(chan struct{}),
		models:    []string{"fake-chat", "fake-embed"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", f.chat)
	mux.HandleFunc("POST /v1/embeddings", f.embeddings)
	mux.HandleFunc("GET /v1/models", f.listModels)
	f.srv = httptest.NewServer(f.gate(mux))
	tb.Cleanup(func() {
		close(f.closing) // releases held streams, or Close would wait for them
		f.srv.Close()
	})
	return f
}

// URL is the API root, ending in /v1.
func (f *Fake) URL() string { return f.srv.URL + "/v1" }

// Endpoint configures a provider for this fake, named name, with the
// fake's default models ("fake-chat", "fake-embed") and no key:
// provider.NewOpenAICompatible(f.Endpoint("ollama")).
func (f *Fake) Endpoint(name string) provider.Endpoint {
	return provider.Endpoint{Name: name, BaseURL: f.URL(), Model: "fake-chat", EmbedModel: "fake-embed"}
}

// Script queues the answers to the next chat requests, one Turn each.
// With the script exhausted the fake answers "fake answer to: " and the
// last user message, in words.
func (f *Fake) Script(turns ...Turn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.turns = append(f.turns, turns...)
}

// Hold makes the next streamed chat answer send one chunk and then wait
// until the client goes away; Cancelled is closed then.
func (f *Fake) Hold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = true
	f.cancelled = make(chan struct{})
}

// Cancelled is closed when the request held by the latest Hold has seen
// its context end (the client cancelled or disconnected).
func (f *Fake) Cancelled() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cancelled
}

// FailWith makes the next request (any endpoint) fail with status and an
// OpenAI-style error body; call it n times to fail n requests.
func (f *Fake) FailWith(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, status)
}

// RequireKey makes every request without "Authorization: Bearer key"
// fail with 401. The error message quotes the key received in full, which
// is harsher than OpenAI (it masks most of it) and so tests that no error
// text carries a key.
func (f *Fake) RequireKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.key = key
}

// SetModels sets what GET /v1/models lists, in order.
func (f *Fake) SetModels(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.models = ids
}

// Requests returns the requests received so far, in order.
func (f *Fake) Requests() []RecordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RecordedRequest(nil), f.requests...)
}

// ChatRequests returns the chat completion requests received so far.
func (f *Fake) ChatRequests() []RecordedRequest {
	var out []RecordedRequest
	for _, r := range f.Requests() {
		if r.Path == "/v1/chat/completions" {
			out = append(out, r)
		}
	}
	return out
}

// EmbedCalls counts the embeddings requests answered.
func (f *Fake) EmbedCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.embedN
}

// EmbeddedTexts returns every text embedded so far, in order.
func (f *Fake) EmbeddedTexts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.embedded...)
}

// gate records every request, then applies FailWith and RequireKey.
func (f *Fake) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "read body: "+err.Error(), "invalid_request_error", nil)
			return
		}
		rec, err := decode(r, body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "We could not parse the JSON body of your request: "+err.Error(), "invalid_request_error", nil)
			return
		}
		auth := r.Header.Get("Authorization")
		f.mu.Lock()
		f.requests = append(f.requests, rec)
		status := 0
		if len(f.fail) > 0 {
			status, f.fail = f.fail[0], f.fail[1:]
		}
		key := f.key
		f.mu.Unlock()

		if status != 0 {
			writeError(w, status, fmt.Sprintf("The fake failed this request with %d as scripted.", status), "server_error", nil)
			return
		}
		if key != "" && auth != "Bearer "+key {
			got := strings.TrimPrefix(auth, "Bearer ")
			writeError(w, http.StatusUnauthorized, "Incorrect API key provided: "+got+".", "invalid_request_error", "invalid_api_key")
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		next.ServeHTTP(w, r)
	})
}

// The wire shapes, from OpenAI's API reference.
type (
	wireFunction struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	wireToolCall struct {
		Index    *int         `json:"index,omitempty"`
		ID       string       `json:"id,omitempty"`
		Type     string       `json:"type,omitempty"`
		Function wireFunction `json:"function"`
	}
	wireMessage struct {
		Role       string         `json:"role"`
		Content    *string        `json:"content"`
		ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
		ToolCallID string         `json:"tool_call_id,omitempty"`
	}
	wireTool struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	wireRequest struct {
		Model         string          `json:"model"`
		Stream        bool            `json:"stream"`
		Messages      []wireMessage   `json:"messages"`
		Tools         []wireTool      `json:"tools"`
		Input         json.RawMessage `json:"input"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
)

func decode(r *http.Request, body []byte) (RecordedRequest, error) {
	rec := RecordedRequest{
		Method:           r.Method,
		Path:             r.URL.Path,
		Header:           r.Header.Clone(),
		HasAuthorization: r.Header.Get("Authorization") != "",
		Body:             body,
	}
	rec.Header.Del("Authorization")
	if len(body) == 0 {
		return rec, nil
	}
	var wr wireRequest
	if err := json.Unmarshal(body, &wr); err != nil {
		return rec, err
	}
	rec.Model, rec.Stream = wr.Model, wr.Stream
	for _, m := range wr.Messages {
		pm := provider.Message{Role: m.Role, ToolCallID: m.ToolCallID}
		if m.Content != nil {
			pm.Content = *m.Content
		}
		for _, tc := range m.ToolCalls {
			pm.ToolCalls = append(pm.ToolCalls, provider.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		rec.Messages = append(rec.Messages, pm)
	}
	for _, t := range wr.Tools {
		if t.Type != "function" {
			return rec, fmt.Errorf("tool type %q, want \"function\"", t.Type)
		}
		rec.Tools = append(rec.Tools, provider.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	if len(wr.Input) > 0 {
		var one string
		if err := json.Unmarshal(wr.Input, &one); err == nil {
			rec.Input = []string{one}
		} else if err := json.Unmarshal(wr.Input, &rec.Input); err != nil {
			return rec, fmt.Errorf("input: %w", err)
		}
	}
	return rec, nil
}

func writeError(w http.ResponseWriter, status int, message, typ string, code any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": message, "type": typ, "param": nil, "code": code,
	}})
}

func (f *Fake) chat(w http.ResponseWriter, r *http.Request) {
	var wr wireRequest
	json.NewDecoder(r.Body).Decode(&wr) // gate has checked it
	if wr.Model == "" || len(wr.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "you must provide a model and messages", "invalid_request_error", nil)
		return
	}
	f.mu.Lock()
	f.chatN++
	id := fmt.Sprintf("chatcmpl-fake%d", f.chatN)
	var turn Turn
	if len(f.turns) > 0 {
		turn, f.turns = f.turns[0], f.turns[1:]
	} else {
		turn = defaultTurn(wr.Messages)
	}
	hold := f.hold && wr.Stream
	cancelled := f.cancelled
	if hold {
		f.hold = false
	}
	f.mu.Unlock()

	if !wr.Stream {
		f.answerWhole(w, id, wr.Model, turn)
		return
	}
	s := &sse{w: w, id: id, model: wr.Model, created: time.Now().Unix()}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)

	if hold {
		first := "…"
		if len(turn.Text) > 0 {
			first = turn.Text[0]
		}
		s.chunk(map[string]any{"role": "assistant", "content": first, "refusal": nil}, nil)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-f.closing:
		}
		return
	}

	if len(turn.ToolCalls) > 0 && len(turn.Text) == 0 {
		s.chunk(map[string]any{"role": "assistant", "content": nil, "refusal": nil}, nil)
	} else {
		s.chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil)
	}
	for _, piece := range turn.Text {
		s.chunk(map[string]any{"content": piece}, nil)
	}
	piece := turn.ArgumentPiece
	if piece <= 0 {
		piece = 5
	}
	for i, tc := range turn.ToolCalls {
		idx := i
		s.chunk(map[string]any{"tool_calls": []wireToolCall{{
			Index: &idx, ID: tc.ID, Type: "function",
			Function: wireFunction{Name: tc.Name, Arguments: ""},
		}}}, nil)
		for args := tc.Arguments; args != ""; {
			n := min(piece, len(args))
			s.chunk(map[string]any{"tool_calls": []wireToolCall{{
				Index: &idx, Function: wireFunction{Arguments: args[:n]},
			}}}, nil)
			args = args[n:]
		}
	}
	finish := "stop"
	if len(turn.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	s.chunk(map[string]any{}, &finish)
	if wr.StreamOptions != nil && wr.StreamOptions.IncludeUsage {
		s.usage(turn)
	}
	s.line("[DONE]")
}

// defaultTurn answers an unscripted request by echoing the last user
// message, so that end-to-end tests see a streamed answer.
func defaultTurn(msgs []wireMessage) Turn {
	last := ""
	for _, m := range msgs {
		if m.Role == "user" && m.Content != nil {
			last = *m.Content
		}
	}
	var pieces []string
	for i, w := range strings.Fields("fake answer to: " + last) {
		if i > 0 {
			w = " " + w
		}
		pieces = append(pieces, w)
	}
	return Turn{Text: pieces}
}

func (f *Fake) answerWhole(w http.ResponseWriter, id, model string, turn Turn) {
	content := strings.Join(turn.Text, "")
	msg := map[string]any{"role": "assistant", "content": content, "refusal": nil}
	finish := "stop"
	if len(turn.ToolCalls) > 0 {
		finish = "tool_calls"
		var calls []wireToolCall
		for _, tc := range turn.ToolCalls {
			calls = append(calls, wireToolCall{ID: tc.ID, Type: "function", Function: wireFunction{Name: tc.Name, Arguments: tc.Arguments}})
		}
		msg["tool_calls"] = calls
		if content == "" {
			msg["content"] = nil
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"system_fingerprint": "fp_fake",
		"choices": []any{map[string]any{
			"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish,
		}},
		"usage": usage(turn),
	})
}

func usage(turn Turn) map[string]int {
	n := 0
	for _, t := range turn.Text {
		n += len(strings.Fields(t))
	}
	return map[string]int{"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n}
}

// sse writes one chat.completion.chunk per event, flushed at once.
type sse struct {
	w       http.ResponseWriter
	id      string
	model   string
	created int64
}

func (s *sse) chunk(delta map[string]any, finish *string) {
	b, _ := json.Marshal(map[string]any{
		"id": s.id, "object": "chat.completion.chunk", "created": s.created, "model": s.model,
		"system_fingerprint": "fp_fake",
		"choices": []any{map[string]any{
			"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish,
		}},
	})
	s.line(string(b))
}

func (s *sse) usage(turn Turn) {
	b, _ := json.Marshal(map[string]any{
		"id": s.id, "object": "chat.completion.chunk", "created": s.created, "model": s.model,
		"system_fingerprint": "fp_fake", "choices": []any{}, "usage": usage(turn),
	})
	s.line(string(b))
}

func (s *sse) line(data string) {
	fmt.Fprintf(s.w, "data: %s\n\n", data)
	if fl, ok := s.w.(http.Flusher); ok {
		fl.Flush()
	}
}

func (f *Fake) embeddings(w http.ResponseWriter, r *http.Request) {
	var wr wireRequest
	json.NewDecoder(r.Body).Decode(&wr)
	var input []string
	var one string
	if err := json.Unmarshal(wr.Input, &one); err == nil {
		input = []string{one}
	} else if err := json.Unmarshal(wr.Input, &input); err != nil || len(input) == 0 {
		writeError(w, http.StatusBadRequest, "'input' must be a string or an array of strings", "invalid_request_error", nil)
		return
	}
	if wr.Model == "" {
		writeError(w, http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", nil)
		return
	}
	f.mu.Lock()
	f.embedN++
	f.embedded = append(f.embedded, input...)
	f.mu.Unlock()

	data := make([]any, len(input))
	tokens := 0
	for i, text := range input {
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": Vector(text)}
		tokens += len(strings.Fields(text))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": wr.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

func (f *Fake) listModels(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	ids := append([]string(nil), f.models...)
	f.mu.Unlock()
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = map[string]any{"id": id, "object": "model", "created": 1700000000, "owned_by": "fake"}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

// Vector is the fake's embedding of text: a bag of its lower-cased words,
// each hashed to one of Dimensions buckets, scaled to unit length. Texts
// sharing words are near; the same text always gives the same vector.
func Vector(text string) []float32 {
	v := make([]float64, Dimensions)
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for _, w := range words {
		h := fnv.New32a()
		h.Write([]byte(w))
		sum := h.Sum32()
		sign := 1.0
		if sum&(1<<31) != 0 {
			sign = -1
		}
		v[sum%Dimensions] += sign
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, Dimensions)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}
