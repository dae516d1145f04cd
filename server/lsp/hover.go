package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// Hover on a location: which requests it takes, the upstream and the URI
// it receives, whether it is active or who beats it. On a directive's
// name: what it does, in nginx and here. On a $variable: its value for an
// example request. Like every feature, it reads the request's snapshot
// and decides nothing the engine did not.
func (s *Server) Hover(ctx context.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	snap := s.snapshotOf(ctx)
	v, ok := s.view(snap, p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	if ref, _, ok := v.variableAt(p.Position); ok {
		return markdown(variableHover(snap.table, v, ref), lspRange(ref.Range)), nil
	}
	if d := v.directiveAt(p.Position); d != nil {
		if info, ok := routefile.DirectiveByName(d.Name.Value); ok {
			return markdown(directiveHover(info), lspRange(d.Name.Range)), nil
		}
	}
	l := v.locationAt(p.Position)
	if l == nil {
		return nil, nil
	}
	b := blockOf(snap.table, l)
	var md strings.Builder
	fmt.Fprintf(&md, "**`location %s`** · %s:%d\n\n", l.Label(), v.rel, l.Line())
	fmt.Fprintf(&md, "Takes %s.\n\n", takes(l))
	if b != nil {
		if example, mapped := exampleMapping(snap.table, b); example != "" {
			fmt.Fprintf(&md, "Upstream `%s`: `%s` → `%s`\n\n", b.Upstream, example, mapped)
		} else if b.Upstream != "" {
			fmt.Fprintf(&md, "Upstream `%s`\n\n", b.Upstream)
		}
		if b.Active {
			md.WriteString("Active")
		} else {
			md.WriteString("**Inactive**: " + b.InactiveSentence())
		}
		if b.Conflict != nil {
			fmt.Fprintf(&md, " · route `%s` is claimed by %d files; %s wins (%s)", b.Conflict.Route, len(fileSet(b.Conflict.Claims)), b.Conflict.Winner.Path, b.Conflict.Phrase())
		}
		md.WriteString("\n")
	} else if v.file == nil || !v.file.Parsed.OK {
		md.WriteString("This file has errors, so none of its locations route.\n")
	}
	// What the proxy serves can differ from the buffer: say so.
	if v.file != nil && v.file.Stale {
		md.WriteString("\n**Stale**: " + v.file.StaleSentence() + "\n")
	} else if v.file != nil && v.file.Unsaved {
		md.WriteString("\n_unsaved: the proxy still serves the saved version_\n")
	}
	r := lspRange(l.Directive.HeaderRange())
	return &protocol.Hover{Contents: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md.String()}, Range: &r}, nil
}

func markdown(text string, r protocol.Range) *protocol.Hover {
	return &protocol.Hover{Contents: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: text}, Range: &r}
}

// directiveHover says what a directive does in nginx and whether devproxy
// honours it, from the engine's table of directives.
func directiveHover(d routefile.DirectiveInfo) string {
	var md strings.Builder
	fmt.Fprintf(&md, "**`%s`**\n\n", d.Signature)
	if d.Nginx != "" {
		fmt.Fprintf(&md, "nginx: %s.\n\n", d.Nginx)
	}
	switch {
	case d.Ignored:
		fmt.Fprintf(&md, "devproxy: **ignored**: %s.\n", d.Here)
	case d.NoEffect != "":
		fmt.Fprintf(&md, "devproxy: **accepted, no effect here**: %s.\n", d.NoEffect)
	case d.Here != "":
		fmt.Fprintf(&md, "devproxy: **honoured**: %s.\n", d.Here)
	default:
		md.WriteString("devproxy: **honoured**, as nginx does.\n")
	}
	return md.String()
}

// variableHover shows a variable's value for an example request to its
// location (GET on the proxy's address, the location's path + "x"), as
// the engine's explain evaluates it.
func variableHover(t *routing.RouteTable, v view, ref routefile.VarRef) string {
	var md strings.Builder
	fmt.Fprintf(&md, "**`$%s`**", ref.Name)
	switch {
	case routefile.IsNginxVariable(ref.Name):
		md.WriteString(" · nginx variable")
	case ref.Set:
		md.WriteString(" · set here")
	}
	md.WriteString("\n\n")
	l := v.locationAt(lspPos(ref.Range.Start))
	if l == nil {
		md.WriteString("This file has errors, so no request reaches its blocks.\n")
		return md.String()
	}
	b := blockOf(t, l)
	var path string
	switch {
	case b == nil:
		md.WriteString("This file has errors, so no request reaches its blocks.\n")
		return md.String()
	case l.Modifier.IsPrefix():
		path = l.Spec + "x"
	case l.Modifier == routefile.ModExact:
		path = l.Spec
	default:
		md.WriteString("No example request: the location is a regex or a named location.\n")
		return md.String()
	}
	target := "http://" + t.Config.Listen + path
	req, err := routing.ExplainRequest(t.Config, target, "GET", nil, false)
	if err != nil {
		return md.String()
	}
	d := t.Explain(req)
	if d.Block != b {
		fmt.Fprintf(&md, "The example request `GET %s` does not reach this block.\n", target)
		return md.String()
	}
	value, _ := d.Variable(ref.Name)
	if value == "" {
		value = "(empty)"
	} else {
		value = "`" + value + "`"
	}
	fmt.Fprintf(&md, "For the example request `GET %s`: %s\n", target, value)
	return md.String()
}

func fileSet(bs []*routing.Block) map[string]bool {
	out := map[string]bool{}
	for _, b := range bs {
		out[b.File.Path] = true
	}
	return out
}

// takes says in words which requests a location takes (spec §5).
func takes(l *routefile.Location) string {
	switch l.Modifier {
	case routefile.ModExact:
		return "only the path `" + l.Spec + "`"
	case routefile.ModNoRegex:
		return "every path starting with `" + l.Spec + "` that no longer prefix or exact location takes; regex locations are not checked for them"
	case routefile.ModPrefix:
		return "every path starting with `" + l.Spec + "` that no longer prefix, exact or regex location takes"
	case routefile.ModRegex:
		return "paths matching the regex `" + l.Spec + "`, checked in composed order after exact and `^~` locations"
	case routefile.ModRegexCI:
		return "paths matching the regex `" + l.Spec + "` ignoring case, checked in composed order after exact and `^~` locations"
	}
	return "only requests that error_page sends here"
}

// exampleMapping shows what the upstream receives for a sample request,
// when the block really takes that request.
func exampleMapping(t *routing.RouteTable, b *routing.Block) (string, string) {
	l := b.Loc
	if l.ProxyPass == nil || !(l.Modifier.IsPrefix() || l.Modifier == routefile.ModExact) {
		return "", ""
	}
	path := l.Spec
	if strings.HasSuffix(path, "/") && l.Modifier != routefile.ModExact {
		path += "example"
	}
	example := path + "?x=1"
	d := t.Resolve(&routing.Request{Target: example})
	if d.Block != b || d.Action != routing.ActionProxy {
		return "", ""
	}
	return example, d.UpstreamURI
}
