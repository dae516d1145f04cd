package httpproxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// ServeOptions configure Serve. Empty addresses fall back to devproxy.json,
// then to the loopback defaults.
type ServeOptions struct {
	Root         string
	Listen       string
	TunnelListen string
	Log          *slog.Logger
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers (slowloris); zero means 10s.
	ReadHeaderTimeout time.Duration
	// ClientBodyTimeout bounds each pause while a client sends a request
	// body; zero means 60s (nginx's client_body_timeout).
	ClientBodyTimeout time.Duration
	// Ready, when set, is called once both listeners accept connections.
	Ready func(ServeInfo)
	// OnReload, when set, is called after each swap with the new table.
	OnReload func(*routing.RouteTable)
}

// ServeInfo describes a running proxy.
type ServeInfo struct {
	Addr       string // the local listener, host:port
	TunnelAddr string // where a tunnel agent connects
	Table      *routing.RouteTable
	Proxy      *Proxy
}

// reloadDebounce collects the several writes of one save into one reload.
const reloadDebounce = 25 * time.Millisecond

// Serve runs the proxy until ctx ends: it reads the workspace, listens on
// the local and tunnel addresses, and swaps the route table whenever a
// route file changes. Requests in flight finish on the table they started
// with.
func Serve(ctx context.Context, opts ServeOptions) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ws, err := routing.NewWorkspace(opts.Root)
	if err != nil {
		return err
	}
	t := ws.Table()
	listen, tunnel := opts.Listen, opts.TunnelListen
	if listen == "" {
		listen = t.Config.Listen
	}
	if tunnel == "" {
		tunnel = t.Config.Tunnel.Listen
	}
	ln, err := listenOn(listen, "--listen or \"listen\" in devproxy.json")
	if err != nil {
		return err
	}
	tln, err := listenOn(tunnel, "--tunnel-listen or \"tunnel.listen\" in devproxy.json")
	if err != nil {
		ln.Close()
		return err
	}
	for _, l := range []net.Listener{ln, tln} {
		if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			log.Warn("listening beyond this machine; anyone who can reach it can use the proxy", "addr", l.Addr().String())
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
	logTable(log, "routes loaded", t, 0)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := ws.Watch(ctx, reloadDebounce, func(nt *routing.RouteTable) {
		start := time.Now()
		p.Swap(nt)
		logTable(log, "routes reloaded", nt, time.Since(start))
		if opts.OnReload != nil {
			opts.OnReload(nt)
		}
	}); err != nil {
		log.Warn("cannot watch the route folders; restart devproxy after editing route files", "err", err)
	}

	local := p.NewServer(false)
	remote := p.NewServer(true)
	errc := make(chan error, 2)
	go func() { errc <- local.Serve(ln) }()
	go func() { errc <- remote.Serve(tln) }()
	if opts.Ready != nil {
		opts.Ready(ServeInfo{Addr: ln.Addr().String(), TunnelAddr: tln.Addr().String(), Table: t, Proxy: p})
	}

	err, pending := nil, cap(errc)
	select {
	case <-ctx.Done():
	case err = <-errc:
		pending--
		cancel()
	}
	// Close the listeners ourselves: fasthttp's Shutdown does nothing for a
	// server whose Serve has not yet registered its listener, which would
	// leave the port serving after Serve returned.
	ln.Close()
	tln.Close()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	local.ShutdownWithContext(sctx)
	remote.ShutdownWithContext(sctx)
	// Both Serve loops end once their listener is closed.
	for range pending {
		select {
		case <-errc:
		case <-sctx.Done():
		}
	}
	return err
}

func listenOn(addr, setting string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (change it with %s): %w", addr, setting, err)
	}
	return ln, nil
}

func logTable(log *slog.Logger, msg string, t *routing.RouteTable, took time.Duration) {
	active := 0
	for _, b := range t.Blocks {
		if b.Active {
			active++
		}
	}
	args := []any{"files", len(t.Files), "active_locations", active, "errors", t.ErrorCount(), "conflicts", len(t.Conflicts)}
	if took > 0 {
		args = append(args, "swap", took)
	}
	log.Info(msg, args...)
}
