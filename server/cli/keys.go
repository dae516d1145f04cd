package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/auth"
	"github.com/devtunnelproxy/devproxy/proxy/node"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// KeysOptions are `devproxy keys`' flags and arguments.
type KeysOptions struct {
	Action  string // "create", "list" or "revoke"
	Root    string
	DataDir string // "" takes devproxy.json's dataDir, else the folder per workspace
	Role    string // create
	Name    string // create
	ID      string // revoke
	Format  string // list: "text" or "json"
}

// KeysPath is the keys file of the workspace at root: auth.KeysFileName
// in the data directory the health store uses (node.HealthFor).
func KeysPath(root, dataDir string) (string, error) {
	ws, err := routing.NewWorkspace(root)
	if err != nil {
		return "", err
	}
	h, err := node.HealthFor(ws.Root(), ws.Served().Config, dataDir)
	if err != nil {
		return "", fmt.Errorf("the data directory: %w (set --data-dir, or \"dataDir\" in devproxy.json, to a folder outside the workspace)", err)
	}
	return filepath.Join(h.DataDir, auth.KeysFileName), nil
}

// RunKeys runs `devproxy keys ACTION`. create prints what the key is for
// and then the key alone on the last line, so that a script can take
// `tail -n 1`; list never prints a secret (none is stored).
func RunKeys(opts KeysOptions, stdout, stderr io.Writer) int {
	path, err := KeysPath(opts.Root, opts.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "devproxy keys: %v\n", err)
		return ExitFail
	}
	keys, err := auth.OpenKeys(path)
	if err != nil {
		return keysFailed(stderr, err)
	}
	defer keys.Close()
	switch opts.Action {
	case "create":
		role, err := auth.ParseRole(opts.Role)
		if err != nil {
			fmt.Fprintf(stderr, "devproxy keys create: --role: %v\n", err)
			return ExitUsage
		}
		plain, key, err := keys.Create(role, opts.Name)
		if err != nil {
			return keysFailed(stderr, err)
		}
		can := "read routes, health and the live dashboard"
		if role == auth.Admin {
			can = "read everything and change routes and settings"
		}
		fmt.Fprintf(stdout, "Created the %s key %s%s: it may %s through the tunnel.\n", role, key.ID, named(key.Name), can)
		fmt.Fprintf(stdout, "Send it as \"Authorization: Bearer <key>\", or sign in at /devproxy/signin.\n")
		fmt.Fprintf(stdout, "It is shown this once (only its hash is kept in %s); revoke it with: devproxy keys revoke %s\n", path, key.ID)
		fmt.Fprintln(stdout, plain)
		return ExitOK
	case "list":
		list := keys.List()
		if opts.Format == "json" {
			if list == nil {
				list = []auth.Key{}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(list)
			return ExitOK
		}
		if len(list) == 0 {
			fmt.Fprintf(stdout, "No keys in %s; create one with: devproxy keys create --role read-only\n", path)
			return ExitOK
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tNAME\tCREATED\tLAST USED")
		for _, k := range list {
			used := "never"
			if !k.LastUsed.IsZero() {
				used = k.LastUsed.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Name, k.Created.Local().Format(time.DateTime), used)
		}
		tw.Flush()
		return ExitOK
	case "revoke":
		if err := keys.Revoke(opts.ID); err != nil {
			if errors.Is(err, auth.ErrNoKey) {
				fmt.Fprintf(stderr, "devproxy keys revoke: %v (see devproxy keys list)\n", err)
				return ExitFail
			}
			return keysFailed(stderr, err)
		}
		fmt.Fprintf(stdout, "Revoked the key %s; its sessions end at their next request.\n", opts.ID)
		return ExitOK
	}
	fmt.Fprintf(stderr, "devproxy keys: unknown action %q: use create, list or revoke\n", opts.Action)
	return ExitUsage
}

func named(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", name)
}

func keysFailed(stderr io.Writer, err error) int {
	if errors.Is(err, auth.ErrLocked) {
		fmt.Fprintf(stderr, "devproxy keys: %v\nThe running devproxy opens the keys file only for a moment: try again. If this persists, a devproxy is stuck holding it; stop it and retry.\n", err)
		return ExitFail
	}
	fmt.Fprintf(stderr, "devproxy keys: %v\n", err)
	return ExitFail
}
