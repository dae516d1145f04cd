// Package node runs one devproxy process's part of the proxy on a port:
// one proxy per port and machine. The process that holds the port owns the
// proxy and serves every registered folder; any other devproxy process on
// the same port joins the owner and registers its own folders
// (proxy/join). When the owner goes away, a member takes the port within a
// moment and serves the folders that are still registered.
//
// A Node does not compose anything itself: it tells its host which folders
// the other processes registered (Options.OnOthers), and the host adds
// them to its workspace, after its own.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/metrics"
	"github.com/devtunnelproxy/devproxy/proxy/monitor"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/tunnel"
)

// Role is what this process does for the port.
type Role string

const (
	Starting Role = "starting" // trying to listen or join
	Owner    Role = "owner"    // it holds the port and serves the proxy
	Member   Role = "member"   // it joined the process that holds the port
	Blocked  Role = "blocked"  // something that is not a devproxy (or another user's) holds the port; retrying
)

// State is a Node's situation, reported on every change.
type State struct {
	Role       Role
	Addr       string // the proxy's address (the owner's listener)
	TunnelAddr string // set when this process owns the port
	// Members is everyone on the port: the owner and the members, the
	// owner first; empty while Starting or Blocked.
	Members join.Members
	// Err is why the port could not be taken or joined (Blocked).
	Err error
}

// Options configure a Node.
type Options struct {
	// Workspace is served while this process owns the port. Its served
	// tables are what the proxy serves.
	Workspace *routing.Workspace
	// Serve carries the proxy's settings: Listen and TunnelListen (both
	// required), timeouts and the log. Workspace, Local and Ready are set
	// by the Node.
	Serve httpproxy.ServeOptions
	// Token is the per-user token (join.LoadOrCreateToken).
	Token  string
	Client join.Client
	// Folders are this process's own folders.
	Folders []join.FolderReg
	// OnOthers receives the folders the other processes on the port
	// registered, in order (the owner's first), every time they change;
	// nil when there are none. The host puts them in its workspace after
	// its own (Watched: no editor reports their file events).
	OnOthers func([]routing.FolderSpec)
	// OnState receives every change of State.
	OnState func(State)
	// Health configures the health monitor the owner runs beside the
	// proxy.
	Health HealthOptions
	// OnHealth receives the routes' health whenever it changes (Health).
	OnHealth func(monitor.Document)
	// Tunnel configures the tunnel the owner runs; OnTunnel receives
	// every change of its state (Tunnel), the owner's in a member.
	Tunnel   TunnelOptions
	OnTunnel func(tunnel.State)
	// Methods are more methods for the live hub at /devproxy/ws while this
	// process owns the port (devproxy/chat); a method may stream to its
	// caller with live.Notify.
	Methods map[string]live.Method
	// Inherited, when set, are the port's listening sockets handed to this
	// process by the one that served them (Inherited).
	Inherited *Inherited
	Log       *slog.Logger
}

// Inherited are the two listening sockets of the port (Serve.Listen and
// Serve.TunnelListen), handed to this process by the one that served
// them: the keeper gets the window's. The node serves them the first time
// it owns the port, instead of binding, so the port never closes between
// the two processes: a connection that arrives meanwhile waits in the
// socket's backlog instead of being refused.
type Inherited struct {
	Listeners [2]net.Listener
	// OwnerGone is closed when the process that handed them over has
	// ended. Until then the node joins it and takes the port over; once it
	// has, the node serves at once.
	OwnerGone <-chan struct{}
}

// Node is one process's part of the proxy on a port.
type Node struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	folders  []join.FolderReg
	state    State
	owner    *join.Owner      // while owning
	member   *join.Membership // while a member
	handOver bool             // the owner was asked to stop: join rather than listen next
	// bound are the listeners a member that asked the owner to stop bound
	// the moment the owner let go (TakeOver); the next own serves them.
	bound [2]net.Listener
	// taking is closed when TakeOver is done binding; Run waits for it
	// rather than bind the port itself at the same time.
	taking chan struct{}
	// inherited are Options.Inherited's listeners until they are served.
	inherited [2]net.Listener
	// listeners are the ones served while owning (ListenerFiles).
	listeners [2]net.Listener
	others    []routing.FolderSpec
	rt        *runtime // while owning
	// remoteHealth is the owner's health while a member, read over
	// remote; nil otherwise.
	remoteHealth *monitor.Document
	remoteTunnel *tunnel.State
	remote       *live.Client
	// metrics counts the requests this process proxies while it owns the
	// port; it outlives a hand-over, so the history stays.
	metrics  *metrics.Registry
	requests atomic.Uint64 // real requests seen, for the traffic events
	errors   errorRing     // the newest failed requests
}

// New prepares a node; Run runs it.
func New(opts Options) *Node {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	n := &Node{opts: opts, log: opts.Log, folders: slices.Clone(opts.Folders), state: State{Role: Starting, Addr: opts.Serve.Listen},
		metrics: metrics.New(metrics.Options{})}
	if opts.Inherited != nil {
		n.inherited = opts.Inherited.Listeners
	}
	return n
}

// inheritedNow returns the inherited listeners, once, when there are
// still some and the process that handed them over is gone or all asked
// to go (handOver: its stop request was answered); nil, nil otherwise.
func (n *Node) inheritedNow(handOver bool) (net.Listener, net.Listener) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.inherited
	if l[0] == nil || !handOver && !closed(n.opts.Inherited.OwnerGone) {
		return nil, nil
	}
	n.inherited = [2]net.Listener{}
	return l[0], l[1]
}

// inheritedReady reports whether the node holds inherited listeners that
// it should serve now: the process that handed them over is gone.
func (n *Node) inheritedReady() bool {
	return n.waitingOnInherited() && closed(n.opts.Inherited.OwnerGone)
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// waitingOnInherited reports whether the node holds inherited listeners
// it does not serve yet.
func (n *Node) waitingOnInherited() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.inherited[0] != nil
}

// retry bounds how long a node waits between two attempts when the port
// is neither free nor joinable.
const (
	retryMin = 200 * time.Millisecond
	retryMax = 3 * time.Second
	// handOverWait is how long a node that was asked to stop tries to
	// join (the asker takes the port) before it listens again itself.
	handOverWait = 2 * time.Second
	// carryGrace is how long a new owner keeps serving the folders of
	// the previous owner's members before they register again.
	carryGrace = 3 * time.Second
)

// Run owns or joins the port until ctx ends, and then returns nil. While
// another process holds the port it keeps trying; an address it can never
// listen on (malformed, privileged) ends it with that error.
func (n *Node) Run(ctx context.Context) error {
	wait := retryMin
	for ctx.Err() == nil {
		n.mu.Lock()
		taking := n.taking
		n.mu.Unlock()
		if taking != nil {
			select {
			case <-taking:
			case <-ctx.Done():
			}
		}
		n.mu.Lock()
		handOver, bound := n.handOver, n.bound
		n.handOver, n.bound, n.taking = false, [2]net.Listener{}, nil
		n.mu.Unlock()
		if handOver {
			if n.joinFor(ctx, handOverWait) {
				wait = retryMin
				continue
			}
			if ctx.Err() != nil {
				break // stopped while handing over: do not take the port back
			}
		}
		if bound[0] == nil {
			// The process that handed its sockets over is gone: serve
			// them now (a join would wait on the sockets' own backlog).
			if bound[0], bound[1] = n.inheritedNow(false); bound[0] != nil {
				n.log.Info("serving the listening sockets the previous owner handed over; it has ended")
			}
		}
		err := n.own(ctx, bound[0], bound[1])
		if err == nil || ctx.Err() != nil {
			wait = retryMin
			continue // stopped on request, or done
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			// Not a matter of waiting (a malformed address, a port
			// that needs privileges): the host says so and stops.
			n.setState(State{Role: Blocked, Addr: n.opts.Serve.Listen, Err: err})
			return err
		}
		jerr := n.member1(ctx)
		if jerr == nil || n.inheritedReady() {
			wait = retryMin
			continue
		}
		n.setState(State{Role: Blocked, Addr: n.opts.Serve.Listen, Err: blockedError(n.opts.Serve.Listen, err, jerr)})
		// Jitter keeps several waiting processes from colliding.
		select {
		case <-ctx.Done():
		case <-time.After(wait + rand.N(wait/2)):
		}
		wait = min(2*wait, retryMax)
	}
	// Listeners a take-over bound, or inherited ones, as the node
	// stopped are not served.
	n.mu.Lock()
	unserved := [][2]net.Listener{n.bound, n.inherited}
	n.bound, n.inherited = [2]net.Listener{}, [2]net.Listener{}
	n.mu.Unlock()
	for _, l := range unserved {
		if l[0] != nil {
			l[0].Close()
			l[1].Close()
		}
	}
	return nil
}

// bindSoon binds the proxy's two listeners the moment the owner that was
// asked to stop has closed its own, trying every millisecond for at most
// d: the port is free for as short a time as the kernel allows. nil, nil
// when it could not (another process was quicker, or d passed).
func (n *Node) bindSoon(ctx context.Context, d time.Duration) (net.Listener, net.Listener) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ln, tln, err := httpproxy.ListenBoth(n.opts.Serve.Listen, n.opts.Serve.TunnelListen)
		if err == nil {
			return ln, tln
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil
		}
		time.Sleep(time.Millisecond)
	}
	return nil, nil
}

// joinFor tries to join for at most d; true when it was a member (and the
// membership has ended since).
func (n *Node) joinFor(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if n.member1(ctx) == nil {
			return true
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// blockedError says why the port can be neither served nor joined, from
// the error of listening and the error of joining.
func blockedError(addr string, listenErr, joinErr error) error {
	var te *join.TokenError
	switch {
	case errors.As(joinErr, &te):
		return fmt.Errorf("another devproxy serves %s but refused this one: %w", addr, joinErr)
	case errors.Is(joinErr, syscall.ECONNREFUSED):
		// Nothing listens on the proxy's address: the port in use is
		// the tunnel's, which listenErr names with its setting.
		return listenErr
	}
	return fmt.Errorf("port %s is held by another program, so the proxy cannot start; change devproxy.listen in the settings (or \"listen\" in devproxy.json), or stop that program", addr)
}

// own serves the proxy while this process holds the port. It returns nil
// when a member asked it to stop (or ctx ended), or the error that kept it
// from listening.
func (n *Node) own(ctx context.Context, ln, tln net.Listener) error {
	if ln == nil {
		var err error
		if ln, tln, err = httpproxy.ListenBoth(n.opts.Serve.Listen, n.opts.Serve.TunnelListen); err != nil {
			return err
		}
	}
	n.mu.Lock()
	folders := slices.Clone(n.folders)
	n.listeners = [2]net.Listener{ln, tln}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.listeners = [2]net.Listener{}
		n.mu.Unlock()
	}()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	// The folders of the members of the previous owner stay served for a
	// moment, while their processes register again with this one: a
	// change of owner loses none of their requests.
	n.mu.Lock()
	carried := n.others
	n.mu.Unlock()
	graceOver := make(chan struct{})
	grace := time.AfterFunc(carryGrace, func() { close(graceOver) })
	defer grace.Stop()
	othersNow := func(m join.Members) []routing.FolderSpec {
		others := othersOf(m, n.opts.Client, true)
		select {
		case <-graceOver:
			return others
		default:
		}
		for _, c := range carried {
			if !slices.ContainsFunc(others, func(o routing.FolderSpec) bool { return o.Root == c.Root }) &&
				!slices.ContainsFunc(m.Owner.Folders, func(f join.FolderReg) bool { return f.Root == c.Root }) {
				others = append(others, c)
			}
		}
		return others
	}
	var handedOver sync.Once
	handed := false
	owner, err := join.NewOwner(join.OwnerConfig{
		Token: n.opts.Token, Client: n.opts.Client, Folders: folders, Log: n.log,
		OnChange: func(m join.Members) {
			n.setOthers(othersNow(m))
			n.update(func(s *State) { s.Members = m })
		},
		// A member's devproxy/stop: hand the port over.
		OnStop: func() {
			handedOver.Do(func() {
				n.mu.Lock()
				n.handOver, handed = true, true
				n.mu.Unlock()
				n.log.Info("another devproxy asked for the port; handing it over")
				stop()
			})
		},
	})
	if err != nil {
		ln.Close()
		tln.Close()
		return err
	}
	defer owner.Close()
	n.mu.Lock()
	n.owner = owner
	n.mu.Unlock()
	n.setOthers(othersNow(owner.Members()))
	go func() {
		select {
		case <-graceOver:
			n.setOthers(othersOf(owner.Members(), n.opts.Client, true))
		case <-sctx.Done():
		}
	}()
	defer func() {
		n.mu.Lock()
		n.owner = nil
		n.mu.Unlock()
	}()
	rt := newRuntime(n)
	n.mu.Lock()
	n.rt = rt
	n.mu.Unlock()
	defer func() {
		rt.stop()
		n.mu.Lock()
		n.rt = nil
		n.mu.Unlock()
		n.healthChanged(n.Health())
	}()
	opts := n.opts.Serve
	opts.Listener, opts.TunnelListener = ln, tln
	opts.Workspace = n.opts.Workspace
	opts.Local = rt.handler(owner.Handler())
	opts.TunnelGate = rt.tunnelGate
	opts.AccessLog = rt.observe(opts.AccessLog)
	opts.Ready = func(info httpproxy.ServeInfo) {
		go rt.start(DialAddr(info.Addr), info.Proxy.ProbeToken())
		rt.startTunnel(DialAddr(info.TunnelAddr)) // quick: a manager starts in the background
		n.setState(State{Role: Owner, Addr: shownAddr(n.opts.Serve.Listen, info.Addr),
			TunnelAddr: shownAddr(n.opts.Serve.TunnelListen, info.TunnelAddr), Members: owner.Members()})
	}
	err = httpproxy.Serve(sctx, opts)
	n.setOthers(nil)
	n.mu.Lock()
	wasHanded := handed
	n.mu.Unlock()
	if err != nil && !wasHanded {
		return err
	}
	n.setState(State{Role: Starting, Addr: n.opts.Serve.Listen})
	return nil
}

// member1 joins the owner of the port and stays a member until the
// owner's connection ends (or ctx). It returns an error when it could not
// join at all.
func (n *Node) member1(ctx context.Context) error {
	n.mu.Lock()
	folders := slices.Clone(n.folders)
	n.mu.Unlock()
	jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if n.waitingOnInherited() {
		// While this process holds the port's sockets, a connection
		// to the port waits in their backlog once the process that
		// handed them over has closed its copies: give up the join
		// when that process is gone, and serve them.
		go func() {
			select {
			case <-n.opts.Inherited.OwnerGone:
				cancel()
			case <-jctx.Done():
			}
		}()
	}
	m, err := join.Join(jctx, n.opts.Serve.Listen, n.opts.Token, n.opts.Client, folders)
	cancel()
	if err != nil {
		return err
	}
	defer m.Close()
	n.mu.Lock()
	n.member = m
	n.mu.Unlock()
	var last join.Members
	defer func() {
		n.mu.Lock()
		n.member = nil
		n.mu.Unlock()
		// Until the next owner is known, the other members' folders stay
		// (they register again with it); the old owner's go.
		last.Owner.Folders = nil
		n.setOthers(othersOf(last, n.opts.Client, false))
		n.setState(State{Role: Starting, Addr: n.opts.Serve.Listen})
	}()
	apply := func(mem join.Members) {
		last = mem
		n.setOthers(othersOf(mem, n.opts.Client, false))
		n.setState(State{Role: Member, Addr: n.opts.Serve.Listen, Members: mem})
	}
	apply(m.Members())
	n.log.Info("joined the devproxy that holds the port", "address", n.opts.Serve.Listen, "owner_pid", m.Members().Owner.PID)
	fctx, stopFollowing := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		n.followOwner(fctx, n.opts.Serve.Listen)
	}()
	defer func() {
		stopFollowing()
		<-followed
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.Done():
			n.log.Info("the devproxy that held the port is gone; taking it or joining the next one")
			return nil
		case mem := <-m.Changes():
			apply(mem)
		}
	}
}

// othersOf lists the folders of everyone on the port but this process, in
// order: the owner's first (when this process is not the owner), then the
// members'.
func othersOf(m join.Members, self join.Client, owning bool) []routing.FolderSpec {
	var out []routing.FolderSpec
	add := func(folders []join.FolderReg) {
		for _, f := range folders {
			out = append(out, f.Spec())
		}
	}
	if !owning {
		add(m.Owner.Folders)
	}
	for _, mi := range m.Members {
		if mi.Client != self {
			add(mi.Folders)
		}
	}
	return out
}

func (n *Node) setOthers(specs []routing.FolderSpec) {
	n.mu.Lock()
	same := routing.SameFolders(specs, n.others)
	n.others = specs
	n.mu.Unlock()
	if !same && n.opts.OnOthers != nil {
		n.opts.OnOthers(specs)
	}
}

func (n *Node) setState(s State) {
	n.update(func(cur *State) { *cur = s })
}

func (n *Node) update(change func(*State)) {
	n.mu.Lock()
	change(&n.state)
	s := n.state
	n.mu.Unlock()
	if n.opts.OnState != nil {
		n.opts.OnState(s)
	}
}

// State is the node's current state.
func (n *Node) State() State {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state
}

// SetFolders replaces this process's own folders (a window's workspace
// folders changed) and tells the owner, or the members.
func (n *Node) SetFolders(ctx context.Context, folders []join.FolderReg) error {
	n.mu.Lock()
	n.folders = slices.Clone(folders)
	owner, member := n.owner, n.member
	n.mu.Unlock()
	switch {
	case owner != nil:
		return owner.SetFolders(folders)
	case member != nil:
		return member.Update(ctx, folders)
	}
	return nil
}

// TakeOver asks the owner to stop so that this process takes the port. It
// returns once the request was answered; the node then takes the port (or
// joins whoever was quicker).
func (n *Node) TakeOver(ctx context.Context) error {
	n.mu.Lock()
	member := n.member
	n.mu.Unlock()
	if member == nil {
		return errors.New("this devproxy is not a member of another one's proxy")
	}
	taking := make(chan struct{})
	defer close(taking)
	n.mu.Lock()
	n.taking = taking
	n.mu.Unlock()
	if err := member.AskStop(ctx); err != nil {
		return err
	}
	// Serve the sockets it handed over, or bind the moment the owner has
	// let go, rather than when its connection closes after its drain;
	// then leave it, and serve.
	ln, tln := n.inheritedNow(true)
	if ln != nil {
		n.log.Info("serving the listening sockets the owner handed over")
	} else {
		ln, tln = n.bindSoon(ctx, handOverWait)
	}
	if ln != nil {
		n.mu.Lock()
		n.bound = [2]net.Listener{ln, tln}
		n.mu.Unlock()
	}
	member.Close()
	return nil
}

// ListenerFiles returns duplicates of the port's two listening sockets
// while this process serves them, for a process it hands the port to
// (Inherited); the caller closes them.
func (n *Node) ListenerFiles() ([]*os.File, error) {
	n.mu.Lock()
	ls := n.listeners
	n.mu.Unlock()
	if ls[0] == nil {
		return nil, errors.New("this process does not serve the port")
	}
	var files []*os.File
	for _, l := range ls {
		fl, ok := l.(interface{ File() (*os.File, error) })
		var f *os.File
		var err error
		if !ok {
			err = fmt.Errorf("a %T cannot be handed over", l)
		} else {
			f, err = fl.File()
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// shownAddr is the address a listener bound for the address asked for, as
// people read it: Go reports a listener on 0.0.0.0 as [::] (it listens on
// both families), but the user asked for 0.0.0.0 and looks for it in the
// output. The port is the listener's (it may have been 0).
func shownAddr(asked, bound string) string {
	host, _, err := net.SplitHostPort(asked)
	if err != nil || host != "0.0.0.0" {
		return bound
	}
	bhost, port, err := net.SplitHostPort(bound)
	if err != nil || (bhost != "::" && bhost != "0.0.0.0") {
		return bound
	}
	return net.JoinHostPort(host, port)
}
