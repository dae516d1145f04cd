package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsStream is the jsonrpc2 object stream over a WebSocket, as
// proxy/join's, with two differences:
//
//   - writes are serialised by the stream itself, so that the hub's
//     sender can write a notification marshalled once (writeRaw) beside
//     jsonrpc2's replies;
//   - a message that is not JSON, or not a JSON-RPC message, is answered
//     with a parse error (-32700) or an invalid request (-32600) with id
//     null, and the connection goes on: one bad message from a page
//     does not cost it its subscriptions. jsonrpc2 itself would close
//     the connection.
//
// Every message read renews the read deadline; every write is bounded by
// the write timeout.
type wsStream struct {
	ws     *websocket.Conn
	timing keepAliveTiming
	wmu    sync.Mutex
}

func newStream(ws *websocket.Conn, t keepAliveTiming) *wsStream {
	return &wsStream{ws: ws, timing: t}
}

func (s *wsStream) WriteObject(obj any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return s.writeRaw(b)
}

// writeRaw writes one text message.
func (s *wsStream) writeRaw(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.ws.SetWriteDeadline(time.Now().Add(s.timing.write))
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

// ReadObject is called by the connection's one reader.
func (s *wsStream) ReadObject(v any) error {
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure {
				err = io.ErrUnexpectedEOF // as jsonrpc2's own stream: not worth a log line
			}
			return err
		}
		s.ws.SetReadDeadline(time.Now().Add(s.timing.read))
		data = bytes.TrimSpace(data)
		switch {
		case !json.Valid(data):
			err = s.writeError(-32700, "parse error: the message is not JSON")
		case len(data) > 0 && data[0] == '[':
			err = s.writeError(-32600, "invalid request: batches are not supported; send one message at a time")
		default:
			if uerr := json.Unmarshal(data, v); uerr != nil {
				err = s.writeError(-32600, "invalid request: "+uerr.Error())
			} else {
				return nil
			}
		}
		if err != nil {
			return err
		}
	}
}

// writeError answers a message that could not be read as a request.
func (s *wsStream) writeError(code int64, message string) error {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": code, "message": message}})
	return s.writeRaw(b)
}

func (s *wsStream) Close() error { return s.ws.Close() }

// prepareConn sets the message size limit and the keep-alive handlers;
// it must run before anything reads from ws. A ping or a pong from the
// peer renews the read deadline; a message over limit fails the read
// (gorilla answers it with close code 1009), which closes the connection.
func prepareConn(ws *websocket.Conn, t keepAliveTiming, limit int64) {
	ws.SetReadLimit(limit)
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
	w.WriteHeader(status)
	b, _ := json.Marshal(httpError{Error: http.StatusText(status), Message: message, Status: status})
	w.Write(append(b, '\n'))
}

// decodeStrict decodes one JSON value, refusing unknown fields so that a
// typo is not silently ignored.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// rpcLog routes jsonrpc2's own messages (protocol errors) to slog at
// debug level; the library would print them on stderr.
type rpcLog struct{ log *slog.Logger }

func (l rpcLog) Printf(format string, args ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

var discardLog = slog.New(slog.DiscardHandler)
