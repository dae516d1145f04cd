package provider_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider/providertest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestFromEnv(t *testing.T) {
	got := provider.FromEnv(env(nil), provider.Settings{})
	want := provider.Settings{
		OllamaBaseURL:    "http://127.0.0.1:11434/v1",
		OpenAIBaseURL:    "https://api.openai.com/v1",
		OpenAIModel:      "gpt-4o-mini",
		OpenAIEmbedModel: "text-embedding-3-small",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", got, want)
	}

	vars := map[string]string{
		"OPENAI_API_KEY":     "sk-env",
		"OPENAI_BASE_URL":    "https://gateway.example.com/openai/v1",
		"OPENAI_MODEL":       "gpt-4.1",
		"OPENAI_EMBED_MODEL": "text-embedding-3-large",
		"OLLAMA_HOST":        "gpu-box:9999",
	}
	got = provider.FromEnv(env(vars), provider.Settings{})
	want = provider.Settings{
		OllamaBaseURL:    "http://gpu-box:9999/v1",
		OpenAIKey:        "sk-env",
		OpenAIBaseURL:    "https://gateway.example.com/openai/v1",
		OpenAIModel:      "gpt-4.1",
		OpenAIEmbedModel: "text-embedding-3-large",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from the environment\n got %+v\nwant %+v", got, want)
	}

	// What the user set (the key from SecretStorage, the editor's
	// settings) wins over the environment.
	set := provider.Settings{OpenAIKey: "sk-secretstorage", OpenAIModel: "gpt-4o", Order: []string{"openai", "local"}}
	got = provider.FromEnv(env(vars), set)
	if got.OpenAIKey != "sk-secretstorage" || got.OpenAIModel != "gpt-4o" || got.OpenAIBaseURL != vars["OPENAI_BASE_URL"] ||
		!reflect.DeepEqual(got.Order, set.Order) {
		t.Errorf("settings over environment: %+v", got)
	}
}

func TestOllamaBaseURL(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"", "http://127.0.0.1:11434/v1"},
		{"127.0.0.1:11434", "http://127.0.0.1:11434/v1"},
		{"0.0.0.0", "http://127.0.0.1:11434/v1"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/v1"},
		{":11435", "http://127.0.0.1:11435/v1"},
		{"gpu-box", "http://gpu-box:11434/v1"},
		{"[::1]:11434", "http://[::1]:11434/v1"},
		{"::", "http://127.0.0.1:11434/v1"},
		{"http://gpu-box", "http://gpu-box:80/v1"},
		{"https://ollama.example.com", "https://ollama.example.com:443/v1"},
		{"https://example.com:8443/ollama/", "https://example.com:8443/ollama/v1"},
		{"http://localhost:11434/v1", "http://localhost:11434/v1"},
	} {
		if got := provider.OllamaBaseURL(c.host); got != c.want {
			t.Errorf("OLLAMA_HOST=%q: %q, want %q", c.host, got, c.want)
		}
	}
}

func hostOf(t *testing.T, base string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestDetectFindsOllama(t *testing.T) {
	ollama := providertest.New(t)
	ollama.SetModels("nomic-embed-text:latest", "llama3.2:latest", "qwen2.5-coder:7b")
	s := provider.FromEnv(env(map[string]string{"OLLAMA_HOST": hostOf(t, ollama.URL())}), provider.Settings{})

	ps := provider.Detect(t.Context(), s, nil)
	if len(ps) != 1 {
		t.Fatalf("%d providers, want ollama alone (no key)", len(ps))
	}
	p := ps[0].(*provider.OpenAICompatible)
	if p.Name() != "ollama" || p.BaseURL() != ollama.URL() || p.Model() != "llama3.2:latest" || p.EmbedModel() != "nomic-embed-text:latest" {
		t.Errorf("detected %v", p)
	}
	resp, err := p.Chat(t.Context(), ask, nil)
	if err != nil || resp.Provider != "ollama" {
		t.Fatalf("chat: %+v %v", resp, err)
	}
	if rec := ollama.ChatRequests()[0]; rec.Model != "llama3.2:latest" {
		t.Errorf("chat sent to model %q", rec.Model)
	}

	// The user's models win over the listed ones.
	s.LocalModel, s.LocalEmbedModel = "qwen2.5-coder:7b", "mxbai-embed-large"
	p = provider.Detect(t.Context(), s, nil)[0].(*provider.OpenAICompatible)
	if p.Model() != "qwen2.5-coder:7b" || p.EmbedModel() != "mxbai-embed-large" {
		t.Errorf("configured models: %v", p)
	}

	// Only embedding models: no chat model, which Chat then says.
	ollama.SetModels("nomic-embed-text:latest")
	s.LocalModel, s.LocalEmbedModel = "", ""
	p = provider.Detect(t.Context(), s, nil)[0].(*provider.OpenAICompatible)
	if p.Model() != "" || p.EmbedModel() != "nomic-embed-text:latest" {
		t.Errorf("embedding models only: %v", p)
	}
}

func TestDetectWithoutOllama(t *testing.T) {
	s := provider.FromEnv(env(map[string]string{"OLLAMA_HOST": hostOf(t, closedPort(t))}), provider.Settings{})
	start := time.Now()
	if ps := provider.Detect(t.Context(), s, nil); len(ps) != 0 {
		t.Errorf("detected %d providers with no Ollama and no key", len(ps))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Detect took %v", d)
	}
}

func TestDetectOrderAndKey(t *testing.T) {
	ollama := providertest.New(t)
	openai := providertest.New(t)
	openai.RequireKey(fakeKey)
	s := provider.FromEnv(env(map[string]string{
		"OLLAMA_HOST":     ollama.URL(),
		"OPENAI_API_KEY":  fakeKey,
		"OPENAI_BASE_URL": openai.URL(),
	}), provider.Settings{})

	ps := provider.Detect(t.Context(), s, nil)
	if names := provider.NewChain(ps...).Name(); names != "ollama, openai" {
		t.Fatalf("providers %q, want local first", names)
	}
	if p := ps[1].(*provider.OpenAICompatible); p.Model() != "gpt-4o-mini" || p.EmbedModel() != "text-embedding-3-small" || p.BaseURL() != openai.URL() {
		t.Errorf("openai: %v", p)
	}
	for _, p := range ps {
		if _, err := p.Chat(t.Context(), ask, nil); err != nil {
			t.Errorf("%s: %v", p.Name(), err)
		}
	}
	// The key went to the OpenAI base URL and nowhere else.
	for _, r := range ollama.Requests() {
		if r.HasAuthorization {
			t.Errorf("ollama got an Authorization header on %s %s", r.Method, r.Path)
		}
	}
	if recs := openai.ChatRequests(); len(recs) != 1 || !recs[0].HasAuthorization {
		t.Errorf("openai requests %+v", recs)
	}

	s.Order = []string{"openai", "local"}
	if names := provider.NewChain(provider.Detect(t.Context(), s, nil)...).Name(); names != "openai, ollama" {
		t.Errorf("order openai first: %q", names)
	}
	s.Order = []string{"openai"}
	if names := provider.NewChain(provider.Detect(t.Context(), s, nil)...).Name(); names != "openai" {
		t.Errorf("order openai only: %q", names)
	}
}

func TestDetectConfiguredLocalServer(t *testing.T) {
	ollama := providertest.New(t)
	studio := providertest.New(t)
	studio.SetModels("text-embedding-nomic-embed-text-v1.5", "qwen2.5-7b-instruct")
	s := provider.FromEnv(env(map[string]string{"OLLAMA_HOST": ollama.URL()}), provider.Settings{
		LocalName: "lmstudio", LocalBaseURL: studio.URL() + "/",
	})
	ps := provider.Detect(t.Context(), s, nil)
	if len(ps) != 1 {
		t.Fatalf("%d providers", len(ps))
	}
	p := ps[0].(*provider.OpenAICompatible)
	if p.Name() != "lmstudio" || p.BaseURL() != studio.URL() || p.Model() != "qwen2.5-7b-instruct" || !strings.Contains(p.EmbedModel(), "embed") {
		t.Errorf("configured server: %v", p)
	}
	if n := len(ollama.Requests()); n != 0 {
		t.Errorf("Ollama was probed %d times although a local server is configured", n)
	}

	// A configured server that does not answer stays in the list, so that
	// the chain's note tells the user what failed.
	s.LocalBaseURL, s.LocalModel = closedPort(t), "m"
	if ps := provider.Detect(t.Context(), s, nil); len(ps) != 1 || ps[0].Name() != "lmstudio" {
		t.Errorf("unanswering configured server dropped: %v", ps)
	}
}
