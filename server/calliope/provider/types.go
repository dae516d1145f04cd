// Package provider talks to chat and embedding models (docs/calliope.md).
// This file holds the types its callers share; the providers come with
// issue 12's provider work.
package provider

import (
	"context"
	"encoding/json"
	"errors"
)

// Message is one message of a conversation with a model.
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

// ToolCall is the model's call of a tool; Arguments is JSON text.
type ToolCall struct{ ID, Name, Arguments string }

// Request is one chat request.
type Request struct {
	Messages []Message
	Tools    []Tool
}

// Response is a model's whole answer.
type Response struct {
	Text      string
	ToolCalls []ToolCall
	Provider  string   // "ollama", "openai", or the configured local server's name
	Model     string   //
	Notes     []string // providers that failed before this one answered, in words
}

// Provider is a model behind an OpenAI-compatible API.
type Provider interface {
	Name() string
	// Chat streams the answer: onDelta gets the text in order, as it
	// arrives. Cancelling ctx cancels the HTTP request to the model.
	Chat(ctx context.Context, req Request, onDelta func(string)) (Response, error)
	// Embed returns one vector per text; ErrNoEmbeddings when the
	// provider has no embedding model.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// ErrNoEmbeddings means the provider has no embedding model.
var ErrNoEmbeddings = errors.New("no embedding model is configured")

// ErrNoProvider means no model answered: Calliope answers offline.
var ErrNoProvider = errors.New("no model provider is available")
