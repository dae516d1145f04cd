package routing

import (
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Preview composes the editor's table as it would be if the route files
// named in texts (display paths) had those contents: an edit checked
// before it is offered (the language server's quick fixes). A path that
// is not a route file yet but would be one (overrides/x.conf, created by
// the edit) is added, as the newest file. Nothing changes: the workspace
// publishes no table, and the returned one has the current generation.
func (w *Workspace) Preview(texts map[string][]byte) *RouteTable {
	w.mu.Lock()
	defer w.mu.Unlock()
	in := w.input(false, w.staleFiles())
	seen := map[string]bool{}
	for i, sf := range in.files {
		content, ok := texts[sf.Path]
		if !ok {
			continue
		}
		seen[sf.Path] = true
		n := *sf
		n.Text, n.Size, n.Stale, n.Current = content, int64(len(content)), false, nil
		n.Unsaved = true
		n.Parsed = routefile.Parse(sf.Path, content)
		in.files[i] = &n
	}
	for p, content := range texts {
		if seen[p] {
			continue
		}
		f, rel := w.locate(p)
		if f == nil {
			continue
		}
		kind, ok := f.kindOf(&f.ed.config, rel)
		if !ok {
			continue
		}
		display := f.display(rel)
		in.files = append(in.files, &SourceFile{Path: display, Folder: f.label, Abs: f.abs(rel), Kind: kind, ModTime: time.Now(),
			Size: int64(len(content)), Text: content, Open: true, Unsaved: true, Parsed: routefile.Parse(display, content)})
	}
	t := compose(in)
	t.Generation = w.generation
	return t
}
