package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devtunnelproxy/devproxy/docs"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/live"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/proxy/tunnel"
	"github.com/devtunnelproxy/devproxy/server/calliope"
)

// ServeOptions are `devproxy serve`'s flags.
type ServeOptions struct {
	Root         string
	Listen       string // empty: devproxy.json, else the default
	TunnelListen string
	DrainTimeout time.Duration
	Version      string
	Log          *slog.Logger
	// AccessLog, when set, gets one record per request (NewServeLogs).
	AccessLog *slog.Logger
	// DataDir holds the health store (--data-dir); "" takes devproxy.json's
	// dataDir, else a folder per workspace under the state directory.
	DataDir string
	// ScanConcurrency bounds the routes probed at once (0: the default).
	ScanConcurrency int
	// Tunnel is --tunnel: "ngrok", "cloudflared", "auto" or a public URL,
	// started whenever this process owns the port, instead of the tunnel
	// devproxy.json asks for (until devproxy.json's tunnel settings
	// change); "" leaves it to devproxy.json.
	Tunnel string
	// Headless serves the routes and /devproxy/healthz only
	// (httpproxy.ServeOptions.Headless).
	Headless bool
	// Problems is where the route files' errors and warnings are printed
	// as `devproxy check` prints them (stderr); nil logs them as records
	// on Log instead (--log-format json).
	Problems io.Writer
	// Env is --env: the environment profile of devproxy.json to serve
	// with (its upstreams, listen and tunnel); "" for none.
	Env string
}

// Serve runs `devproxy serve` until ctx ends: it serves the folder's route
// files on the listen address, or, when another devproxy already serves
// that address, joins it and registers the folder there (and takes the
// address over when that devproxy stops). What it does is printed on
// stdout, one line per change of role.
func Serve(ctx context.Context, opts ServeOptions, stdout io.Writer) error {
	log := opts.Log
	tunnelReq, err := TunnelFlag(opts.Tunnel)
	if err != nil {
		return err
	}
	ws, err := openWorkspace(opts.Root, opts.Env)
	if err != nil {
		return err
	}
	root := ws.Root()
	cfg := ws.Served().Config
	listen, tunnelListen := opts.Listen, opts.TunnelListen
	if listen == "" {
		listen = cfg.Listen
	}
	if tunnelListen == "" {
		tunnelListen = cfg.Tunnel.Listen
	}
	dir, err := join.StateDir()
	if err != nil {
		return fmt.Errorf("cannot find the state folder for the token other devproxy processes join with (set DEVPROXY_STATE_DIR): %w", err)
	}
	token, err := join.LoadOrCreateToken(dir)
	if err != nil {
		return err
	}
	// The route files' problems now, and again whenever a reload (or
	// another process's folders) changes them.
	problems := &routeProblems{w: opts.Problems, log: log, json: opts.Problems == nil}
	unsubscribe := ws.SubscribeServed(problems.report)
	defer unsubscribe()
	problems.report(ws.Served())
	watchDone, err := ws.Watch(ctx, routing.WatchDebounce, func(t *routing.RouteTable) {
		log.Info("routes reloaded", "folders", len(t.Folders), "files", len(t.Files), "errors", t.ErrorCount(), "conflicts", len(t.Conflicts), "generation", t.Generation)
	})
	if err != nil {
		log.Warn("cannot watch the route folders; restart devproxy after editing route files", "err", err)
	}
	healthOpts, err := node.HealthFor(root, cfg, opts.DataDir)
	if err != nil {
		return fmt.Errorf("the health store: %w (set --data-dir, or \"dataDir\" in devproxy.json, to a folder outside the workspace)", err)
	}
	healthOpts.Scan.Concurrency = opts.ScanConcurrency
	// Calliope answers the proxy's other clients over /devproxy/ws, built
	// at the first question over the node below: the models found in the
	// environment (offline without), the docs index and history in the
	// data directory.
	var n *node.Node
	var calliopeOnce sync.Once
	var assistant *calliope.Assistant
	closeAssistant := func() {}
	ask := func() *calliope.Assistant {
		calliopeOnce.Do(func() {
			assistant, closeAssistant = calliope.Build(ctx, calliope.Config{Root: root, DataDir: healthOpts.DataDir,
				Engine: calliope.NodeEngine{Workspace: ws, Node: n}, Docs: docs.FS, Log: log})
		})
		return assistant
	}
	defer func() {
		calliopeOnce.Do(func() {}) // no assistant is built after this
		closeAssistant()
	}()
	self := join.Client{PID: os.Getpid(), Kind: join.KindServe, Name: "devproxy serve " + filepath.Base(root)}
	var mu sync.Mutex
	var last node.State
	n = node.New(node.Options{
		Workspace: ws,
		Serve: httpproxy.ServeOptions{Listen: listen, TunnelListen: tunnelListen, Log: log,
			DrainTimeout: opts.DrainTimeout, AccessLog: accessLog(opts.AccessLog), Headless: opts.Headless},
		Token:   token,
		Client:  self,
		Folders: []join.FolderReg{{Root: root, Environment: opts.Env}},
		Health:  healthOpts,
		Methods: map[string]live.Method{"devproxy/chat": calliope.HubChat(ask)},
		Log:     log,
		OnTunnel: func(st tunnel.State) {
			switch st.Status {
			case tunnel.StatusUp:
				fmt.Fprintf(stdout, "tunnel (%s) up: %s; the proxy's own pages there need a key (devproxy keys create --role read-only)\n", st.Provider, st.PublicURL)
			case tunnel.StatusError:
				log.Warn("the tunnel failed", "provider", st.Provider, "err", st.Err)
			}
		},
		OnOthers: func(others []routing.FolderSpec) {
			t := ws.SetFolders(append([]routing.FolderSpec{{Root: root, Watched: true, Defaults: routing.Config{Environment: opts.Env}}}, others...))
			log.Info("folders changed", "folders", folderList(t.Folders), "files", len(t.Files), "conflicts", len(t.Conflicts))
		},
		OnState: func(s node.State) {
			mu.Lock()
			defer mu.Unlock()
			if s.Role == last.Role && s.Addr == last.Addr && (s.Err == nil) == (last.Err == nil) {
				last = s
				return
			}
			last = s
			switch s.Role {
			case node.Owner:
				fmt.Fprintf(stdout, "devproxy %s serving %s on http://%s (tunnel agents connect to %s)\n", opts.Version, root, s.Addr, s.TunnelAddr)
				if tunnelReq != nil {
					go func() {
						if _, err := n.StartTunnel(ctx, *tunnelReq); err != nil {
							log.Warn("the tunnel of --tunnel did not start", "err", err)
						}
					}()
				}
			case node.Member:
				o := s.Members.Owner
				fmt.Fprintf(stdout, "devproxy %s joined the devproxy serving http://%s (%s, pid %d); it serves %s too\n", opts.Version, s.Addr, o.Name, o.PID, root)
			case node.Blocked:
				log.Warn("cannot serve or join; retrying", "address", s.Addr, "err", s.Err)
			}
		},
	})
	err = n.Run(ctx)
	if watchDone != nil {
		select {
		case <-watchDone:
		case <-time.After(500 * time.Millisecond):
		}
	}
	return err
}

// TunnelFlag reads --tunnel: nil for "", else the tunnel to start.
func TunnelFlag(v string) (*node.TunnelRequest, error) {
	switch v {
	case "":
		return nil, nil
	case "auto", tunnel.ProviderNgrok, tunnel.ProviderCloudflared:
		return &node.TunnelRequest{Provider: v}, nil
	}
	u, err := tunnel.CheckPublicURL(v)
	if err != nil {
		return nil, fmt.Errorf("--tunnel %q is not ngrok, cloudflared, auto or a public URL: %w", v, err)
	}
	return &node.TunnelRequest{Provider: tunnel.ProviderManual, URL: u}, nil
}

func accessLog(l *slog.Logger) func(httpproxy.AccessEntry) {
	if l == nil {
		return nil
	}
	return httpproxy.LogAccess(l)
}

// folderList names folders for the log: "web=/src/web shop=/src/shop".
func folderList(folders []routing.Folder) string {
	parts := make([]string, len(folders))
	for i, f := range folders {
		parts[i] = f.Label + "=" + f.Root
	}
	slices.Sort(parts[1:])
	return strings.Join(parts, " ")
}
