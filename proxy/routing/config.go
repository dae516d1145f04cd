package routing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// ConfigFile is the optional workspace settings file at the root.
const ConfigFile = "devproxy.json"

// ResolutionsFile pins conflict winners: {"/api/": "apps/b.conf"}.
const ResolutionsFile = ".devproxy/resolutions.json"

// Config is devproxy.json. Every field is optional; Defaults fills the gaps.
// The JSON Schema is schemas/devproxy.schema.json.
type Config struct {
	// Apps and Overrides are glob patterns, relative to the root, for the
	// two kinds of route files.
	Apps      []string     `json:"apps,omitempty"`
	Overrides []string     `json:"overrides,omitempty"`
	Listen    string       `json:"listen,omitempty"`
	Tunnel    TunnelConfig `json:"tunnel,omitempty"`
	// AllowedHosts extends the Host names the local listener serves
	// (besides localhost, *.localhost, loopback addresses, the listen
	// host and the tunnel's public host): "dev.example.com", or
	// ".example.com" for it and every subdomain, or "*" for any host.
	AllowedHosts []string `json:"allowedHosts,omitempty"`
}

// TunnelConfig is where a tunnel agent connects.
type TunnelConfig struct {
	Listen string `json:"listen,omitempty"`
	// PublicURL is the tunnel's public address, when known
	// ("https://abc.ngrok.app").
	PublicURL string `json:"publicUrl,omitempty"`
}

// Default settings.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultTunnelListen = "127.0.0.1:8081"
)

// Over returns c with the fields it leaves empty taken from d: devproxy.json
// over an editor's settings.
func (c Config) Over(d Config) Config {
	if len(c.Apps) == 0 {
		c.Apps = d.Apps
	}
	if len(c.Overrides) == 0 {
		c.Overrides = d.Overrides
	}
	if c.Listen == "" {
		c.Listen = d.Listen
	}
	if c.Tunnel.Listen == "" {
		c.Tunnel.Listen = d.Tunnel.Listen
	}
	if c.Tunnel.PublicURL == "" {
		c.Tunnel.PublicURL = d.Tunnel.PublicURL
	}
	if len(c.AllowedHosts) == 0 {
		c.AllowedHosts = d.AllowedHosts
	}
	return c
}

// withDefaults returns c with empty fields filled in.
func (c Config) withDefaults() Config {
	if len(c.Apps) == 0 {
		c.Apps = []string{"apps/*.conf"}
	}
	if len(c.Overrides) == 0 {
		c.Overrides = []string{"overrides/*.conf"}
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Tunnel.Listen == "" {
		c.Tunnel.Listen = DefaultTunnelListen
	}
	return c
}

// knownConfigKeys lists the settings this version understands; other keys
// are reported (they may belong to a newer version) but do not fail.
var knownConfigKeys = map[string]bool{"$schema": true, "apps": true, "overrides": true, "listen": true, "tunnel": true, "allowedHosts": true}

// loadConfig reads devproxy.json in root (or its overlay, when data is
// not nil); name is how diagnostics name it (ConfigFile, or
// "shop/devproxy.json" in a workspace of several folders). A missing file
// means no settings; a broken one means none plus an error diagnostic that
// names the problem. Defaults are applied by the caller.
func loadConfig(root, name string, data []byte) (Config, []routefile.Diagnostic) {
	if data == nil {
		var err error
		data, err = os.ReadFile(filepath.Join(root, ConfigFile))
		if errors.Is(err, os.ErrNotExist) {
			return Config{}, nil
		}
		if err != nil {
			return Config{}, []routefile.Diagnostic{jsonDiag(name, nil, 0, routefile.CodeConfig, fmt.Sprintf("cannot read %s: %v", name, err))}
		}
	}
	var diags []routefile.Diagnostic
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, []routefile.Diagnostic{jsonError(name, data, routefile.CodeConfig, err)}
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !knownConfigKeys[k] {
			off := bytes.Index(data, []byte(`"`+k+`"`))
			d := jsonDiag(name, data, max(off, 0), routefile.CodeConfig, fmt.Sprintf("unknown setting %q; it is ignored", k))
			d.Severity = routefile.Warning
			diags = append(diags, d)
		}
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return Config{}, append(diags, jsonError(name, data, routefile.CodeConfig, err))
	}
	for _, field := range []struct {
		name string
		addr *string
	}{{"listen", &c.Listen}, {"tunnel.listen", &c.Tunnel.Listen}} {
		if *field.addr == "" {
			continue
		}
		_, port, err := net.SplitHostPort(*field.addr)
		if err == nil {
			_, err = strconv.ParseUint(port, 10, 16)
		}
		if err != nil {
			off := bytes.Index(data, []byte(*field.addr))
			diags = append(diags, jsonDiag(name, data, max(off, 0), routefile.CodeConfig,
				fmt.Sprintf("%s: %q is not host:port with a numeric port; using the default", field.name, *field.addr)))
			*field.addr = ""
		}
	}
	if u := c.Tunnel.PublicURL; u != "" && PublicHost(u) == "" {
		off := bytes.Index(data, []byte(u))
		diags = append(diags, jsonDiag(name, data, max(off, 0), routefile.CodeConfig,
			fmt.Sprintf("tunnel.publicUrl: %q is not an http(s) URL such as \"https://abc.ngrok.app\"; it is ignored", u)))
		c.Tunnel.PublicURL = ""
	}
	c.AllowedHosts = checkAllowedHosts(name, data, c.AllowedHosts, &diags)
	c.Apps = checkGlobs(name, data, "apps", c.Apps, &diags)
	c.Overrides = checkGlobs(name, data, "overrides", c.Overrides, &diags)
	return c, diags
}

// PublicHost is the lowercase host name of a tunnel's public URL, "" when
// the URL is not http(s)://host[:port][/...].
func PublicHost(u string) string {
	rest, ok := strings.CutPrefix(strings.ToLower(u), "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(strings.ToLower(u), "http://"); !ok {
			return ""
		}
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		rest = h
	}
	if rest == "" || strings.ContainsAny(rest, " @\t") {
		return ""
	}
	return rest
}

// checkAllowedHosts keeps host names (lowercased) and reports entries that
// cannot be one: ports, paths, spaces.
func checkAllowedHosts(name string, data []byte, hosts []string, diags *[]routefile.Diagnostic) []string {
	var ok []string
	for _, h := range hosts {
		if h == "" || strings.ContainsAny(h, ":/ \t@") && !strings.HasPrefix(h, "[") {
			off := bytes.Index(data, []byte(`"`+h+`"`))
			*diags = append(*diags, jsonDiag(name, data, max(off, 0), routefile.CodeConfig,
				fmt.Sprintf("allowedHosts: %q is not a host name; write it without scheme, port or path, such as \"dev.example.com\" or \".example.com\"", h)))
			continue
		}
		ok = append(ok, strings.ToLower(h))
	}
	return ok
}

// checkGlobs keeps the usable route-file globs and reports the others: bad
// patterns, and patterns that leave the workspace (route files live under
// the root, where the watcher and the editor see them).
func checkGlobs(name string, data []byte, setting string, globs []string, diags *[]routefile.Diagnostic) []string {
	var ok []string
	for _, g := range globs {
		problem := ""
		clean := path.Clean(filepath.ToSlash(g))
		switch {
		case g == "":
			problem = "is empty"
		case filepath.IsAbs(g) || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../"):
			problem = "leaves the workspace; route files must live under the workspace folder"
		default:
			if _, err := path.Match(clean, ""); err != nil {
				problem = "is not a valid glob: " + err.Error()
			}
		}
		if problem != "" {
			off := bytes.Index(data, []byte(`"`+g+`"`))
			*diags = append(*diags, jsonDiag(name, data, max(off, 0), routefile.CodeConfig,
				fmt.Sprintf("%s: %q %s; it is ignored", setting, g, problem)))
			continue
		}
		ok = append(ok, clean)
	}
	return ok
}

// Resolutions maps a route to the file pinned to win it.
type Resolutions map[string]string

// loadResolutions reads .devproxy/resolutions.json in root (or its
// overlay, when data is not nil); name is how diagnostics name it. Both
// the plain form {"/api/": "apps/b.conf"} and the old product's
// {"/api/": {"winner": "apps/b.conf", ...}} are accepted. A missing file,
// or an empty one (whitespace only), means no pins.
func loadResolutions(root, name string, data []byte) (Resolutions, []byte, []routefile.Diagnostic) {
	if data == nil {
		var err error
		data, err = os.ReadFile(filepath.Join(root, filepath.FromSlash(ResolutionsFile)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, []routefile.Diagnostic{jsonDiag(name, nil, 0, routefile.CodeResolution, fmt.Sprintf("cannot read %s: %v", name, err))}
		}
	}
	// An empty file means no pins: the quick fix that pins a winner
	// creates the file in two steps (create, then insert), and an editor
	// may save it in between.
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, data, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, data, []routefile.Diagnostic{jsonError(name, data, routefile.CodeResolution, err)}
	}
	res := Resolutions{}
	var diags []routefile.Diagnostic
	for _, route := range slices.Sorted(maps.Keys(raw)) {
		v := raw[route]
		var s string
		if json.Unmarshal(v, &s) != nil {
			var obj struct {
				Winner string `json:"winner"`
			}
			if json.Unmarshal(v, &obj) != nil || obj.Winner == "" {
				off := bytes.Index(data, []byte(`"`+route+`"`))
				diags = append(diags, jsonDiag(name, data, max(off, 0), routefile.CodeResolution,
					fmt.Sprintf("the winner for %q must be a file name such as \"apps/b.conf\"", route)))
				continue
			}
			s = obj.Winner
		}
		res[route] = s
	}
	return res, data, diags
}

func jsonError(file string, data []byte, code string, err error) routefile.Diagnostic {
	off := 0
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = int(se.Offset)
	case errors.As(err, &te):
		off = int(te.Offset)
	case errors.Is(err, io.EOF):
		off = len(data)
	}
	return jsonDiag(file, data, off, code, fmt.Sprintf("%s is not valid: %v", file, err))
}

func jsonDiag(file string, data []byte, off int, code, msg string) routefile.Diagnostic {
	p := routefile.PosAt(data, off)
	return routefile.Diagnostic{File: file, Severity: routefile.Error, Code: code, Message: msg,
		Range: routefile.Range{Start: p, End: p}}
}
