package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
)

// Client is another devproxy process watching a hub.
type Client struct {
	addr     string
	ws       *websocket.Conn
	rpc      *jsonrpc2.Conn
	onNotify func(method string, params json.RawMessage)
}

// ErrClosed is wrapped by the errors of calls made after the connection
// to the hub ended.
var ErrClosed = errors.New("the connection to the devproxy's live events has ended")

// Dial connects to the hub on addr (a loopback host:port) and, when
// topics is not empty, subscribes to them before it returns. onNotify,
// when set, sees every notification, in the order the hub sent them; it
// runs on the connection's reader, so it must return quickly (hand the
// params to a goroutine or a channel of its own). The hub must answer
// within ctx.
func Dial(ctx context.Context, addr string, topics []string, onNotify func(method string, params json.RawMessage)) (*Client, error) {
	if err := wsrpc.CheckLoopback("live", addr, "live events are read"); err != nil {
		return nil, err
	}
	timing := keepAlive
	// "localhost" could resolve anywhere: events are read from this
	// machine only.
	dialer := wsrpc.LoopbackDialer("live events are read")
	// No Origin and no Authorization: the hub takes a program without
	// an Origin, and Route sends a request with Authorization to join.
	ws, resp, err := dialer.DialContext(ctx, "ws://"+addr+Path, nil)
	if err != nil {
		if resp != nil {
			return nil, handshakeError(addr, resp)
		}
		return nil, fmt.Errorf("live: connect to the devproxy on %s: %w", addr, err)
	}
	c := &Client{addr: addr, ws: ws, onNotify: onNotify}
	wsrpc.Prepare(ws, timing, MaxNotification)
	c.rpc = jsonrpc2.NewConn(context.Background(), newStream(ws, timing), jsonrpc2.HandlerWithError(c.handle),
		jsonrpc2.SetLogger(wsrpc.Logger(discardLog)))
	go wsrpc.PingLoop(ws, timing, c.rpc.DisconnectNotify())
	if len(topics) > 0 {
		if err := c.Call(ctx, MethodSubscribe, TopicsParams{Topics: topics}, nil); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// handle takes the hub's notifications; the hub makes no requests.
func (c *Client) handle(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
	if !req.Notif {
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "unknown method " + req.Method}
	}
	if c.onNotify != nil {
		var params json.RawMessage
		if req.Params != nil {
			params = *req.Params
		}
		c.onNotify(req.Method, params)
	}
	return nil, nil
}

// Call makes a request and decodes its result into result (which may be
// nil). The hub's refusal is returned as a *jsonrpc2.Error; a call after
// the connection ended wraps ErrClosed.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	err := c.rpc.Call(ctx, method, params, result)
	var rerr *jsonrpc2.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rerr):
		return rerr
	case errors.Is(err, jsonrpc2.ErrClosed):
		return fmt.Errorf("%s: %w (%s)", method, ErrClosed, c.addr)
	}
	return fmt.Errorf("%s to the devproxy on %s: %w", method, c.addr, err)
}

// Done is closed when the connection ends: the hub closed or its process
// went, the network failed, the hub stopped answering pings, or Close.
func (c *Client) Done() <-chan struct{} { return c.rpc.DisconnectNotify() }

// Close ends the connection.
func (c *Client) Close() error {
	select {
	case <-c.rpc.DisconnectNotify():
		return nil
	default:
	}
	wsrpc.SendClose(c.ws, websocket.CloseNormalClosure, "")
	if err := c.rpc.Close(); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		return err
	}
	return nil
}

// handshakeError explains a hub's answer other than 101.
func handshakeError(addr string, resp *http.Response) error {
	var body wsrpc.ErrorBody
	if resp.Body != nil {
		json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&body)
	}
	msg := body.Message
	if msg == "" {
		msg = "is it a devproxy?"
	}
	return fmt.Errorf("live: the process on %s refused the connection (HTTP %d): %s", addr, resp.StatusCode, msg)
}
