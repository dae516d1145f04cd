// Package calliope is devproxy's assistant (docs/calliope.md): one
// conversation turn at a time (Assistant.Chat), grounded in what the
// engine knows — the route table, the routes' health, the proxy's recent
// errors, the healing patterns' advice — and in the best passages of the
// documentation. With a model (server/calliope/provider) the turn is a
// tool loop: the model may list routes, explain a URL, read or probe a
// route's health, read its recent errors and ask for a fix. Without one,
// or when every provider fails, the answer is built from the same facts,
// deterministically, and says it is offline.
//
// Secrets never leave through Calliope: every message sent to a model and
// every turn kept in the history goes through Scrub first.
//
// The package knows nothing of LSP or VS Code: server/lsp serves Chat as
// devproxy/chat and turns Events into notifications.
package calliope

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/calliope/heal"
	"github.com/devtunnelproxy/devproxy/server/calliope/knowledge"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
)

// Engine is what Calliope reads of the proxy: the owner of the port
// implements it over proxy/node and the live route table; a language
// server without a proxy over its own table, with no health.
type Engine interface {
	// Table is the current route table (never nil).
	Table() *routing.RouteTable
	// Health is the latest health of every route.
	Health() monitor.Document
	// Rescan probes one route now ("/app/") and answers the new health;
	// an error when no proxy runs.
	Rescan(ctx context.Context, route string) (monitor.Document, error)
	// RecentErrors are the newest n requests of a route that failed
	// through the proxy (5xx or unanswered), newest first.
	RecentErrors(route string, n int) []ProxyError
}

// ProxyError is one failed request through the proxy, as the owner of
// the port keeps them (proxy/node's RecentErrors).
type ProxyError = node.ProxyError

// Retriever finds documentation passages (server/calliope/knowledge).
type Retriever interface {
	Search(ctx context.Context, query string, k int) ([]knowledge.Hit, error)
}

// Healer proposes fixes for a route's problems
// (server/calliope/heal); route "" asks about every route.
type Healer interface {
	Advise(ctx context.Context, route string) []Advice
}

// quickAdviceKey marks a context in which a Healer should answer at once:
// the findings, with only the fixes it has checked already (it may go on
// checking the others for a later call).
type quickAdviceKey struct{}

func withQuickAdvice(ctx context.Context) context.Context {
	return context.WithValue(ctx, quickAdviceKey{}, true)
}

// QuickAdvice reports whether a Healer is asked to answer at once.
func QuickAdvice(ctx context.Context) bool {
	quick, _ := ctx.Value(quickAdviceKey{}).(bool)
	return quick
}

// HealerFunc is a function as a Healer.
type HealerFunc func(ctx context.Context, route string) []Advice

func (f HealerFunc) Advise(ctx context.Context, route string) []Advice { return f(ctx, route) }

// Advice is a healing pattern that matches a route: its name, what it
// found in words, and the fix it proposes (nil when it has none checked).
type Advice struct {
	Pattern string
	Route   string
	Summary string
	Fix     *Fix
}

// Fix is a proposed change (docs/calliope.md, "Wire"): a workspace edit
// of route files, or the change to make in the app's config.
type Fix struct {
	Title   string `json:"title"`
	Pattern string `json:"pattern"`
	// Edit is an LSP WorkspaceEdit ({"changes": {uri: [TextEdit]}}) as
	// the healer built it; Calliope passes it through.
	Edit      any        `json:"edit,omitempty"`
	AppChange *AppChange `json:"appChange,omitempty"`
}

// AppChange is a change to make in the app rather than in a route file.
type AppChange = heal.AppChange

// Options configure an Assistant.
type Options struct {
	// Model answers; nil answers offline.
	Model provider.Provider
	// Knowledge finds doc passages; nil grounds in the engine only.
	Knowledge Retriever
	// Engine is required.
	Engine Engine
	// Healer proposes fixes; nil proposes none.
	Healer Healer
	// History keeps the conversations; nil keeps none.
	History *History
	// Patterns lists the healing patterns with their record; nil lists
	// the built-in ones with none.
	Patterns func() []heal.PatternStats
	Log      *slog.Logger
}

// Assistant answers chat turns. It is safe for concurrent use.
type Assistant struct {
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	model provider.Provider // Options.Model, until SetModel
}

// SetModel makes later turns ask m (nil: answer offline); a turn that
// runs keeps the model it started with.
func (a *Assistant) SetModel(m provider.Provider) {
	a.mu.Lock()
	a.model = m
	a.mu.Unlock()
}

func (a *Assistant) currentModel() provider.Provider {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.model
}

// Patterns is every healing pattern with its record: attempts,
// successes, confidence, and whether it was switched off.
func (a *Assistant) Patterns() []heal.PatternStats {
	if a.opts.Patterns != nil {
		return a.opts.Patterns()
	}
	out := []heal.PatternStats{}
	for _, p := range heal.Builtins() {
		out = append(out, heal.PatternStats{ID: p.ID, Title: p.Title, Confidence: heal.Confidence(0, 0), Source: "builtin"})
	}
	return out
}

// New prepares an assistant.
func New(opts Options) *Assistant {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Assistant{opts: opts, log: opts.Log, model: opts.Model}
}

// ChatParams are devproxy/chat's params.
type ChatParams struct {
	Message string `json:"message"`
	// Conversation continues a conversation; empty starts one.
	Conversation string `json:"conversation,omitempty"`
}

// Event kinds.
const (
	EventDelta    = "delta"    // answer text, in order
	EventThinking = "thinking" // what Calliope is doing ("probing /myapp/ …")
)

// Event is streamed while a turn runs.
type Event struct {
	Kind         string
	Text         string
	Conversation string // the turn's conversation, a new one's id too
}

// Source is a doc passage an answer drew on.
type Source struct {
	File    string `json:"file"`
	Heading string `json:"heading"`
}

// ChatResult is devproxy/chat's result.
type ChatResult struct {
	Conversation string   `json:"conversation"`
	Text         string   `json:"text"`
	Sources      []Source `json:"sources"`
	Provider     string   `json:"provider"` // "" offline
	Offline      bool     `json:"offline"`
	Notes        []string `json:"notes"`
	Fixes        []Fix    `json:"fixes"`
}

// maxToolRounds bounds the tool loop: after that many rounds of tool
// calls the model is asked once more without tools, so it must answer.
const maxToolRounds = 4

// maxHistoryTurns is how much of a conversation is sent back to the model.
const maxHistoryTurns = 20

// Chat runs one turn: it answers p.Message in the conversation
// p.Conversation (a new one when empty), streaming the answer to emit as
// it comes. Cancelling ctx stops the turn and the model's request; the
// partial answer is kept in the history, marked stopped, and the error is
// ctx's.
func (a *Assistant) Chat(ctx context.Context, p ChatParams, emit func(Event)) (ChatResult, error) {
	if emit == nil {
		emit = func(Event) {}
	}
	if strings.TrimSpace(p.Message) == "" {
		return ChatResult{}, errors.New("the message is empty")
	}
	if a.opts.Engine == nil {
		return ChatResult{}, errors.New("calliope has no engine")
	}
	id := p.Conversation
	if id == "" {
		id = newID()
	}
	message := Scrub(p.Message)
	var past []Turn
	if a.opts.History != nil {
		past = a.opts.History.Conversation(id)
	}
	t := &turn{a: a, ctx: ctx, id: id, emit: emit, message: message, model: a.currentModel()}
	t.gather()
	res := ChatResult{Conversation: id, Sources: t.facts.sources(), Notes: []string{}}
	var err error
	if t.model != nil {
		err = t.online(past)
		if err != nil && ctx.Err() == nil {
			// No provider answered: say so and answer offline.
			note := "no model answered (" + Scrub(err.Error()) + "), so this answer is offline"
			if errors.Is(err, provider.ErrNoProvider) {
				note = "no model provider is available, so this answer is offline"
			}
			t.notes = append(t.notes, note)
			a.log.Info("calliope answers offline", "err", err)
			err = t.offline()
		}
	} else {
		t.notes = append(t.notes, "no model is configured, so this answer is offline")
		err = t.offline()
	}
	res.Text, res.Provider, res.Offline = t.text.String(), t.provider, t.isOffline
	res.Notes = append(res.Notes, t.notes...)
	t.pickUpFixes()
	res.Fixes = t.facts.fixes() // after the tools: propose_fix adds to them
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	a.record(id, message, res, err != nil && ctx.Err() != nil)
	if err != nil {
		return res, err
	}
	return res, nil
}

// record keeps the turn in the history, scrubbed; a failed turn that was
// not stopped keeps the question only.
func (a *Assistant) record(id, message string, res ChatResult, stopped bool) {
	h := a.opts.History
	if h == nil {
		return
	}
	now := time.Now().UTC()
	turns := []Turn{{Role: "user", Text: message, At: now}}
	if res.Text != "" || stopped {
		turns = append(turns, Turn{Role: "assistant", Text: Scrub(res.Text), At: now, Stopped: stopped,
			Offline: res.Offline, Sources: res.Sources})
	}
	if err := h.Append(id, turns...); err != nil {
		a.log.Warn("cannot keep the conversation", "conversation", id, "err", err)
	}
}

// turn is one Chat call's state.
type turn struct {
	a         *Assistant
	ctx       context.Context
	id        string
	emit      func(Event)
	message   string            // scrubbed
	model     provider.Provider // nil: offline
	facts     *facts
	text      strings.Builder // the answer so far, as streamed
	provider  string
	isOffline bool
	notes     []string
}

func (t *turn) delta(s string) {
	if s == "" {
		return
	}
	t.text.WriteString(s)
	t.emit(Event{Kind: EventDelta, Text: s, Conversation: t.id})
}

func (t *turn) thinking(format string, args ...any) {
	t.emit(Event{Kind: EventThinking, Text: fmt.Sprintf(format, args...), Conversation: t.id})
}

// newID is a random conversation id.
func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
