package lsp

import (
	"context"
	"encoding/json"
	"strings"

	"go.lsp.dev/jsonrpc2"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Renaming a route moves an app to another path in one edit: every
// location of the file under the route (specs, the slash-redirect
// companion), X-Forwarded-Prefix values, return and rewrite targets,
// proxy_redirect rules, and the route's pin in resolutions.json.

func init() {
	requests["textDocument/prepareRename"] = (*Server).prepareRename
	requests["textDocument/rename"] = (*Server).rename
}

// routeAt finds a location with a route whose header holds p.
func (v view) routeAt(p Position) *routefile.Location {
	l := v.locationAt(p)
	if l == nil || !l.HasRoute || !inside(p, l.Directive.HeaderRange()) && !inside(p, l.Directive.Range) {
		return nil
	}
	return l
}

func (s *Server) prepareRename(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[TextDocumentPositionParams](params)
	if err != nil {
		return nil, err
	}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	l := v.routeAt(p.Position)
	if l == nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "only a location with a route (such as /api/) can be renamed")
	}
	return PrepareRenameResult{Range: lspRange(specToken(l).Range), Placeholder: l.Route}, nil
}

func (s *Server) rename(_ context.Context, snap *snapshot, params json.RawMessage) (any, error) {
	p, err := decode[RenameParams](params)
	if err != nil {
		return nil, err
	}
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok || v.file == nil {
		return nil, nil
	}
	l := v.routeAt(p.Position)
	if l == nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "only a location with a route (such as /api/) can be renamed")
	}
	newRoute, err := normaliseRoute(p.NewName)
	if err != nil {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
	}
	oldBase, newBase := strings.TrimSuffix(l.Route, "/"), strings.TrimSuffix(newRoute, "/")
	var edits []TextEdit
	for _, loc := range v.file.Parsed.Locations {
		d := loc.Directive
		edits = appendRenamed(edits, v.text, d.Args, oldBase, newBase)
		for _, inner := range d.Block.Directives {
			switch inner.Name.Value {
			case "return", "rewrite", "proxy_redirect":
				edits = appendRenamed(edits, v.text, inner.Args, oldBase, newBase)
			case "proxy_set_header":
				if len(inner.Args) == 2 && strings.EqualFold(inner.Args[0].Value, "X-Forwarded-Prefix") {
					edits = appendRenamed(edits, v.text, inner.Args[1:], oldBase, newBase)
				}
			}
		}
	}
	changes := []any{textEdit(p.TextDocument.URI, s.docVersion(v.rel), edits...)}
	if winner, pinned := s.pinnedWinner(snap, l.Route); pinned {
		if e, ok := s.resolutionsEdit(snap, func(m map[string]any) { delete(m, l.Route); m[newRoute] = winner }); ok {
			changes = append(changes, e.DocumentChanges...)
		}
	}
	return WorkspaceEdit{DocumentChanges: changes}, nil
}

// pinnedWinner reads route's pin from resolutions.json.
func (s *Server) pinnedWinner(snap *snapshot, route string) (string, bool) {
	text, ok := s.readText(snap, routing.ResolutionsFile)
	if !ok {
		return "", false
	}
	var m map[string]any
	if json.Unmarshal([]byte(text), &m) != nil {
		return "", false
	}
	w, ok := m[route].(string)
	return w, ok
}

// normaliseRoute turns what a person typed ("v2", "/v2", "/v2/") into a
// route, or explains why it cannot be one.
func normaliseRoute(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " \t{};\"'$") {
		return "", jsonrpc2.NewError(jsonrpc2.InvalidParams, "a route is a path such as /v2/, without spaces, quotes, braces or $")
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if !strings.HasSuffix(name, "/") {
		name += "/"
	}
	if routefile.IsReservedPath(strings.TrimSuffix(name, "/")) {
		return "", jsonrpc2.NewError(jsonrpc2.InvalidParams, name+" belongs to the proxy itself and cannot be a route")
	}
	return name, nil
}

// appendRenamed adds an edit for every token whose text holds oldBase at
// the start of a path.
func appendRenamed(edits []TextEdit, text string, toks []routefile.Token, oldBase, newBase string) []TextEdit {
	for _, tok := range toks {
		r := tok.Range
		if r.Start.Offset < 0 || r.End.Offset > len(text) || r.Start.Offset >= r.End.Offset {
			continue
		}
		raw := text[r.Start.Offset:r.End.Offset]
		if out, changed := replacePathStart(raw, oldBase, newBase); changed {
			edits = append(edits, TextEdit{Range: lspRange(r), NewText: out})
		}
	}
	return edits
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
