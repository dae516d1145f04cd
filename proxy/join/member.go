package join

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
)

// Membership is a member's side of the connection to the owner. Its
// registration lasts as long as the connection.
type Membership struct {
	addr   string
	client Client
	ws     *websocket.Conn
	rpc    *jsonrpc2.Conn

	mu      sync.Mutex
	members Members
	have    bool
	changes chan Members // holds at most the latest
}

// ErrOwnerGone is wrapped by the errors of requests made after the
// owner's connection ended.
var ErrOwnerGone = errors.New("the connection to the devproxy that owns the port has ended")

// TokenError is the owner's refusal of the token (401) or of the request
// as a browser's (403).
type TokenError struct {
	Addr    string
	Status  int
	File    string // the token file this process reads
	Message string // the owner's explanation
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("the devproxy on %s refused to let this process join (HTTP %d): the token did not match; both must read the same token file, %s (%s)",
		e.Addr, e.Status, e.File, e.Message)
}

// RequestError is the owner's refusal of a request: Code is JSON-RPC's
// (jsonrpc2.CodeInvalidParams for bad folders), Message names the field.
type RequestError struct {
	Method  string
	Code    int64
	Message string
}

func (e *RequestError) Error() string { return e.Method + " refused: " + e.Message }

// Join connects to the owner on addr (a loopback host:port), registers
// client and folders, and returns the membership with the owner's first
// Members. The owner must answer within ctx.
func Join(ctx context.Context, addr, token string, client Client, folders []FolderReg) (*Membership, error) {
	if err := wsrpc.CheckLoopback("join", addr, "members join"); err != nil {
		return nil, err
	}
	timing := keepAlive.KeepAlive
	// "localhost" could resolve anywhere: the token goes to this machine
	// only.
	dialer := wsrpc.LoopbackDialer("members join")
	// The WebSocket library heeds ctx's deadline in the handshake but not
	// its cancellation: closing the connection does. (A keeper holding the
	// port's sockets cancels a join whose owner has ended, as nothing will
	// answer from that socket's backlog.)
	var mu sync.Mutex
	var conn net.Conn
	dial := dialer.NetDialContext
	dialer.NetDialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		c, err := dial(ctx, network, a)
		mu.Lock()
		conn = c
		mu.Unlock()
		return c, err
	}
	cancelled := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	})
	// No Origin header: the owner refuses any request that has one.
	ws, resp, err := dialer.DialContext(ctx, "ws://"+addr+Path, http.Header{"Authorization": {"Bearer " + token}})
	if !cancelled() && err == nil {
		ws.Close() // cancelled as the handshake ended
		err = ctx.Err()
	}
	if err != nil {
		if resp != nil {
			return nil, handshakeError(addr, resp)
		}
		return nil, fmt.Errorf("join the devproxy on %s: %w", addr, err)
	}
	m := &Membership{addr: addr, client: client, ws: ws, changes: make(chan Members, 1)}
	wsrpc.Prepare(ws, timing, MaxMessage)
	m.rpc = jsonrpc2.NewConn(context.Background(), newStream(ws, timing), jsonrpc2.HandlerWithError(m.handle),
		jsonrpc2.OnRecv(m.onRecv), jsonrpc2.SetLogger(log.New(io.Discard, "", 0)))
	go wsrpc.PingLoop(ws, timing, m.rpc.DisconnectNotify())
	if err := m.rpc.Call(ctx, MethodRegister, RegisterParams{Client: client, Folders: cloneFolders(folders)}, nil); err != nil {
		m.Close()
		return nil, m.callError(MethodRegister, err)
	}
	return m, nil
}

// handshakeError explains an owner's answer other than 101.
func handshakeError(addr string, resp *http.Response) error {
	var body wsrpc.ErrorBody
	if resp.Body != nil {
		json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&body)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		file := "<state dir>/" + TokenFileName
		if dir, err := StateDir(); err == nil {
			file = TokenFile(dir)
		}
		return &TokenError{Addr: addr, Status: resp.StatusCode, File: file, Message: body.Message}
	}
	msg := body.Message
	if msg == "" {
		msg = "is it a devproxy that takes members?"
	}
	return fmt.Errorf("the process on %s did not let this one join (HTTP %d): %s", addr, resp.StatusCode, msg)
}

// onRecv sees every message as it is read, in order: the Members of a
// register or update reply are taken here, so that a notification read
// after the reply always wins over it.
func (m *Membership) onRecv(req *jsonrpc2.Request, resp *jsonrpc2.Response) {
	if req == nil || resp == nil || resp.Result == nil || (req.Method != MethodRegister && req.Method != MethodUpdate) {
		return
	}
	var mem Members
	if err := json.Unmarshal(*resp.Result, &mem); err == nil {
		m.set(mem)
	}
}

// handle takes the owner's notifications.
func (m *Membership) handle(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
	if req.Method != MethodMembers {
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "unknown method " + req.Method}
	}
	if req.Params == nil {
		return nil, nil
	}
	var mem Members
	if err := json.Unmarshal(*req.Params, &mem); err != nil {
		return nil, nil // a notification has no answer; keep the last good Members
	}
	m.set(mem)
	return nil, nil
}

// set records new Members. Every value after the first (Join's) goes to
// Changes, replacing one the reader has not taken: the connection's
// reader never waits for the host.
func (m *Membership) set(mem Members) {
	m.mu.Lock()
	first := !m.have
	m.members, m.have = mem, true
	m.mu.Unlock()
	if first {
		return
	}
	select {
	case <-m.changes:
	default:
	}
	select {
	case m.changes <- mem:
	default:
	}
}

// Members is the latest Members the owner sent.
func (m *Membership) Members() Members {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.members
}

// Changes delivers Members whenever they change after Join; when the
// reader is slow it gets the latest, never a backlog.
func (m *Membership) Changes() <-chan Members { return m.changes }

// Done is closed when the connection to the owner ends: the owner exited
// or was killed, the network failed, the owner stopped answering pings,
// or Close.
func (m *Membership) Done() <-chan struct{} { return m.rpc.DisconnectNotify() }

// Update replaces the member's folders.
func (m *Membership) Update(ctx context.Context, folders []FolderReg) error {
	err := m.rpc.Call(ctx, MethodUpdate, RegisterParams{Client: m.client, Folders: cloneFolders(folders)}, nil)
	return m.callError(MethodUpdate, err)
}

// AskStop asks the owner to release the port; it returns once the owner
// has agreed. The owner then stops, which ends this membership too.
func (m *Membership) AskStop(ctx context.Context) error {
	return m.callError(MethodStop, m.rpc.Call(ctx, MethodStop, nil, nil))
}

// Close leaves: the owner removes this member's folders and tells the
// others.
func (m *Membership) Close() error {
	select {
	case <-m.rpc.DisconnectNotify():
		return nil
	default:
	}
	wsrpc.SendClose(m.ws, websocket.CloseNormalClosure, "")
	if err := m.rpc.Close(); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		return err
	}
	return nil
}

func (m *Membership) callError(method string, err error) error {
	var rerr *jsonrpc2.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rerr):
		return &RequestError{Method: method, Code: rerr.Code, Message: rerr.Message}
	case errors.Is(err, jsonrpc2.ErrClosed):
		return fmt.Errorf("%s: %w (%s)", method, ErrOwnerGone, m.addr)
	}
	return fmt.Errorf("%s to the devproxy on %s: %w", method, m.addr, err)
}
