package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/jsonrpc2"
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
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	timing := keepAlive
	dialer := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			// "localhost" could resolve anywhere: events are read from
			// this machine only.
			if tcp, ok := c.RemoteAddr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
				c.Close()
				return nil, fmt.Errorf("%s is not on this machine; live events are read only over loopback", c.RemoteAddr())
			}
			return c, nil
		},
	}
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
	prepareConn(ws, timing, MaxNotification)
	c.rpc = jsonrpc2.NewConn(context.Background(), newStream(ws, timing), jsonrpc2.HandlerWithError(c.handle),
		jsonrpc2.SetLogger(rpcLog{discardLog}))
	go pingLoop(ws, timing, c.rpc.DisconnectNotify())
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
	sendClose(c.ws, websocket.CloseNormalClosure, "")
	if err := c.rpc.Close(); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		return err
	}
	return nil
}

// checkLoopback refuses an address that is not this machine's.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("live: %q is not host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("live: %s is not a loopback address; live events are read only on this machine", addr)
}

// handshakeError explains a hub's answer other than 101.
func handshakeError(addr string, resp *http.Response) error {
	var body httpError
	if resp.Body != nil {
		json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&body)
	}
	msg := body.Message
	if msg == "" {
		msg = "is it a devproxy?"
	}
	return fmt.Errorf("live: the process on %s refused the connection (HTTP %d): %s", addr, resp.StatusCode, msg)
}
