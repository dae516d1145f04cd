package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/proxytest"
	"github.com/gorilla/websocket"
)

// The drain timeout the signal tests give `devproxy serve`.
const testDrain = 500 * time.Millisecond

// signalSite is a workspace with every kind of traffic a shutdown can
// meet: quick answers, answers that take far longer than the drain,
// server-sent events and WebSockets.
type signalSite struct {
	root string
}

func newSignalSite(t *testing.T) *signalSite {
	t.Helper()
	quick := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "quick")
	}))
	slow := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	events := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			fmt.Fprint(w, "data: tick\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	var upgrader websocket.Upgrader
	ws := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, m, err := c.ReadMessage()
			if err != nil || c.WriteMessage(mt, m) != nil {
				return
			}
		}
	}))
	root := t.TempDir()
	writeFile(t, root, "apps/site.conf", fmt.Sprintf(`
location /quick/ { proxy_pass http://%s/; }
location /slow/ { proxy_pass http://%s/; }
location /events/ { proxy_pass http://%s/; }
location /ws/ { proxy_pass http://%s/; }
`, quick, slow, events, ws))
	return &signalSite{root: root}
}

func serveHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// serveProcess is `devproxy serve` running as a child process.
type serveProcess struct {
	cmd    *exec.Cmd
	stderr *proxytest.Buffer
	stdout *proxytest.Buffer
	addr   chan string // the local address, once it serves
	exited chan error
}

var servingLine = regexp.MustCompile(`on http://(\S+) `)

func startServeProcess(t *testing.T, root string, extra ...string) *serveProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--root", root, "--listen", "127.0.0.1:0", "--tunnel-listen", "127.0.0.1:0",
		"--drain-timeout", testDrain.String(), "--log-level", "debug"}, extra...)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "DEVPROXY_RUN_MAIN=1")
	p := &serveProcess{cmd: cmd, stderr: &proxytest.Buffer{}, stdout: &proxytest.Buffer{}, addr: make(chan string, 1), exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(p.stdout, sc.Text())
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case p.addr <- m[1]:
				default: // it served before (a member that took the port)
				}
			}
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

func (p *serveProcess) waitReady(t *testing.T) string {
	t.Helper()
	select {
	case a := <-p.addr:
		return a
	case err := <-p.exited:
		t.Fatalf("devproxy serve exited before serving: %v\n%s", err, p.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("devproxy serve did not start\n%s", p.stderr.String())
	}
	return ""
}

// TestServeAlwaysStopsOnSIGTERM sends SIGTERM at random moments (during
// start, during a reload, idle, under load with requests that outlast the
// drain, with open WebSockets and event streams), 100 times in all; every
// time the process must exit within the drain timeout plus one second.
func TestServeAlwaysStopsOnSIGTERM(t *testing.T) {
	site := newSignalSite(t)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed for the random moments: %d", seed)
	scenarios := []string{"start", "idle", "reload", "load", "streams"}
	const runs = 100
	worst := map[string]time.Duration{}
	for i := 0; i < runs; i++ {
		scenario := scenarios[i%len(scenarios)]
		p := startServeProcess(t, site.root)
		var stop func()
		switch scenario {
		case "start":
			time.Sleep(time.Duration(rng.Intn(40)) * time.Millisecond)
		default:
			addr := p.waitReady(t)
			stop = traffic(t, scenario, addr, site.root, i)
			time.Sleep(time.Duration(rng.Intn(60)) * time.Millisecond)
		}
		sent := time.Now()
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
			took := time.Since(sent)
			worst[scenario] = max(worst[scenario], took)
		case <-time.After(testDrain + time.Second):
			t.Fatalf("run %d (%s): devproxy serve still running %v after SIGTERM (drain %v)\n%s",
				i, scenario, testDrain+time.Second, testDrain, p.stderr.String())
		}
		if stop != nil {
			stop()
		}
	}
	t.Logf("slowest exit after SIGTERM per scenario (drain %v): %v", testDrain, worst)
}

// traffic starts the scenario's traffic against addr and returns a
// function that stops it.
func traffic(t *testing.T, scenario, addr, root string, run int) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) {
		if resp, err := client.Get("http://" + addr + path); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	switch scenario {
	case "idle":
		get("/quick/x")
	case "reload":
		writeFile(t, root, "apps/churn.conf", fmt.Sprintf("location /churn%d/ { return 200 %d; }\n", run, run))
	case "load":
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					if w == 0 {
						get("/slow/x") // outlasts the drain
					} else {
						get("/quick/x")
					}
				}
			}()
		}
	case "streams":
		for w := 0; w < 4; w++ {
			c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/x", nil)
			if err != nil {
				continue
			}
			c.WriteMessage(websocket.TextMessage, []byte("hi"))
			c.ReadMessage()
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-done
				c.Close()
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get("http://" + addr + "/events/x")
			if err != nil {
				return
			}
			defer resp.Body.Close()
			go func() { <-done; resp.Body.Close() }()
			io.Copy(io.Discard, resp.Body)
		}()
		time.Sleep(20 * time.Millisecond)
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// TestSecondSignalExitsAtOnce: with a long drain and a request in flight,
// a second signal ends the process without waiting.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	site := newSignalSite(t)
	p := startServeProcess(t, site.root, "--drain-timeout", "30s")
	addr := p.waitReady(t)
	go http.Get("http://" + addr + "/slow/x")
	time.Sleep(100 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-p.exited:
		t.Fatalf("exited on the first signal with a request in flight and a 30s drain: %v", err)
	default:
	}
	sent := time.Now()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		t.Logf("exited %v after the second signal", time.Since(sent).Round(time.Millisecond))
	case <-time.After(time.Second):
		t.Fatalf("still running a second after the second signal\n%s", p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "second signal") {
		t.Errorf("the log does not say why it exited:\n%s", p.stderr.String())
	}
}
