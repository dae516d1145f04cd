package routing

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Workspace reads the route files of one root folder and keeps the current
// RouteTable. Reloading after a change re-reads and re-parses only the files
// that changed; composition then runs over the cached parse results, which
// is cheap. Editors may supply unsaved contents as overlays.
type Workspace struct {
	root string

	mu          sync.Mutex
	defaults    Config // the editor's settings, under devproxy.json
	config      Config
	configDiags []routefile.Diagnostic
	res         Resolutions
	resData     []byte
	resDiags    []routefile.Diagnostic
	files       map[string]*SourceFile // by root-relative path
	overlays    map[string][]byte
	// overlayVersions are the editor's versions of the overlays.
	overlayVersions map[string]int32
	// readDir reads a route folder: os.ReadDir, or a stand-in in tests
	// that need a folder to fail.
	readDir func(string) ([]fs.DirEntry, error)
	// folderDiags are the problems with the route folders found by the
	// last Load; resolvedRoot is the root with links resolved.
	folderDiags  []routefile.Diagnostic
	resolvedRoot string

	current atomic.Pointer[RouteTable]
	// generation numbers the published tables; subscribers hear of each.
	generation  uint64
	subscribers map[int]func(*RouteTable)
	nextSub     int
}

// NewWorkspace opens root (which must be a directory) and loads it.
func NewWorkspace(root string) (*Workspace, error) {
	return NewWorkspaceWithDefaults(root, Config{})
}

// NewWorkspaceWithDefaults opens root with settings (an editor's) that
// devproxy.json overrides where it sets a value.
func NewWorkspaceWithDefaults(root string, defaults Config) (*Workspace, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("workspace root %q: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("workspace root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("workspace root %s is not a directory", abs)
	}
	w := &Workspace{root: abs, files: map[string]*SourceFile{}, overlays: map[string][]byte{}, overlayVersions: map[string]int32{}, defaults: defaults, readDir: os.ReadDir}
	w.Load()
	return w, nil
}

// SetDefaults replaces the editor's settings and reloads everything.
func (w *Workspace) SetDefaults(d Config) *RouteTable {
	w.mu.Lock()
	w.defaults = d
	w.mu.Unlock()
	return w.Load()
}

// Root is the absolute workspace folder.
func (w *Workspace) Root() string { return w.root }

// Table returns the current snapshot. It never returns nil after
// NewWorkspace.
func (w *Workspace) Table() *RouteTable { return w.current.Load() }

// Load re-reads the settings and re-scans the route folders. Files whose
// size and modification time are unchanged keep their parse results.
func (w *Workspace) Load() *RouteTable {
	w.mu.Lock()
	defer w.mu.Unlock()
	cfg, diags := loadConfig(w.root, w.overlays[ConfigFile])
	w.config, w.configDiags = cfg.Over(w.defaults).withDefaults(), diags
	w.res, w.resData, w.resDiags = loadResolutions(w.root, w.overlays[ResolutionsFile])
	w.resolvedRoot = ""
	w.realRoot()
	w.folderDiags = nil
	seen := map[string]bool{}
	var todo []fileRef
	for _, kind := range []FileKind{OverrideFile, AppFile} {
		for _, rel := range w.discover(kind, &w.folderDiags) {
			if !seen[rel] {
				seen[rel] = true
				todo = append(todo, fileRef{rel, kind})
			}
		}
	}
	w.refreshFiles(todo)
	for rel := range w.files {
		if !seen[rel] {
			delete(w.files, rel)
		}
	}
	// Several globs can name one folder; say each thing once.
	said := map[string]bool{}
	w.folderDiags = slices.DeleteFunc(w.folderDiags, func(d routefile.Diagnostic) bool {
		key := d.File + "\x00" + d.Message
		dup := said[key]
		said[key] = true
		return dup
	})
	return w.publish()
}

// Reload re-reads the given paths (absolute or root-relative) after a
// change: route files that were saved, created or deleted, devproxy.json or
// .devproxy/resolutions.json. Other files are not touched.
func (w *Workspace) Reload(paths ...string) *RouteTable {
	rels := make([]string, 0, len(paths))
	for _, p := range paths {
		rel := w.rel(p)
		if rel == ConfigFile {
			return w.Load() // the folders themselves may have changed
		}
		rels = append(rels, rel)
	}
	if w.folderChanged(rels) {
		return w.Load()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.realRoot() // before the concurrent reads, which only read it
	var todo []fileRef
	for _, rel := range rels {
		if rel == ResolutionsFile {
			w.res, w.resData, w.resDiags = loadResolutions(w.root, w.overlays[ResolutionsFile])
			continue
		}
		if kind, ok := w.kindOf(rel); ok {
			todo = append(todo, fileRef{rel, kind})
		}
	}
	w.refreshFiles(todo)
	return w.publish()
}

// folderChanged reports an event for a folder rather than a route file: a
// path that is a folder now, or under which the workspace knows route
// files (a folder deleted or renamed as a whole). File watchers may report
// only the folder, so the workspace then looks at every folder again.
// Other paths (an editor's swap or backup file) change nothing.
func (w *Workspace) folderChanged(rels []string) bool {
	for _, rel := range rels {
		if rel == ResolutionsFile || strings.HasSuffix(rel, ".conf") {
			continue
		}
		if st, err := os.Stat(filepath.Join(w.root, filepath.FromSlash(rel))); err == nil && st.IsDir() {
			return true
		}
		w.mu.Lock()
		known := false
		for f := range w.files {
			if known = strings.HasPrefix(f, rel+"/"); known {
				break
			}
		}
		w.mu.Unlock()
		if known {
			return true
		}
	}
	return false
}

// SetOverlay makes the file at path read from content instead of the disk
// (an editor's unsaved buffer) and returns the new table. Route files,
// devproxy.json and .devproxy/resolutions.json can have overlays.
func (w *Workspace) SetOverlay(path string, content []byte) *RouteTable {
	return w.SetOverlayVersion(path, content, 0)
}

// SetOverlayVersion is SetOverlay for an editor buffer with a version: the
// tables carry it with the file (SourceFile.Version), so that whatever is
// computed on a table (positions, edits) names the buffer it applies to.
func (w *Workspace) SetOverlayVersion(path string, content []byte, version int32) *RouteTable {
	rel := w.rel(path)
	w.mu.Lock()
	w.overlays[rel] = append([]byte(nil), content...)
	w.overlayVersions[rel] = version
	w.mu.Unlock()
	return w.Reload(rel)
}

// ClearOverlay drops an overlay; the file is read from disk again.
func (w *Workspace) ClearOverlay(path string) *RouteTable {
	rel := w.rel(path)
	w.mu.Lock()
	delete(w.overlays, rel)
	delete(w.overlayVersions, rel)
	delete(w.files, rel) // force a re-read from disk
	w.mu.Unlock()
	return w.Reload(rel)
}

// IsRouteFile reports whether path (absolute or relative) is a route file
// of this workspace under its current settings.
func (w *Workspace) IsRouteFile(path string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.kindOf(w.rel(path))
	return ok
}

func (w *Workspace) rel(p string) string {
	if filepath.IsAbs(p) {
		if r, err := filepath.Rel(w.root, p); err == nil {
			p = r
		}
	}
	return filepath.ToSlash(filepath.Clean(p))
}

func (w *Workspace) globs(kind FileKind) []string {
	if kind == OverrideFile {
		return w.config.Overrides
	}
	return w.config.Apps
}

// isRouteFileName applies spec §1: hidden files and names not ending in
// .conf (such as x.conf.backup.123) are ignored.
func isRouteFileName(rel string) bool {
	base := baseName(rel)
	return !strings.HasPrefix(base, ".") && strings.HasSuffix(base, ".conf")
}

func (w *Workspace) kindOf(rel string) (FileKind, bool) {
	if !isRouteFileName(rel) || strings.HasPrefix(rel, "../") {
		return 0, false
	}
	for _, kind := range []FileKind{OverrideFile, AppFile} {
		for _, g := range w.globs(kind) {
			if ok, _ := filepath.Match(filepath.ToSlash(g), rel); ok {
				return kind, true
			}
		}
	}
	return 0, false
}

// discover lists the route files of one kind, reporting the folders it
// cannot read or will not follow to diags.
func (w *Workspace) discover(kind FileKind, diags *[]routefile.Diagnostic) []string {
	var out []string
	for _, g := range w.globs(kind) {
		for _, m := range w.globRouteFiles(g, diags) {
			rel := w.rel(m)
			if isRouteFileName(rel) {
				out = append(out, rel)
			}
		}
	}
	for rel := range w.overlays {
		if k, ok := w.kindOf(rel); ok && k == kind {
			out = append(out, rel)
		}
	}
	return out
}

type fileRef struct {
	rel  string
	kind FileKind
}

// refreshFiles brings the entries of files up to date, reading and parsing
// them on all cores (a cold load of a large workspace is mostly parsing).
// w.mu must be held.
func (w *Workspace) refreshFiles(files []fileRef) {
	if len(files) < 8 {
		for _, f := range files {
			w.files[f.rel] = w.readFile(f.rel, f.kind)
		}
		w.dropMissing()
		return
	}
	out := make([]*SourceFile, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = w.readFile(files[i].rel, files[i].kind)
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, f := range files {
		w.files[f.rel] = out[i]
	}
	w.dropMissing()
}

// dropMissing forgets files that readFile found gone (nil entries).
func (w *Workspace) dropMissing() {
	for rel, f := range w.files {
		if f == nil {
			delete(w.files, rel)
		}
	}
}

// refreshFile brings one file's entry up to date. w.mu must be held.
func (w *Workspace) refreshFile(rel string, kind FileKind) {
	w.refreshFiles([]fileRef{{rel, kind}})
}

// readFile returns the up-to-date entry for one file, re-parsing only
// when its content may have changed, or nil when it is gone. It only reads
// w's maps, so several can run at once under w.mu.
func (w *Workspace) readFile(rel string, kind FileKind) *SourceFile {
	// A link that leads outside the workspace is never read, and neither
	// is an editor's buffer of it: its content must not show anywhere.
	abs := filepath.Join(w.root, filepath.FromSlash(rel))
	if target, out := w.outside(abs); out {
		mod := time.Time{}
		if st, err := os.Lstat(abs); err == nil {
			mod = st.ModTime()
		}
		return &SourceFile{Path: rel, Kind: kind, ModTime: mod, Parsed: &routefile.File{Path: rel, Diagnostics: []routefile.Diagnostic{
			folderDiag(rel, routefile.Warning, routefile.CodeOutsideWorkspace, outsideMessage(rel, abs, target, false)),
		}}}
	}
	if content, ok := w.overlays[rel]; ok {
		prev := w.files[rel]
		mod := time.Now()
		if prev != nil {
			mod = prev.ModTime // editing does not make a file "newest"
		} else if st, err := os.Stat(filepath.Join(w.root, filepath.FromSlash(rel))); err == nil {
			mod = st.ModTime()
		}
		return &SourceFile{Path: rel, Kind: kind, ModTime: mod, Size: int64(len(content)), Text: content,
			Open: true, Version: w.overlayVersions[rel], Parsed: routefile.Parse(rel, content)}
	}
	st, err := os.Stat(abs)
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	if prev := w.files[rel]; prev != nil && prev.Kind == kind && prev.Size == st.Size() && prev.ModTime.Equal(st.ModTime()) {
		return prev
	}
	if st.Size() > routefile.MaxFileSize {
		return &SourceFile{Path: rel, Kind: kind, ModTime: st.ModTime(), Size: st.Size(), Parsed: routefile.TooLarge(rel, st.Size())}
	}
	var parsed *routefile.File
	data, err := readLimited(abs, routefile.MaxFileSize+1)
	if err != nil {
		parsed = &routefile.File{Path: rel, Diagnostics: []routefile.Diagnostic{{
			File: rel, Severity: routefile.Error, Code: routefile.CodeSyntax,
			Message: fmt.Sprintf("cannot read %s: %v", rel, err),
			Range:   routefile.Range{Start: routefile.Pos{Line: 1, Col: 1}, End: routefile.Pos{Line: 1, Col: 1}},
		}}}
	} else {
		parsed = routefile.Parse(rel, data)
	}
	return &SourceFile{Path: rel, Kind: kind, ModTime: st.ModTime(), Size: st.Size(), Text: data, Parsed: parsed}
}

func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// publish composes the cached files into a new table and makes it current.
// w.mu must be held.
func (w *Workspace) publish() *RouteTable {
	files := make([]*SourceFile, 0, len(w.files))
	for _, f := range w.files {
		files = append(files, f)
	}
	diags := append(append(append([]routefile.Diagnostic(nil), w.configDiags...), w.resDiags...), w.folderDiags...)
	t := compose(composeInput{
		root: w.root, config: w.config, files: files,
		resolutions: w.res, resData: w.resData, extraDiags: diags,
	})
	w.generation++
	t.Generation = w.generation
	w.current.Store(t)
	for _, fn := range w.subscribers {
		fn(t)
	}
	return t
}

// Subscribe calls fn with every table the workspace publishes from now on,
// in order, until the returned function is called. fn runs under the
// workspace's lock: it must be quick and must not call the workspace (the
// proxy swaps its table pointer there).
func (w *Workspace) Subscribe(fn func(*RouteTable)) (unsubscribe func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextSub++
	id := w.nextSub
	if w.subscribers == nil {
		w.subscribers = map[int]func(*RouteTable){}
	}
	w.subscribers[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.subscribers, id)
	}
}

// Compose builds a table from in-memory files, for tests and tools that do
// not read a folder.
func Compose(cfg Config, files []*SourceFile, res Resolutions) *RouteTable {
	return compose(composeInput{config: cfg.withDefaults(), files: files, resolutions: res})
}
