// Command devproxy is Dev Tunnel Proxy's single binary: the route checker,
// the request explainer and (in later subcommands) the proxy and the
// language server. main only parses flags and hands over.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/health"
	"github.com/devtunnelproxy/devproxy/proxy/httpproxy"
	"github.com/devtunnelproxy/devproxy/proxy/join"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
	"github.com/devtunnelproxy/devproxy/server/cli"
	"github.com/devtunnelproxy/devproxy/server/lsp"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `devproxy: one address in front of many dev servers.

Usage:
  devproxy serve   [--root DIR] [--listen 127.0.0.1:8080] [--tunnel-listen 127.0.0.1:8081] [--log-level info] [--log-format text|json] [--access-log=false] [--data-dir DIR] [--scan-concurrency 5] [--drain-timeout 5s] [--tunnel ngrok|cloudflared|auto|URL] [--headless] [--env NAME]
  devproxy lsp     [--log-file FILE] [--log-level info]   (a language server on stdio; editors start it)
  devproxy check   [--root DIR] [--format text|json] [--strict] [--env NAME]
  devproxy scan    [--root DIR] [--format text|json|junit] [--concurrency 5] [--timeout 5s] [--route PATH]...
  devproxy explain [--root DIR] [--format text|json] [--header "Name: value"]... [--method M] [--tunnel] [--env NAME] PATH_OR_URL
  devproxy export  nginx [--root DIR] [--listen ADDR] [--env NAME] [--server-only] [--strict] [-o FILE]
  devproxy export  k8s [--root DIR] [--env NAME] [--ingress nginx [--name N] [--host H]] [-o FILE]   (values for deploy/helm/devproxy, or an Ingress)
  devproxy env     diff A B [--root DIR] [--format text|json]   (routes whose upstream differs between two environments of devproxy.json)
  devproxy keys    create --role read-only|admin [--name NAME] [--root DIR] [--data-dir DIR]   (prints the new key alone on its last line)
  devproxy keys    list [--format text|json] [--root DIR] [--data-dir DIR]
  devproxy keys    revoke ID [--root DIR] [--data-dir DIR]
  devproxy healthcheck [--url http://127.0.0.1:8080/devproxy/healthz]   (exit 0 when the proxy is alive; for containers)
  devproxy version

An address may be a port alone: --listen 8392 means 127.0.0.1:8392.

Run "devproxy COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.ExitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(rest, stdout, stderr)
	case "lsp":
		return runLSP(rest, stderr)
	case "check":
		return runCheck(rest, stdout, stderr)
	case "explain":
		return runExplain(rest, stdout, stderr)
	case "export":
		return runExport(rest, stdout, stderr)
	case "scan":
		return runScan(rest, stdout, stderr)
	case "keys":
		return runKeys(rest, stdout, stderr)
	case "keeper":
		return runKeeper(rest, stderr)
	case "healthcheck":
		return runHealthcheck(rest, stdout, stderr)
	case "env":
		return runEnv(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "devproxy", version)
		return cli.ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return cli.ExitOK
	}
	fmt.Fprintf(stderr, "devproxy: unknown command %q\n\n%s", cmd, usage)
	return cli.ExitUsage
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("devproxy "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseExit is the exit code of a failed fs.Parse: -h and --help asked
// for the flags, which were printed, so they succeed; anything else is a
// usage error (the flag package printed what is wrong).
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return cli.ExitOK
	}
	return cli.ExitUsage
}

// parseFlags parses the flags of a command that takes no other argument;
// ok is false, with the exit code, when they do not parse or an argument
// remains (the flag package stops at it, so every flag after it would be
// ignored).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		return parseExit(err), false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q; flags after it would be ignored\n", fs.Name(), fs.Arg(0))
		return cli.ExitUsage, false
	}
	return 0, true
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", stderr)
	var opts cli.CheckOptions
	fs.StringVar(&opts.Root, "root", ".", "workspace `folder` holding apps/ and overrides/")
	fs.StringVar(&opts.Format, "format", "text", "output `format`: text or json")
	fs.BoolVar(&opts.Strict, "strict", false, "exit 1 on warnings too")
	fs.StringVar(&opts.Env, "env", "", "apply the environment `profile` NAME of devproxy.json's \"environments\" (its upstreams, listen and tunnel)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if opts.Format != "text" && opts.Format != "json" {
		fmt.Fprintf(stderr, "devproxy check: --format must be text or json, not %q\n", opts.Format)
		return cli.ExitUsage
	}
	return cli.RunCheck(opts, stdout, stderr)
}

func runExport(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "k8s" {
		return runExportK8s(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "nginx" {
		fmt.Fprintf(stderr, "devproxy export: use devproxy export nginx [flags] or devproxy export k8s [flags]\n")
		return cli.ExitUsage
	}
	fs := newFlagSet("export nginx", stderr)
	var opts cli.ExportOptions
	fs.StringVar(&opts.Root, "root", ".", "workspace `folder` holding apps/ and overrides/")
	fs.StringVar(&opts.Listen, "listen", "", "`address` of the server's listen directive (default: the workspace's listen address)")
	fs.BoolVar(&opts.ServerOnly, "server-only", false, "write one server block to include inside http {}, not a whole nginx.conf")
	fs.BoolVar(&opts.Strict, "strict", false, "exit 1 when something cannot be expressed in nginx")
	fs.StringVar(&opts.Output, "o", "", "write to `file` instead of stdout")
	fs.StringVar(&opts.Env, "env", "", "apply the environment `profile` NAME of devproxy.json (its upstreams and listen address)")
	if code, ok := parseFlags(fs, args[1:], stderr); !ok {
		return code
	}
	return cli.RunExportNginx(opts, stdout, stderr)
}

func runExportK8s(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export k8s", stderr)
	var opts cli.ExportK8sOptions
	fs.StringVar(&opts.Root, "root", ".", "workspace `folder` holding apps/ and overrides/")
	fs.StringVar(&opts.Env, "env", "", "the environment `profile` of devproxy.json the chart runs with (its upstreams for the Ingress)")
	fs.StringVar(&opts.Ingress, "ingress", "", "write an Ingress for this `controller` (nginx) instead of a values file for deploy/helm/devproxy")
	fs.StringVar(&opts.Name, "name", "", "the Ingress's `name` (default devproxy-routes)")
	fs.StringVar(&opts.Host, "host", "", "the Ingress rule's `host` (default: any)")
	fs.StringVar(&opts.Output, "o", "", "write to `file` instead of stdout")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	return cli.RunExportK8s(opts, stdout, stderr)
}

func runScan(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("scan", stderr)
	var opts cli.ScanOptions
	var routes headerFlags
	fs.StringVar(&opts.Root, "root", ".", "workspace `folder` holding apps/ and overrides/")
	fs.StringVar(&opts.Format, "format", "text", "output `format`: text, json (schemas/health-report.schema.json) or junit (JUnit XML for CI)")
	fs.IntVar(&opts.Concurrency, "concurrency", health.DefaultConcurrency, "routes probed at once")
	fs.DurationVar(&opts.Timeout, "timeout", health.DefaultTimeout, "per probe: a page, an asset or a WebSocket upgrade")
	fs.Var(&routes, "route", "scan only this `route` (\"/app/\"); repeat for several")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	switch {
	case opts.Format != "text" && opts.Format != "json" && opts.Format != "junit":
		fmt.Fprintf(stderr, "devproxy scan: --format must be text, json or junit, not %q\n", opts.Format)
		return cli.ExitUsage
	case opts.Concurrency < 1:
		fmt.Fprintf(stderr, "devproxy scan: --concurrency must be at least 1\n")
		return cli.ExitUsage
	case opts.Timeout <= 0:
		fmt.Fprintf(stderr, "devproxy scan: --timeout must be positive, such as 5s\n")
		return cli.ExitUsage
	}
	opts.Routes = routes
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.RunScan(ctx, opts, stdout, stderr)
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	var opts cli.ServeOptions
	var level, format string
	var access bool
	fs.StringVar(&opts.Root, "root", ".", "workspace `folder` holding apps/ and overrides/")
	fs.StringVar(&opts.Listen, "listen", "", "local `address`, host:port or a port alone (on 127.0.0.1) (default from devproxy.json, else 127.0.0.1:8080); when another devproxy serves it, this one joins it")
	fs.StringVar(&opts.TunnelListen, "tunnel-listen", "", "`address` where the tunnel agent connects, host:port or a port alone (on 127.0.0.1); requests there count as public https (default 127.0.0.1:8081)")
	fs.StringVar(&level, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&format, "log-format", "text", "log `format` on stderr: text (compact access lines) or json (one object a line)")
	fs.BoolVar(&access, "access-log", true, "log one line per request (method, path without the query's values, route, upstream, status, duration, bytes)")
	fs.StringVar(&opts.DataDir, "data-dir", "", "`folder` for the health store, outside the workspace (default from devproxy.json, else a folder per workspace under the user's state directory)")
	fs.IntVar(&opts.ScanConcurrency, "scan-concurrency", health.DefaultConcurrency, "how many routes the health scanner probes at once")
	fs.StringVar(&opts.Tunnel, "tunnel", "", "start a tunnel while this process serves the port: ngrok (attach to an agent, or start `ngrok http`), cloudflared (a quick tunnel), auto (an ngrok agent's, while one runs), or the public `URL` of a tunnel you run (default: devproxy.json's tunnel settings)")
	fs.StringVar(&opts.Env, "env", "", "apply the environment `profile` NAME of devproxy.json's \"environments\" (its upstreams, listen and tunnel)")
	fs.BoolVar(&opts.Headless, "headless", false, "serve the routes and /devproxy/healthz only (no dashboard, route table, management API or live events), with logs as JSON lines: for CI and containers")
	fs.DurationVar(&opts.DrainTimeout, "drain-timeout", httpproxy.DefaultDrainTimeout, "on SIGINT or SIGTERM, how long requests in flight may finish before every connection is closed")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		fmt.Fprintf(stderr, "devproxy serve: --log-level %q: use debug, info, warn or error\n", level)
		return cli.ExitUsage
	}
	if format != "text" && format != "json" {
		fmt.Fprintf(stderr, "devproxy serve: --log-format must be text or json, not %q\n", format)
		return cli.ExitUsage
	}
	if opts.Headless {
		format = "json" // a log collector reads it
	}
	for _, f := range []struct {
		flag string
		addr *string
	}{{"listen", &opts.Listen}, {"tunnel-listen", &opts.TunnelListen}} {
		if *f.addr == "" {
			continue
		}
		addr, err := routing.ListenAddress(*f.addr)
		if err != nil {
			fmt.Fprintf(stderr, "devproxy serve: --%s %q: use host:port or a port, such as 127.0.0.1:8080 or 8080\n", f.flag, *f.addr)
			return cli.ExitUsage
		}
		*f.addr = addr
	}
	if opts.ScanConcurrency < 1 {
		fmt.Fprintf(stderr, "devproxy serve: --scan-concurrency must be at least 1\n")
		return cli.ExitUsage
	}
	if opts.DrainTimeout <= 0 {
		fmt.Fprintf(stderr, "devproxy serve: --drain-timeout must be positive, such as 5s\n")
		return cli.ExitUsage
	}
	httpproxy.Version = version
	log, accessLog := cli.NewServeLogs(stderr, format, lv)
	opts.Log, opts.Version = log, version
	if access {
		opts.AccessLog = accessLog
	}
	if format == "text" {
		opts.Problems = stderr
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	served := make(chan error, 1)
	go func() { served <- cli.Serve(ctx, opts, stdout) }()
	var err error
	select {
	case err = <-served:
	case sig := <-signals:
		log.Info("stopping; a second signal exits at once", "signal", sig.String(), "drain", opts.DrainTimeout)
		cancel()
		// Serve bounds its own shutdown; the watchdog is the guarantee.
		watchdog := time.NewTimer(opts.DrainTimeout + 2*time.Second)
		defer watchdog.Stop()
		select {
		case err = <-served:
		case sig := <-signals:
			log.Warn("second signal: exiting without waiting", "signal", sig.String())
			return cli.ExitFail
		case <-watchdog.C:
			log.Error("shutdown did not finish in time; exiting anyway", "drain", opts.DrainTimeout)
			if log.Enabled(ctx, slog.LevelDebug) {
				buf := make([]byte, 1<<20)
				log.Debug("goroutines at the forced exit", "stacks", string(buf[:runtime.Stack(buf, true)]))
			}
			return cli.ExitFail
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "devproxy serve: %v\n", err)
		return cli.ExitFail
	}
	return cli.ExitOK
}

// stdio is the language server's stream: stdin and the real stdout, which
// belong to the protocol alone (logs go to stderr or a file).
type stdio struct{ out *os.File }

func (stdio) Read(p []byte) (int, error)    { return os.Stdin.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.out.Write(p) }
func (s stdio) Close() error {
	os.Stdin.Close()
	return s.out.Close()
}

func runLSP(args []string, stderr io.Writer) int {
	fs := newFlagSet("lsp", stderr)
	logFile := fs.String("log-file", "", "write the log to `file` instead of stderr")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.Bool("stdio", true, "talk over stdin and stdout (the only transport; accepted for editors that pass it)")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "devproxy lsp: --log-level %q: use debug, info, warn or error\n", *level)
		return cli.ExitUsage
	}
	out := stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "devproxy lsp: --log-file: %v\n", err)
			return cli.ExitUsage
		}
		defer f.Close()
		out = f
	}
	httpproxy.Version = version
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: lv}))
	keeperLog := ""
	if *logFile != "" {
		keeperLog = *logFile + ".keeper"
	}
	srv := lsp.New(lsp.Options{Version: version, Log: log,
		Keeper: func(listen, tunnelListen string, folders []join.FolderReg, listeners []*os.File) error {
			return startKeeper(listen, tunnelListen, folders, listeners, keeperLog)
		}})
	// The protocol keeps the real stdout; a stray print anywhere in the
	// process lands on stderr instead of corrupting a frame.
	proto := os.Stdout
	os.Stdout = os.Stderr
	if err := srv.Run(context.Background(), stdio{out: proto}); err != nil {
		log.Error("language server stopped", "err", err)
		return cli.ExitFail
	}
	return cli.ExitOK
}

// headerFlags collects repeated --header flags.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, "; ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", stderr)
	var opts cli.ExplainOptions
	var headers headerFlags
	fs.StringVar(&opts.Root, "root", ".", "workspace `folder` holding apps/ and overrides/")
	fs.Var(&headers, "header", "request header \"Name: value\" (repeatable)")
	fs.StringVar(&opts.Method, "method", "GET", "request `method`")
	fs.BoolVar(&opts.Tunnel, "tunnel", false, "explain as if the request came through the tunnel (https)")
	fs.StringVar(&opts.Format, "format", "", "output `format`: text or json (default text on a terminal, else json)")
	fs.StringVar(&opts.Env, "env", "", "apply the environment `profile` NAME of devproxy.json's \"environments\" (its upstreams, listen and tunnel)")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	switch opts.Format {
	case "":
		opts.Format = "json"
		if isTerminal(stdout) {
			opts.Format = "text"
		}
	case "text", "json":
	default:
		fmt.Fprintf(stderr, "devproxy explain: --format must be text or json, not %q\n", opts.Format)
		return cli.ExitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "devproxy explain: give exactly one PATH_OR_URL")
		return cli.ExitUsage
	}
	opts.Headers = headers
	opts.Target = fs.Arg(0)
	return cli.RunExplain(opts, stdout, stderr)
}

// isTerminal reports whether w is a terminal (a character device), where
// people rather than scripts read the output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// runEnv runs `devproxy env diff A B`. Flags may come before, between or
// after the names.
func runEnv(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "diff" {
		fmt.Fprintln(stderr, "devproxy env: use devproxy env diff A B [--root DIR] [--format text|json]")
		return cli.ExitUsage
	}
	fs := newFlagSet("env diff", stderr)
	var opts cli.EnvDiffOptions
	fs.StringVar(&opts.Root, "root", ".", "workspace `folder` holding devproxy.json")
	fs.StringVar(&opts.Format, "format", "text", "output `format`: text or json")
	var names []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return parseExit(err)
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(names) != 2 {
		fmt.Fprintln(stderr, "devproxy env diff: give exactly two environment names, such as devproxy env diff dev staging")
		return cli.ExitUsage
	}
	if opts.Format != "text" && opts.Format != "json" {
		fmt.Fprintf(stderr, "devproxy env diff: --format must be text or json, not %q\n", opts.Format)
		return cli.ExitUsage
	}
	opts.A, opts.B = names[0], names[1]
	return cli.RunEnvDiff(opts, stdout, stderr)
}
