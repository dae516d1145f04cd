package httpproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// ServeOptions configure Serve. Empty addresses fall back to devproxy.json,
// then to the loopback defaults.
type ServeOptions struct {
	// Workspace, when set, is the workspace whose served tables
	// (Workspace.Served: the files on disk, under the editor's settings;
	// unsaved buffers never serve) the proxy serves, owned by the caller
	// (the language server's), which also feeds it file changes. When
	// nil, Serve opens Root and watches its files itself.
	Workspace    *routing.Workspace
	Root         string
	Listen       string
	TunnelListen string
	// Listener and TunnelListener, when both set, are already bound (a
	// hand-over binds the moment the port is free) and are used instead
	// of binding Listen and TunnelListen; Serve closes them.
	Listener, TunnelListener net.Listener
	Log                      *slog.Logger
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers (slowloris); zero means 10s.
	ReadHeaderTimeout time.Duration
	// ClientBodyTimeout bounds each pause while a client sends a request
	// body; zero means 60s (nginx's client_body_timeout).
	ClientBodyTimeout time.Duration
	// SendTimeout bounds each write to a client that stops reading; zero
	// means 60s (nginx's send_timeout).
	SendTimeout time.Duration
	// DrainTimeout bounds a shutdown: requests in flight get this long to
	// finish, then every connection that is left (WebSockets and streams
	// included) is closed. Zero means 5s.
	DrainTimeout time.Duration
	// Ready, when set, is called once both listeners accept connections.
	Ready func(ServeInfo)
	// OnReload, when set, is called after each swap with the new table.
	OnReload func(*routing.RouteTable)
	// Local, when set, answers requests on the local listener for
	// GET /devproxy/ws and for paths under /devproxy/api/ that the proxy
	// does not answer itself (Proxy.SetLocalHandler). Through the tunnel
	// listener it is reached only with a TunnelGate.
	Local http.Handler
	// TunnelGate, when set, opens the proxy's own paths to the tunnel
	// listener behind it (Proxy.SetTunnelGate); without it they answer
	// 403 there.
	TunnelGate TunnelGate
	// AccessLog, when set, is called once per request when its answer has
	// been written (LogAccess makes one that logs with slog).
	AccessLog func(AccessEntry)
}

// ServeInfo describes a running proxy.
type ServeInfo struct {
	Addr       string // the local listener, host:port
	TunnelAddr string // where a tunnel agent connects
	Table      *routing.RouteTable
	Proxy      *Proxy
}

// DefaultDrainTimeout is how long a shutdown lets requests in flight finish.
const DefaultDrainTimeout = 5 * time.Second

// Serve runs the proxy until ctx ends: it reads the workspace, listens on
// the local and tunnel addresses, and swaps the route table whenever a
// route file changes. Requests in flight finish on the table they started
// with. When ctx ends, Serve stops accepting, lets requests in flight
// finish for DrainTimeout, closes whatever is left, and returns: it never
// takes longer than DrainTimeout plus about a second.
func Serve(ctx context.Context, opts ServeOptions) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ws := opts.Workspace
	own := ws == nil
	if own {
		var err error
		if ws, err = routing.NewWorkspace(opts.Root); err != nil {
			return err
		}
	}
	t := ws.Served() // what is on disk: editors' unsaved buffers never serve
	listen, tunnel := opts.Listen, opts.TunnelListen
	if listen == "" {
		listen = t.Config.Listen
	}
	if tunnel == "" {
		tunnel = t.Config.Tunnel.Listen
	}
	ln, tln := opts.Listener, opts.TunnelListener
	if ln == nil || tln == nil {
		var err error
		if ln, tln, err = ListenBoth(listen, tunnel); err != nil {
			return err
		}
	}
	for i, l := range []net.Listener{ln, tln} {
		if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			// The address as asked: a listener on 0.0.0.0 reports [::].
			log.Warn("listening beyond this machine; anyone who can reach it can use the proxy", "addr", []string{listen, tunnel}[i])
		}
	}

	p := New(t, log)
	defer p.Close()
	if opts.ClientBodyTimeout > 0 {
		p.SetClientBodyTimeout(opts.ClientBodyTimeout)
	}
	if opts.ReadHeaderTimeout > 0 {
		p.SetReadHeaderTimeout(opts.ReadHeaderTimeout)
	}
	if opts.SendTimeout > 0 {
		p.SetSendTimeout(opts.SendTimeout)
	}
	p.SetLocalHandler(opts.Local)
	p.SetTunnelGate(opts.TunnelGate)
	p.SetAccessLog(opts.AccessLog)
	drain := opts.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	logTable(log, "routes loaded", t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Every served table the workspace publishes from now on is served;
	// one published between ws.Served() above and here is caught up on.
	unsubscribe := ws.SubscribeServed(p.Swap)
	defer unsubscribe()
	p.Swap(ws.Served())
	var watcherDone <-chan struct{}
	if own {
		var err error
		watcherDone, err = ws.Watch(ctx, routing.WatchDebounce, func(*routing.RouteTable) {
			nt := ws.Served()
			logTable(log, "routes reloaded", nt)
			if opts.OnReload != nil {
				opts.OnReload(nt)
			}
		})
		if err != nil {
			log.Warn("cannot watch the route folders; restart devproxy after editing route files", "err", err)
		}
	}

	servers := []*Server{p.NewServer(false), p.NewServer(true)}
	errc := make(chan error, 2)
	go func() { errc <- servers[0].Serve(ln) }()
	go func() { errc <- servers[1].Serve(tln) }()
	if opts.Ready != nil {
		opts.Ready(ServeInfo{Addr: ln.Addr().String(), TunnelAddr: tln.Addr().String(), Table: t, Proxy: p})
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, ErrServerClosed) {
			err = nil
		}
	}
	cancel()
	// Close the listeners here: a server whose Serve has not started yet
	// would otherwise leave its port open after Serve returned.
	ln.Close()
	tln.Close()
	shutdown(log, drain, servers, watcherDone)
	return err
}

// shutdown drains the servers for at most drain, then closes what is left
// and waits a moment for the watcher. Whatever has not stopped by then is
// named in the log, with every goroutine's stack at debug level, and left
// behind: the caller returns and the process exits anyway.
func shutdown(log *slog.Logger, drain time.Duration, servers []*Server, watcherDone <-chan struct{}) {
	start := time.Now()
	sctx, scancel := context.WithTimeout(context.Background(), drain)
	defer scancel()
	var wg sync.WaitGroup
	stuck := make([]error, len(servers))
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stuck[i] = s.Shutdown(sctx)
		}()
	}
	wg.Wait()
	var problems []any
	for i, err := range stuck {
		if err != nil {
			problems = append(problems, [...]string{"local listener", "tunnel listener"}[i], err.Error())
		}
	}
	if watcherDone != nil {
		select {
		case <-watcherDone:
		case <-time.After(500 * time.Millisecond):
			problems = append(problems, "route watcher", "still reloading (a route file may take long to read)")
		}
	}
	if len(problems) > 0 {
		log.Error("shutdown: some parts did not stop; exiting anyway", problems...)
		if log.Enabled(context.Background(), slog.LevelDebug) {
			buf := make([]byte, 1<<20)
			log.Debug("shutdown: goroutines", "stacks", string(buf[:runtime.Stack(buf, true)]))
		}
		return
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
}

// ListenBoth binds the local listener and the tunnel listener, or
// neither.
func ListenBoth(listen, tunnel string) (ln, tln net.Listener, err error) {
	if ln, err = listenOn(listen, "--listen or \"listen\" in devproxy.json"); err != nil {
		return nil, nil, err
	}
	if tln, err = listenOn(tunnel, "--tunnel-listen or \"tunnel.listen\" in devproxy.json"); err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, tln, nil
}

func listenOn(addr, setting string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (change it with %s): %w", addr, setting, err)
	}
	return ln, nil
}

func logTable(log *slog.Logger, msg string, t *routing.RouteTable) {
	active := 0
	for _, b := range t.Blocks {
		if b.Active {
			active++
		}
	}
	log.Info(msg, "files", len(t.Files), "active_locations", active, "errors", t.ErrorCount(), "conflicts", len(t.Conflicts), "generation", t.Generation)
}
