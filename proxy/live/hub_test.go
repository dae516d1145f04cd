package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
)

// TestPublishReachesSubscribers: a subscribed client gets the
// notification with the exact params published; a topic it is not
// subscribed to, or unsubscribed from, sends it nothing (a client's
// notifications keep their order, so the next one read is the proof).
func TestPublishReachesSubscribers(t *testing.T) {
	s := startHub(t, Options{})
	ws := mustDial(t, s.addr, nil)
	m := call(t, ws, 1, MethodSubscribe, TopicsParams{Topics: []string{TopicRoutes, TopicConfig}})
	if got := string(m["result"]); got != `{"topics":["config","routes"]}` {
		t.Fatalf("subscribe result %s", got)
	}

	type route struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	}
	params := map[string]any{"routes": []route{{"app.localhost", 3000}}, "version": 7, "note": "<é>"}
	want, _ := json.Marshal(params)
	s.hub.Publish(TopicHealth, "devproxy/health", map[string]string{"not": "subscribed"})
	s.hub.Publish(TopicRoutes, "devproxy/routes", params)
	got := read(t, ws)
	if string(got["method"]) != `"devproxy/routes"` || string(got["params"]) != string(want) {
		t.Fatalf("got %s, want devproxy/routes with %s", show(got), want)
	}
	if _, hasID := got["id"]; hasID || string(got["jsonrpc"]) != `"2.0"` {
		t.Errorf("not a JSON-RPC 2.0 notification: %s", show(got))
	}

	m = call(t, ws, 2, MethodUnsubscribe, TopicsParams{Topics: []string{TopicRoutes}})
	if got := string(m["result"]); got != `{"topics":["config"]}` {
		t.Fatalf("unsubscribe result %s", got)
	}
	s.hub.Publish(TopicRoutes, "devproxy/routes", params)
	s.hub.Publish(TopicConfig, "devproxy/config", map[string]int{"n": 1})
	if got := read(t, ws); string(got["method"]) != `"devproxy/config"` {
		t.Fatalf("after unsubscribing routes: got %s first, want devproxy/config", show(got))
	}
}

// TestSubscribeRefusesWhatItDoesNotKnow: an unknown topic is
// InvalidParams naming it, and so are missing or misspelt fields; the
// hub takes the topics of Options.Topics instead of the default ones.
func TestSubscribeRefusesWhatItDoesNotKnow(t *testing.T) {
	s := startHub(t, Options{})
	ws := mustDial(t, s.addr, nil)
	for i, tc := range []struct {
		params any
		want   string
	}{
		{map[string]any{"topics": []string{"routes", "bogus"}}, `topics[1]: unknown topic "bogus"`},
		{map[string]any{"topics": []string{"health", "routes", "health"}}, `topics[2]: "health" is already topics[0]`},
		{map[string]any{}, "topics: missing"},
		{map[string]any{"topic": []string{"routes"}}, "unknown field"},
		{map[string]any{"topics": "routes"}, "params:"},
		{nil, "params: missing"},
	} {
		m := call(t, ws, i, MethodSubscribe, tc.params)
		code, msg, isErr := errorOf(t, m)
		if !isErr || code != jsonrpc2.CodeInvalidParams || !strings.Contains(msg, tc.want) {
			t.Errorf("subscribe %v: %s, want InvalidParams with %q", tc.params, show(m), tc.want)
		}
	}
	// Nothing was subscribed by the refused requests.
	if got := string(call(t, ws, 9, MethodSubscribe, TopicsParams{Topics: []string{}})["result"]); got != `{"topics":[]}` {
		t.Errorf("after refusals: %s", got)
	}

	custom := startHub(t, Options{Topics: []string{"traffic"}})
	ws = mustDial(t, custom.addr, nil)
	if m := call(t, ws, 1, MethodSubscribe, TopicsParams{Topics: []string{"traffic"}}); string(m["result"]) != `{"topics":["traffic"]}` {
		t.Errorf("custom topic: %s", show(m))
	}
	if code, msg, _ := errorOf(t, call(t, ws, 2, MethodSubscribe, TopicsParams{Topics: []string{TopicRoutes}})); code != jsonrpc2.CodeInvalidParams || !strings.Contains(msg, `"routes"`) {
		t.Errorf("a default topic on a hub with its own: %d %s", code, msg)
	}
}

// TestMethods: a registered method's result is the reply; its
// *jsonrpc2.Error goes as it is; any other error, or a panic, is an
// InternalError that does not carry the error's text, and the connection
// goes on; an unknown method is MethodNotFound.
func TestMethods(t *testing.T) {
	s := startHub(t, Options{Methods: map[string]Method{
		"devproxy/echo": func(_ context.Context, p json.RawMessage) (any, error) { return p, nil },
		"devproxy/typed": func(context.Context, json.RawMessage) (any, error) {
			return nil, &jsonrpc2.Error{Code: 4242, Message: "route 7 is not there"}
		},
		"devproxy/fails": func(context.Context, json.RawMessage) (any, error) {
			return nil, fmt.Errorf("open /home/secret/devproxy.json: permission denied")
		},
		"devproxy/panics": func(context.Context, json.RawMessage) (any, error) { panic("boom /home/secret") },
	}})
	ws := mustDial(t, s.addr, nil)
	if m := call(t, ws, 1, "devproxy/echo", map[string]int{"a": 1}); string(m["result"]) != `{"a":1}` || string(m["id"]) != "1" {
		t.Errorf("echo: %s", show(m))
	}
	if code, msg, _ := errorOf(t, call(t, ws, 2, "devproxy/typed", nil)); code != 4242 || msg != "route 7 is not there" {
		t.Errorf("typed error: %d %q", code, msg)
	}
	for i, method := range []string{"devproxy/fails", "devproxy/panics"} {
		code, msg, _ := errorOf(t, call(t, ws, 3+i, method, nil))
		if code != jsonrpc2.CodeInternalError || strings.Contains(msg, "secret") {
			t.Errorf("%s: %d %q, want an InternalError without the error's text", method, code, msg)
		}
	}
	if code, msg, _ := errorOf(t, call(t, ws, 5, "devproxy/nope", nil)); code != jsonrpc2.CodeMethodNotFound || !strings.Contains(msg, "devproxy/nope") {
		t.Errorf("unknown method: %d %q", code, msg)
	}
	if m := call(t, ws, 6, "devproxy/echo", "still here"); string(m["result"]) != `"still here"` {
		t.Errorf("after the errors: %s", show(m))
	}
}

// TestMalformedMessagesAreAnsweredAndTheConnectionSurvives: text that is
// not JSON is a parse error (-32700), a batch or an object that is not a
// JSON-RPC message is an invalid request (-32600), each with id null; the
// connection and its subscriptions go on.
func TestMalformedMessagesAreAnsweredAndTheConnectionSurvives(t *testing.T) {
	s := startHub(t, Options{})
	ws := mustDial(t, s.addr, nil)
	subscribe(t, ws, TopicHealth)
	for _, tc := range []struct {
		raw  string
		code int64
	}{
		{`{"jsonrpc": "2.0", "id": 1, "method": `, jsonrpc2.CodeParseError},
		{`not json at all`, jsonrpc2.CodeParseError},
		{`[{"jsonrpc":"2.0","id":1,"method":"devproxy/subscribe","params":{"topics":["routes"]}}]`, jsonrpc2.CodeInvalidRequest},
		{`{"hello": "world"}`, jsonrpc2.CodeInvalidRequest},
	} {
		send(t, ws, tc.raw)
		m := read(t, ws)
		code, _, isErr := errorOf(t, m)
		if !isErr || code != tc.code || string(m["id"]) != "null" {
			t.Errorf("%s: %s, want error %d with id null", tc.raw, show(m), tc.code)
		}
	}
	s.hub.Publish(TopicHealth, "devproxy/health", []int{1})
	if m := read(t, ws); string(m["method"]) != `"devproxy/health"` {
		t.Errorf("the subscription did not survive: %s", show(m))
	}
	// The batch subscribed nothing.
	if m := call(t, ws, 2, MethodSubscribe, TopicsParams{Topics: []string{}}); string(m["result"]) != `{"topics":["health"]}` {
		t.Errorf("topics after the batch: %s", show(m))
	}
}

// TestOriginPolicy: a request without Origin, from the proxy's own
// origin or from a loopback alias of it on the same port is upgraded;
// another site, another port, a route's name on the same port and
// Origin: null are refused with 403 and a JSON reason, and nothing is
// upgraded.
func TestOriginPolicy(t *testing.T) {
	s := startHub(t, Options{})
	_, port, _ := strings.Cut(s.addr, ":")
	for _, tc := range []struct {
		header http.Header
		ok     bool
	}{
		{nil, true},
		{origin("http://" + s.addr), true},
		{origin("http://localhost:" + port), true},
		{origin("http://[::1]:" + port), true},
		{origin("http://LOCALHOST:" + port), true},
		{http.Header{"Origin": {"http://127.0.0.1:" + port}, "Host": {"localhost:" + port}}, true},
		{http.Header{"Origin": {"http://devproxy.test:" + port}, "Host": {"devproxy.test:" + port}}, true},
		{origin("http://evil.example"), false},
		{origin("http://evil.example:" + port), false},
		{origin("null"), false},
		{origin(""), false},
		{origin("http://127.0.0.1:1"), false},
		{origin("http://localhost"), false},
		{origin("http://app.localhost:" + port), false},
		{origin("http://127.0.0.1.evil.example:" + port), false},
		{origin("file://"), false},
		{http.Header{"Origin": {"http://localhost:" + port}, "Host": {"app.localhost:" + port}}, false},
	} {
		ws, resp, err := dialRaw(t, s.addr, tc.header)
		if tc.ok {
			if err != nil {
				t.Errorf("%v: refused: %v %s", tc.header, err, body(resp))
				continue
			}
			subscribe(t, ws, TopicRoutes)
			ws.Close()
			continue
		}
		if err == nil {
			t.Errorf("%v: upgraded", tc.header)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%v: %v %v, want a 403 in JSON", tc.header, resp, err)
			continue
		}
		var e wsrpc.ErrorBody
		if err := json.Unmarshal([]byte(body(resp)), &e); err != nil || e.Status != 403 || e.Message == "" {
			t.Errorf("%v: body %+v %v", tc.header, e, err)
		}
	}
	eventually(t, "the accepted clients left", func() bool { return s.hub.Clients() == 0 })
}

// TestSameOriginTable holds the default policy to requests built by hand
// (no network): TLS, default ports and malformed origins.
func TestSameOriginTable(t *testing.T) {
	for _, tc := range []struct {
		host, origin string
		tls          bool
		ok           bool
	}{
		{"localhost:8080", "http://localhost:8080", false, true},
		{"localhost", "http://localhost", false, true},
		{"localhost", "http://localhost:80", false, true},
		{"localhost:443", "https://localhost", true, true},
		{"127.0.0.1:8080", "http://[::1]:8080", false, true},
		{"[::1]:8080", "http://localhost:8080", false, true},
		{"localhost", "https://localhost", false, false},
		{"localhost:8080", "http://user@localhost:8080", false, false},
		{"localhost:8080", "http://localhost:8080/page", false, false},
		{"localhost:8080", "ws://localhost:8080", false, false},
		{"localhost:8080", "http://localhost:8080:9", false, false},
		{"192.168.1.5:8080", "http://localhost:8080", false, false},
		{"127.0.0.1:8080", "http://127.0.0.2:8080", false, false},
		{"127.0.0.2:8080", "http://127.0.0.2:8080", false, true},
		{"127.0.0.1:8080", "http://[::ffff:127.0.0.1]:8080", false, true},
		{"localhost:8080", "http://192.168.1.5:8080", false, false},
	} {
		r := httptest.NewRequest("GET", "http://"+tc.host+Path, nil)
		r.Host = tc.host
		if !tc.tls {
			r.TLS = nil
		}
		r.Header.Set("Origin", tc.origin)
		if got := SameOrigin(r); got != tc.ok {
			t.Errorf("Host %s Origin %s (tls %v): %v, want %v", tc.host, tc.origin, tc.tls, got, tc.ok)
		}
	}
	r := httptest.NewRequest("GET", "http://localhost"+Path, nil)
	r.Header["Origin"] = []string{"http://localhost", "http://localhost"}
	if SameOrigin(r) {
		t.Error("two Origin headers were taken")
	}
}

// TestASlowClientHoldsUpNobody: a client that subscribes and then never
// reads does not make Publish wait, nor delay another client; what waits
// for it is at most one notification per method, and once a write to it
// has been stuck for the write timeout it is dropped. The reading client
// reads raw messages, so that its own speed under the race detector is
// not what is measured.
func TestASlowClientHoldsUpNobody(t *testing.T) {
	s := startHub(t, Options{}, func(h *Hub) { h.timing.Write = 3 * time.Second })
	slow := mustDial(t, s.addr, nil)
	subscribe(t, slow, TopicRoutes)
	var slowClient *client
	s.hub.mu.Lock()
	for c := range s.hub.clients {
		slowClient = c
	}
	s.hub.mu.Unlock()
	// From here on the slow client reads nothing.

	fast := mustDial(t, s.addr, nil)
	subscribe(t, fast, TopicRoutes)
	type note struct {
		Seq int    `json:"seq"`
		Pad string `json:"pad,omitempty"`
	}
	lastSeq := make(chan int, 1)
	go func() {
		defer close(lastSeq)
		var last int
		for {
			fast.SetReadDeadline(time.Now().Add(4 * wait))
			_, data, err := fast.ReadMessage()
			if err != nil {
				lastSeq <- last
				return
			}
			// {"jsonrpc":"2.0","method":"devproxy/routes","params":{"seq":N,...
			_, rest, _ := strings.Cut(string(data[:min(len(data), 200)]), `"seq":`)
			n, _, _ := strings.Cut(rest, ",")
			n = strings.TrimSuffix(strings.TrimSuffix(n, "}"), "}")
			fmt.Sscan(n, &last)
			if strings.Contains(string(data), `"final":true`) {
				lastSeq <- last
				return
			}
		}
	}()

	pad := strings.Repeat("x", 128<<10)
	seq := 0
	var slowest time.Duration
	deadline := time.Now().Add(4 * wait)
	stillThere := func(c *client) bool {
		s.hub.mu.Lock()
		defer s.hub.mu.Unlock()
		_, ok := s.hub.clients[c]
		return ok
	}
	for stillThere(slowClient) {
		if time.Now().After(deadline) {
			t.Fatalf("the slow client was not dropped within %v (%d notifications)", 4*wait, seq)
		}
		seq++
		start := time.Now()
		s.hub.Publish(TopicRoutes, "devproxy/routes", note{Seq: seq, Pad: pad})
		slowest = max(slowest, time.Since(start))
		s.hub.mu.Lock()
		for c := range s.hub.clients {
			c.qmu.Lock()
			if n := len(c.queue); n > 1 {
				t.Errorf("a client has %d notifications of one method waiting", n)
			}
			c.qmu.Unlock()
		}
		s.hub.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	// A Publish that waited for the stuck client would take the write
	// timeout (3 s); half of it leaves room for a loaded machine.
	if slowest > 1500*time.Millisecond {
		t.Errorf("a Publish took %v while a client was not reading", slowest)
	}
	if s.hub.Clients() != 1 {
		t.Fatalf("%d clients after the slow one was dropped, want the reading one", s.hub.Clients())
	}
	seq++
	s.hub.Publish(TopicRoutes, "devproxy/routes", map[string]any{"seq": seq, "final": true})
	if got := <-lastSeq; got != seq {
		t.Fatalf("the reading client's last notification is %d, want %d", got, seq)
	}
	// Its close message may be stuck behind the notifications it never
	// read (1006: the connection ended without one).
	if code := closeCode(t, slow); code != websocket.ClosePolicyViolation && code != websocket.CloseAbnormalClosure {
		t.Errorf("the slow client was closed with %d", code)
	}
}

// TestNotificationsCoalescePerMethod: a notification waiting for a
// client is replaced by a newer one of its method, which goes to the end
// of the queue; others keep their order.
func TestNotificationsCoalescePerMethod(t *testing.T) {
	c := &client{h: NewHub(Options{}), wake: make(chan struct{}, 1)}
	c.enqueue("routes", []byte("r1"))
	c.enqueue("health", []byte("h1"))
	c.enqueue("routes", []byte("r2"))
	c.enqueue("config", []byte("c1"))
	c.enqueue("health", []byte("h2"))
	var got []string
	for _, q := range c.queue {
		got = append(got, string(q.msg))
	}
	if strings.Join(got, ",") != "r2,c1,h2" {
		t.Errorf("queue %v, want r2,c1,h2", got)
	}
}

// TestMaxClients: one connection over MaxClients is refused with a 503
// in JSON; once one leaves, the next is taken.
func TestMaxClients(t *testing.T) {
	s := startHub(t, Options{MaxClients: 2})
	a := mustDial(t, s.addr, nil)
	mustDial(t, s.addr, nil)
	_, resp, err := dialRaw(t, s.addr, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("the third client: %v %v", resp, err)
	}
	var e wsrpc.ErrorBody
	if err := json.Unmarshal([]byte(body(resp)), &e); err != nil || e.Status != 503 || !strings.Contains(e.Message, "Too many") {
		t.Errorf("the refusal: %+v %v", e, err)
	}
	a.Close()
	eventually(t, "a left", func() bool { return s.hub.Clients() == 1 })
	eventually(t, "a fourth client is taken", func() bool {
		ws, _, err := dialRaw(t, s.addr, nil)
		if err == nil {
			ws.Close()
		}
		return err == nil
	})
}

// TestOversizedMessageClosesOnlyItsConnection: a message over MaxMessage
// closes that connection with 1009; another client goes on.
func TestOversizedMessageClosesOnlyItsConnection(t *testing.T) {
	s := startHub(t, Options{})
	big := mustDial(t, s.addr, nil)
	other := mustDial(t, s.addr, nil)
	subscribe(t, other, TopicMetrics)
	request(t, big, 1, MethodSubscribe, map[string]any{"topics": []string{strings.Repeat("t", MaxMessage)}})
	if code := closeCode(t, big); code != websocket.CloseMessageTooBig {
		t.Errorf("the oversized message's connection closed with %d, want 1009", code)
	}
	eventually(t, "the hub forgot the closed connection", func() bool { return s.hub.Clients() == 1 })
	s.hub.Publish(TopicMetrics, "devproxy/metrics", map[string]int{"requests": 3})
	if m := read(t, other); string(m["params"]) != `{"requests":3}` {
		t.Errorf("the other client: %s", show(m))
	}
}

// TestRequestsInFlightAreBounded: while a client has MaxInflight requests
// running, one more is answered at once with CodeBusy; the others are
// answered when they finish.
func TestRequestsInFlightAreBounded(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(MaxInflight)
	s := startHub(t, Options{Methods: map[string]Method{
		"devproxy/slow": func(ctx context.Context, _ json.RawMessage) (any, error) {
			started.Done()
			select {
			case <-release:
			case <-ctx.Done():
			}
			return "done", nil
		},
	}})
	ws := mustDial(t, s.addr, nil)
	for id := 1; id <= MaxInflight; id++ {
		request(t, ws, id, "devproxy/slow", nil)
	}
	started.Wait()
	request(t, ws, 99, "devproxy/slow", nil)
	m := read(t, ws)
	if code, _, _ := errorOf(t, m); string(m["id"]) != "99" || code != CodeBusy {
		t.Fatalf("one request over the bound: %s, want id 99 with %d", show(m), CodeBusy)
	}
	close(release)
	for range MaxInflight {
		if m := read(t, ws); string(m["result"]) != `"done"` {
			t.Errorf("a bounded request: %s", show(m))
		}
	}
}

// TestCloseSaysGoingAway: Hub.Close closes every client with 1001 and
// refuses new ones.
func TestCloseSaysGoingAway(t *testing.T) {
	s := startHub(t, Options{})
	a, b := mustDial(t, s.addr, nil), mustDial(t, s.addr, nil)
	subscribe(t, a, TopicRoutes)
	subscribe(t, b, TopicRoutes)
	s.hub.Close()
	for _, ws := range []*websocket.Conn{a, b} {
		if code := closeCode(t, ws); code != websocket.CloseGoingAway {
			t.Errorf("closed with %d, want 1001", code)
		}
	}
	if _, resp, err := dialRaw(t, s.addr, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: %v %v", resp, err)
	}
}

// TestClient: the Go client dials, subscribes, calls, hears
// notifications, and sees Done when the hub closes; after that a call
// wraps ErrClosed. Addresses off this machine are refused before any
// connection.
func TestClient(t *testing.T) {
	s := startHub(t, Options{Methods: map[string]Method{
		"devproxy/routes": func(context.Context, json.RawMessage) (any, error) {
			return map[string][]string{"hosts": {"app.localhost"}}, nil
		},
	}})
	notes := make(chan string, 10)
	c, err := Dial(context.Background(), s.addr, []string{TopicHealth}, func(method string, params json.RawMessage) {
		notes <- method + " " + string(params)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var routes struct {
		Hosts []string `json:"hosts"`
	}
	if err := c.Call(ctx, "devproxy/routes", nil, &routes); err != nil || len(routes.Hosts) != 1 || routes.Hosts[0] != "app.localhost" {
		t.Errorf("Call: %+v %v", routes, err)
	}
	var rerr *jsonrpc2.Error
	if err := c.Call(ctx, "devproxy/nope", nil, nil); !errors.As(err, &rerr) || rerr.Code != jsonrpc2.CodeMethodNotFound {
		t.Errorf("an unknown method: %v", err)
	}
	if err := c.Call(ctx, MethodSubscribe, TopicsParams{Topics: []string{"bogus"}}, nil); !errors.As(err, &rerr) || rerr.Code != jsonrpc2.CodeInvalidParams {
		t.Errorf("an unknown topic: %v", err)
	}
	s.hub.Publish(TopicRoutes, "devproxy/routes", 1)
	s.hub.Publish(TopicHealth, "devproxy/health", map[string]string{"app.localhost": "ok"})
	select {
	case n := <-notes:
		if n != `devproxy/health {"app.localhost":"ok"}` {
			t.Errorf("notification %s", n)
		}
	case <-time.After(wait):
		t.Fatal("no notification")
	}

	s.hub.Close()
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("Done did not close after the hub's Close")
	}
	if err := c.Call(ctx, "devproxy/routes", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("a call after the end: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the end: %v", err)
	}

	for _, addr := range []string{"example.com:80", "10.1.2.3:80", "192.168.0.1:8080", "[2001:db8::1]:80", "localhost"} {
		if _, err := Dial(ctx, addr, nil, nil); err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("Dial %s: %v, want a refusal naming it", addr, err)
		}
	}
}

// TestDialExplainsARefusal: a hub that is full is an error with its
// status and reason.
func TestDialExplainsARefusal(t *testing.T) {
	s := startHub(t, Options{MaxClients: 1})
	mustDial(t, s.addr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := Dial(ctx, s.addr, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "Too many") {
		t.Errorf("Dial to a full hub: %v", err)
	}
}

// TestSilentClientsAreDropped: the hub pings; a client that answers
// (any client that reads) stays connected for many read timeouts, one
// that never answers is dropped after the read timeout.
func TestSilentClientsAreDropped(t *testing.T) {
	const read = 300 * time.Millisecond
	s := startHub(t, Options{}, func(h *Hub) { h.timing = wsrpc.KeepAlive{Ping: 50 * time.Millisecond, Read: read, Write: time.Second} })
	alive, err := Dial(context.Background(), s.addr, []string{TopicRoutes}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alive.Close()
	mustDial(t, s.addr, nil) // never reads, so never answers a ping
	// The hub counts a client once its side of the upgrade is done, which
	// may be just after the dialler's.
	eventually(t, "both clients are counted", func() bool { return s.hub.Clients() == 2 })
	start := time.Now()
	eventually(t, "the silent client is dropped", func() bool { return s.hub.Clients() == 1 })
	if d := time.Since(start); d < read/2 {
		t.Errorf("the silent client was dropped after %v, before the read timeout (%v)", d, read)
	}
	time.Sleep(3 * read) // the answering client outlives several read timeouts
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := alive.Call(ctx, MethodSubscribe, TopicsParams{Topics: []string{}}, nil); err != nil {
		t.Errorf("the answering client after %v: %v", 3*read, err)
	}
	select {
	case <-alive.Done():
		t.Error("the answering client was dropped")
	default:
	}
}

// TestTooManyWaitingMethodsDropTheClient: while a client's writer is
// stuck, notifications of more than MaxQueued different methods close
// it with 1008, and Publish does not wait for it.
func TestTooManyWaitingMethodsDropTheClient(t *testing.T) {
	s := startHub(t, Options{})
	ws := mustDial(t, s.addr, nil)
	subscribe(t, ws, TopicMetrics)
	var c *client
	s.hub.mu.Lock()
	for x := range s.hub.clients {
		c = x
	}
	s.hub.mu.Unlock()
	c.stream.wmu.Lock() // the writer is stuck from here on
	start := time.Now()
	for i := range MaxQueued + 2 {
		s.hub.Publish(TopicMetrics, fmt.Sprintf("devproxy/metric%d", i), i)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Publish took %v", d)
	}
	if code := closeCode(t, ws); code != websocket.ClosePolicyViolation {
		t.Errorf("closed with %d, want 1008", code)
	}
	c.stream.wmu.Unlock()
	eventually(t, "the hub forgot the client", func() bool { return s.hub.Clients() == 0 })
}

// TestNotifyTheCaller: a method that streams tells its caller, and only
// its caller, in order and before its result; outside a method Notify
// fails.
func TestNotifyTheCaller(t *testing.T) {
	s := startHub(t, Options{Methods: map[string]Method{
		"devproxy/count": func(ctx context.Context, _ json.RawMessage) (any, error) {
			for i := range 50 {
				if err := Notify(ctx, "devproxy/tick", map[string]int{"n": i}); err != nil {
					return nil, err
				}
			}
			return "done", nil
		},
	}})
	ws := mustDial(t, s.addr, nil)
	other := mustDial(t, s.addr, nil)
	subscribe(t, other, TopicRoutes)
	request(t, ws, 1, "devproxy/count", nil)
	for i := range 50 {
		m := read(t, ws)
		var p struct{ N int }
		json.Unmarshal(m["params"], &p)
		if string(m["method"]) != `"devproxy/tick"` || p.N != i {
			t.Fatalf("notification %d: %s", i, show(m))
		}
	}
	if m := read(t, ws); string(m["result"]) != `"done"` {
		t.Fatalf("after the ticks: %s", show(m))
	}
	// The other client heard nothing of it.
	s.hub.Publish(TopicRoutes, "devproxy/routesChanged", map[string]int{"v": 1})
	if m := read(t, other); string(m["method"]) != `"devproxy/routesChanged"` {
		t.Errorf("the other client got %s", show(m))
	}
	if Notify(context.Background(), "devproxy/tick", nil) == nil {
		t.Error("Notify outside a method's request succeeded")
	}
}
