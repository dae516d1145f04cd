package httpproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/gorilla/websocket"
)

// TestReloadUnderLoad is spec §8 under pressure: wrk-style load on 64
// keep-alive connections plus 20 open WebSockets while one route file is
// rewritten every 200 ms — adding and removing locations, changing its
// upstream, and now and then breaking its syntax. No request may fail, no
// WebSocket may drop, the two stable files must serve throughout (§4: a
// broken file never takes down another file's routes; it keeps serving its
// last good version, marked stale), and every answer for the churning
// file's paths must come from one whole version of it, never a mix.
//
// It runs 60 s; DEVPROXY_RELOAD_LOAD_SECONDS overrides that, and -short
// runs 5 s.
func TestReloadUnderLoad(t *testing.T) {
	duration := loadDuration(t)
	const (
		workers        = 64
		sockets        = 20
		rewriteEvery   = 200 * time.Millisecond
		wsEvery        = 100 * time.Millisecond
		requestTimeout = 10 * time.Second
		// A bound on the work, whatever the machine's speed.
		maxRequestsPerWorker = 1 << 20
	)

	echo := echoUpstream(t)
	churnB := named(t, "churn-b", nil, nil)
	churnC := named(t, "churn-c", nil, nil)
	wsUp := wsEchoUpstream(t, "")

	stable := map[string]string{
		"apps/echo.conf":   fmt.Sprintf("location /echo/ { proxy_pass http://%s/; }\nlocation /ws/ { proxy_pass http://%s/; }\n", echo, wsUp),
		"apps/static.conf": `location /ret/ { return 200 "ret $uri"; }` + "\n",
	}
	// The versions of apps/churn.conf. Every answer for /churn/... must
	// be one of these versions' answers.
	churnStates := []churnState{
		{name: "A", content: fmt.Sprintf(`
location /churn/ { return 200 "churn-a"; }
location /churn/extra/ { proxy_pass http://%s/; }
location /churn-ws/ { proxy_pass http://%s/; }
`, echo, wsUp)},
		{name: "B", content: fmt.Sprintf("location /churn/ { proxy_pass http://%s; }\n", churnB)},
		{name: "C", content: fmt.Sprintf("location /churn/ { proxy_pass http://%s; }\nlocation = /churn/exact { return 200 \"churn-c-exact\"; }\n", churnC)},
		{name: "broken", content: "location /churn/ { return 200 \"churn-broken\";\nlocation /churn/extra/ { return 200 \"nope\"; }\n"},
		{name: "empty", content: "# no routes while the app is being rebuilt\n"},
	}
	// The order the writer cycles through: A, B and C alternate, with a
	// broken and an empty version now and then.
	schedule := []int{0, 1, 2, 0, 3, 1, 2, 4, 1, 0, 2, 3}
	validTables := map[string]string{} // churn signature -> state name
	for _, st := range churnStates {
		sig, _ := churnSignatureOf(tableFor(t, stable, st.content))
		validTables[sig] = st.name
	}
	// Spec §4: the broken version contributes nothing of its own (read
	// first, it has no good version to serve; later, the served table
	// serves the version before it, one of the others).
	if sig, _ := churnSignatureOf(tableFor(t, stable, churnStates[3].content)); sig != "parsed=false" {
		t.Fatalf("the broken version of apps/churn.conf contributes %q, want nothing", sig)
	}
	const finalContent = `location /churn/ { return 200 "churn-final"; }` + "\n"
	finalSig, _ := churnSignatureOf(tableFor(t, stable, finalContent))
	validTables[finalSig] = "final" // written once the load is over

	files := map[string]string{"apps/churn.conf": churnStates[0].content}
	for k, v := range stable {
		files[k] = v
	}
	var (
		reloads     atomic.Int64
		tableIssues = &issueLog{}
		latest      = make(chan *routing.RouteTable, 1)
	)
	r := startServe(t, files, func(o *ServeOptions) {
		o.OnReload = func(tbl *routing.RouteTable) {
			reloads.Add(1)
			if msg := checkLoadTable(tbl, validTables); msg != "" {
				tableIssues.add("table", msg)
			}
			// Keep only the newest table for the final check.
			for {
				select {
				case latest <- tbl:
					return
				default:
					select {
					case <-latest:
					default:
					}
				}
			}
		}
	})
	if msg := checkLoadTable(r.proxy.Table(), validTables); msg != "" {
		t.Fatalf("the first table: %s", msg)
	}

	// The WebSockets open first, while apps/churn.conf (version A) has
	// /churn-ws/: the ten through it must survive that location coming and
	// going, as they keep the table they started with.
	wsBase := "ws" + strings.TrimPrefix(r.addr, "http")
	conns := make([]*websocket.Conn, sockets)
	for i := range conns {
		path := "/ws/"
		if i%2 == 1 {
			path = "/churn-ws/"
		}
		d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
		c, resp, err := d.Dial(wsBase+path+strconv.Itoa(i), nil)
		if err != nil {
			t.Fatalf("WebSocket %d through %s: %v (%v)", i, path, err, resp)
		}
		conns[i] = c
		defer c.Close()
	}

	issues := &issueLog{}
	var (
		requests    atomic.Int64
		wsMessages  atomic.Int64
		writes      atomic.Int64
		maxLatency  atomic.Int64 // nanoseconds
		churnSeen   sync.Map     // answer kind -> *atomic.Int64
		stopWriting = make(chan struct{})
		wg          sync.WaitGroup
	)
	countChurn := func(kind string) {
		v, _ := churnSeen.LoadOrStore(kind, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	deadline := time.Now().Add(duration)

	// The churn: rewrite apps/churn.conf every 200 ms. Most saves are in
	// place (as VS Code saves); every seventh is an atomic rename (as vim
	// and many tools save).
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		tick := time.NewTicker(rewriteEvery)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-stopWriting:
				return
			case <-tick.C:
			}
			st := churnStates[schedule[n%len(schedule)]]
			if err := saveRouteFile(r.root, "apps/churn.conf", st.content, n%7 == 0); err != nil {
				issues.add("writer", err.Error())
				return
			}
			writes.Add(1)
		}
	}()

	// The WebSockets: each exchanges a message every 100 ms for the
	// whole run; any error is a dropped socket.
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(wsEvery)
			defer tick.Stop()
			for n := 0; time.Now().Before(deadline); n++ {
				msg := fmt.Sprintf("socket %d message %d", i, n)
				c.SetWriteDeadline(time.Now().Add(requestTimeout))
				if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
					issues.add("websocket dropped", fmt.Sprintf("socket %d writing message %d: %v", i, n, err))
					return
				}
				c.SetReadDeadline(time.Now().Add(requestTimeout))
				_, got, err := c.ReadMessage()
				if err != nil {
					issues.add("websocket dropped", fmt.Sprintf("socket %d reading message %d: %v", i, n, err))
					return
				}
				if string(got) != msg {
					issues.add("websocket wrong message", fmt.Sprintf("socket %d: sent %q, got %q", i, msg, got))
					return
				}
				wsMessages.Add(1)
				<-tick.C
			}
			c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		}()
	}

	// The load: 64 workers, each with its own keep-alive connection.
	body := bytes.Repeat([]byte("b"), 512)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableKeepAlives: false}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: requestTimeout}
			for i := 0; i < maxRequestsPerWorker && time.Now().Before(deadline); i++ {
				var (
					method = http.MethodGet
					path   string
					check  func(status int, ct, body string) string
				)
				id := fmt.Sprintf("w%d/%d", w, i)
				switch i % 8 {
				case 0, 1, 2:
					path = "/echo/" + id + "?n=" + strconv.Itoa(i)
					check = wantEcho(http.MethodGet, "/"+id+"?n="+strconv.Itoa(i), 0)
				case 3:
					method, path = http.MethodPost, "/echo/"+id
					check = wantEcho(http.MethodPost, "/"+id, int64(len(body)))
				case 4, 5:
					path = "/ret/" + id
					check = wantText("ret /ret/" + id)
				case 6:
					path = "/churn/" + id
					check = wantChurn(countChurn, map[string]string{"churn-a": "A", "churn-b": "B", "churn-c": "C"}, "")
				default:
					if i%16 == 7 {
						path = "/churn/extra/" + id
						check = wantChurn(countChurn, map[string]string{"churn-b": "B", "churn-c": "C"}, "/"+id)
					} else {
						path = "/churn/exact"
						check = wantChurn(countChurn, map[string]string{"churn-a": "A", "churn-b": "B", "churn-c-exact": "C"}, "")
					}
				}
				var rb io.Reader
				if method == http.MethodPost {
					rb = bytes.NewReader(body)
				}
				req, err := http.NewRequest(method, r.addr+path, rb)
				if err != nil {
					issues.add("request", err.Error())
					return
				}
				start := time.Now()
				resp, err := client.Do(req)
				requests.Add(1)
				if err != nil {
					issues.add("transport error", fmt.Sprintf("%s %s: %v", method, path, err))
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if took := int64(time.Since(start)); took > maxLatency.Load() {
					maxLatency.Store(took) // approximate: racing stores only lose a near-maximum
				}
				switch {
				case err != nil:
					issues.add("body cut short", fmt.Sprintf("%s %s: %v", method, path, err))
				case resp.StatusCode >= 500:
					issues.add("5xx", fmt.Sprintf("%s %s: %d %q", method, path, resp.StatusCode, b))
				default:
					if msg := check(resp.StatusCode, resp.Header.Get("Content-Type"), string(b)); msg != "" {
						issues.add("wrong answer", fmt.Sprintf("%s %s: %s", method, path, msg))
					}
				}
			}
		}()
	}

	wg.Wait()
	close(stopWriting)
	<-writerDone

	// The watcher still works after the storm: a last version is picked
	// up and served.
	if err := saveRouteFile(r.root, "apps/churn.conf", finalContent, false); err != nil {
		t.Fatal(err)
	}
	waitFor := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case tbl := <-latest:
			sig, _ := churnSignatureOf(tbl)
			done = sig == finalSig
		case <-waitFor:
			t.Fatal("the watcher did not pick up the last version of apps/churn.conf")
		}
	}
	if resp, got := r.get(t, "/churn/x"); resp.StatusCode != 200 || got != "churn-final" {
		t.Errorf("after the load, /churn/x: %d %q, want churn-final", resp.StatusCode, got)
	}

	var seenStates []string
	churnSeen.Range(func(k, v any) bool {
		seenStates = append(seenStates, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(seenStates)
	t.Logf("%v of load: %d requests (%.0f/s), %d WebSocket messages on %d sockets, %d route file writes, %d reloads, slowest request %v",
		duration, requests.Load(), float64(requests.Load())/duration.Seconds(), wsMessages.Load(), sockets,
		writes.Load(), reloads.Load(), time.Duration(maxLatency.Load()).Round(time.Millisecond))
	t.Logf("answers for the churning file's paths: %s", strings.Join(seenStates, " "))
	t.Logf("failures by kind: %s", issues.summary())

	issues.report(t)
	tableIssues.report(t)
	if w, n := writes.Load(), reloads.Load(); n < w/2 {
		t.Errorf("%d writes of apps/churn.conf but only %d reloads: the watcher fell behind", w, n)
	}
	if len(seenStates) < 3 {
		t.Errorf("the churning paths answered only %v: the rewrites were not visible", seenStates)
	}
}

// loadDuration is 60 s, DEVPROXY_RELOAD_LOAD_SECONDS when set, 5 s with -short.
func loadDuration(t *testing.T) time.Duration {
	if s := os.Getenv("DEVPROXY_RELOAD_LOAD_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 3600 {
			t.Fatalf("DEVPROXY_RELOAD_LOAD_SECONDS=%q: want whole seconds between 1 and 3600", s)
		}
		return time.Duration(n) * time.Second
	}
	if testing.Short() {
		return 5 * time.Second
	}
	return 60 * time.Second
}

// churnState is one version of the churning route file.
type churnState struct {
	name, content string
}

// saveRouteFile replaces a route file in place, or with atomic by writing a
// hidden temporary file (ignored by the watcher) and renaming it.
func saveRouteFile(root, rel, content string, atomic bool) error {
	p := filepath.Join(root, filepath.FromSlash(rel))
	if !atomic {
		return os.WriteFile(p, []byte(content), 0o644)
	}
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// tableFor builds the table of the stable files plus one churn version, to
// learn what a whole table for that version looks like.
func tableFor(t *testing.T, stable map[string]string, churn string) *routing.RouteTable {
	t.Helper()
	root := t.TempDir()
	for rel, content := range stable {
		writeRouteFile(t, root, rel, content)
	}
	writeRouteFile(t, root, "apps/churn.conf", churn)
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	return ws.Table()
}

// churnSignatureOf describes what apps/churn.conf contributes to a table:
// whether it parsed, and each of its blocks with its upstream and state.
// found is false when the file is not in the table at all.
func churnSignatureOf(tbl *routing.RouteTable) (string, bool) {
	found := false
	var parts []string
	for _, f := range tbl.Files {
		if f.Path == "apps/churn.conf" {
			found = true
			parts = append(parts, fmt.Sprintf("parsed=%v", f.Parsed != nil && f.Parsed.OK))
		}
	}
	for _, b := range tbl.Blocks {
		if b.File.Path == "apps/churn.conf" {
			parts = append(parts, fmt.Sprintf("%s -> %s active=%v", b.Loc.Label(), b.Upstream, b.Active))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "; "), found
}

// checkLoadTable says what is wrong with a table swapped in during the
// load: a stable route that stopped serving, or a version of
// apps/churn.conf that is none of the versions written.
func checkLoadTable(tbl *routing.RouteTable, valid map[string]string) string {
	for path, file := range map[string]string{"/echo/x": "apps/echo.conf", "/ws/x": "apps/echo.conf", "/ret/x": "apps/static.conf"} {
		if b, _ := tbl.Lookup(path); b == nil || b.File.Path != file {
			return fmt.Sprintf("%s is not served by %s", path, file)
		}
	}
	sig, found := churnSignatureOf(tbl)
	if !found {
		return "apps/churn.conf is missing from the table"
	}
	if _, ok := valid[sig]; !ok {
		return fmt.Sprintf("apps/churn.conf contributes %q, which is none of the versions written", sig)
	}
	return ""
}

// wantEcho checks an answer of the echo upstream.
func wantEcho(method, uri string, bodyLen int64) func(int, string, string) string {
	return func(status int, _, body string) string {
		if status != 200 {
			return fmt.Sprintf("status %d %q, want 200 from the echo upstream", status, body)
		}
		var s seen
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			return fmt.Sprintf("%q is not the echo upstream's answer: %v", body, err)
		}
		if s.Method != method || s.URI != uri || s.Body != bodyLen {
			return fmt.Sprintf("the upstream saw %s %s with %d body bytes, want %s %s with %d", s.Method, s.URI, s.Body, method, uri, bodyLen)
		}
		return ""
	}
}

// wantText checks an exact 200 answer.
func wantText(want string) func(int, string, string) string {
	return func(status int, _, body string) string {
		if status != 200 || body != want {
			return fmt.Sprintf("%d %q, want 200 %q", status, body, want)
		}
		return ""
	}
}

// wantChurn accepts the answer of any whole version of apps/churn.conf:
// one of texts, the echo upstream having seen echoURI (version A's
// /churn/extra/), or devproxy's 404 (the empty version, or a broken one
// written before any version parsed or after the empty one, which names
// the broken file).
func wantChurn(count func(string), texts map[string]string, echoURI string) func(int, string, string) string {
	return func(status int, ct, body string) string {
		switch {
		case status == 200 && texts[body] != "":
			count(texts[body])
			return ""
		case status == 200 && echoURI != "":
			var s seen
			if err := json.Unmarshal([]byte(body), &s); err == nil && s.URI == echoURI {
				count("A")
				return ""
			}
		case status == 404 && ct == "application/json" && strings.Contains(body, `"status":404`) &&
			(strings.Contains(body, "No route matches") || strings.Contains(body, "apps/churn.conf:1 would take /churn")):
			// The empty version, or the broken one while the empty one
			// serves: the 404 then names the broken file's location.
			count("no route")
			return ""
		}
		return fmt.Sprintf("%d %q is the answer of no version of apps/churn.conf", status, body)
	}
}

// issueLog counts failures by kind and keeps the first few of each.
type issueLog struct {
	mu     sync.Mutex
	counts map[string]int
	first  map[string][]string
}

func (l *issueLog) add(kind, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts, l.first = map[string]int{}, map[string][]string{}
	}
	l.counts[kind]++
	if len(l.first[kind]) < 5 {
		l.first[kind] = append(l.first[kind], msg)
	}
}

func (l *issueLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.counts) == 0 {
		return "none"
	}
	var parts []string
	for k, n := range l.counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// report fails the test with every kind of failure and its first examples.
func (l *issueLog) report(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	kinds := make([]string, 0, len(l.counts))
	for k := range l.counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		t.Errorf("%d × %s, first: %s", l.counts[k], k, strings.Join(l.first[k], " | "))
	}
}
