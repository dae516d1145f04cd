package main

import (
	"fmt"
	"io"

	"github.com/devtunnelproxy/devproxy/server/cli"
)

// runKeys parses `devproxy keys ACTION [flags] [ID]`: flags may come
// before or after the id.
func runKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "revoke") {
		fmt.Fprintln(stderr, "devproxy keys: give an action: create, list or revoke")
		return cli.ExitUsage
	}
	opts := cli.KeysOptions{Action: args[0]}
	fs := newFlagSet("keys "+opts.Action, stderr)
	fs.StringVar(&opts.Root, "root", ".", "workspace `folder` holding apps/ and overrides/")
	fs.StringVar(&opts.DataDir, "data-dir", "", "the workspace's data `folder`, where keys.db lives (default from devproxy.json, else a folder per workspace under the user's state directory)")
	switch opts.Action {
	case "create":
		fs.StringVar(&opts.Role, "role", "", "the key's `role`: read-only (read routes, health, the dashboard) or admin (change them too)")
		fs.StringVar(&opts.Name, "name", "", "a `name` saying whose key it is or what it is for")
	case "list":
		fs.StringVar(&opts.Format, "format", "text", "output `format`: text or json")
	}
	var positional []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return parseExit(err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch {
	case opts.Action == "revoke" && len(positional) != 1:
		fmt.Fprintln(stderr, "devproxy keys revoke: give exactly one key ID (see devproxy keys list)")
		return cli.ExitUsage
	case opts.Action != "revoke" && len(positional) > 0:
		fmt.Fprintf(stderr, "devproxy keys %s: unexpected argument %q\n", opts.Action, positional[0])
		return cli.ExitUsage
	case opts.Action == "create" && opts.Role == "":
		fmt.Fprintln(stderr, "devproxy keys create: --role is required: read-only or admin")
		return cli.ExitUsage
	case opts.Action == "list" && opts.Format != "text" && opts.Format != "json":
		fmt.Fprintf(stderr, "devproxy keys list: --format must be text or json, not %q\n", opts.Format)
		return cli.ExitUsage
	}
	if opts.Action == "revoke" {
		opts.ID = positional[0]
	}
	return cli.RunKeys(opts, stdout, stderr)
}
