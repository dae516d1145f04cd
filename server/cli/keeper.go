package cli

// The keeper: when a VS Code window that serves the proxy closes or
// reloads, its language server would take the proxy down with it, and the
// window that comes back would start it again seconds later. Instead the
// language server starts `devproxy keeper` on its way out: the keeper joins
// it, takes the port over at once (join's stop request, a gap of one
// accept), and serves the same folders. Any VS Code window that joins it
// takes the port the same way (proxyHost in server/lsp asks a keeper at
// once); the keeper then stays a member, holding the reloading window's
// folders, until that window is back (as owner or member). With no window
// back within its time, it stops.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// KeeperOptions are `devproxy keeper`'s flags.
type KeeperOptions struct {
	Listen, TunnelListen string
	// Folders are the window's folders, as it registered them.
	Folders []join.FolderReg
	// For is how long the keeper waits for a window to come back.
	For time.Duration
	// OwnerPID is the window's language server: the keeper takes the
	// port from it only; when another process serves the port, the
	// keeper leaves it alone and stops.
	OwnerPID int
	// Inherited are the port's listening sockets, handed over by the
	// language server; nil when it could not (the keeper then binds the
	// port as the server lets go of it).
	Inherited *node.Inherited
	Log       *slog.Logger
}

// DefaultKeeperFor is how long a keeper waits for the window: a reload
// takes seconds, a window closed for good should not leave a proxy
// behind for long.
const DefaultKeeperFor = 30 * time.Second

// ParseKeeperFolders reads --folders, the JSON list of join.FolderReg.
func ParseKeeperFolders(s string) ([]join.FolderReg, error) {
	var folders []join.FolderReg
	if err := json.Unmarshal([]byte(s), &folders); err != nil || len(folders) == 0 {
		return nil, errors.New(`--folders must be a JSON list of {"root": "/abs/path", "apps"?: [...], "overrides"?: [...]}`)
	}
	return folders, nil
}

// Keep runs the keeper until a VS Code window takes the port back, the
// time is up, the port could not be taken, or ctx ends.
func Keep(ctx context.Context, opts KeeperOptions) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.For <= 0 {
		opts.For = DefaultKeeperFor
	}
	specs := make([]routing.FolderSpec, len(opts.Folders))
	var roots []string
	for i, f := range opts.Folders {
		specs[i] = f.Spec()
		roots = append(roots, f.Root)
	}
	ws, err := routing.NewWorkspaceOf(specs)
	if err != nil {
		return err
	}
	dir, err := join.StateDir()
	if err != nil {
		return err
	}
	token, err := join.LoadOrCreateToken(dir)
	if err != nil {
		return err
	}
	ctx, stop := context.WithTimeout(ctx, opts.For)
	defer stop()
	if _, err := ws.Watch(ctx, routing.WatchDebounce, nil); err != nil {
		log.Warn("cannot watch the route folders", "err", err)
	}
	var once, backOnce sync.Once
	var owned atomic.Bool
	var n *node.Node
	n = node.New(node.Options{
		Workspace: ws,
		Serve:     httpproxy.ServeOptions{Listen: opts.Listen, TunnelListen: opts.TunnelListen, Log: log},
		Token:     token,
		Client:    join.Client{PID: os.Getpid(), Kind: join.KindServe, Name: join.KeeperName},
		Folders:   opts.Folders,
		Health:    node.HealthOptions{Off: true},
		Inherited: opts.Inherited,
		Log:       log,
		OnOthers: func(others []routing.FolderSpec) {
			ws.SetFolders(append(slices.Clone(specs), others...))
		},
		OnState: func(s node.State) {
			if windowBack(s.Members, roots, opts.OwnerPID) {
				if s.Role != node.Owner {
					log.Info("the window is back; the keeper stops")
					stop()
					return
				}
				// The window joined and asks for the port at once (a
				// stop here would leave the port free until it binds);
				// one that does not ask gets it when the keeper stops.
				backOnce.Do(func() { time.AfterFunc(2*time.Second, stop) })
			}
			switch s.Role {
			case node.Owner:
				owned.Store(true)
			case node.Member:
				if owned.Load() {
					// Another VS Code window took the port (a window asks
					// a keeper for it at once). The keeper stays its
					// member, so that the reloading window's folders stay
					// served until that window is back.
					return
				}
				if s.Members.Owner.PID != opts.OwnerPID {
					log.Info("another devproxy serves the port; nothing to keep", "owner_pid", s.Members.Owner.PID)
					stop()
					return
				}
				// Joined the window on its way out: take the port.
				once.Do(func() {
					go func() {
						if err := n.TakeOver(ctx); err != nil {
							log.Warn("the window's devproxy did not hand the port over", "err", err)
							stop()
						}
					}()
				})
			}
		},
	})
	err = n.Run(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		log.Info("no window came back; the proxy stops", "waited", opts.For)
	}
	return err
}

// windowBack reports whether a VS Code window (the owner or a member)
// registered one of roots: the reloading window is back. The language
// server on its way out (the PID gone) does not count.
func windowBack(m join.Members, roots []string, gone int) bool {
	back := func(c join.Client, folders []join.FolderReg) bool {
		return c.Kind == join.KindVSCode && c.PID != gone && slices.ContainsFunc(folders, func(f join.FolderReg) bool {
			return slices.Contains(roots, f.Root)
		})
	}
	if back(m.Owner.Client, m.Owner.Folders) {
		return true
	}
	return slices.ContainsFunc(m.Members, func(mi join.MemberInfo) bool { return back(mi.Client, mi.Folders) })
}

// KeeperArgs are the arguments of `devproxy keeper` taking the port from
// the process ownerPID, for folders on the addresses.
func KeeperArgs(listen, tunnelListen string, folders []join.FolderReg, ownerPID int, wait time.Duration) []string {
	b, _ := json.Marshal(folders)
	return []string{"keeper", "--listen", listen, "--tunnel-listen", tunnelListen, "--folders", string(b),
		"--owner-pid", strconv.Itoa(ownerPID), "--for", wait.String()}
}
