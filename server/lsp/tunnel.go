package lsp

// The tunnel and API keys (docs/lsp.md, "Tunnel and API keys"): the
// devproxy/tunnel, devproxy/tunnelStart and devproxy/tunnelStop requests
// and the devproxy/tunnelChanged notification carry proxy/tunnel's State
// (schemas/lsp-tunnel.schema.json); the owner of the port runs the tunnel,
// a member asks it. devproxy/createKey creates an API key at the owner, so
// that the key opens the proxy that serves the port, whichever window
// asks.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/proxy/tunnel"
)

// tunnelNode is the running node, or an error that says why there is none.
func (h *proxyHost) tunnelNode() (*node.Node, error) {
	h.mu.Lock()
	n := h.node
	h.mu.Unlock()
	if n == nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "no proxy runs in this window, so there is no tunnel: "+h.current().Message)
	}
	return n, nil
}

// tunnel answers devproxy/tunnel.
func (h *proxyHost) tunnel() tunnel.State {
	n, err := h.tunnelNode()
	if err != nil {
		return tunnel.State{Status: tunnel.StatusOff, Since: time.Now()}
	}
	return n.Tunnel()
}

// tunnelStart answers devproxy/tunnelStart.
func (h *proxyHost) tunnelStart(ctx context.Context, raw json.RawMessage) (tunnel.State, error) {
	req, err := node.ParseTunnelRequest(raw)
	if err != nil {
		return tunnel.State{}, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
	}
	n, err := h.tunnelNode()
	if err != nil {
		return tunnel.State{}, err
	}
	st, err := n.StartTunnel(ctx, req)
	if err != nil {
		return st, jsonrpc2.NewError(jsonrpc2.InvalidParams, "the tunnel did not start: "+err.Error())
	}
	return st, nil
}

// tunnelStop answers devproxy/tunnelStop.
func (h *proxyHost) tunnelStop(ctx context.Context) (tunnel.State, error) {
	n, err := h.tunnelNode()
	if err != nil {
		return tunnel.State{}, err
	}
	return n.StopTunnel(ctx)
}

// tunnelChanged is the node's OnTunnel: devproxy/tunnelChanged.
func (h *proxyHost) tunnelChanged(st tunnel.State) {
	h.s.notify("devproxy/tunnelChanged", st)
}

// CreateKeyParams are devproxy/createKey's
// (schemas/lsp-create-key-params.schema.json).
type CreateKeyParams struct {
	Role string `json:"role"`
	Name string `json:"name,omitempty"`
}

// CreatedKey is devproxy/createKey's answer
// (schemas/lsp-create-key.schema.json): Key is the only copy.
type CreatedKey struct {
	ID        string    `json:"id"`
	Role      string    `json:"role"`
	Name      string    `json:"name"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"createdAt"`
}

// createKey answers devproxy/createKey: it asks the owner of the port
// (this process or another) through its management API, from this
// machine, so that the owner keeps the key and audits its creation. The
// key is in the answer only: never in a log line or an error.
func (h *proxyHost) createKey(ctx context.Context, raw json.RawMessage) (CreatedKey, error) {
	var p CreateKeyParams
	err := json.Unmarshal(raw, &p)
	if err == nil {
		_, err = auth.ParseRole(p.Role)
	}
	if err != nil {
		return CreatedKey{}, jsonrpc2.NewError(jsonrpc2.InvalidParams, `devproxy/createKey takes {"role": "read-only"|"admin", "name"?: "…"}`)
	}
	n, err := h.tunnelNode()
	if err != nil {
		return CreatedKey{}, err
	}
	st := n.State()
	if st.Role != node.Owner && st.Role != node.Member {
		return CreatedKey{}, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the proxy is not running yet, so no key can be created: "+h.current().Message)
	}
	body, _ := json.Marshal(p)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+node.DialAddr(st.Addr)+"/devproxy/api/keys", bytes.NewReader(body))
	if err != nil {
		return CreatedKey{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return CreatedKey{}, fmt.Errorf("cannot reach the proxy at %s to create the key: %w", st.Addr, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Message string `json:"message"`
		}
		json.Unmarshal(b, &e)
		return CreatedKey{}, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the proxy did not create the key: "+strings.TrimSpace(resp.Status+": "+e.Message))
	}
	var k struct {
		ID      string    `json:"id"`
		Role    string    `json:"role"`
		Name    string    `json:"name"`
		Key     string    `json:"key"`
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal(b, &k); err != nil || k.Key == "" {
		return CreatedKey{}, errors.New("the proxy's answer to the key request is not a key")
	}
	return CreatedKey{ID: k.ID, Role: k.Role, Name: k.Name, Key: k.Key, CreatedAt: k.Created}, nil
}
