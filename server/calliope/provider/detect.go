package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Defaults, as OpenAI's own tools and Ollama have them.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultOpenAIModel      = "gpt-4o-mini"
	DefaultOpenAIEmbedModel = "text-embedding-3-small"
	DefaultOllamaBaseURL    = "http://127.0.0.1:11434/v1"
)

// How long Detect waits for a server's model list. Ollama answers in a few
// milliseconds when it runs; a missing one must not delay the first answer.
const (
	ollamaProbeTimeout = 300 * time.Millisecond
	localProbeTimeout  = 2 * time.Second // a configured server may be remote
)

// Settings say which providers to use. Fields set by the user (the
// editor's settings, the key from VS Code's SecretStorage) win over the
// environment; FromEnv fills the rest.
type Settings struct {
	// Order is the order providers are tried: "local" (a configured
	// server, else Ollama) and "openai". Empty means local first.
	Order []string

	// A configured OpenAI-compatible local server; when LocalBaseURL is
	// set, Ollama is not looked for. LocalModel and LocalEmbedModel also
	// choose Ollama's models. LocalName names the server in notes
	// ("local" when empty).
	LocalName, LocalBaseURL, LocalModel, LocalEmbedModel string

	// OllamaBaseURL is where Ollama is looked for (from OLLAMA_HOST;
	// DefaultOllamaBaseURL when empty).
	OllamaBaseURL string

	// OpenAI is used only when OpenAIKey is set, and the key is sent only
	// to OpenAIBaseURL.
	OpenAIKey, OpenAIBaseURL, OpenAIModel, OpenAIEmbedModel string
}

// String describes the settings without the key.
func (s Settings) String() string {
	key := "no OpenAI key"
	if s.OpenAIKey != "" {
		key = "OpenAI key set"
	}
	return fmt.Sprintf("order %v, local %q %q model %q embed %q, ollama %q, openai %q model %q embed %q, %s",
		s.Order, s.LocalName, s.LocalBaseURL, s.LocalModel, s.LocalEmbedModel, s.OllamaBaseURL,
		s.OpenAIBaseURL, s.OpenAIModel, s.OpenAIEmbedModel, key)
}

// GoString keeps %#v from printing the key.
func (s Settings) GoString() string { return "provider.Settings{" + s.String() + "}" }

// FromEnv fills the settings s leaves empty from the environment, as the
// OpenAI tools and Ollama read it: OPENAI_API_KEY, OPENAI_BASE_URL,
// OPENAI_MODEL, OPENAI_EMBED_MODEL and OLLAMA_HOST (host:port or a URL),
// then the defaults.
func FromEnv(getenv func(string) string, s Settings) Settings {
	fill := func(field *string, env, def string) {
		if *field == "" {
			*field = strings.TrimSpace(getenv(env))
		}
		if *field == "" {
			*field = def
		}
	}
	fill(&s.OpenAIKey, "OPENAI_API_KEY", "")
	fill(&s.OpenAIBaseURL, "OPENAI_BASE_URL", DefaultOpenAIBaseURL)
	fill(&s.OpenAIModel, "OPENAI_MODEL", DefaultOpenAIModel)
	fill(&s.OpenAIEmbedModel, "OPENAI_EMBED_MODEL", DefaultOpenAIEmbedModel)
	if s.OllamaBaseURL == "" {
		s.OllamaBaseURL = OllamaBaseURL(getenv("OLLAMA_HOST"))
	}
	return s
}

// OllamaBaseURL turns an OLLAMA_HOST value into the base URL of Ollama's
// OpenAI-compatible API, as Ollama's own client reads it: "host:port",
// "host", ":port" or a URL with an optional path; port 11434 unless a
// scheme says otherwise; an unspecified listen address (0.0.0.0, ::) means
// this machine.
func OllamaBaseURL(host string) string {
	host = strings.TrimSpace(host)
	if host == "" {
		return DefaultOllamaBaseURL
	}
	defaultPort := "11434"
	scheme, hostport, ok := strings.Cut(host, "://")
	switch {
	case !ok:
		scheme, hostport = "http", host
	case scheme == "http":
		defaultPort = "80"
	case scheme == "https":
		defaultPort = "443"
	}
	hostport, path, _ := strings.Cut(hostport, "/")
	h, port, err := net.SplitHostPort(hostport)
	if err != nil {
		h, port = strings.Trim(hostport, "[]"), defaultPort
	}
	if h == "" {
		h = "127.0.0.1"
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
		h = "127.0.0.1"
	}
	if port == "" {
		port = defaultPort
	}
	base := scheme + "://" + net.JoinHostPort(h, port)
	if path = strings.Trim(path, "/"); path != "" {
		base += "/" + path
	}
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	return base
}

// Detect returns the providers available now, in s.Order: the configured
// local server (its models listed when not configured), else Ollama if it
// answers GET {base}/models within 300 ms, and OpenAI when a key is set.
// A provider missing from the answer is simply absent; one that is present
// but fails later is reported by Chain. The OpenAI key goes only to the
// OpenAI provider, never to a local server. client nil means a default
// that waits at most two minutes for response headers.
func Detect(ctx context.Context, s Settings, client *http.Client) []Provider {
	order := s.Order
	if len(order) == 0 {
		order = []string{"local", "openai"}
	}
	var out []Provider
	done := map[string]bool{}
	for _, kind := range order {
		kind = strings.ToLower(strings.TrimSpace(kind))
		if kind == "ollama" {
			kind = "local"
		}
		if done[kind] {
			continue
		}
		done[kind] = true
		switch kind {
		case "local":
			if p := detectLocal(ctx, s, client); p != nil {
				out = append(out, p)
			}
		case "openai":
			if s.OpenAIKey == "" {
				continue
			}
			out = append(out, NewOpenAICompatible(Endpoint{
				Name:       "openai",
				BaseURL:    orDefault(s.OpenAIBaseURL, DefaultOpenAIBaseURL),
				Model:      orDefault(s.OpenAIModel, DefaultOpenAIModel),
				EmbedModel: orDefault(s.OpenAIEmbedModel, DefaultOpenAIEmbedModel),
				APIKey:     s.OpenAIKey,
				HTTPClient: client,
			}))
		}
	}
	return out
}

func detectLocal(ctx context.Context, s Settings, client *http.Client) Provider {
	e := Endpoint{Model: s.LocalModel, EmbedModel: s.LocalEmbedModel, HTTPClient: client}
	timeout := ollamaProbeTimeout
	if s.LocalBaseURL != "" {
		e.Name, e.BaseURL = orDefault(s.LocalName, "local"), s.LocalBaseURL
		timeout = localProbeTimeout
	} else {
		e.Name, e.BaseURL = "ollama", orDefault(s.OllamaBaseURL, DefaultOllamaBaseURL)
	}
	e.BaseURL = strings.TrimRight(e.BaseURL, "/")
	configured := s.LocalBaseURL != ""
	if configured && e.Model != "" && e.EmbedModel != "" {
		return NewOpenAICompatible(e) // nothing to ask; Chain reports a failure
	}
	models, err := listModels(ctx, client, e.BaseURL, timeout)
	if err != nil && !configured {
		return nil // no Ollama here
	}
	if e.Model == "" {
		e.Model = firstModel(models, false)
	}
	if e.EmbedModel == "" {
		e.EmbedModel = firstModel(models, true)
	}
	return NewOpenAICompatible(e)
}

// firstModel is the first listed model whose name says it embeds (embed
// true) or does not (embed false): "nomic-embed-text", "mxbai-embed-large".
func firstModel(ids []string, embed bool) string {
	for _, id := range ids {
		if strings.Contains(strings.ToLower(id), "embed") == embed {
			return id
		}
	}
	return ""
}

// listModels asks an OpenAI-compatible server for its models (GET
// {base}/models; Ollama serves it at /v1/models). No key is sent: only
// local servers are listed.
func listModels(ctx context.Context, client *http.Client, base string, timeout time.Duration) ([]string, error) {
	if client == nil {
		client = defaultHTTPClient
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/models", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/models: %s", base, resp.Status)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET %s/models: %w", base, err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
