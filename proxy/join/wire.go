package join

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	jrws "github.com/sourcegraph/jsonrpc2/websocket"
)

// wsStream is the jsonrpc2 object stream over a WebSocket: the library's
// own, with every message read renewing the read deadline (a peer that is
// heard from is alive) and every write bounded by writeTimeout (a peer
// that stops reading is let go).
type wsStream struct {
	ws     *websocket.Conn
	inner  jrws.ObjectStream
	timing keepAliveTiming
}

func newStream(ws *websocket.Conn, t keepAliveTiming) *wsStream {
	return &wsStream{ws: ws, inner: jrws.NewObjectStream(ws), timing: t}
}

// WriteObject is called by one goroutine at a time (jsonrpc2 serialises
// its sends).
func (s *wsStream) WriteObject(obj any) error {
	s.ws.SetWriteDeadline(time.Now().Add(s.timing.write))
	return s.inner.WriteObject(obj)
}

// ReadObject is called by the connection's one reader.
func (s *wsStream) ReadObject(v any) error {
	err := s.inner.ReadObject(v)
	if err == nil {
		s.ws.SetReadDeadline(time.Now().Add(s.timing.read))
	}
	return err
}

func (s *wsStream) Close() error { return s.inner.Close() }

// prepareConn sets the message size limit and the keep-alive handlers;
// it must run before anything reads from ws. A ping or a pong from the
// peer renews the read deadline; a message over MaxMessage fails the read
// (gorilla answers it with close code 1009), which closes the connection.
func prepareConn(ws *websocket.Conn, t keepAliveTiming) {
	ws.SetReadLimit(MaxMessage)
	ws.SetReadDeadline(time.Now().Add(t.read))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(t.read))
	})
	ws.SetPingHandler(func(data string) error {
		ws.SetReadDeadline(time.Now().Add(t.read))
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(t.write))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
}

// pingLoop pings the peer every interval until done; a ping that cannot
// be written closes the connection (which ends the reader, and done).
func pingLoop(ws *websocket.Conn, t keepAliveTiming, done <-chan struct{}) {
	tick := time.NewTicker(t.ping)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(t.write)); err != nil {
				ws.Close()
				return
			}
		}
	}
}

// sendClose tells the peer why the connection ends; the caller then
// closes it. WriteControl may be called beside any other write.
func sendClose(ws *websocket.Conn, code int, text string) {
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

// httpError is the JSON body of a refusal before the upgrade, in the
// shape of every error the proxy writes itself.
type httpError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

func refuse(w http.ResponseWriter, status int, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="devproxy"`)
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(httpError{Error: http.StatusText(status), Message: message, Status: status})
	w.Write(append(b, '\n'))
}

// rpcLog routes jsonrpc2's own messages (protocol errors) to slog at
// debug level; the library would print them on stderr.
type rpcLog struct{ log *slog.Logger }

func (l rpcLog) Printf(format string, args ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)))
}
