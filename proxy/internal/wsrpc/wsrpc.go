// Package wsrpc holds what proxy/join and proxy/live share as JSON-RPC
// over a gorilla WebSocket on the proxy's local listener: the keep-alive
// (read limit, deadlines renewed by pings and pongs, a ping loop), the
// close message, the JSON refusal written before the upgrade, the checks
// that keep a client's connection on this machine, and the adapter that
// sends jsonrpc2's own messages to slog. proxy/node writes its health
// API's errors with WriteError too, so that they share the shape.
//
// Each package keeps its own object stream: join's is the library's,
// live's answers a malformed message instead of closing the connection.
package wsrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/jsonrpc2"
)

// KeepAlive is the timing of one connection: each side pings every Ping
// and drops a peer it has not heard from (a message, a ping or a pong)
// for Read; each write may block for Write.
type KeepAlive struct {
	Ping, Read, Write time.Duration
}

// Prepare sets the message size limit and the keep-alive handlers; it
// must run before anything reads from ws. A ping or a pong from the peer
// renews the read deadline; a message over limit fails the read (gorilla
// answers it with close code 1009), which closes the connection.
func Prepare(ws *websocket.Conn, t KeepAlive, limit int64) {
	ws.SetReadLimit(limit)
	ws.SetReadDeadline(time.Now().Add(t.Read))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(t.Read))
	})
	ws.SetPingHandler(func(data string) error {
		ws.SetReadDeadline(time.Now().Add(t.Read))
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(t.Write))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
}

// PingLoop pings the peer every t.Ping until done; a ping that cannot be
// written closes the connection (which ends the reader, and done).
func PingLoop(ws *websocket.Conn, t KeepAlive, done <-chan struct{}) {
	tick := time.NewTicker(t.Ping)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(t.Write)); err != nil {
				ws.Close()
				return
			}
		}
	}
}

// SendClose tells the peer why the connection ends; the caller then
// closes it. WriteControl may be called beside any other write.
func SendClose(ws *websocket.Conn, code int, text string) {
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

// ErrorBody is the JSON body of a refusal before the upgrade, in the
// shape of every error the proxy writes itself. A client decodes it to
// explain a handshake that did not end in 101.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// WriteError answers with status and an ErrorBody saying message. header
// is set after the defaults (JSON, no-store, nosniff), so it may add one
// (join's WWW-Authenticate on 401) or replace one (proxy/node's
// Cache-Control); it may be nil.
func WriteError(w http.ResponseWriter, status int, message string, header http.Header) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	for k, vs := range header {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(ErrorBody{Error: http.StatusText(status), Message: message, Status: status})
	w.Write(append(b, '\n'))
}

// LoopbackRemote reports whether a connection's remote address
// (host:port) is on this machine; an address that does not parse is not.
func LoopbackRemote(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckLoopback refuses an address that is not this machine's: addr must
// be host:port with host "localhost" or a loopback IP. The error starts
// with pkg ("join") and ends saying what happens only on this machine
// (what: "members join").
func CheckLoopback(pkg, addr, what string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port: %w", pkg, addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s: %s is not a loopback address; %s only on this machine", pkg, addr, what)
}

// LoopbackDialer is a dialer whose connections must land on this
// machine: "localhost" could resolve anywhere, so the address each one
// reached is checked before the handshake. A connection elsewhere is
// closed and its error says what happens only over loopback (what:
// "members join").
func LoopbackDialer(what string) *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			if tcp, ok := c.RemoteAddr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
				c.Close()
				return nil, fmt.Errorf("%s is not on this machine; %s only over loopback", c.RemoteAddr(), what)
			}
			return c, nil
		},
	}
}

// Logger routes jsonrpc2's own messages (protocol errors) to log at
// debug level; the library would print them on stderr.
func Logger(log *slog.Logger) jsonrpc2.Logger { return rpcLog{log} }

type rpcLog struct{ log *slog.Logger }

func (l rpcLog) Printf(format string, args ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)))
}
