package routing

import (
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// BrokenMatch tells which route file with errors would have taken a path
// that no route matches, so that a 404 can say why instead of only "no
// route". A broken file contributes no routes (spec §4), but its parse
// keeps the locations it could read: those of a file that never parsed
// (Parsed), and of a stale file's version on disk (Current), whose last
// good version serves meanwhile.
//
// The match is deliberately simple: prefix (plain and ^~) and exact
// locations only, the longest prefix winning and an exact match winning
// over any prefix; regex and named locations are not considered. It is
// a hint for a person, never a routing decision. reason is the file's
// first error message; line is the location's line.
func (t *RouteTable) BrokenMatch(path string) (file string, line int, reason string, ok bool) {
	best := -1 // length of the best spec so far; exact beats all
	for _, f := range t.Files {
		parsed := f.Current
		if parsed == nil {
			if f.Parsed == nil || f.Parsed.OK {
				continue
			}
			parsed = f.Parsed
		}
		first := firstError(parsed.Diagnostics)
		if first == "" {
			continue
		}
		for _, l := range parsed.Locations {
			n := -1
			switch {
			case l.Modifier == routefile.ModExact && l.Spec == path:
				n = 1 << 30
			case l.Modifier.IsPrefix() && l.Spec != "" && strings.HasPrefix(path, l.Spec):
				n = len(l.Spec)
			}
			if n > best {
				best = n
				file, line, reason, ok = f.Path, l.Line(), first, true
			}
		}
	}
	return file, line, reason, ok
}

func firstError(diags []routefile.Diagnostic) string {
	for _, d := range diags {
		if d.Severity == routefile.Error {
			return d.Message
		}
	}
	return ""
}
