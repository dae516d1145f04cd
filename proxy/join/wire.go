package join

import (
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	jrws "github.com/sourcegraph/jsonrpc2/websocket"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
)

// wsStream is the jsonrpc2 object stream over a WebSocket: the library's
// own, with every message read renewing the read deadline (a peer that is
// heard from is alive) and every write bounded by the write timeout (a peer
// that stops reading is let go).
type wsStream struct {
	ws     *websocket.Conn
	inner  jrws.ObjectStream
	timing wsrpc.KeepAlive
}

func newStream(ws *websocket.Conn, t wsrpc.KeepAlive) *wsStream {
	return &wsStream{ws: ws, inner: jrws.NewObjectStream(ws), timing: t}
}

// WriteObject is called by one goroutine at a time (jsonrpc2 serialises
// its sends).
func (s *wsStream) WriteObject(obj any) error {
	s.ws.SetWriteDeadline(time.Now().Add(s.timing.Write))
	return s.inner.WriteObject(obj)
}

// ReadObject is called by the connection's one reader.
func (s *wsStream) ReadObject(v any) error {
	err := s.inner.ReadObject(v)
	if err == nil {
		s.ws.SetReadDeadline(time.Now().Add(s.timing.Read))
	}
	return err
}

func (s *wsStream) Close() error { return s.inner.Close() }

// refuse writes a refusal before the upgrade; a 401 names the scheme the
// owner takes.
func refuse(w http.ResponseWriter, status int, message string) {
	var header http.Header
	if status == http.StatusUnauthorized {
		header = http.Header{"Www-Authenticate": {`Bearer realm="devproxy"`}}
	}
	wsrpc.WriteError(w, status, message, header)
}
