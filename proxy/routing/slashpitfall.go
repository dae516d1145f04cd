package routing

import (
	"fmt"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// The slash pitfall: in `location /api { proxy_pass http://u/; }` nginx
// replaces the matched prefix "/api" with the URI part "/" and keeps the
// rest of the path, slash and all, so /api/users reaches the upstream as
// //users (spec §6). The fix that keeps nginx's semantics sane is to end
// the location with a slash as well, `location /api/`: prefix and URI part
// then both end in "/", /api/users goes to /users, and a request for /api
// is answered with nginx's 301 to /api/ (spec §5). Dropping the URI's
// slash instead would stop stripping the prefix (`http://u`) or glue the
// rest onto the URI (`http://u/v1` gives /v1x for /apix).

// SlashPitfall is what the upstream receives for an example sub-path of
// a block that falls into the slash pitfall.
type SlashPitfall struct {
	Example     string // a request path under the location: "/api/users"
	UpstreamURI string // what the upstream receives for it: "//users"
	FixedSpec   string // the location spec that avoids it: "/api/"
	// FixedURI is what the upstream receives for Example once the spec
	// is FixedSpec: "/users".
	FixedURI string
}

// slashPitfallOf runs the block, as the proxy would, for an example
// sub-path, and reports the pitfall when the upstream gets a double slash
// the request did not have. Only prefix locations whose spec does not end
// in "/" (and is not a file such as /favicon.ico) can fall into it.
func (t *RouteTable) slashPitfallOf(b *Block) *SlashPitfall {
	l := b.Loc
	if !l.Modifier.IsPrefix() || l.ProxyPass == nil || !strings.HasPrefix(l.Spec, "/") || strings.HasSuffix(l.Spec, "/") ||
		strings.Contains(l.Spec[strings.LastIndexByte(l.Spec, '/'):], ".") {
		return nil
	}
	example := l.Spec + "/users"
	d := t.resolveFrom(&Request{Target: example}, false, b)
	if d.Action != ActionProxy {
		return nil
	}
	path, _, _ := strings.Cut(d.UpstreamURI, "?")
	if !strings.Contains(path, "//") {
		return nil
	}
	p := &SlashPitfall{Example: example, UpstreamURI: d.UpstreamURI, FixedSpec: l.Spec + "/"}
	// The same block with the fixed spec, run the same way.
	fixedLoc := *l
	fixedLoc.Spec = p.FixedSpec
	fixed := *b
	fixed.Loc = &fixedLoc
	if d := t.resolveFrom(&Request{Target: example}, false, &fixed); d.Action == ActionProxy {
		p.FixedURI = d.UpstreamURI
	}
	return p
}

// reportSlashPitfalls warns on every block that falls into the slash
// pitfall (except duplicates and reserved paths, which never run).
func (t *RouteTable) reportSlashPitfalls() {
	for _, b := range t.Blocks {
		if b.neverRuns() {
			continue
		}
		p := t.slashPitfallOf(b)
		if p == nil {
			continue
		}
		b.SlashPitfall = p
		t.Diagnostics = append(t.Diagnostics, routefile.Diagnostic{
			File:     b.File.Path,
			Severity: routefile.Warning,
			Code:     routefile.CodeSlashPitfall,
			Range:    b.Loc.SpecRange,
			Message:  slashPitfallSentence(b.Loc.Spec, p),
		})
	}
}

// slashPitfallSentence says what goes wrong and how to fix it.
func slashPitfallSentence(spec string, p *SlashPitfall) string {
	msg := fmt.Sprintf("the upstream gets %s for %s: nginx replaces the prefix %s with proxy_pass's URI, which ends in /, and keeps the rest of the path, slash included; make it location %s (quick fix)",
		p.UpstreamURI, p.Example, spec, p.FixedSpec)
	if p.FixedURI != "" {
		msg += fmt.Sprintf(": %s then sends %s, and %s redirects to %s", p.Example, p.FixedURI, spec, p.FixedSpec)
	}
	return msg
}
