package join

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
)

// TestMembersJoinUpdateAndLeave: a member registers and gets the owner
// and itself; a second joins and both hear of it; an update replaces a
// member's folders; a member that leaves takes its folders with it.
func TestMembersJoinUpdateAndLeave(t *testing.T) {
	s := startOwner(t)
	fa := folder(t)
	a := s.join(t, "a", fa)
	got := a.Members()
	if got.Owner.Name != "owner" || got.Owner.Kind != KindServe || got.Owner.PID != os.Getpid() || len(got.Owner.Folders) != 1 {
		t.Errorf("the owner in a's Members: %s", show(got))
	}
	if names(got) != "a" || !slices.Equal(roots(got, "a"), []string{fa.Root}) || got.Members[0].ID == "" || got.Members[0].Kind != KindVSCode {
		t.Errorf("a's Members: %s", show(got))
	}
	s.waitChange(t, "a registered", func(m Members) bool { return names(m) == "a" })

	fb1, fb2 := folder(t), folder(t)
	b := s.join(t, "b", fb1, fb2)
	if names(b.Members()) != "a,b" {
		t.Errorf("b's Members: %s", show(b.Members()))
	}
	waitMembers(t, "a hears of b", a, func(m Members) bool { return names(m) == "a,b" && len(roots(m, "b")) == 2 })
	s.waitChange(t, "b registered", func(m Members) bool { return names(m) == "a,b" })

	// Update: a's folders are replaced; a's reply and b's notification
	// carry them.
	fa2 := folder(t)
	fa2.Apps = []string{"routes/*.conf"}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := a.Update(ctx, []FolderReg{fa2}); err != nil {
		t.Fatal(err)
	}
	if r := roots(a.Members(), "a"); !slices.Equal(r, []string{fa2.Root}) {
		t.Errorf("after Update, a's own Members say %v", r)
	}
	m := waitMembers(t, "b hears of a's update", b, func(m Members) bool { return slices.Equal(roots(m, "a"), []string{fa2.Root}) })
	if apps := m.Members[0].Folders[0].Apps; !slices.Equal(apps, []string{"routes/*.conf"}) {
		t.Errorf("a's apps patterns became %v", apps)
	}
	s.waitChange(t, "a updated", func(m Members) bool { return slices.Equal(roots(m, "a"), []string{fa2.Root}) })
	// The owner's own folders change: everyone hears.
	fo := folder(t)
	if err := s.owner.SetFolders([]FolderReg{fo}); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, "a hears of the owner's folders", a, func(m Members) bool {
		return len(m.Owner.Folders) == 1 && m.Owner.Folders[0].Root == fo.Root
	})

	// b leaves: its folders go, a and OnChange hear of it.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Done():
	case <-time.After(wait):
		t.Fatal("b's Done did not close after Close")
	}
	waitMembers(t, "a hears b left", a, func(m Members) bool { return names(m) == "a" })
	s.waitChange(t, "b left", func(m Members) bool { return names(m) == "a" })
	if got := s.owner.Members(); names(got) != "a" {
		t.Errorf("owner.Members after b left: %s", show(got))
	}
	if err := b.Update(ctx, nil); !errors.Is(err, ErrOwnerGone) {
		t.Errorf("Update after Close: %v, want ErrOwnerGone", err)
	}
}

// TestRegisterTwiceReplaces: a second register on one connection
// replaces the first, under the same id; update before register is an
// error.
func TestRegisterTwiceReplaces(t *testing.T) {
	s := startOwner(t)
	ws, _, err := dialRaw(t, s.addr, bearer(s.token))
	if err != nil {
		t.Fatal(err)
	}
	f1, f2 := folder(t), folder(t)
	reply, _ := rawCall(t, ws, 1, MethodUpdate, RegisterParams{Client: client("raw"), Folders: []FolderReg{f1}})
	if !strings.Contains(string(reply["error"]), fmt.Sprint(jsonrpc2.CodeInvalidRequest)) {
		t.Errorf("update before register: %s", reply["error"])
	}
	var first, second Members
	reply, _ = rawCall(t, ws, 2, MethodRegister, RegisterParams{Client: client("raw"), Folders: []FolderReg{f1}})
	json.Unmarshal(reply["result"], &first)
	reply, _ = rawCall(t, ws, 3, MethodRegister, RegisterParams{Client: client("raw2"), Folders: []FolderReg{f2}})
	json.Unmarshal(reply["result"], &second)
	if len(second.Members) != 1 || second.Members[0].ID != first.Members[0].ID || second.Members[0].Name != "raw2" ||
		!slices.Equal(roots(second, "raw2"), []string{f2.Root}) {
		t.Errorf("after registering twice: %s (first %s)", show(second), show(first))
	}
	reply, _ = rawCall(t, ws, 4, "devproxy/nonsense", nil)
	if !strings.Contains(string(reply["error"]), fmt.Sprint(jsonrpc2.CodeMethodNotFound)) {
		t.Errorf("an unknown method: %s", reply["error"])
	}
}

// TestInvalidRegistrationsAreRefused: each bad field is an InvalidParams
// error naming it, and nothing is registered.
func TestInvalidRegistrationsAreRefused(t *testing.T) {
	s := startOwner(t)
	good := folder(t)
	file := filepath.Join(good.Root, "file")
	os.WriteFile(file, nil, 0o600)
	many := make([]FolderReg, MaxFolders+1)
	for i := range many {
		many[i] = folder(t)
	}
	cases := []struct {
		name    string
		client  Client
		folders []FolderReg
		field   string
	}{
		{"relative root", client("x"), []FolderReg{{Root: "some/folder"}}, "folders[0].root"},
		{"missing folder", client("x"), []FolderReg{good, {Root: filepath.Join(good.Root, "missing")}}, "folders[1].root"},
		{"a file", client("x"), []FolderReg{{Root: file}}, "folders[0].root"},
		{"unclean root", client("x"), []FolderReg{{Root: good.Root + "/sub/.."}}, "folders[0].root"},
		{"twice the same root", client("x"), []FolderReg{good, good}, "folders[1].root"},
		{"too many folders", client("x"), many, "folders"},
		{"a pattern leaving the root", client("x"), []FolderReg{{Root: good.Root, Apps: []string{"../other/*.conf"}}}, "folders[0].apps[0]"},
		{"an absolute pattern", client("x"), []FolderReg{{Root: good.Root, Overrides: []string{"/etc/*.conf"}}}, "folders[0].overrides[0]"},
		{"an unknown kind", Client{PID: 1, Kind: "emacs", Name: "x"}, nil, "client.kind"},
		{"no pid", Client{Kind: KindServe, Name: "x"}, nil, "client.pid"},
		{"a name with a newline", Client{PID: 1, Kind: KindServe, Name: "a\nb"}, nil, "client.name"},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		m, err := Join(ctx, s.addr, s.token, c.client, c.folders)
		cancel()
		var re *RequestError
		if !errors.As(err, &re) || re.Code != jsonrpc2.CodeInvalidParams || !strings.HasPrefix(re.Message, c.field+": ") {
			t.Errorf("%s: Join gave %v, want InvalidParams naming %s", c.name, err, c.field)
		}
		if m != nil {
			m.Close()
		}
	}
	// Fields the protocol does not know, and missing ones.
	ws, _, err := dialRaw(t, s.addr, bearer(s.token))
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range []string{
		`{"client":{"pid":1,"kind":"serve","name":"x"},"folders":[],"extra":1}`,
		`{"client":{"pid":1,"kind":"serve","name":"x"}}`,
		`{"client":{"pid":1,"kind":"serve"},"folders":[]}`,
		`[1,2]`,
	} {
		reply, _ := rawCall(t, ws, i+1, MethodRegister, json.RawMessage(raw))
		if !strings.Contains(string(reply["error"]), fmt.Sprint(jsonrpc2.CodeInvalidParams)) {
			t.Errorf("register with %s: %s", raw, reply["error"])
		}
	}
	if got := s.owner.Members(); len(got.Members) != 0 {
		t.Errorf("refused registrations were kept: %s", show(got))
	}
	// An owner's own folders are checked as a member's.
	if err := s.owner.SetFolders([]FolderReg{{Root: "relative"}}); err == nil || !strings.Contains(err.Error(), "folders[0].root") {
		t.Errorf("SetFolders with a relative root: %v", err)
	}
}

// TestAtMost32Members: the 33rd registration is refused with an error
// naming the client; one that leaves makes room.
func TestAtMost32Members(t *testing.T) {
	s := startOwner(t)
	var ms []*Membership
	for i := range MaxMembers {
		ms = append(ms, s.join(t, fmt.Sprintf("m%d", i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := Join(ctx, s.addr, s.token, client("one too many"), nil)
	var re *RequestError
	if !errors.As(err, &re) || re.Code != jsonrpc2.CodeInvalidParams || !strings.HasPrefix(re.Message, "client: ") {
		t.Fatalf("the 33rd member: %v", err)
	}
	ms[0].Close()
	s.waitChange(t, "m0 left", func(m Members) bool { return len(m.Members) == MaxMembers-1 && m.Members[0].Name != "m0" })
	s.join(t, "room again")
}

// TestOnlyTheTokenHolderJoins: no token or a wrong one is 401 JSON, an
// Origin header is 403 even with the right token, and Join explains a
// refused token naming the token file.
func TestOnlyTheTokenHolderJoins(t *testing.T) {
	s := startOwner(t)
	upgrade := func(h http.Header) http.Header {
		h.Set("Upgrade", "websocket")
		h.Set("Connection", "Upgrade")
		h.Set("Sec-WebSocket-Version", "13")
		h.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		return h
	}
	wrong := strings.Repeat("0", 64)
	cases := []struct {
		name   string
		header http.Header
		status int
	}{
		{"no token", upgrade(http.Header{}), http.StatusUnauthorized},
		{"a wrong token", upgrade(bearer(wrong)), http.StatusUnauthorized},
		{"a token prefix", upgrade(bearer(s.token[:32])), http.StatusUnauthorized},
		{"another scheme", upgrade(http.Header{"Authorization": {"Basic " + s.token}}), http.StatusUnauthorized},
		{"an Origin with the right token", upgrade(http.Header{"Authorization": {"Bearer " + s.token}, "Origin": {"http://localhost:3000"}}), http.StatusForbidden},
		{"an Origin without a token", upgrade(http.Header{"Origin": {"https://evil.example"}}), http.StatusForbidden},
		{"no upgrade", bearer(s.token), http.StatusBadRequest},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", "http://"+s.addr+Path, nil)
		req.Header = c.header
		resp, err := (&http.Client{Timeout: wait}).Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e wsrpc.ErrorBody
		if resp.StatusCode != c.status || json.Unmarshal(body, &e) != nil || e.Status != c.status ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s, want %d JSON", c.name, resp.StatusCode, body, c.status)
		}
	}
	if got := s.owner.Members(); len(got.Members) != 0 {
		t.Errorf("a refused client registered: %s", show(got))
	}

	dir := t.TempDir()
	t.Setenv("DEVPROXY_STATE_DIR", dir)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := Join(ctx, s.addr, wrong, client("x"), nil)
	var te *TokenError
	if !errors.As(err, &te) || te.Status != http.StatusUnauthorized || !strings.Contains(err.Error(), "token did not match") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "token")) {
		t.Errorf("Join with a wrong token: %v", err)
	}
	// Only loopback: the token is never sent elsewhere.
	if _, err := Join(ctx, "192.0.2.1:8080", s.token, client("x"), nil); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Join to a remote address: %v", err)
	}
}

// TestTheTunnelNeverReachesTheOwner: through the tunnel listener, with
// the right token and a WebSocket upgrade, /devproxy/ws and
// /devproxy/api/... are the proxy's 403 and the owner never sees them.
func TestTheTunnelNeverReachesTheOwner(t *testing.T) {
	var seen atomic.Int32
	s := startOwner(t, func(o *Owner) { o.recvParams = func(string, json.RawMessage) { seen.Add(1) } })
	_, resp, err := dialRaw(t, s.tunnelAddr, bearer(s.token))
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("WebSocket through the tunnel: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "not served through the tunnel") {
		t.Errorf("through the tunnel: %s, want the proxy's own refusal", body)
	}
	for _, p := range []string{Path, "/devproxy/api/x", "/devproxy/api/members"} {
		req, _ := http.NewRequest("GET", "http://"+s.tunnelAddr+p, nil)
		req.Header = bearer(s.token)
		resp, err := (&http.Client{Timeout: wait}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "not served through the tunnel") {
			t.Errorf("%s through the tunnel: %d %s", p, resp.StatusCode, b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := Join(ctx, s.tunnelAddr, s.token, client("x"), nil); err == nil {
		t.Error("Join through the tunnel listener succeeded")
	}
	if seen.Load() != 0 || len(s.owner.Members().Members) != 0 || len(s.changes) != 0 {
		t.Errorf("the owner was reached through the tunnel: %d requests, %s", seen.Load(), show(s.owner.Members()))
	}
}

// TestOwnerShutdownEndsEveryMembership: cancelling the owner's Serve
// closes every member's Done within a second.
func TestOwnerShutdownEndsEveryMembership(t *testing.T) {
	s := startOwner(t)
	var ms []*Membership
	for i := range 3 {
		ms = append(ms, s.join(t, fmt.Sprintf("m%d", i), folder(t)))
	}
	start := time.Now()
	go s.stop()
	for i, m := range ms {
		select {
		case <-m.Done():
		case <-time.After(time.Second - time.Since(start)):
			t.Fatalf("member %d's Done did not close within 1s of the owner's shutdown", i)
		}
	}
}

// TestAskStopCallsOnStop: the owner answers devproxy/stop, then calls
// OnStop.
func TestAskStopCallsOnStop(t *testing.T) {
	s := startOwner(t)
	m := s.join(t, "asker")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := m.AskStop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.stops:
	case <-time.After(wait):
		t.Fatal("OnStop was not called")
	}
}

// TestOversizedMessageClosesOnlyItsConnection: a message over 1 MiB
// closes that connection (and removes its member); the others go on.
func TestOversizedMessageClosesOnlyItsConnection(t *testing.T) {
	s := startOwner(t)
	a := s.join(t, "a")
	ws, _, err := dialRaw(t, s.addr, bearer(s.token))
	if err != nil {
		t.Fatal(err)
	}
	rawCall(t, ws, 1, MethodRegister, RegisterParams{Client: client("big"), Folders: []FolderReg{}})
	waitMembers(t, "a hears of big", a, func(m Members) bool { return names(m) == "a,big" })
	huge := `{"jsonrpc":"2.0","id":2,"method":"devproxy/update","params":"` + strings.Repeat("x", MaxMessage) + `"}`
	ws.SetWriteDeadline(time.Now().Add(wait))
	ws.WriteMessage(websocket.TextMessage, []byte(huge))
	ws.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) && !strings.Contains(err.Error(), "reset") && !errors.Is(err, io.EOF) {
				t.Errorf("the oversized sender's connection ended with %v", err)
			}
			break
		}
	}
	waitMembers(t, "a hears big left", a, func(m Members) bool { return names(m) == "a" })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := a.Update(ctx, []FolderReg{folder(t)}); err != nil {
		t.Errorf("a after the oversized message: %v", err)
	}
	select {
	case <-a.Done():
		t.Error("a's connection ended with the other's")
	default:
	}
}

// TestDeadPeersAreDropped: a peer that stops answering (frozen on the
// network, never closing) is dropped by both sides after the read
// timeout.
func TestDeadPeersAreDropped(t *testing.T) {
	saved := keepAlive
	keepAlive = keepAliveTiming{KeepAlive: wsrpc.KeepAlive{Ping: 50 * time.Millisecond, Read: 300 * time.Millisecond, Write: 300 * time.Millisecond}, register: time.Second}
	t.Cleanup(func() { keepAlive = saved })
	s := startOwner(t)
	r := startRelay(t, s.addr)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := Join(ctx, r.addr, s.token, client("frozen"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s.waitChange(t, "frozen joined", func(m Members) bool { return names(m) == "frozen" })
	// Pings keep a quiet connection alive.
	time.Sleep(600 * time.Millisecond)
	select {
	case <-m.Done():
		t.Fatal("a quiet but live connection was dropped")
	default:
	}
	close(r.freeze)
	select {
	case <-m.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the member did not notice a frozen owner")
	}
	s.waitChange(t, "the owner drops the frozen member", func(m Members) bool { return len(m.Members) == 0 })
}

// TestKilledOwnerEndsTheMembership: when the owner's connection is cut
// (the owner was killed: its kernel closes the socket), Done closes at
// once, long before any ping could be missed.
func TestKilledOwnerEndsTheMembership(t *testing.T) {
	s := startOwner(t)
	r := startRelay(t, s.addr)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := Join(ctx, r.addr, s.token, client("m"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r.cut()
	select {
	case <-m.Done():
	case <-time.After(time.Second):
		t.Fatal("Done did not close within 1s of the connection being cut")
	}
	if err := m.Update(ctx, nil); !errors.Is(err, ErrOwnerGone) {
		t.Errorf("Update after the owner died: %v", err)
	}
	s.waitChange(t, "the owner drops the member", func(m Members) bool { return len(m.Members) == 0 })
}

// TestUnregisteredConnectionsAreClosed: a connection that does not
// register in time is closed, and never counts as a member.
func TestUnregisteredConnectionsAreClosed(t *testing.T) {
	saved := keepAlive
	keepAlive.register = 200 * time.Millisecond
	t.Cleanup(func() { keepAlive = saved })
	s := startOwner(t)
	ws, _, err := dialRaw(t, s.addr, bearer(s.token))
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(wait))
	_, _, err = ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Errorf("a connection that never registered ended with %v, want close 1008", err)
	}
	if len(s.changes) != 0 {
		t.Error("an unregistered connection changed the members")
	}
}

// TestRegisteringAtOnceIsAnnounced: members that register in their first
// message, right after the upgrade, are announced to the others (the
// owner once listed a connection only after its first request).
func TestRegisteringAtOnceIsAnnounced(t *testing.T) {
	s := startOwner(t)
	a := s.join(t, "a")
	want := "a"
	for i := range 10 {
		ws, _, err := dialRaw(t, s.addr, bearer(s.token))
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("r%d", i)
		reply, _ := rawCall(t, ws, 1, MethodRegister, RegisterParams{Client: client(name), Folders: []FolderReg{}})
		var got Members
		json.Unmarshal(reply["result"], &got)
		want += "," + name
		if names(got) != want {
			t.Fatalf("%s's register reply lists %s, want %s", name, names(got), want)
		}
		waitMembers(t, "a hears of "+name, a, func(m Members) bool { return names(m) == want })
	}
}
