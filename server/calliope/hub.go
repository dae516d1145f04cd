package calliope

import (
	"context"
	"encoding/json"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The delta and thinking notifications' params
// (schemas/lsp-chat-delta.schema.json), the same on every transport.
type (
	DeltaParams struct {
		Conversation string `json:"conversation"`
		Delta        string `json:"delta"`
	}
	ThinkingParams struct {
		Conversation string `json:"conversation"`
		Text         string `json:"text"`
	}
)

// Notification turns an Event into its notification's method and params.
func Notification(e Event) (method string, params any) {
	if e.Kind == EventThinking {
		return "devproxy/chatThinking", ThinkingParams{Conversation: e.Conversation, Text: e.Text}
	}
	return "devproxy/chatDelta", DeltaParams{Conversation: e.Conversation, Delta: e.Text}
}

// HubChat is devproxy/chat on the live hub (/devproxy/ws): the turn
// streams to the calling client as devproxy/chatDelta and
// devproxy/chatThinking notifications, before the result. assistant is
// asked at each call (it may be built lazily).
func HubChat(assistant func() *Assistant) live.Method {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var p ChatParams
		if err := json.Unmarshal(raw, &p); err != nil || p.Message == "" {
			return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: `devproxy/chat takes {"message": "…", "conversation"?: "id"}`}
		}
		return assistant().Chat(ctx, p, func(e Event) {
			method, params := Notification(e)
			live.Notify(ctx, method, params)
		})
	}
}

// NodeEngine is the Engine of a process that serves a workspace through
// a proxy node (devproxy serve): the served table, and health, rescans
// and recent errors from the node (its own while it owns the port, the
// owner's while it joined another).
type NodeEngine struct {
	Workspace *routing.Workspace
	Node      *node.Node
}

func (e NodeEngine) Table() *routing.RouteTable { return e.Workspace.Served() }

func (e NodeEngine) Health() monitor.Document { return e.Node.Health() }

func (e NodeEngine) Rescan(ctx context.Context, route string) (monitor.Document, error) {
	if route == "" {
		return e.Node.Rescan(ctx)
	}
	return e.Node.Rescan(ctx, route)
}

func (e NodeEngine) RecentErrors(route string, n int) []ProxyError {
	errs, _ := e.Node.RecentErrors(context.Background(), route, n)
	return errs
}
