package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/join"
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
func startKeeper(listen, tunnelListen string, folders []join.FolderReg, logFile string) error {
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
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reaped if it ends while this process still runs
	return nil
}
