package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Renaming a route moves an app to another path in one edit: every location
// of its file under the route (the specs, the slash-redirect companion),
// X-Forwarded-Prefix values, return and rewrite targets, proxy_redirect
// rules, and the route's pin in resolutions.json. What is computed here are
// plain values (a file, a range with byte offsets, lines and UTF-16
// columns, the new text); the language server turns them into a
// WorkspaceEdit, and a command line could write them to disk.

// Replacement replaces the text of Range in File with NewText.
type Replacement struct {
	File    string // relative to the workspace root, forward slashes
	Range   routefile.Range
	NewText string
}

// RouteRename is what renaming a route changes in its file.
type RouteRename struct {
	Route    string // as the engine knows it: "/web/"
	NewRoute string // normalised: "/shop/"
	// Edits are in file order and do not overlap.
	Edits []Replacement
}

// NormaliseRoute turns what a person typed ("v2", "/v2", "/v2/") into a
// route, or explains why it cannot be one.
func NormaliseRoute(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " \t{};\"'$") {
		return "", errors.New("a route is a path such as /v2/, without spaces, quotes, braces or $")
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if !strings.HasSuffix(name, "/") {
		name += "/"
	}
	if routefile.IsReservedPath(strings.TrimSuffix(name, "/")) {
		return "", errors.New(name + " belongs to the proxy itself and cannot be a route")
	}
	return name, nil
}

// RenameRoute computes the edits that rename route to newName in f, whose
// current text is src (an editor's buffer, or the file on disk). Only
// tokens where the route's path begins a path change: renaming /web/ leaves
// /webhooks/ and http://host/web/ alone.
func RenameRoute(f *routefile.File, src, route, newName string) (RouteRename, error) {
	newRoute, err := NormaliseRoute(newName)
	if err != nil {
		return RouteRename{}, err
	}
	r := RouteRename{Route: route, NewRoute: newRoute}
	oldBase, newBase := strings.TrimSuffix(route, "/"), strings.TrimSuffix(newRoute, "/")
	add := func(toks []routefile.Token) {
		for _, tok := range toks {
			tr := tok.Range
			if tr.Start.Offset < 0 || tr.End.Offset > len(src) || tr.Start.Offset >= tr.End.Offset {
				continue
			}
			if out, changed := replacePathStart(src[tr.Start.Offset:tr.End.Offset], oldBase, newBase); changed {
				r.Edits = append(r.Edits, Replacement{File: f.Path, Range: tr, NewText: out})
			}
		}
	}
	for _, loc := range f.Locations {
		d := loc.Directive
		add(d.Args)
		if d.Block == nil {
			continue
		}
		for _, inner := range d.Block.Directives {
			switch inner.Name.Value {
			case "return", "rewrite", "proxy_redirect":
				add(inner.Args)
			case "proxy_set_header":
				if len(inner.Args) == 2 && strings.EqualFold(inner.Args[0].Value, "X-Forwarded-Prefix") {
					add(inner.Args[1:])
				}
			}
		}
	}
	return r, nil
}

// replacePathStart replaces oldBase where it begins a path: after the
// start, a quote, a modifier or a regex anchor, and before '/', a quote,
// '?', '$', '(' or the end. "/api" in "/api/x", "^/api/(.*)$", "=/api"
// and "\"/api\"", but not in "/apis" or "http://host/api".
func replacePathStart(raw, oldBase, newBase string) (string, bool) {
	var b strings.Builder
	changed := false
	for i := 0; i < len(raw); {
		if strings.HasPrefix(raw[i:], oldBase) {
			prevOK := i == 0 || strings.IndexByte("\"'^=~* ", raw[i-1]) >= 0
			j := i + len(oldBase)
			nextOK := j == len(raw) || strings.IndexByte("/\"'?$(", raw[j]) >= 0
			if prevOK && nextOK {
				b.WriteString(newBase)
				i = j
				changed = true
				continue
			}
		}
		b.WriteByte(raw[i])
		i++
	}
	return b.String(), changed
}

// RenamePin moves route's pin in the text of .devproxy/resolutions.json
// to newRoute and returns the new text; false when route is not pinned (or
// the file is not a JSON object). The other entries are kept.
func RenamePin(resolutions []byte, route, newRoute string) ([]byte, bool) {
	var m map[string]any
	if json.Unmarshal(resolutions, &m) != nil {
		return nil, false
	}
	winner, ok := m[route].(string)
	if !ok {
		return nil, false
	}
	delete(m, route)
	m[newRoute] = winner
	out, err := FormatResolutions(m)
	return out, err == nil
}

// FormatResolutions writes resolutions.json's content the way devproxy
// writes it: indented by two spaces, keys sorted, a final newline.
func FormatResolutions(m map[string]any) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ResolutionsFile, err)
	}
	return append(b, '\n'), nil
}
