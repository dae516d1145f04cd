package live

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wait bounds every wait for the hub or a client.
const wait = 5 * time.Second

// hubSite is a hub served on a loopback listener.
type hubSite struct {
	hub  *Hub
	addr string // host:port
}

// startHub serves a hub with opts on loopback; each of before is applied
// to the hub before it serves.
func startHub(t *testing.T, opts Options, before ...func(*Hub)) *hubSite {
	t.Helper()
	h := NewHub(opts)
	for _, f := range before {
		f(h)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close) // runs first: the handlers end, so srv.Close does not wait
	return &hubSite{hub: h, addr: strings.TrimPrefix(srv.URL, "http://")}
}

// dialRaw opens a WebSocket to addr with header, as a hand-written client
// or a browser would.
func dialRaw(t *testing.T, addr string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	ws, resp, err := d.Dial("ws://"+addr+Path, header)
	if err == nil {
		t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

// mustDial is dialRaw that must succeed.
func mustDial(t *testing.T, addr string, header http.Header) *websocket.Conn {
	t.Helper()
	ws, resp, err := dialRaw(t, addr, header)
	if err != nil {
		t.Fatalf("dial %s with %v: %v (%s)", addr, header, err, body(resp))
	}
	return ws
}

func origin(o string) http.Header { return http.Header{"Origin": {o}} }

// body is a refusal's body, for messages.
func body(resp *http.Response) string {
	if resp == nil || resp.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return string(b)
}

// message is a JSON-RPC message as read off the wire.
type message map[string]json.RawMessage

// send writes one text message.
func send(t *testing.T, ws *websocket.Conn, raw string) {
	t.Helper()
	ws.SetWriteDeadline(time.Now().Add(wait))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(raw)); err != nil {
		t.Fatalf("write %.60s: %v", raw, err)
	}
}

// request writes a JSON-RPC request.
func request(t *testing.T, ws *websocket.Conn, id int, method string, params any) {
	t.Helper()
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	send(t, ws, string(b))
}

// read reads the next message.
func read(t *testing.T, ws *websocket.Conn) message {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(wait))
	var m message
	if err := ws.ReadJSON(&m); err != nil {
		t.Fatalf("reading: %v", err)
	}
	return m
}

// call sends a request and returns its reply; a notification read before
// it fails the test.
func call(t *testing.T, ws *websocket.Conn, id int, method string, params any) message {
	t.Helper()
	request(t, ws, id, method, params)
	m := read(t, ws)
	if _, ok := m["id"]; !ok {
		t.Fatalf("%s: got %s before the reply", method, show(m))
	}
	return m
}

// errorOf is a reply's error code and message; ok is false for a result.
func errorOf(t *testing.T, m message) (code int64, msg string, ok bool) {
	t.Helper()
	raw, has := m["error"]
	if !has {
		return 0, "", false
	}
	var e struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("error %s: %v", raw, err)
	}
	return e.Code, e.Message, true
}

// subscribe subscribes ws to topics and checks the reply.
func subscribe(t *testing.T, ws *websocket.Conn, topics ...string) {
	t.Helper()
	m := call(t, ws, 1000, MethodSubscribe, TopicsParams{Topics: topics})
	if code, msg, isErr := errorOf(t, m); isErr {
		t.Fatalf("subscribe %v: %d %s", topics, code, msg)
	}
}

func show(m message) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// closeCode reads until the connection ends and returns its close code,
// or -1 when it ended without a close message.
func closeCode(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the connection did not end within %v", wait)
		}
		return -1
	}
}

// eventually waits for ok, polling: for state with no event to wait on
// (a connection the hub forgot).
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
