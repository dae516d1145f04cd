package lsp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/calliope"
)

// proxyHost runs this window's part of the proxy on the configured port
// (proxy/node): it serves the proxy (the same as `devproxy serve`) when no
// other devproxy holds the port, or joins the one that does and registers
// the editor's folders there. Either way the folders every other process
// registered are added to the workspace (setJoined), so that conflicts
// across windows show here. The proxy serves the workspace's served
// tables: what is saved on disk.
type proxyHost struct {
	s *Server

	applyMu sync.Mutex // one apply at a time

	mu      sync.Mutex
	status  ProxyStatus
	serving hostKey // what the running node was started with
	node    *node.Node
	cancel  context.CancelFunc
	done    chan struct{}
	idle    bool // the last apply found no route files here
	leaving bool // the session ends: the port went to a keeper
	// moving is the address the running node is to move to, since when
	// it has been asked for, and the timer that applies it once it has
	// stayed the same for Options.ListenSettle (settled).
	moving      hostKey
	movingSince time.Time
	settleTimer *time.Timer
}

// hostKey is what a running node depends on; a change restarts it.
type hostKey struct{ listen, tunnel string }

func (h *proxyHost) current() ProxyStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

func (h *proxyHost) setStatus(st ProxyStatus) {
	if st.Folders == nil {
		st.Folders = []ProxyFolder{}
	}
	h.mu.Lock()
	same := statusEqual(h.status, st)
	h.status = st
	h.mu.Unlock()
	if same {
		return
	}
	switch st.State {
	case "running", "joined", "starting":
		h.s.log.Info("proxy "+st.State, "address", st.Address, "folders", len(st.Folders))
	case "disabled", "idle":
		h.s.log.Info("proxy "+st.State, "message", st.Message)
	default:
		h.s.log.Warn("proxy not running here", "state", st.State, "address", st.Address, "message", st.Message)
	}
	h.s.notify("devproxy/status", st)
}

func statusEqual(a, b ProxyStatus) bool {
	return a.State == b.State && a.Address == b.Address && a.URL == b.URL && a.Message == b.Message &&
		a.Role == b.Role && slices.Equal(a.Folders, b.Folders) && ((a.Owner == nil) == (b.Owner == nil)) &&
		(a.Owner == nil || *a.Owner == *b.Owner)
}

// apply brings the proxy in line with the current settings and folders:
// it starts the node, restarts it on another address, stops it, or, when
// it already runs as configured, only tells it the folders (clients send
// configuration changes often). It runs off the read loop.
func (h *proxyHost) apply() {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	s := h.s
	s.mu.Lock()
	settings, down := s.settings, s.shutdown
	s.mu.Unlock()
	if down {
		return
	}
	table := s.snap.Load().table
	key := hostKey{table.Config.Listen, table.Config.Tunnel.Listen}
	folders := h.ownFolders(settings)
	switch {
	case s.opts.DisableProxy || !settings.proxyEnabled():
		h.stop()
		h.setStatus(ProxyStatus{State: "disabled", Address: key.listen, Message: "The proxy is off (devproxy.proxy.enabled is false); editor features keep working."})
		return
	case !s.hasRouteFiles(table):
		h.stop()
		h.mu.Lock()
		h.idle = true
		h.mu.Unlock()
		h.setStatus(ProxyStatus{State: "idle", Address: key.listen,
			Message: "This window has no route files (apps/*.conf, overrides/*.conf) and no devproxy.json, so it starts no proxy and joins none. Create a route file to serve an app."})
		return
	}
	if err := validAddresses(key); err != nil {
		h.stopSettling()
		st := h.current()
		if h.running() {
			st.Message = err.Error() + "; the proxy stays on " + st.Address + "."
		} else {
			st = ProxyStatus{State: "error", Address: key.listen, Message: err.Error() + "."}
		}
		h.setStatus(st)
		return
	}
	h.mu.Lock()
	h.idle = false
	running := h.node != nil && h.serving == key
	move := h.node != nil && h.serving != key
	n := h.node
	h.mu.Unlock()
	if !move {
		h.stopSettling()
	} else if !h.settled(key) {
		return
	}
	if running {
		ctx, cancel := s.outbound()
		defer cancel()
		if err := n.SetFolders(ctx, folders); err != nil {
			s.log.Warn("cannot register the folders with the proxy", "err", err)
		}
		return
	}
	h.stop()
	dir, err := join.StateDir()
	token := ""
	if err == nil {
		token, err = join.LoadOrCreateToken(dir)
	}
	if err != nil {
		h.setStatus(ProxyStatus{State: "error", Address: key.listen, Message: "The proxy cannot start: " + err.Error()})
		return
	}
	self := join.Client{PID: os.Getpid(), Kind: join.KindVSCode, Name: filepath.Base(s.root)}
	healthOpts, err := node.HealthFor(s.root, table.Config, "")
	if err != nil {
		// Health then lives in memory only; the proxy still serves.
		s.log.Warn("the health store cannot be used", "err", err)
		healthOpts = node.HealthOptions{}
	}
	n = node.New(node.Options{
		Workspace: s.ws,
		Serve:     httpproxy.ServeOptions{Listen: key.listen, TunnelListen: key.tunnel, Log: s.log},
		Token:     token,
		Client:    self,
		Folders:   folders,
		Log:       s.log,
		OnOthers:  s.setJoined,
		OnState: func(st node.State) {
			h.setStatus(h.statusOf(st, self))
			h.reclaim(st)
		},
		Health:   healthOpts,
		OnHealth: h.healthChanged,
		OnTunnel: h.tunnelChanged,
		// Other clients of the proxy (scripts, the dashboard) chat with
		// this window's Calliope over /devproxy/ws.
		Methods: map[string]live.Method{"devproxy/chat": calliope.HubChat(s.assistant)},
	})
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	h.mu.Lock()
	h.node, h.cancel, h.done, h.serving = n, cancel, done, key
	h.mu.Unlock()
	h.setStatus(ProxyStatus{State: "starting", Address: key.listen, Message: "Starting the proxy on " + key.listen + "."})
	go func() {
		defer close(done)
		if err := n.Run(ctx); err != nil {
			h.setStatus(ProxyStatus{State: "error", Address: key.listen, Message: "The proxy could not start: " + err.Error()})
		}
	}()
}

// validAddresses says why the listen or the tunnel address is not one the
// proxy can listen on, or nil.
func validAddresses(key hostKey) error {
	if _, err := routing.ListenAddress(key.listen); err != nil {
		return fmt.Errorf("the listen address %q (devproxy.listen) is not host:port: %v", key.listen, err)
	}
	if _, err := routing.ListenAddress(key.tunnel); err != nil {
		return fmt.Errorf("the tunnel address %q (devproxy.tunnel.listen) is not host:port: %v", key.tunnel, err)
	}
	return nil
}

// settled reports whether a move of the running node to key may happen
// now: key has been asked for, unchanged, for Options.ListenSettle. If not,
// apply runs again when it has.
func (h *proxyHost) settled(key hostKey) bool {
	delay := h.s.opts.ListenSettle
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.moving != key || h.movingSince.IsZero() {
		h.moving, h.movingSince = key, time.Now()
	}
	wait := delay - time.Since(h.movingSince)
	if h.settleTimer != nil {
		h.settleTimer.Stop()
		h.settleTimer = nil
	}
	if wait <= 0 {
		h.movingSince = time.Time{}
		return true
	}
	h.settleTimer = time.AfterFunc(wait, func() {
		if h.s.ctx.Err() == nil {
			h.apply()
		}
	})
	return false
}

// stopSettling forgets a move that is no longer asked for.
func (h *proxyHost) stopSettling() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.settleTimer != nil {
		h.settleTimer.Stop()
		h.settleTimer = nil
	}
	h.moving, h.movingSince = hostKey{}, time.Time{}
}

func (h *proxyHost) running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.node != nil
}

// ownFolders are the editor's folders as the node registers them.
func (h *proxyHost) ownFolders(settings Settings) []join.FolderReg {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	out := make([]join.FolderReg, len(h.s.folders))
	for i, root := range h.s.folders {
		out[i] = join.FolderReg{Root: root, Apps: settings.Apps, Overrides: settings.Overrides, Environment: settings.Environment}
	}
	return out
}

// hasRouteFiles reports whether the editor's own folders hold a route
// file or a devproxy.json: a window without either starts no proxy.
func (s *Server) hasRouteFiles(t *routing.RouteTable) bool {
	for _, f := range t.Files {
		if s.ownFolder(t, f.Path) {
			return true
		}
	}
	s.mu.Lock()
	roots := slices.Clone(s.folders)
	s.mu.Unlock()
	for _, root := range roots {
		if _, err := os.Stat(filepath.Join(root, routing.ConfigFile)); err == nil {
			return true
		}
	}
	return false
}

// tableChanged starts the proxy when the first route file appears in an
// idle window, and stops it when the last one goes.
func (h *proxyHost) tableChanged(t *routing.RouteTable) {
	h.mu.Lock()
	idle, running := h.idle, h.node != nil
	h.mu.Unlock()
	has := h.s.hasRouteFiles(t)
	if (idle && has) || (running && !has) {
		go h.apply()
	}
}

// statusOf turns the node's state into devproxy/status.
func (h *proxyHost) statusOf(st node.State, self join.Client) ProxyStatus {
	out := ProxyStatus{Address: st.Addr, Folders: h.foldersOf(st.Members, self)}
	if st.Role == node.Owner || st.Role == node.Member {
		o := st.Members.Owner
		owner := &ProxyOwner{PID: o.PID, Kind: string(o.Kind), Name: o.Name}
		if len(o.Folders) > 0 {
			owner.Root = o.Folders[0].Root
		}
		out.Owner, out.URL = owner, "http://"+st.Addr
	}
	switch st.Role {
	case node.Owner:
		out.State, out.Role = "running", "owner"
		out.Message = fmt.Sprintf("Serving %s on http://%s; tunnel agents connect to %s.", countFolders(len(out.Folders)), st.Addr, st.TunnelAddr)
	case node.Member:
		out.State, out.Role = "joined", "member"
		out.Message = fmt.Sprintf("Another devproxy (%s, pid %d) holds http://%s and serves this window's folders too.", out.Owner.Name, out.Owner.PID, st.Addr)
	case node.Starting:
		out.State, out.Message = "starting", "Starting the proxy on "+st.Addr+"."
	case node.Blocked:
		// Held by another program (the node keeps trying); an error it
		// cannot wait out ends Run, which apply reports as "error".
		out.State, out.Message = "port-in-use", "The proxy cannot start: "+errText(st.Err)
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

func countFolders(n int) string {
	if n == 1 {
		return "1 folder"
	}
	return fmt.Sprintf("%d folders", n)
}

// foldersOf lists every folder on the port, the owner's first, with the
// labels this window's table gives them.
func (h *proxyHost) foldersOf(m join.Members, self join.Client) []ProxyFolder {
	t := h.s.snap.Load().table
	label := func(root string) string {
		for _, f := range t.Folders {
			if f.Root == root {
				return f.Label
			}
		}
		return filepath.Base(root)
	}
	out := []ProxyFolder{}
	add := func(c join.Client, folders []join.FolderReg) {
		for _, f := range folders {
			out = append(out, ProxyFolder{Root: f.Root, Label: label(f.Root), Mine: c == self, PID: c.PID, Kind: string(c.Kind)})
		}
	}
	if m.Owner.PID != 0 {
		add(m.Owner.Client, m.Owner.Folders)
	}
	for _, mi := range m.Members {
		add(mi.Client, mi.Folders)
	}
	return out
}

// takeOver asks the owner of the port to stop, and waits (a little) for
// this window's proxy to hold the port.
func (h *proxyHost) takeOver(ctx context.Context) TakeOverResult {
	h.mu.Lock()
	n := h.node
	h.mu.Unlock()
	if n == nil {
		return TakeOverResult{Message: "This window runs no proxy: " + h.current().Message}
	}
	switch n.State().Role {
	case node.Owner:
		return TakeOverResult{OK: true, Message: "This window already serves the proxy on " + n.State().Addr + "."}
	case node.Member:
	default:
		return TakeOverResult{Message: "This window has not joined a proxy: " + h.current().Message}
	}
	if err := n.TakeOver(ctx); err != nil {
		return TakeOverResult{Message: "The devproxy that holds the port did not stop: " + err.Error()}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st := n.State(); st.Role == node.Owner {
			return TakeOverResult{OK: true, Message: "This window serves the proxy on http://" + st.Addr + " now; the previous owner joined it."}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return TakeOverResult{Message: "The previous owner stopped, but another devproxy took the port first: " + h.current().Message}
}

// reclaim takes the port from a keeper (server/cli/keeper.go): a window
// reloaded, and the keeper held the port meanwhile. A window serves the
// port better than a keeper, which stays a member holding the reloading
// window's folders until it is back.
func (h *proxyHost) reclaim(st node.State) {
	if st.Role != node.Member || st.Members.Owner.Name != join.KeeperName || st.Members.Owner.Kind != join.KindServe {
		return
	}
	h.mu.Lock()
	n, leaving := h.node, h.leaving
	h.mu.Unlock()
	if n == nil || leaving {
		return // this window handed the port to the keeper on its way out
	}
	go func() {
		ctx, cancel := context.WithTimeout(h.s.ctx, 5*time.Second)
		defer cancel()
		if err := n.TakeOver(ctx); err != nil {
			h.s.log.Warn("cannot take the port back from the keeper", "err", err)
			return
		}
		h.s.log.Info("took the port back from the keeper", "keeper_pid", st.Members.Owner.PID)
	}()
}

// handOffWait bounds how long a session that ends waits for the keeper to
// take the port: the editor kills the process 2 s after asking it to
// exit.
const handOffWait = 1500 * time.Millisecond

// handOff, when this process serves the proxy, starts the keeper
// (Options.Keeper) and waits until it has taken the port, so that a window
// that reloads leaves no gap in the proxy. The node is a member of the
// keeper afterwards; stop then leaves.
func (h *proxyHost) handOff() {
	h.mu.Lock()
	n := h.node
	h.mu.Unlock()
	if h.s.opts.Keeper == nil || n == nil {
		return
	}
	st := n.State()
	if st.Role != node.Owner {
		return
	}
	h.mu.Lock()
	h.leaving = true
	h.mu.Unlock()
	h.s.mu.Lock()
	settings := h.s.settings
	h.s.mu.Unlock()
	listeners, err := n.ListenerFiles()
	if err != nil {
		h.s.log.Warn("cannot hand the listening sockets over; the keeper binds the port instead", "err", err)
	}
	err = h.s.opts.Keeper(st.Addr, st.TunnelAddr, h.ownFolders(settings), listeners)
	for _, f := range listeners {
		f.Close()
	}
	if err != nil {
		h.s.log.Warn("cannot start the keeper; the proxy stops with this window", "err", err)
		return
	}
	deadline := time.Now().Add(handOffWait)
	for time.Now().Before(deadline) && n.State().Role == node.Owner {
		time.Sleep(10 * time.Millisecond)
	}
	h.s.log.Info("handed the port over to the keeper", "address", st.Addr, "role_now", n.State().Role)
}

func (h *proxyHost) stop() {
	h.stopSettling()
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.node, h.cancel, h.done = nil, nil, nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		h.s.setJoined(nil)
	}
}
