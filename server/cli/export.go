package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/devtunnelproxy/devproxy/proxy/nginxexport"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// ExportOptions are the flags of `devproxy export nginx`.
type ExportOptions struct {
	Root       string
	Listen     string
	ServerOnly bool
	Strict     bool
	Output     string // a file; stdout when empty or "-"
	Env        string // --env: the environment profile of devproxy.json to apply
}

// RunExportNginx writes the workspace's served route table as nginx
// configuration. What nginx cannot express is printed on stderr with the
// file and line; with Strict that makes the exit code 1 (the file is
// still written, so the warnings can be read against it).
func RunExportNginx(opts ExportOptions, stdout, stderr io.Writer) int {
	listen := opts.Listen
	if listen != "" {
		// A port alone means loopback, as for devproxy serve; nginx
		// would take it as every interface.
		var err error
		if listen, err = routing.ListenAddress(listen); err != nil {
			fmt.Fprintf(stderr, "devproxy export nginx: --listen %q: %v\n", opts.Listen, err)
			return ExitUsage
		}
	}
	ws, err := openWorkspace(opts.Root, opts.Env)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy export nginx: %v\n", err)
		return ExitUsage
	}
	r := nginxexport.Export(ws.Table(), nginxexport.Options{Listen: listen, ServerOnly: opts.ServerOnly})
	if opts.Output == "" || opts.Output == "-" {
		io.WriteString(stdout, r.Text)
	} else if err := os.WriteFile(opts.Output, []byte(r.Text), 0o644); err != nil {
		fmt.Fprintf(stderr, "devproxy export nginx: %v\n", err)
		return ExitFail
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(stderr, "%s:%d: warning: %s\n", w.File, w.Line, w.Message)
	}
	if opts.Strict && len(r.Warnings) > 0 {
		return ExitFail
	}
	return ExitOK
}
