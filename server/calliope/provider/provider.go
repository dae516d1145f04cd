// Package provider talks to language models for Calliope: any
// OpenAI-compatible server (Ollama, LM Studio, llama.cpp, vLLM) and OpenAI
// itself, through github.com/sashabaranov/go-openai.
//
// One type, OpenAICompatible, serves every server: chat is always streamed,
// with tools, and the text reaches the caller delta by delta as it arrives;
// tool calls arrive as fragments (an index, then pieces of JSON arguments)
// and are assembled here. Detect finds what is available (a configured
// local server, else Ollama, then OpenAI when a key is set) and Chain tries
// them in order, falling through a provider that fails before its first
// delta with a note the user sees.
//
// API keys never leave through this package's words: errors, notes and
// String methods redact them, and a key is only sent to the base URL it was
// configured for.
package provider

import (
	"context"
	"encoding/json"
	"errors"
)

// Message is one message of a conversation, in OpenAI's roles.
type Message struct {
	Role       string     // system, user, assistant, tool
	Content    string     //
	ToolCalls  []ToolCall // assistant messages that call tools
	ToolCallID string     // tool messages: the call answered
}

// Tool is a function the model may call.
type Tool struct {
	Name, Description string
	Parameters        json.RawMessage // a JSON schema object
}

// ToolCall is the model's request to call a tool.
type ToolCall struct{ ID, Name, Arguments string } // Arguments: JSON text

// Request is one chat turn sent to a model.
type Request struct {
	Messages []Message
	Tools    []Tool
}

// Response is the model's complete answer to a Request.
type Response struct {
	Text      string
	ToolCalls []ToolCall
	Provider  string // "ollama", "openai", or the configured local server's name
	Model     string
	Notes     []string // "ollama at http://127.0.0.1:11434/v1: connection refused; answered by openai"
}

// Provider is a model that chats and, perhaps, embeds.
type Provider interface {
	Name() string
	// Chat streams the answer: onDelta gets the text in order, as it
	// arrives. Cancelling ctx cancels the HTTP request to the model.
	Chat(ctx context.Context, req Request, onDelta func(string)) (Response, error)
	// Embed returns one vector per text; ErrNoEmbeddings when the
	// provider has no embedding model.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

var (
	// ErrNoEmbeddings: the provider has no embedding model (none
	// configured, or the server answered 404 for the embeddings endpoint).
	ErrNoEmbeddings = errors.New("no embedding model")
	// ErrNoProvider: a Chain with no providers at all; Calliope answers
	// offline.
	ErrNoProvider = errors.New("no model provider configured")
)
