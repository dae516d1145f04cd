package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Endpoint configures one OpenAI-compatible server.
type Endpoint struct {
	Name       string // "ollama", "openai", or the configured local server's name
	BaseURL    string // the API root, ending in /v1
	Model      string // the chat model
	EmbedModel string // "" when the server has no embedding model
	APIKey     string // "" for local servers; sent only to BaseURL, never printed
	// HTTPClient carries every request; nil means a client whose
	// transport waits at most two minutes for response headers (a local
	// server may first load the model). It must not set a whole-request
	// Timeout: answers stream for as long as the model writes.
	HTTPClient *http.Client
}

// String describes the endpoint without its key, so that %v and logs are
// safe.
func (e Endpoint) String() string {
	key := "no key"
	if e.APIKey != "" {
		key = "key set"
	}
	return fmt.Sprintf("%s at %s (model %q, embed model %q, %s)", e.Name, e.BaseURL, e.Model, e.EmbedModel, key)
}

// GoString keeps %#v from printing the key.
func (e Endpoint) GoString() string { return "provider.Endpoint{" + e.String() + "}" }

// LogValue keeps slog's JSON handler from printing the key.
func (e Endpoint) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", e.Name),
		slog.String("baseURL", e.BaseURL),
		slog.String("model", e.Model),
		slog.String("embedModel", e.EmbedModel),
		slog.Bool("key", e.APIKey != ""),
	)
}

// OpenAICompatible is a Provider for any server speaking OpenAI's chat
// completions and embeddings API: OpenAI, Ollama's /v1, LM Studio,
// llama.cpp's server, vLLM. It is safe for concurrent use.
type OpenAICompatible struct {
	name, baseURL, model, embedModel string
	apiKey                           string
	client                           *openai.Client
}

// defaultHTTPClient bounds the wait for the first byte of an answer but not
// the answer itself.
var defaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: t}
}()

// NewOpenAICompatible returns the provider for e.
func NewOpenAICompatible(e Endpoint) *OpenAICompatible {
	cfg := openai.DefaultConfig(e.APIKey)
	cfg.BaseURL = strings.TrimRight(e.BaseURL, "/")
	cfg.HTTPClient = e.HTTPClient
	if e.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient
	}
	return &OpenAICompatible{
		name:       e.Name,
		baseURL:    cfg.BaseURL,
		model:      e.Model,
		embedModel: e.EmbedModel,
		apiKey:     e.APIKey,
		client:     openai.NewClientWithConfig(cfg),
	}
}

// Name is the provider's name: "ollama", "openai", or the local server's.
func (p *OpenAICompatible) Name() string { return p.name }

// BaseURL is the API root the provider talks to (ending in /v1).
func (p *OpenAICompatible) BaseURL() string { return p.baseURL }

// Model is the chat model, or "" when none was configured or listed.
func (p *OpenAICompatible) Model() string { return p.model }

// EmbedModel is the embedding model, or "" when the server has none.
func (p *OpenAICompatible) EmbedModel() string { return p.embedModel }

// String describes the provider without its key.
func (p *OpenAICompatible) String() string {
	return Endpoint{Name: p.name, BaseURL: p.baseURL, Model: p.model, EmbedModel: p.embedModel, APIKey: p.apiKey}.String()
}

// Chat streams one answer. Text deltas reach onDelta in order as they
// arrive; tool calls are assembled from their streamed fragments and
// returned whole. Cancelling ctx aborts the HTTP request and Chat returns
// ctx.Err(); any other failure is a *CallError.
func (p *OpenAICompatible) Chat(ctx context.Context, req Request, onDelta func(string)) (Response, error) {
	resp := Response{Provider: p.name, Model: p.model}
	if p.model == "" {
		return resp, &CallError{Provider: p.name, BaseURL: p.baseURL, Kind: FailNoModel,
			Reason: "no chat model: none configured and the server lists none (for Ollama: ollama pull llama3.2)"}
	}
	stream, err := p.client.CreateChatCompletionStream(ctx, p.chatRequest(req))
	if err != nil {
		if ctx.Err() != nil {
			return resp, ctx.Err()
		}
		return resp, p.callError(err)
	}
	defer stream.Close()

	var text strings.Builder
	var calls toolCallAssembler
	finished := false
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			resp.Text, resp.ToolCalls = text.String(), calls.calls()
			if ctx.Err() != nil {
				return resp, ctx.Err()
			}
			return resp, p.callError(err)
		}
		if chunk.Model != "" {
			resp.Model = chunk.Model
		}
		// Choices is empty on the usage chunk some servers send last.
		for _, choice := range chunk.Choices {
			if choice.Index != 0 {
				continue // we ask for one choice (n = 1)
			}
			if d := choice.Delta.Content; d != "" {
				text.WriteString(d)
				if onDelta != nil {
					onDelta(d)
				}
			}
			for _, tc := range choice.Delta.ToolCalls {
				calls.add(tc)
			}
			if choice.FinishReason != "" {
				finished = true
			}
		}
	}
	resp.Text, resp.ToolCalls = text.String(), calls.calls()
	if !finished && resp.Text == "" && len(resp.ToolCalls) == 0 {
		// go-openai reads a stream cut short as its end; with nothing
		// said, it is a failure the chain may pass over. (Once text has
		// come, the answer stands: some servers omit finish_reason.)
		return resp, &CallError{Provider: p.name, BaseURL: p.baseURL, Kind: FailBroken,
			Reason: "the stream ended without an answer"}
	}
	return resp, nil
}

func (p *OpenAICompatible) chatRequest(req Request) openai.ChatCompletionRequest {
	out := openai.ChatCompletionRequest{Model: p.model, Stream: true}
	for _, m := range req.Messages {
		om := openai.ChatCompletionMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			om.ToolCalls = append(om.ToolCalls, openai.ToolCall{
				ID:       tc.ID,
				Type:     openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: tc.Name, Arguments: tc.Arguments},
			})
		}
		out.Messages = append(out.Messages, om)
	}
	for _, t := range req.Tools {
		var params any = t.Parameters
		if len(t.Parameters) == 0 {
			// OpenAI rejects a function without a parameters schema.
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		out.Tools = append(out.Tools, openai.Tool{
			Type: openai.ToolTypeFunction,
			Function: &openai.FunctionDefinition{
				Name:        t.Name,
				Description: t.Description,
				Parameters:  params,
			},
		})
	}
	return out
}

// toolCallAssembler joins streamed tool-call fragments. OpenAI sends each
// call's id, type and name in its first fragment, then pieces of the
// arguments under the same index; the pieces are arbitrary cuts of the
// JSON text, so they are only concatenated, never parsed on the way.
// Servers that omit the index (some local ones) start each call with its
// id; a fragment with neither continues the call before it.
type toolCallAssembler struct {
	order []int // indexes in order of first appearance
	byIdx map[int]*ToolCall
}

func (a *toolCallAssembler) add(tc openai.ToolCall) {
	if a.byIdx == nil {
		a.byIdx = map[int]*ToolCall{}
	}
	var idx int
	switch {
	case tc.Index != nil:
		idx = *tc.Index
	case tc.ID == "" && len(a.order) > 0:
		idx = a.order[len(a.order)-1] // more of the call before
	default:
		idx = len(a.order)
		for a.byIdx[idx] != nil {
			idx++
		}
	}
	c, ok := a.byIdx[idx]
	if !ok {
		c = &ToolCall{}
		a.byIdx[idx] = c
		a.order = append(a.order, idx)
	}
	if tc.ID != "" {
		c.ID = tc.ID
	}
	if tc.Function.Name != "" && c.Name == "" {
		c.Name = tc.Function.Name
	}
	c.Arguments += tc.Function.Arguments
}

func (a *toolCallAssembler) calls() []ToolCall {
	if len(a.order) == 0 {
		return nil
	}
	idxs := slices.Clone(a.order)
	slices.Sort(idxs)
	out := make([]ToolCall, 0, len(idxs))
	for _, i := range idxs {
		out = append(out, *a.byIdx[i])
	}
	return out
}

// Embed returns one vector per text, in order, from the embeddings
// endpoint. ErrNoEmbeddings (wrapped in a *CallError when the server said
// so) when no embedding model is configured or the server answers 404.
func (p *OpenAICompatible) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if p.embedModel == "" {
		return nil, ErrNoEmbeddings
	}
	if len(texts) == 0 {
		return nil, nil
	}
	res, err := p.client.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{
		Input: texts,
		Model: openai.EmbeddingModel(p.embedModel),
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ce := p.callError(err)
		if ce.Status == http.StatusNotFound {
			ce.Err = ErrNoEmbeddings
		}
		return nil, ce
	}
	if len(res.Data) != len(texts) {
		return nil, &CallError{Provider: p.name, BaseURL: p.baseURL, Kind: FailOther,
			Reason: fmt.Sprintf("asked for %d embeddings, got %d", len(texts), len(res.Data))}
	}
	out := make([][]float32, len(texts))
	for _, e := range res.Data {
		if e.Index < 0 || e.Index >= len(out) || out[e.Index] != nil {
			return nil, &CallError{Provider: p.name, BaseURL: p.baseURL, Kind: FailOther,
				Reason: fmt.Sprintf("embedding index %d out of place", e.Index)}
		}
		out[e.Index] = e.Embedding
	}
	return out, nil
}
