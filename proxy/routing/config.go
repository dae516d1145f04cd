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
	// DataDir is where the health store lives (proxy/store), an absolute
	// path once read (a relative one is taken from the root). Empty: a
	// folder per workspace under the user's state directory. Never inside
	// the workspace: a write there would trigger a reload.
	DataDir   string          `json:"dataDir,omitempty"`
	Retention RetentionConfig `json:"retention,omitempty"`
	// Private lists route prefixes ("/admin/") that are served on the
	// local listener only: through the tunnel a path under one answers
	// the same 404 as a path no route serves (see PrivatePrefix).
	Private []string `json:"private,omitempty"`
	// Environments are the named profiles ("dev", "staging", "prod") that
	// point the same routes at other upstreams and listeners.
	Environments map[string]Environment `json:"environments,omitempty"`
	// Environment is the profile in use, chosen outside devproxy.json (the
	// --env flag, the editor's devproxy.environment setting); "" for none.
	// withDefaults applies its listen and tunnel settings; its upstream map
	// is applied where proxy_pass targets are resolved (MapUpstream).
	Environment string `json:"-"`
}

// Environment is one profile of devproxy.json's "environments".
type Environment struct {
	// Upstreams maps a proxy_pass target's "host:port" (normalised:
	// lowercase host, IPv6 in brackets) to the "host:port" it is sent to
	// instead.
	Upstreams map[string]string `json:"upstreams,omitempty"`
	Listen    string            `json:"listen,omitempty"`
	Tunnel    TunnelConfig      `json:"tunnel,omitempty"`
}

// EnvironmentNames lists the profiles, sorted.
func (c Config) EnvironmentNames() []string {
	return slices.Sorted(maps.Keys(c.Environments))
}

// MapUpstream returns u pointed at the active environment's replacement
// for its host:port, and whether there was one. The scheme and the URI
// part stay; the Host the upstream sees follows the new target, as if
// proxy_pass had been written with it.
func (c Config) MapUpstream(u *routefile.UpstreamURL) (*routefile.UpstreamURL, bool) {
	env, ok := c.Environments[c.Environment]
	if !ok || len(env.Upstreams) == 0 || u == nil {
		return u, false
	}
	to, ok := env.Upstreams[strings.ToLower(u.HostPort())]
	if !ok {
		return u, false
	}
	host, port, err := splitUpstreamHostPort(to)
	if err != nil {
		return u, false // loadConfig dropped these already
	}
	return &routefile.UpstreamURL{Scheme: u.Scheme, Host: host, Port: port, HasURI: u.HasURI, URI: u.URI}, true
}

// splitUpstreamHostPort reads an environment's "host:port": a host (IPv6 in
// brackets) and a numeric port from 1 to 65535, both required.
func splitUpstreamHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	if host == "" || strings.ContainsAny(host, "/ \t@?#") {
		return "", 0, fmt.Errorf("%q has no host name", s)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	return strings.ToLower(host), int(port), nil
}

// normalHostPort is s as UpstreamURL.HostPort writes it, lowercased.
func normalHostPort(s string) (string, error) {
	host, port, err := splitUpstreamHostPort(s)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// IsEnvironmentName reports whether s has the form of a profile's name: a
// letter or digit, then letters, digits, '-', '_' or '.', at most 64.
func IsEnvironmentName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '-' || r == '_' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// UnknownEnvironment is the error for a profile name devproxy.json does
// not define; it lists the ones it does.
func (c Config) UnknownEnvironment() error {
	if c.Environment == "" {
		return nil
	}
	if _, ok := c.Environments[c.Environment]; ok {
		return nil
	}
	names := c.EnvironmentNames()
	if len(names) == 0 {
		return fmt.Errorf("unknown environment %q: %s defines no \"environments\"", c.Environment, ConfigFile)
	}
	return fmt.Errorf("unknown environment %q: %s defines %s", c.Environment, ConfigFile, strings.Join(quoteAll(names), ", "))
}

// withEnvironmentDiag adds to diags, when the chosen environment is not
// one of c's, an error at the top of the settings file that says so. Only
// the primary folder's profiles apply (its Config is the table's), so only
// its file is reported.
func withEnvironmentDiag(name string, c Config, diags []routefile.Diagnostic, primary bool) []routefile.Diagnostic {
	if err := c.UnknownEnvironment(); err != nil && primary {
		return append(slices.Clip(diags), jsonDiag(name, nil, 0, routefile.CodeConfig, err.Error()+"; no environment applies"))
	}
	return diags
}

func quoteAll(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = strconv.Quote(s)
	}
	return out
}

// PrivatePrefix returns the entry of Private that path falls under, ""
// when none does. "/admin/" covers "/admin/" and everything below it, and
// "/admin" itself (which would otherwise answer the redirect to "/admin/"
// and so reveal the route). Case is ignored, so that a case-insensitive
// regex location cannot serve "/ADMIN/" through the tunnel.
func (c Config) PrivatePrefix(path string) string {
	p := strings.ToLower(path)
	for _, prefix := range c.Private {
		l := strings.ToLower(prefix)
		if strings.HasPrefix(p, l) || strings.HasSuffix(l, "/") && p == strings.TrimSuffix(l, "/") {
			return prefix
		}
	}
	return ""
}

// RetentionConfig says which health reports the store keeps: the last
// Reports per route (0: the store's default, 50) and none older than
// Days days (0: no age limit).
type RetentionConfig struct {
	Reports int `json:"reports,omitempty"`
	Days    int `json:"days,omitempty"`
}

// TunnelConfig is where a tunnel agent connects.
type TunnelConfig struct {
	Listen string `json:"listen,omitempty"`
	// PublicURL is the tunnel's public address, when known
	// ("https://abc.ngrok.app"): typed in (the manual provider), or found
	// by the running tunnel (Workspace.SetPublicURL).
	PublicURL string `json:"publicUrl,omitempty"`
	// TypedURL is tunnel.publicUrl as devproxy.json (or the editor's
	// settings) set it, whatever the running tunnel reported since.
	TypedURL string `json:"-"`
	// Provider is the tunnel the proxy's owner runs or attaches to:
	// "ngrok", "cloudflared", "manual" (PublicURL), or "" (an ngrok agent
	// already forwarding to the tunnel listener, when one runs; manual
	// when PublicURL is set). See proxy/tunnel.
	Provider string `json:"provider,omitempty"`
}

// TunnelProviders are the values of tunnel.provider.
var TunnelProviders = []string{"ngrok", "cloudflared", "manual"}

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
	if c.Tunnel.Provider == "" {
		c.Tunnel.Provider = d.Tunnel.Provider
	}
	if len(c.AllowedHosts) == 0 {
		c.AllowedHosts = d.AllowedHosts
	}
	if c.DataDir == "" {
		c.DataDir = d.DataDir
	}
	if c.Retention.Reports == 0 {
		c.Retention.Reports = d.Retention.Reports
	}
	if c.Retention.Days == 0 {
		c.Retention.Days = d.Retention.Days
	}
	if len(c.Private) == 0 {
		c.Private = d.Private
	}
	if len(c.Environments) == 0 {
		c.Environments = d.Environments
	}
	if c.Environment == "" {
		c.Environment = d.Environment
	}
	return c
}

// readSetting decodes one setting's value v into dst, a pointer to a string
// or a []string, leaving dst alone when v is of the wrong type (a list with
// one number in it is wrong as a whole). A missing value or null is fine.
func readSetting(v json.RawMessage, dst any) bool {
	if v == nil || string(v) == "null" {
		return true
	}
	switch d := dst.(type) {
	case *string:
		return json.Unmarshal(v, d) == nil
	case *int:
		return json.Unmarshal(v, d) == nil
	case *[]string:
		var list []string
		if json.Unmarshal(v, &list) != nil {
			return false
		}
		*d = list
		return true
	}
	panic(fmt.Sprintf("readSetting: %T", dst))
}

// ListenAddress reads a listen address as the flags and devproxy.json
// give it: "host:port", or a port alone ("8392"), which means the loopback
// address "127.0.0.1:8392" (the default host; every interface must be
// asked for, ":8392" or "0.0.0.0:8392"). The port must be a number.
func ListenAddress(s string) (string, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		s = "127.0.0.1:" + s
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return s, nil
}

// withDefaults returns c with empty fields filled in, and a port alone
// as the listen address taken as a loopback address (ListenAddress).
func (c Config) withDefaults() Config {
	// The active profile's listen and tunnel settings win over the
	// top-level ones (and the editor's); flags such as --listen win over
	// both, in the command that reads them.
	if env, ok := c.Environments[c.Environment]; ok {
		if env.Listen != "" {
			c.Listen = env.Listen
		}
		if env.Tunnel.Listen != "" {
			c.Tunnel.Listen = env.Tunnel.Listen
		}
		if env.Tunnel.PublicURL != "" {
			c.Tunnel.PublicURL = env.Tunnel.PublicURL
		}
		if env.Tunnel.Provider != "" {
			c.Tunnel.Provider = env.Tunnel.Provider
		}
	}
	for _, addr := range []*string{&c.Listen, &c.Tunnel.Listen} {
		if a, err := ListenAddress(*addr); err == nil {
			*addr = a
		}
	}
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
var knownConfigKeys = map[string]bool{"$schema": true, "apps": true, "overrides": true, "listen": true, "tunnel": true, "allowedHosts": true, "dataDir": true, "retention": true, "private": true, "environments": true}

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
	at := valueOffsets(data, 0)
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !knownConfigKeys[k] {
			off := bytes.Index(data, []byte(`"`+k+`"`))
			d := jsonDiag(name, data, max(off, 0), routefile.CodeConfig, fmt.Sprintf("unknown setting %q; it is ignored", k))
			d.Severity = routefile.Warning
			diags = append(diags, d)
		}
	}
	// Each setting is read on its own, so that a value of the wrong type
	// is reported in words at the value (never as a Go type) and the
	// other settings still apply.
	var c Config
	read := func(key string, v json.RawMessage, off int, dst any, want string) {
		if !readSetting(v, dst) {
			diags = append(diags, jsonDiag(name, data, off, routefile.CodeConfig,
				fmt.Sprintf("%q must be %s; it is ignored", key, want)))
		}
	}
	read("apps", raw["apps"], at["apps"], &c.Apps, `a list of globs, such as ["apps/*.conf"]`)
	read("overrides", raw["overrides"], at["overrides"], &c.Overrides, `a list of globs, such as ["overrides/*.conf"]`)
	read("listen", raw["listen"], at["listen"], &c.Listen, `"host:port" or a port, such as "127.0.0.1:8080" or "8080"`)
	read("allowedHosts", raw["allowedHosts"], at["allowedHosts"], &c.AllowedHosts, `a list of host names, such as ["dev.example.com"]`)
	read("dataDir", raw["dataDir"], at["dataDir"], &c.DataDir, `a folder outside the workspace, such as "/home/me/.cache/devproxy/shop"`)
	read("private", raw["private"], at["private"], &c.Private, `a list of route prefixes served locally only, such as ["/admin/", "/internal/"]`)
	read("$schema", raw["$schema"], at["$schema"], new(string), "a URL or path of the schema, as a string")
	if v := raw["tunnel"]; v != nil && string(v) != "null" {
		var tunnel map[string]json.RawMessage
		if json.Unmarshal(v, &tunnel) != nil {
			diags = append(diags, jsonDiag(name, data, at["tunnel"], routefile.CodeConfig,
				`"tunnel" must be an object, such as {"listen": "127.0.0.1:8081"}; it is ignored`))
		} else {
			tat := valueOffsets(data[at["tunnel"]:], at["tunnel"])
			read("tunnel.listen", tunnel["listen"], tat["listen"], &c.Tunnel.Listen, `"host:port" or a port, such as "127.0.0.1:8081" or "8081"`)
			read("tunnel.publicUrl", tunnel["publicUrl"], tat["publicUrl"], &c.Tunnel.PublicURL, `an http(s) URL, such as "https://abc.ngrok.app"`)
			read("tunnel.provider", tunnel["provider"], tat["provider"], &c.Tunnel.Provider, `one of "ngrok", "cloudflared", "manual"`)
			if p := c.Tunnel.Provider; p != "" && !slices.Contains(TunnelProviders, p) {
				diags = append(diags, jsonDiag(name, data, tat["provider"], routefile.CodeConfig,
					fmt.Sprintf("tunnel.provider: %q is not one of \"ngrok\", \"cloudflared\", \"manual\"; no tunnel is started", p)))
				c.Tunnel.Provider = ""
			}
			if c.Tunnel.Provider == "manual" && c.Tunnel.PublicURL == "" {
				diags = append(diags, jsonDiag(name, data, tat["provider"], routefile.CodeConfig,
					`tunnel.provider: "manual" needs tunnel.publicUrl, the URL your tunnel gives, such as "https://abc.ngrok.app"`))
			}
		}
	}
	if v := raw["retention"]; v != nil && string(v) != "null" {
		var retention map[string]json.RawMessage
		if json.Unmarshal(v, &retention) != nil {
			diags = append(diags, jsonDiag(name, data, at["retention"], routefile.CodeConfig,
				`"retention" must be an object, such as {"reports": 50, "days": 14}; it is ignored`))
		} else {
			rat := valueOffsets(data[at["retention"]:], at["retention"])
			for _, k := range slices.Sorted(maps.Keys(retention)) {
				if k != "reports" && k != "days" {
					off := at["retention"] + bytes.Index(data[at["retention"]:], []byte(`"`+k+`"`))
					d := jsonDiag(name, data, max(off, 0), routefile.CodeConfig, fmt.Sprintf("unknown setting \"retention.%s\"; it is ignored (retention has \"reports\" and \"days\")", k))
					d.Severity = routefile.Warning
					diags = append(diags, d)
				}
			}
			for _, f := range []struct {
				key, want string
				min       int
				dst       *int
			}{
				{"reports", "a whole number of at least 1, the reports kept per route, such as 50", 1, &c.Retention.Reports},
				{"days", "a whole number of days, 0 for no age limit, such as 14", 0, &c.Retention.Days},
			} {
				v := retention[f.key]
				if v == nil || string(v) == "null" {
					continue
				}
				var n int
				if !readSetting(v, &n) || n < f.min {
					diags = append(diags, jsonDiag(name, data, rat[f.key], routefile.CodeConfig,
						fmt.Sprintf("%q must be %s; it is ignored", "retention."+f.key, f.want)))
					continue
				}
				*f.dst = n
			}
		}
	}
	if d := c.DataDir; d != "" {
		abs := d
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(root, abs)
		}
		abs, _ = filepath.Abs(abs)
		rootAbs, _ := filepath.Abs(root)
		// proxy/store checks again with symbolic links followed.
		if rel, err := filepath.Rel(rootAbs, abs); root != "" && err == nil && (rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))) {
			diags = append(diags, jsonDiag(name, data, at["dataDir"], routefile.CodeConfig,
				fmt.Sprintf("dataDir: %q is inside the workspace, where every write of the health store would trigger a reload; choose a folder outside it; using the default", d)))
			abs = ""
		}
		c.DataDir = abs
	}
	for _, field := range []struct {
		name string
		addr *string
	}{{"listen", &c.Listen}, {"tunnel.listen", &c.Tunnel.Listen}} {
		if *field.addr == "" {
			continue
		}
		addr, err := ListenAddress(*field.addr)
		if err != nil {
			off := bytes.Index(data, []byte(*field.addr))
			diags = append(diags, jsonDiag(name, data, max(off, 0), routefile.CodeConfig,
				fmt.Sprintf("%s: %q is not host:port with a numeric port (or a port alone); using the default", field.name, *field.addr)))
			addr = ""
		}
		*field.addr = addr
	}
	if u := c.Tunnel.PublicURL; u != "" && PublicHost(u) == "" {
		off := bytes.Index(data, []byte(u))
		diags = append(diags, jsonDiag(name, data, max(off, 0), routefile.CodeConfig,
			fmt.Sprintf("tunnel.publicUrl: %q is not an http(s) URL such as \"https://abc.ngrok.app\"; it is ignored", u)))
		c.Tunnel.PublicURL = ""
	}
	if v := raw["environments"]; v != nil && string(v) != "null" {
		c.Environments = loadEnvironments(name, data, at["environments"], v, &diags)
	}
	c.AllowedHosts = checkAllowedHosts(name, data, c.AllowedHosts, &diags)
	c.Private = checkPrivate(name, data, c.Private, &diags)
	c.Apps = checkGlobs(name, data, "apps", c.Apps, &diags)
	c.Overrides = checkGlobs(name, data, "overrides", c.Overrides, &diags)
	return c, diags
}

// loadEnvironments reads "environments", which starts at offset base of
// data: each profile on its own, each bad entry reported at its key or
// value, naming it ("environments.staging.upstreams") and dropped.
func loadEnvironments(name string, data []byte, base int, v json.RawMessage, diags *[]routefile.Diagnostic) map[string]Environment {
	report := func(off int, format string, args ...any) {
		*diags = append(*diags, jsonDiag(name, data, off, routefile.CodeConfig, fmt.Sprintf(format, args...)))
	}
	// keyAt is the offset of "key" inside the object that starts at off.
	keyAt := func(off int, key string) int {
		i := bytes.Index(data[off:], []byte(`"`+key+`"`))
		if i < 0 {
			return off
		}
		return off + i
	}
	var envs map[string]json.RawMessage
	if json.Unmarshal(v, &envs) != nil {
		report(base, `"environments" must be an object of profiles, such as {"staging": {"upstreams": {"127.0.0.1:5173": "web.staging.internal:80"}}}; it is ignored`)
		return nil
	}
	at := valueOffsets(data[base:], base)
	out := map[string]Environment{}
	for _, envName := range slices.Sorted(maps.Keys(envs)) {
		key := "environments." + envName
		if !IsEnvironmentName(envName) {
			report(keyAt(base, envName), "%s: %q is not an environment name; use letters, digits, '-', '_' or '.', starting with a letter or digit, such as \"staging\"; it is ignored", key, envName)
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(envs[envName], &fields) != nil {
			report(at[envName], `%q must be an object, such as {"upstreams": {"127.0.0.1:5173": "web.staging.internal:80"}}; it is ignored`, key)
			continue
		}
		eat := valueOffsets(data[at[envName]:], at[envName])
		var env Environment
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if k != "upstreams" && k != "listen" && k != "tunnel" {
				d := jsonDiag(name, data, keyAt(at[envName], k), routefile.CodeConfig,
					fmt.Sprintf("unknown setting \"%s.%s\"; it is ignored (an environment has \"upstreams\", \"listen\" and \"tunnel\")", key, k))
				d.Severity = routefile.Warning
				*diags = append(*diags, d)
			}
		}
		if v := fields["upstreams"]; v != nil && string(v) != "null" {
			var ups map[string]string
			if json.Unmarshal(v, &ups) != nil {
				report(eat["upstreams"], `%q must be an object of "host:port" to "host:port", such as {"127.0.0.1:5173": "web.staging.internal:80"}; it is ignored`, key+".upstreams")
			} else {
				uat := valueOffsets(data[eat["upstreams"]:], eat["upstreams"])
				env.Upstreams = map[string]string{}
				for _, from := range slices.Sorted(maps.Keys(ups)) {
					to := ups[from]
					nf, err := normalHostPort(from)
					if err != nil {
						report(keyAt(eat["upstreams"], from), "%s.upstreams: %q is not host:port as proxy_pass targets it (%v), such as \"127.0.0.1:5173\"; it is ignored", key, from, err)
						continue
					}
					nt, err := normalHostPort(to)
					if err != nil {
						report(uat[from], "%s.upstreams[%q]: %q is not host:port (%v), such as \"web.staging.internal:80\"; it is ignored", key, from, to, err)
						continue
					}
					env.Upstreams[nf] = nt
				}
			}
		}
		if v := fields["listen"]; v != nil && string(v) != "null" {
			var l string
			if json.Unmarshal(v, &l) != nil {
				report(eat["listen"], `%q must be "host:port" or a port, such as "0.0.0.0:8080"; it is ignored`, key+".listen")
			} else if addr, err := ListenAddress(l); err != nil {
				report(eat["listen"], "%s.listen: %q is not host:port with a numeric port (or a port alone); it is ignored", key, l)
			} else {
				env.Listen = addr
			}
		}
		if v := fields["tunnel"]; v != nil && string(v) != "null" {
			var t map[string]json.RawMessage
			if json.Unmarshal(v, &t) != nil {
				report(eat["tunnel"], `%q must be an object, such as {"listen": "127.0.0.1:8081"}; it is ignored`, key+".tunnel")
			} else {
				tat := valueOffsets(data[eat["tunnel"]:], eat["tunnel"])
				str := func(k string) string {
					var s string
					if v := t[k]; v != nil && string(v) != "null" && json.Unmarshal(v, &s) != nil {
						report(tat[k], "%q must be a string; it is ignored", key+".tunnel."+k)
					}
					return s
				}
				if l := str("listen"); l != "" {
					if addr, err := ListenAddress(l); err != nil {
						report(tat["listen"], "%s.tunnel.listen: %q is not host:port with a numeric port (or a port alone); it is ignored", key, l)
					} else {
						env.Tunnel.Listen = addr
					}
				}
				if u := str("publicUrl"); u != "" {
					if PublicHost(u) == "" {
						report(tat["publicUrl"], "%s.tunnel.publicUrl: %q is not an http(s) URL such as \"https://abc.ngrok.app\"; it is ignored", key, u)
					} else {
						env.Tunnel.PublicURL = u
					}
				}
				if p := str("provider"); p != "" {
					if !slices.Contains(TunnelProviders, p) {
						report(tat["provider"], "%s.tunnel.provider: %q is not one of \"ngrok\", \"cloudflared\", \"manual\"; it is ignored", key, p)
					} else {
						env.Tunnel.Provider = p
					}
				}
			}
		}
		out[envName] = env
	}
	return out
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

// checkPrivate keeps the private route prefixes that are paths and
// reports the others.
func checkPrivate(name string, data []byte, prefixes []string, diags *[]routefile.Diagnostic) []string {
	var ok []string
	for _, p := range prefixes {
		problem := ""
		switch {
		case !strings.HasPrefix(p, "/"):
			problem = "is not a route prefix; write it as a path starting with /, such as \"/admin/\""
		case strings.ContainsAny(p, "?# \t\r\n"):
			problem = "is not a route prefix: it has a query, a fragment or a space; write a path such as \"/admin/\""
		}
		if problem != "" {
			off := bytes.Index(data, []byte(`"`+p+`"`))
			*diags = append(*diags, jsonDiag(name, data, max(off, 0), routefile.CodeConfig,
				fmt.Sprintf("private: %q %s; it is ignored", p, problem)))
			continue
		}
		ok = append(ok, p)
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
		// Only the top level can be of the wrong type here: the files
		// are read as objects first.
		return jsonDiag(file, data, firstValue(data), code, fmt.Sprintf("%s must be a JSON object, such as %s", file, objectExample(file)))
	case errors.Is(err, io.EOF):
		off = len(data)
	}
	return jsonDiag(file, data, off, code, fmt.Sprintf("%s is not valid: %v", file, err))
}

// objectExample is a small valid document for the file.
func objectExample(file string) string {
	if path.Base(file) == path.Base(ResolutionsFile) {
		return `{"/api/": "apps/b.conf"}`
	}
	return `{"listen": "127.0.0.1:8080"}`
}

// firstValue is the offset of the first byte that is not JSON whitespace.
func firstValue(data []byte) int {
	return len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
}

// valueOffsets maps each key of the JSON object in data to the offset of
// its value, plus base; keys of a broken document map to what was read.
func valueOffsets(data []byte, base int) map[string]int {
	at := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return at
	}
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return at
		}
		// After the key: whitespace, the colon, whitespace, the value.
		off := int(dec.InputOffset())
		off += firstValue(data[off:])
		if off < len(data) && data[off] == ':' {
			off++
		}
		off += firstValue(data[off:])
		at[key] = base + off
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return at
		}
	}
	return at
}

func jsonDiag(file string, data []byte, off int, code, msg string) routefile.Diagnostic {
	p := routefile.PosAt(data, off)
	return routefile.Diagnostic{File: file, Severity: routefile.Error, Code: code, Message: msg,
		Range: routefile.Range{Start: p, End: p}}
}
