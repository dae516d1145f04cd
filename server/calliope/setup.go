package calliope

// Build puts the parts together for one workspace: the models found
// (server/calliope/provider), the docs index (server/calliope/knowledge)
// filled in the background, the healing patterns (server/calliope/heal)
// and the history, all kept in the data directory.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/server/calliope/heal"
	"github.com/devtunnelproxy/devproxy/server/calliope/knowledge"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

// Config is what Build needs.
type Config struct {
	// Root is the workspace; its README.md and docs/**/*.md are indexed
	// beside the product's docs, and .devproxy/patterns/*.json add
	// healing patterns.
	Root string
	// DataDir holds calliope.db (history), patterns.db (the healing
	// record) and knowledge/ (the index); never inside the workspace.
	// "" keeps history in memory and the index in a temporary folder.
	DataDir string
	Engine  Engine
	// Settings choose the models; Build fills what is unset from the
	// environment (provider.FromEnv).
	Settings provider.Settings
	Getenv   func(string) string
	// Docs are the product's own docs (docs.FS).
	Docs fs.FS
	// WorkspaceDocs are the globs of the workspace's documents to index;
	// nil takes knowledge.DefaultWorkspaceGlobs.
	WorkspaceDocs []string
	// HTTPClient talks to the models; nil takes provider's default.
	HTTPClient *http.Client
	Log        *slog.Logger
}

// Build makes the workspace's assistant and returns it with the function
// that releases its files. It does not wait for the docs to be indexed:
// until then answers cite nothing. A file another devproxy holds is
// logged and done without (history in memory, the index in a temporary
// folder).
func Build(ctx context.Context, c Config) (*Assistant, func()) {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	getenv := c.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}

	model, chain := models(ctx, c.Settings, getenv, c.HTTPClient, log)
	var history *History
	var records *heal.Records
	if c.DataDir != "" {
		if h, err := OpenHistory(filepath.Join(c.DataDir, "calliope.db")); err != nil {
			log.Warn("calliope keeps its history in memory", "err", err)
		} else {
			history = h
			closers = append(closers, func() { h.Close() })
		}
		if r, err := heal.OpenRecords(filepath.Join(c.DataDir, "patterns.db")); err != nil {
			log.Warn("calliope keeps no record of its fixes", "err", err)
		} else {
			records = r
			closers = append(closers, func() { r.Close() })
		}
	}

	var retriever Retriever
	if idx, dir := openIndex(c.DataDir, chain, log); idx != nil {
		closers = append(closers, func() { idx.Close() })
		if dir != "" {
			closers = append(closers, func() { os.RemoveAll(dir) })
		}
		retriever = idx
		ictx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		closers = append(closers, func() { cancel(); <-done })
		go func() {
			defer close(done)
			indexDocs(ictx, idx, c.Docs, c.Root, c.WorkspaceDocs, log)
		}()
	}

	hctx, stopHealer := context.WithCancel(ctx)
	closers = append(closers, stopHealer)
	var patterns func() []heal.PatternStats
	if records != nil {
		patterns = func() []heal.PatternStats {
			user, _ := heal.LoadUserPatterns(c.Root)
			records.SetUserPatterns(user)
			return records.Stats()
		}
	}
	a := New(Options{Model: model, Knowledge: retriever, Engine: c.Engine, History: history, Log: log,
		Healer: newHealer(hctx, c.Engine, c.Root, records, log), Patterns: patterns})
	return a, closeAll
}

// Models finds the models settings and the environment point at (local
// first unless the settings order them otherwise), as one fallback chain;
// nil when there is none (Calliope answers offline). SetModel takes it,
// so that a change of settings or key needs no new assistant.
func Models(ctx context.Context, settings provider.Settings, getenv func(string) string, client *http.Client, log *slog.Logger) provider.Provider {
	if getenv == nil {
		getenv = os.Getenv
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, _ := models(ctx, settings, getenv, client, log)
	if m == nil {
		return nil // not a typed nil in the interface
	}
	return m
}

func models(ctx context.Context, settings provider.Settings, getenv func(string) string, client *http.Client, log *slog.Logger) (provider.Provider, *provider.Chain) {
	providers := provider.Detect(ctx, provider.FromEnv(getenv, settings), client)
	chain := provider.NewChain(providers...)
	if len(providers) == 0 {
		log.Info("calliope answers offline: no model provider found (Ollama on 127.0.0.1:11434, OPENAI_API_KEY)")
		return nil, chain
	}
	log.Info("calliope's models", "providers", chain.Name())
	return chain, chain
}

// openIndex opens the docs index in dataDir/knowledge, or, when there is
// none or another process holds it, in a temporary folder (returned, for
// removal). Vectors come from the models' embedding endpoint when one has
// an embedding model, else from the index's own LSA.
func openIndex(dataDir string, chain *provider.Chain, log *slog.Logger) (*knowledge.Index, string) {
	var opts knowledge.Options
	if name, model, ok := chain.EmbedModel(); ok {
		opts.Embedder = chainEmbedder{chain: chain, name: name + ":" + model}
	}
	if dataDir != "" {
		idx, err := knowledge.Open(filepath.Join(dataDir, "knowledge"), opts)
		if err == nil {
			return idx, ""
		}
		log.Warn("calliope's docs index goes to a temporary folder", "err", err)
	}
	dir, err := os.MkdirTemp("", "devproxy-knowledge-")
	if err != nil {
		log.Warn("calliope cites no docs", "err", err)
		return nil, ""
	}
	idx, err := knowledge.Open(dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		log.Warn("calliope cites no docs", "err", err)
		return nil, ""
	}
	return idx, dir
}

// indexDocs indexes the product's docs and the workspace's.
func indexDocs(ctx context.Context, idx *knowledge.Index, product fs.FS, root string, globs []string, log *slog.Logger) {
	if globs == nil {
		globs = knowledge.DefaultWorkspaceGlobs
	}
	var docs []knowledge.Doc
	if product != nil {
		d, err := knowledge.Docs(product, "docs")
		if err != nil {
			log.Warn("calliope cannot read its own docs", "err", err)
		}
		docs = append(docs, d...)
	}
	if root != "" {
		d, err := knowledge.WorkspaceDocs(root, globs)
		if err != nil {
			log.Warn("calliope cannot read the workspace's docs", "err", err)
		}
		docs = append(docs, d...)
	}
	start := time.Now()
	stats, err := idx.Update(ctx, docs)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			log.Warn("calliope's docs index is incomplete", "err", err)
		}
		return
	}
	log.Info("calliope indexed the docs", "docs", len(docs), "changed", stats.DocsChanged, "embedded", stats.ChunksEmbedded, "took", time.Since(start).Round(time.Millisecond))
}

// chainEmbedder is the models' embedding endpoint as a knowledge.Embedder.
type chainEmbedder struct {
	chain *provider.Chain
	name  string
}

func (e chainEmbedder) Name() string { return e.name }

func (e chainEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return e.chain.Embed(ctx, texts)
}

// healer adapts server/calliope/heal to the assistant: the findings of
// the current table and health, each with its fix checked (which probes
// throwaway proxies, so a proposal is kept for a minute per finding and
// table).
type healer struct {
	ctx     context.Context // ends the checks started for later calls
	engine  Engine
	root    string
	records *heal.Records
	log     *slog.Logger

	mu      sync.Mutex
	cache   map[string]cachedFix
	running map[string]bool // fixes being checked for a later call
}

type cachedFix struct {
	fix Fix
	ok  bool
	at  time.Time
}

const fixCacheFor = time.Minute

func newHealer(ctx context.Context, e Engine, root string, records *heal.Records, log *slog.Logger) Healer {
	return &healer{ctx: ctx, engine: e, root: root, records: records, log: log, cache: map[string]cachedFix{}, running: map[string]bool{}}
}

func (h *healer) Advise(ctx context.Context, route string) []Advice {
	t := h.engine.Table()
	doc := h.engine.Health()
	var user []heal.UserPattern
	if h.root != "" {
		var errs []error
		user, errs = heal.LoadUserPatterns(h.root)
		for _, err := range errs {
			h.log.Warn("a healing pattern file is not used", "err", err)
		}
	}
	findings := heal.Detect(ctx, heal.Inputs{Table: t, Reports: doc.Routes, Errors: h.engine.RecentErrors(route, 20),
		UserPatterns: user, Records: h.records, Timeout: 2 * time.Second})
	var out []Advice
	quick := QuickAdvice(ctx)
	for _, f := range findings {
		if route != "" && f.Route != route {
			continue
		}
		adv := Advice{Pattern: f.Pattern, Route: f.Route, Summary: f.Summary}
		var fix Fix
		var ok bool
		if quick {
			fix, ok = h.cachedOrLater(t.Generation, f)
		} else {
			fix, ok = h.fix(ctx, t.Generation, f)
		}
		if ok {
			adv.Fix = &fix
		}
		out = append(out, adv)
	}
	return out
}

// cachedOrLater is f's fix when it was checked already; otherwise it
// starts checking it (once) for a later call and says there is none yet.
func (h *healer) cachedOrLater(generation uint64, f heal.Finding) (Fix, bool) {
	key := fixKey(generation, f)
	h.mu.Lock()
	c, hit := h.cache[key]
	running := h.running[key]
	if !hit && !running {
		h.running[key] = true
	}
	h.mu.Unlock()
	if hit && time.Since(c.at) < fixCacheFor {
		return c.fix, c.ok
	}
	if !running {
		go func() {
			ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
			defer cancel()
			h.fix(ctx, generation, f)
			h.mu.Lock()
			delete(h.running, key)
			h.mu.Unlock()
		}()
	}
	return Fix{}, false
}

func fixKey(generation uint64, f heal.Finding) string {
	return fmt.Sprint(generation, "\x00", f.Pattern, "\x00", f.File, ":", f.Line, "\x00", f.Summary)
}

// fix proposes f's fix, from the cache when it was checked on this table
// within fixCacheFor.
func (h *healer) fix(ctx context.Context, generation uint64, f heal.Finding) (Fix, bool) {
	key := fixKey(generation, f)
	h.mu.Lock()
	c, hit := h.cache[key]
	h.mu.Unlock()
	if hit && time.Since(c.at) < fixCacheFor {
		return c.fix, c.ok
	}
	t := h.engine.Table()
	hf, err := heal.Propose(ctx, f, heal.VerifyEnv{Table: t, Timeout: health.DefaultTimeout, Records: h.records})
	var fix Fix
	ok := err == nil && (hf.Verified || hf.Edit == nil) && (hf.Edit != nil || hf.AppChange != nil)
	if ok {
		fix = Fix{Title: hf.Title, Pattern: hf.Pattern, AppChange: hf.AppChange}
		if hf.Edit != nil {
			fix.Edit = workspaceEdit(hf.Edit, func(display string) (string, bool) { return t.AbsPath(display) })
		}
	} else if err != nil {
		h.log.Debug("no fix offered", "pattern", f.Pattern, "route", f.Route, "err", err)
	}
	h.mu.Lock()
	h.cache[key] = cachedFix{fix: fix, ok: ok, at: time.Now()}
	h.mu.Unlock()
	return fix, ok
}

// lspTextEdit and lspWorkspaceEdit are the wire shape of an LSP
// WorkspaceEdit with changes keyed by file URI.
type lspTextEdit struct {
	Range   heal.Range `json:"range"`
	NewText string     `json:"newText"`
}

type lspWorkspaceEdit struct {
	Changes map[string][]lspTextEdit `json:"changes"`
	// Create lists the URIs of files the edit creates (their one change
	// holds the whole content): the client creates them first.
	Create []string `json:"create,omitempty"`
}

// workspaceEdit turns heal's edit (keyed by display path) into an LSP
// WorkspaceEdit keyed by file URI; abs resolves a display path. A file
// the edit creates is a change to an empty document at its URI.
func workspaceEdit(e *heal.Edit, abs func(string) (string, bool)) lspWorkspaceEdit {
	out := lspWorkspaceEdit{Changes: map[string][]lspTextEdit{}}
	uri := func(display string) (string, bool) {
		p, ok := abs(display)
		if !ok {
			return "", false
		}
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String(), true
	}
	for display, edits := range e.Changes {
		u, ok := uri(display)
		if !ok {
			continue
		}
		for _, te := range edits {
			out.Changes[u] = append(out.Changes[u], lspTextEdit{Range: te.Range, NewText: te.NewText})
		}
	}
	for _, display := range e.Create {
		if u, ok := uri(display); ok {
			out.Create = append(out.Create, u)
		}
	}
	return out
}
