package provider_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider/providertest"
)

func TestChainFallsThroughWithNotes(t *testing.T) {
	refused := closedPort(t)
	broken := providertest.New(t)
	broken.FailWith(500)
	good := providertest.New(t)
	good.Script(providertest.Turn{Text: []string{"Fine", " here."}})

	chain := provider.NewChain(
		provider.NewOpenAICompatible(provider.Endpoint{Name: "ollama", BaseURL: refused, Model: "llama3.2"}),
		provider.NewOpenAICompatible(provider.Endpoint{Name: "lmstudio", BaseURL: broken.URL(), Model: "qwen"}),
		provider.NewOpenAICompatible(provider.Endpoint{Name: "openai", BaseURL: good.URL(), Model: "gpt-4o-mini"}),
	)
	var deltas []string
	resp, err := chain.Chat(t.Context(), ask, func(d string) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	if resp.Provider != "openai" || resp.Model != "gpt-4o-mini" || resp.Text != "Fine here." || strings.Join(deltas, "") != "Fine here." {
		t.Errorf("answer %+v deltas %q", resp, deltas)
	}
	want := []string{
		"ollama at " + refused + ": connection refused; answered by openai",
		"lmstudio at " + broken.URL() + ": HTTP 500",
	}
	if len(resp.Notes) != 2 || resp.Notes[0] != want[0] || !strings.HasPrefix(resp.Notes[1], want[1]) ||
		!strings.HasSuffix(resp.Notes[1], "; answered by openai") {
		t.Errorf("notes\n got %q\nwant %q (then the server's message and who answered)", resp.Notes, want)
	}
	if n := len(broken.ChatRequests()); n != 1 {
		t.Errorf("the failing server got %d chat requests, want 1", n)
	}
}

func TestChainAllFailing(t *testing.T) {
	refused := closedPort(t)
	broken := providertest.New(t)
	broken.FailWith(503)
	chain := provider.NewChain(
		provider.NewOpenAICompatible(provider.Endpoint{Name: "ollama", BaseURL: refused, Model: "m"}),
		provider.NewOpenAICompatible(provider.Endpoint{Name: "openai", BaseURL: broken.URL(), Model: "m"}),
	)
	_, err := chain.Chat(t.Context(), ask, nil)
	var all *provider.AllFailedError
	if !errors.As(err, &all) || len(all.Failures) != 2 {
		t.Fatalf("error %v, want an AllFailedError with two failures", err)
	}
	msg := err.Error()
	for _, want := range []string{"ollama at " + refused + ": connection refused", "openai at " + broken.URL() + ": HTTP 503"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if f := all.Failures[0]; f.Kind != provider.FailRefused || f.Provider != "ollama" || f.BaseURL != refused {
		t.Errorf("failure %+v", f)
	}
	if f := all.Failures[1]; f.Kind != provider.FailHTTP || f.Status != 503 || f.Provider != "openai" {
		t.Errorf("failure %+v", f)
	}

	if _, err := provider.NewChain().Chat(t.Context(), ask, nil); !errors.Is(err, provider.ErrNoProvider) {
		t.Errorf("empty chain: %v, want ErrNoProvider", err)
	}
	if _, err := provider.NewChain().Embed(t.Context(), []string{"x"}); !errors.Is(err, provider.ErrNoProvider) {
		t.Errorf("empty chain embed: %v, want ErrNoProvider", err)
	}
}

// script is a Provider that says what it is told to.
type script struct {
	name   string
	deltas []string
	err    error
	calls  int
}

func (s *script) Name() string { return s.name }
func (s *script) Chat(ctx context.Context, _ provider.Request, onDelta func(string)) (provider.Response, error) {
	s.calls++
	for _, d := range s.deltas {
		onDelta(d)
	}
	return provider.Response{Text: strings.Join(s.deltas, ""), Provider: s.name}, s.err
}
func (s *script) Embed(context.Context, []string) ([][]float32, error) {
	return nil, provider.ErrNoEmbeddings
}

func TestChainDoesNotRestartAfterDeltas(t *testing.T) {
	broke := &script{name: "ollama", deltas: []string{"The route"}, err: errors.New("connection reset")}
	next := &script{name: "openai", deltas: []string{"Another answer"}}
	var deltas []string
	resp, err := provider.NewChain(broke, next).Chat(t.Context(), ask, func(d string) { deltas = append(deltas, d) })
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("error %v, want the failure after the first delta", err)
	}
	if next.calls != 0 || strings.Join(deltas, "") != "The route" {
		t.Errorf("restarted elsewhere: next called %d times, deltas %q", next.calls, deltas)
	}
	if resp.Text != "The route" {
		t.Errorf("partial text %q", resp.Text)
	}
}

func TestChainStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	first := providertest.New(t)
	next := &script{name: "openai", deltas: []string{"x"}}
	chain := provider.NewChain(
		provider.NewOpenAICompatible(provider.Endpoint{Name: "ollama", BaseURL: first.URL(), Model: "m"}),
		next,
	)
	if _, err := chain.Chat(ctx, ask, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if next.calls != 0 {
		t.Error("a cancelled turn fell through to the next provider")
	}
}

func TestChainEmbedsWithTheFirstProviderThatCan(t *testing.T) {
	f := providertest.New(t)
	chain := provider.NewChain(
		&script{name: "plain"},
		provider.NewOpenAICompatible(provider.Endpoint{Name: "ollama", BaseURL: f.URL(), Model: "m", EmbedModel: "nomic-embed-text"}),
	)
	vecs, err := chain.Embed(t.Context(), []string{"a", "b"})
	if err != nil || len(vecs) != 2 || f.EmbedCalls() != 1 {
		t.Fatalf("vectors %d, err %v, calls %d", len(vecs), err, f.EmbedCalls())
	}
	if p, m, ok := chain.EmbedModel(); !ok || p != "ollama" || m != "nomic-embed-text" {
		t.Errorf("EmbedModel %q %q %v", p, m, ok)
	}
	if _, err := provider.NewChain(&script{name: "plain"}).Embed(t.Context(), []string{"a"}); !errors.Is(err, provider.ErrNoEmbeddings) {
		t.Errorf("no embedder: %v, want ErrNoEmbeddings", err)
	}
}

const fakeKey = "sk-proj-TESTKEY0123456789abcdefSECRET"

// TestKeyNeverInWords fails the key against a server that quotes it back
// in full, and checks every text this package makes.
func TestKeyNeverInWords(t *testing.T) {
	f := providertest.New(t)
	f.RequireKey("sk-the-right-one")
	e := provider.Endpoint{Name: "openai", BaseURL: f.URL(), Model: "gpt-4o-mini", EmbedModel: "text-embedding-3-small", APIKey: fakeKey}
	p := provider.NewOpenAICompatible(e)

	_, chatErr := p.Chat(t.Context(), ask, nil)
	if chatErr == nil || !strings.Contains(chatErr.Error(), "HTTP 401") {
		t.Fatalf("chat with a wrong key: %v, want HTTP 401", chatErr)
	}
	_, embedErr := p.Embed(t.Context(), []string{"x"})
	good := providertest.New(t)
	resp, _ := provider.NewChain(p, local(good)).Chat(t.Context(), ask, nil)
	_, allErr := provider.NewChain(p).Chat(t.Context(), ask, nil)
	f.FailWith(500)
	_, serverErr := p.Chat(t.Context(), ask, nil)

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("provider", "endpoint", e)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("provider", "endpoint", e, "p", p)
	s := provider.Settings{OpenAIKey: fakeKey}

	texts := map[string]string{
		"chat error":         chatErr.Error(),
		"embed error":        fmt.Sprint(embedErr),
		"fallback notes":     strings.Join(resp.Notes, "\n"),
		"all-failed error":   fmt.Sprint(allErr),
		"500 error":          fmt.Sprint(serverErr),
		"endpoint %v":        fmt.Sprintf("%v", e),
		"endpoint %+v":       fmt.Sprintf("%+v", e),
		"endpoint %#v":       fmt.Sprintf("%#v", e),
		"provider %v":        fmt.Sprintf("%v %+v", p, p),
		"settings %v %+v":    fmt.Sprintf("%v %+v %#v", s, s, s),
		"slog json and text": logs.String(),
	}
	for what, text := range texts {
		if strings.Contains(text, fakeKey) || strings.Contains(text, "TESTKEY") {
			t.Errorf("%s contains the key: %s", what, text)
		}
	}
	if len(resp.Notes) != 1 || !strings.Contains(resp.Notes[0], "[redacted]") {
		t.Errorf("notes %q: want the server's message with the key redacted", resp.Notes)
	}
}

func TestChainFallsThroughATimeout(t *testing.T) {
	// A server that accepts the connection and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = 100 * time.Millisecond
	silent := "http://" + l.Addr().String() + "/v1"
	good := providertest.New(t)
	chain := provider.NewChain(
		provider.NewOpenAICompatible(provider.Endpoint{Name: "ollama", BaseURL: silent, Model: "m", HTTPClient: &http.Client{Transport: transport}}),
		local(good),
	)
	resp, err := chain.Chat(t.Context(), ask, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ollama at " + silent + ": timed out; answered by fake"; len(resp.Notes) != 1 || resp.Notes[0] != want {
		t.Errorf("notes %q, want %q", resp.Notes, want)
	}
}
