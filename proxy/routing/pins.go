package routing

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Pins (spec §4, rule 2): every folder may have a .devproxy/resolutions.json
// that names the winner of contested routes. A pin's value is a path
// relative to its own folder ("apps/b.conf"), a display path naming a file
// in any folder ("web/apps/a.conf"), or a bare file name ("b.conf"). The
// folders' pins are merged in folder order: when two folders pin one route
// to different files, the earlier folder's pin wins and the later one gets
// a warning that names it. A pin settles a conflict whichever folders the
// claiming files are in.

// pinFile is one folder's resolutions file as composition reads it.
type pinFile struct {
	file   string // display path
	prefix string // the folder's display prefix
	data   []byte
	res    Resolutions
}

// pin is the pin of one route that takes effect.
type pin struct {
	value string
	src   *pinFile
}

// target is the file among cands that the pin names, nil when none is (or
// p is nil). A path is tried relative to the pin's folder first.
func (p *pin) target(cands []*SourceFile) *SourceFile {
	if p == nil {
		return nil
	}
	if !strings.Contains(p.value, "/") {
		for _, f := range cands {
			if baseName(f.Path) == p.value {
				return f
			}
		}
		return nil
	}
	for _, name := range []string{p.src.prefix + p.value, p.value} {
		for _, f := range cands {
			if f.Path == name {
				return f
			}
		}
	}
	return nil
}

// key names the file a pin chooses, so that two pins of one route can be
// compared: the display path of the file it names, or the bare name.
func (p *pin) key(files []*SourceFile) string {
	if f := p.target(files); f != nil && strings.Contains(p.value, "/") {
		return f.Path
	}
	if strings.Contains(p.value, "/") {
		return p.src.prefix + p.value
	}
	return "name:" + p.value
}

// diag is a warning on the pin's route in its resolutions file.
func (p *pin) diag(route, msg string) routefile.Diagnostic {
	off := strings.Index(string(p.src.data), `"`+route+`"`)
	d := jsonDiag(p.src.file, p.src.data, max(off, 0), routefile.CodeResolution, msg)
	d.Severity = routefile.Warning
	return d
}

// mergePins merges the folders' pins in folder order, warning about a
// later pin that chooses another file than an earlier one.
func (t *RouteTable) mergePins(files []pinFile, all []*SourceFile) map[string]*pin {
	merged := map[string]*pin{}
	for i := range files {
		src := &files[i]
		for _, route := range slices.Sorted(maps.Keys(src.res)) {
			p := &pin{value: src.res[route], src: src}
			first, ok := merged[route]
			if !ok {
				merged[route] = p
				continue
			}
			if first.key(all) != p.key(all) {
				t.Diagnostics = append(t.Diagnostics, p.diag(route, fmt.Sprintf(
					"%s is also pinned in %s, to %q, and that pin wins because its folder comes first; this pin has no effect",
					route, first.src.file, first.value)))
			}
		}
	}
	return merged
}
