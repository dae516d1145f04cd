package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/server/cli"
)

// runKeeper runs `devproxy keeper`, which a language server starts on its
// way out (server/cli/keeper.go); people do not run it.
func runKeeper(args []string, stderr io.Writer) int {
	fs := newFlagSet("keeper", stderr)
	var opts cli.KeeperOptions
	var folders string
	fs.StringVar(&opts.Listen, "listen", "", "the proxy's `address`")
	fs.StringVar(&opts.TunnelListen, "tunnel-listen", "", "the tunnel listener's `address`")
	fs.StringVar(&folders, "folders", "", "the window's folders, a JSON list of {root, apps?, overrides?}")
	fs.IntVar(&opts.OwnerPID, "owner-pid", 0, "the language server to take the port from")
	inheritedFDs := fs.Bool("inherited", false, "file descriptors 3 and 4 are the port's listening sockets (--listen's, --tunnel-listen's) and 5 a pipe the language server holds open while it runs")
	fs.DurationVar(&opts.For, "for", cli.DefaultKeeperFor, "how long to wait for a window to come back")
	logFile := fs.String("log-file", "", "write the log to `file`")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	var err error
	if opts.Folders, err = cli.ParseKeeperFolders(folders); err != nil || opts.Listen == "" || opts.TunnelListen == "" || opts.OwnerPID == 0 {
		fmt.Fprintln(stderr, "devproxy keeper: needs --listen, --tunnel-listen, --owner-pid and --folders (a language server starts it)")
		return cli.ExitUsage
	}
	opts.Log = slog.New(slog.DiscardHandler)
	if *logFile != "" {
		if f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			defer f.Close()
			opts.Log = slog.New(slog.NewTextHandler(f, nil)).With("pid", os.Getpid(), "role", "keeper")
		}
	}
	if *inheritedFDs {
		inh, err := inheritedSockets()
		if err != nil {
			// The keeper still works without them: it binds the port
			// the moment the language server lets go.
			opts.Log.Warn("cannot use the sockets the language server handed over", "err", err)
		}
		opts.Inherited = inh
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.Keep(ctx, opts); err != nil {
		opts.Log.Error("keeper stopped", "err", err)
		return cli.ExitFail
	}
	return cli.ExitOK
}

// KeeperForEnv sets how long a keeper waits for its window ("30s"); "0"
// starts none, so the proxy stops with the window.
const KeeperForEnv = "DEVPROXY_KEEPER_FOR"

// startKeeper starts `devproxy keeper` in a session of its own (so that
// the editor, which kills the language server's process tree, does not
// kill it once the language server is gone), with no stdio.
func startKeeper(listen, tunnelListen string, folders []join.FolderReg, listeners []*os.File, logFile string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	wait := cli.DefaultKeeperFor
	if v := os.Getenv(KeeperForEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s=%q is not a duration such as 30s", KeeperForEnv, v)
		}
		if d <= 0 {
			return errors.New(KeeperForEnv + " is 0: no keeper")
		}
		wait = d
	}
	args := cli.KeeperArgs(listen, tunnelListen, folders, os.Getpid(), wait)
	if logFile != "" {
		args = append(args, "--log-file", logFile)
	}
	cmd := exec.Command(exe, args...)
	cmd.SysProcAttr = keeperAttr()
	cmd.Env = os.Environ()
	var alive *os.File
	if len(listeners) == 2 && handsSocketsOver {
		// The listening sockets themselves, so that the port stays open
		// from this process to the keeper; and a pipe whose other end
		// only this process holds: the keeper reads its end of the pipe
		// to learn when this process has ended, however it ended.
		r, w, err := os.Pipe()
		if err == nil {
			cmd.ExtraFiles = []*os.File{listeners[0], listeners[1], r}
			cmd.Args = append(cmd.Args, "--inherited")
			defer r.Close()
			alive = w
		}
	}
	if err := cmd.Start(); err != nil {
		if alive != nil {
			alive.Close()
		}
		return err
	}
	if alive != nil {
		keeperPipes = append(keeperPipes, alive) // open until this process ends
	}
	go cmd.Wait() // reaped if it ends while this process still runs
	return nil
}

// keeperPipes are the write ends of the keepers' liveness pipes, kept
// referenced (an unreferenced os.File is closed by the garbage collector).
var keeperPipes []*os.File

// inheritedSockets reads --inherited's file descriptors: the listening
// sockets on 3 and 4, and on 5 the pipe whose end of file says the
// language server has ended.
func inheritedSockets() (*node.Inherited, error) {
	var ls [2]net.Listener
	for i, name := range []string{"listen", "tunnel-listen"} {
		f := os.NewFile(uintptr(3+i), name)
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			if ls[0] != nil {
				ls[0].Close()
			}
			return nil, fmt.Errorf("file descriptor %d (%s): %w", 3+i, name, err)
		}
		ls[i] = l
	}
	gone := make(chan struct{})
	pipe := os.NewFile(5, "language-server-alive")
	go func() {
		io.Copy(io.Discard, pipe) // end of file: the writer has ended
		pipe.Close()
		close(gone)
	}()
	return &node.Inherited{Listeners: ls, OwnerGone: gone}, nil
}
