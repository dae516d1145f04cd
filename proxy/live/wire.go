package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
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
	timing wsrpc.KeepAlive
	wmu    sync.Mutex
}

func newStream(ws *websocket.Conn, t wsrpc.KeepAlive) *wsStream {
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
	s.ws.SetWriteDeadline(time.Now().Add(s.timing.Write))
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
		s.ws.SetReadDeadline(time.Now().Add(s.timing.Read))
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

// refuse writes a refusal before the upgrade.
func refuse(w http.ResponseWriter, status int, message string) {
	wsrpc.WriteError(w, status, message, nil)
}

// decodeStrict decodes one JSON value, refusing unknown fields so that a
// typo is not silently ignored.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var discardLog = slog.New(slog.DiscardHandler)
