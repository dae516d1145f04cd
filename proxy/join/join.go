// Package join lets several devproxy processes of one user share one proxy
// port. The process holding the port (the owner) serves the proxy; every
// other process (a member: another VS Code window, a devproxy serve in
// another folder) joins it over that port and registers its workspace
// folders, and the owner composes every registered folder into one route
// table.
//
// The wire is JSON-RPC 2.0 over a WebSocket at GET /devproxy/ws on the
// proxy's local listener (docs/join.md). Joining is local only: the
// member dials a loopback address, authenticates with the per-user token
// (token.go) before the upgrade, and never sends an Origin header; the
// proxy never hands /devproxy/ws to the owner from its tunnel listener.
//
// This package is the wire and its bookkeeping: which processes are
// members and which folders each registered. What a change means for the
// route table, and who becomes the owner, is the host's.
package join

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/internal/wsrpc"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The methods (docs/join.md).
const (
	// MethodRegister (member → owner, request) registers the member's
	// client and folders; registering again on one connection replaces
	// them. Params RegisterParams, result Members.
	MethodRegister = "devproxy/register"
	// MethodUpdate (member → owner, request) replaces the member's
	// folders. Params RegisterParams, result Members.
	MethodUpdate = "devproxy/update"
	// MethodMembers (owner → member, notification) is sent on every
	// change. Params Members.
	MethodMembers = "devproxy/members"
	// MethodStop (member → owner, request, no params) asks the owner to
	// release the port. Result {}.
	MethodStop = "devproxy/stop"
)

// Path is where the owner serves the WebSocket.
const Path = "/devproxy/ws"

// Limits.
const (
	MaxFolders = 64      // folders per member (and for the owner)
	MaxMembers = 32      // registered members per owner
	MaxMessage = 1 << 20 // bytes in one message; a larger one closes the connection
	maxGlobs   = 64      // apps or overrides patterns per folder
	maxName    = 256     // bytes in a client's name
	maxPath    = 4096    // bytes in a root or a pattern
)

// Kind is what kind of process a client is.
type Kind string

const (
	KindVSCode Kind = "vscode" // a VS Code window's language server
	KindServe  Kind = "serve"  // devproxy serve
)

// KeeperName is the Name of `devproxy keeper` (Kind serve): the process
// a VS Code window's language server leaves holding the port while the
// window reloads. A window that joins a keeper serving its folders takes
// the port back at once.
const KeeperName = "devproxy keeper (a window reloading)"

// Client describes a process that owns or joins a proxy.
type Client struct {
	PID  int    `json:"pid"`
	Kind Kind   `json:"kind"`
	Name string `json:"name"` // for people: the workspace's or the command's name
}

// FolderReg is one workspace folder a process registers: its root and,
// when they differ from devproxy.json's, where its route files are (glob
// patterns relative to the root, as devproxy.json's "apps" and
// "overrides").
type FolderReg struct {
	Root      string   `json:"root"`
	Apps      []string `json:"apps,omitempty"`
	Overrides []string `json:"overrides,omitempty"`
	// Environment is the profile of the folder's devproxy.json the owner
	// routes the folder with (--env, devproxy.environment); "" for none.
	Environment string `json:"environment,omitempty"`
}

// Spec is the folder as the owner's workspace composes it: watched, with
// the registered globs and environment as its settings (its devproxy.json
// wins where it sets a value, as over an editor's settings).
func (f FolderReg) Spec() routing.FolderSpec {
	return routing.FolderSpec{Root: f.Root, Watched: true,
		Defaults: routing.Config{Apps: f.Apps, Overrides: f.Overrides, Environment: f.Environment}}
}

// RegisterParams are the params of devproxy/register and devproxy/update
// (schemas/join-register.schema.json).
type RegisterParams struct {
	Client  Client      `json:"client"`
	Folders []FolderReg `json:"folders"`
}

// Members is everyone sharing the port: the owner and each registered
// member, in the order they joined (schemas/join-members.schema.json).
type Members struct {
	Owner   OwnerInfo    `json:"owner"`
	Members []MemberInfo `json:"members"`
}

// OwnerInfo is the owner and its own folders.
type OwnerInfo struct {
	Client
	Folders []FolderReg `json:"folders"`
}

// MemberInfo is a registered member. ID names its connection while it
// lasts.
type MemberInfo struct {
	ID string `json:"id"`
	Client
	Folders []FolderReg `json:"folders"`
}

// Keep-alive: each side pings every Ping interval and drops a peer it
// has not heard from (a message, a ping or a pong) for Read; each write
// may block for Write; a connection must register within register. An
// owner or a member copies these when it starts; tests shorten them
// before.
type keepAliveTiming struct {
	wsrpc.KeepAlive
	register time.Duration
}

var keepAlive = keepAliveTiming{
	KeepAlive: wsrpc.KeepAlive{Ping: 10 * time.Second, Read: 20 * time.Second, Write: 10 * time.Second},
	register:  10 * time.Second,
}

// paramError is an InvalidParams answer naming the field at fault.
func paramError(field, format string, args ...any) *jsonrpc2.Error {
	return &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// decodeRegister reads and checks register or update params. Unknown
// fields are refused, so that a typo is not silently ignored.
func decodeRegister(raw *json.RawMessage) (RegisterParams, *jsonrpc2.Error) {
	var wire struct {
		Client *struct {
			PID  *int    `json:"pid"`
			Kind *Kind   `json:"kind"`
			Name *string `json:"name"`
		} `json:"client"`
		Folders *[]FolderReg `json:"folders"`
	}
	if raw == nil {
		return RegisterParams{}, paramError("params", "missing; send {\"client\": ..., \"folders\": [...]}")
	}
	dec := json.NewDecoder(bytes.NewReader(*raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		return RegisterParams{}, paramError("params", "%v", err)
	}
	switch {
	case wire.Client == nil:
		return RegisterParams{}, paramError("client", "missing")
	case wire.Client.PID == nil:
		return RegisterParams{}, paramError("client.pid", "missing")
	case wire.Client.Kind == nil:
		return RegisterParams{}, paramError("client.kind", "missing")
	case wire.Client.Name == nil:
		return RegisterParams{}, paramError("client.name", "missing")
	case wire.Folders == nil:
		return RegisterParams{}, paramError("folders", "missing; send [] for none")
	}
	p := RegisterParams{
		Client:  Client{PID: *wire.Client.PID, Kind: *wire.Client.Kind, Name: *wire.Client.Name},
		Folders: *wire.Folders,
	}
	if err := checkClient(p.Client); err != nil {
		return RegisterParams{}, err
	}
	if err := checkFolders(p.Folders); err != nil {
		return RegisterParams{}, err
	}
	return p, nil
}

func checkClient(c Client) *jsonrpc2.Error {
	if c.PID <= 0 {
		return paramError("client.pid", "%d is not a process id", c.PID)
	}
	if c.Kind != KindVSCode && c.Kind != KindServe {
		return paramError("client.kind", "%q is not \"vscode\" or \"serve\"", c.Kind)
	}
	if len(c.Name) > maxName || !utf8.ValidString(c.Name) || strings.ContainsFunc(c.Name, isControl) {
		return paramError("client.name", "must be at most %d bytes of text without control characters", maxName)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkFolders checks a folder list: at most MaxFolders, each root an
// absolute, cleaned path of an existing directory, named once, and each
// pattern relative and inside the root.
func checkFolders(folders []FolderReg) *jsonrpc2.Error {
	if len(folders) > MaxFolders {
		return paramError("folders", "%d folders; at most %d can be registered by one process", len(folders), MaxFolders)
	}
	seen := make(map[string]int, len(folders))
	for i, f := range folders {
		field := "folders[" + strconv.Itoa(i) + "]"
		r := f.Root
		switch {
		case r == "" || len(r) > maxPath || strings.ContainsRune(r, 0):
			return paramError(field+".root", "must be a path of at most %d bytes", maxPath)
		case !filepath.IsAbs(r):
			return paramError(field+".root", "%q is not an absolute path", r)
		case filepath.Clean(r) != r:
			return paramError(field+".root", "%q is not clean; send %q", r, filepath.Clean(r))
		}
		if st, err := os.Stat(r); err != nil {
			return paramError(field+".root", "%q does not exist or cannot be read", r)
		} else if !st.IsDir() {
			return paramError(field+".root", "%q is not a directory", r)
		}
		if j, dup := seen[r]; dup {
			return paramError(field+".root", "%q is already folders[%d]", r, j)
		}
		seen[r] = i
		if f.Environment != "" && !routing.IsEnvironmentName(f.Environment) {
			return paramError(field+".environment", "%q is not an environment name (letters, digits, '-', '_' or '.', starting with a letter or digit)", f.Environment)
		}
		for _, g := range []struct {
			name     string
			patterns []string
		}{{"apps", f.Apps}, {"overrides", f.Overrides}} {
			if len(g.patterns) > maxGlobs {
				return paramError(field+"."+g.name, "%d patterns; at most %d", len(g.patterns), maxGlobs)
			}
			for k, p := range g.patterns {
				if msg := checkGlob(p); msg != "" {
					return paramError(field+"."+g.name+"["+strconv.Itoa(k)+"]", "%q %s", p, msg)
				}
			}
		}
	}
	return nil
}

// checkGlob checks a pattern as devproxy.json's "apps": relative to the
// root with forward slashes, inside it, and valid for path.Match. It
// returns what is wrong, or "".
func checkGlob(p string) string {
	switch {
	case p == "" || len(p) > maxPath:
		return fmt.Sprintf("must be a pattern of at most %d bytes", maxPath)
	case strings.ContainsFunc(p, isControl) || strings.ContainsRune(p, '\\'):
		return "holds a control character or a backslash; patterns use forward slashes"
	case strings.HasPrefix(p, "/"):
		return "is absolute; patterns are relative to the folder's root"
	case p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.."):
		return "leaves the folder's root"
	}
	if _, err := path.Match(p, ""); err != nil {
		return "is not a valid pattern"
	}
	return ""
}

// cloneFolders copies a folder list, never nil: Members always carries
// "folders": [].
func cloneFolders(folders []FolderReg) []FolderReg {
	out := make([]FolderReg, len(folders))
	for i, f := range folders {
		out[i] = FolderReg{Root: f.Root, Apps: cloneStrings(f.Apps), Overrides: cloneStrings(f.Overrides), Environment: f.Environment}
	}
	return out
}

func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
