package provider

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
)

// Chain is a Provider that tries its providers in order. A provider that
// fails before its first delta (connection refused, 401, 5xx, a timeout)
// falls through to the next, and the answer carries a note saying so; once
// text has reached the caller, a failure is returned as it is, because
// starting again elsewhere would show the user two answers glued together.
// A Chain holds no state between calls and is safe for concurrent use.
type Chain struct {
	providers []Provider
}

// NewChain returns a chain trying providers in the order given.
func NewChain(providers ...Provider) *Chain {
	return &Chain{providers: providers}
}

// Providers returns the chain's providers, in order.
func (c *Chain) Providers() []Provider { return c.providers }

// Name lists the providers' names in order ("ollama, openai"), or "none".
func (c *Chain) Name() string {
	if len(c.providers) == 0 {
		return "none"
	}
	names := make([]string, len(c.providers))
	for i, p := range c.providers {
		names[i] = p.Name()
	}
	return strings.Join(names, ", ")
}

// Failure is one provider's failure in a chain.
type Failure struct {
	Provider string      // its name
	BaseURL  string      // "" when the provider does not say
	Kind     FailureKind // FailOther for providers that are not OpenAICompatible
	Status   int         // the HTTP status when the server answered, else 0
	Reason   string      // "connection refused", "HTTP 500: …"; never a key
	Err      error
}

// String renders the failure as notes and errors show it:
// "ollama at http://127.0.0.1:11434/v1: connection refused".
func (f Failure) String() string {
	who := f.Provider
	if f.BaseURL != "" {
		who += " at " + f.BaseURL
	}
	return who + ": " + f.Reason
}

// AllFailedError is returned when every provider of a chain failed before
// answering.
type AllFailedError struct {
	Failures []Failure
}

func (e *AllFailedError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = f.String()
	}
	return "no model provider answered: " + strings.Join(parts, "; ")
}

func (e *AllFailedError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// failure describes p's err. A *CallError already has its words; any other
// provider's error text is used as it is.
func failure(p Provider, err error) Failure {
	if ce, ok := errors.AsType[*CallError](err); ok {
		return Failure{Provider: ce.Provider, BaseURL: ce.BaseURL, Kind: ce.Kind, Status: ce.Status, Reason: ce.Reason, Err: err}
	}
	f := Failure{Provider: p.Name(), Kind: FailOther, Reason: err.Error(), Err: err}
	if b, ok := p.(interface{ BaseURL() string }); ok {
		f.BaseURL = b.BaseURL()
	}
	return f
}

// Chat asks each provider in turn until one answers. The answer's Notes
// start with one note per provider that failed first ("ollama at
// http://127.0.0.1:11434/v1: connection refused; answered by openai").
// Cancelling ctx stops the chain: ctx.Err() is returned, no fallback.
// Every provider failing gives an *AllFailedError; no providers at all,
// ErrNoProvider.
func (c *Chain) Chat(ctx context.Context, req Request, onDelta func(string)) (Response, error) {
	if len(c.providers) == 0 {
		return Response{}, ErrNoProvider
	}
	var failures []Failure
	notes := func(answeredBy string) []string {
		out := make([]string, len(failures))
		for i, f := range failures {
			out[i] = f.String()
			if answeredBy != "" {
				out[i] += "; answered by " + answeredBy
			}
		}
		return out
	}
	for _, p := range c.providers {
		var emitted atomic.Bool
		resp, err := p.Chat(ctx, req, func(d string) {
			emitted.Store(true)
			if onDelta != nil {
				onDelta(d)
			}
		})
		if err == nil {
			if resp.Provider == "" {
				resp.Provider = p.Name()
			}
			resp.Notes = append(notes(resp.Provider), resp.Notes...)
			return resp, nil
		}
		if ctx.Err() != nil {
			resp.Notes = append(notes(""), resp.Notes...)
			return resp, ctx.Err()
		}
		if emitted.Load() {
			// The user has seen part of this answer: say it broke.
			resp.Notes = append(notes(p.Name()), resp.Notes...)
			return resp, err
		}
		failures = append(failures, failure(p, err))
	}
	return Response{Notes: notes("")}, &AllFailedError{Failures: failures}
}

// Embed uses the first provider that has embeddings (skipping those that
// answer ErrNoEmbeddings). Its other errors are returned, not passed over:
// vectors from two models must not mix in one index. No provider with
// embeddings gives ErrNoEmbeddings.
func (c *Chain) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(c.providers) == 0 {
		return nil, ErrNoProvider
	}
	for _, p := range c.providers {
		vecs, err := p.Embed(ctx, texts)
		if errors.Is(err, ErrNoEmbeddings) {
			continue
		}
		return vecs, err
	}
	return nil, ErrNoEmbeddings
}

// EmbedModel names the embedding model Embed will use, as far as the
// providers say ahead of time ("ollama", "nomic-embed-text"): the first
// provider with a configured embedding model. An index of vectors should
// be keyed by it, so that a change of model re-embeds. ok is false when no
// provider declares one.
func (c *Chain) EmbedModel() (provider, model string, ok bool) {
	for _, p := range c.providers {
		if e, isE := p.(interface{ EmbedModel() string }); isE && e.EmbedModel() != "" {
			return p.Name(), e.EmbedModel(), true
		}
	}
	return "", "", false
}
