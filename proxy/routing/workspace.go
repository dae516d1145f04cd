package routing

import (
	"bytes"
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

// Workspace reads the route files of one or more folders (folder.go) and
// keeps two current tables: the editor's (Table), in which editors'
// unsaved buffers (overlays) replace the files on disk, and the proxy's
// (Served), composed from the disk only, in which a file that stopped
// parsing keeps serving its last good version (spec §4). Reloading after a
// change re-reads and re-parses only the files that changed; composition
// then runs over the cached parse results, which is cheap.
type Workspace struct {
	mu      sync.Mutex
	folders []*folder // the first is the primary
	// readDir reads a route folder: os.ReadDir, or a stand-in in tests
	// that need a folder to fail.
	readDir func(string) ([]fs.DirEntry, error)
	// servedDirty is set when something read from disk changed since the
	// served table was composed.
	servedDirty bool

	current atomic.Pointer[RouteTable] // the editor's table
	served  atomic.Pointer[RouteTable] // the proxy's table
	// generation and servedGeneration number the published tables of
	// each kind; subscribers hear of each.
	generation        uint64
	servedGeneration  uint64
	subscribers       map[int]func(*RouteTable)
	servedSubscribers map[int]func(*RouteTable)
	nextSub           int
	// publicURL is the running tunnel's public URL (SetPublicURL); it
	// replaces tunnel.publicUrl in both tables' settings.
	publicURL string
}

// NewWorkspace opens root (which must be a directory) and loads it.
func NewWorkspace(root string) (*Workspace, error) {
	return NewWorkspaceWithDefaults(root, Config{})
}

// NewWorkspaceWithDefaults opens root with settings (an editor's) that
// devproxy.json overrides where it sets a value. The workspace has this
// one folder, watched by Watch; SetFolders changes that.
func NewWorkspaceWithDefaults(root string, defaults Config) (*Workspace, error) {
	return NewWorkspaceOf([]FolderSpec{{Root: root, Defaults: defaults, Watched: true}})
}

// NewWorkspaceOf opens several folders at once (SetFolders' rules), read
// once. The first one, the primary, must be a directory.
func NewWorkspaceOf(specs []FolderSpec) (*Workspace, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("a workspace needs a folder")
	}
	root := specs[0].Root
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
	specs = slices.Clone(specs)
	specs[0].Root = abs
	w := &Workspace{readDir: os.ReadDir}
	w.setFolders(specs)
	w.Load()
	return w, nil
}

// SetFolders replaces the workspace's folders and returns the new
// editor's table; the first folder is the primary. Folders kept (the same
// absolute root) keep their parse caches and overlays. A folder that does
// not exist or is not a directory yields an error diagnostic naming it,
// and no files; it is read again at the next Load, or at a Reload of a
// path in it.
func (w *Workspace) SetFolders(specs []FolderSpec) *RouteTable {
	w.mu.Lock()
	w.setFolders(specs)
	w.mu.Unlock()
	return w.Load()
}

// setFolders does SetFolders' bookkeeping; w.mu must be held.
func (w *Workspace) setFolders(specs []FolderSpec) {
	kept := map[string]*folder{}
	for _, f := range w.folders {
		kept[f.root] = f
	}
	var roots []string
	var picked []FolderSpec
	for _, s := range specs {
		abs, err := filepath.Abs(s.Root)
		if err != nil {
			abs = filepath.Clean(s.Root)
		}
		if slices.Contains(roots, abs) {
			continue // the same folder twice is one folder
		}
		roots = append(roots, abs)
		picked = append(picked, s)
	}
	labels := folderLabels(roots)
	folders := make([]*folder, len(roots))
	for i, root := range roots {
		f := kept[root]
		if f == nil {
			f = newFolder(w, root)
		}
		f.label, f.watched, f.defaults = labels[i], picked[i].Watched, picked[i].Defaults
		prefix := ""
		if len(roots) > 1 {
			prefix = labels[i] + "/"
		}
		if f.prefix != prefix {
			f.prefix = prefix
			f.repath()
		}
		folders[i] = f
	}
	w.folders = folders
	w.servedDirty = true
}

// SetDefaults replaces the editor's settings of the primary folder and
// reloads everything.
func (w *Workspace) SetDefaults(d Config) *RouteTable {
	w.mu.Lock()
	if len(w.folders) > 0 {
		w.folders[0].defaults = d
	}
	w.mu.Unlock()
	return w.Load()
}

// SetPublicURL records the public URL the running tunnel reported ("" once
// it stopped): both tables then carry it as Config.Tunnel.PublicURL,
// instead of the typed tunnel.publicUrl, so that the Host check, the
// health monitor's probes through the tunnel, /routes.json and Calliope
// all see the tunnel that runs. It returns the editor's table, and
// publishes new tables only when the URL changed.
func (w *Workspace) SetPublicURL(u string) *RouteTable {
	w.mu.Lock()
	if w.publicURL == u {
		w.mu.Unlock()
		return w.Table()
	}
	w.publicURL = u
	w.servedDirty = true
	t := w.publish()
	w.mu.Unlock()
	return t
}

// Root is the absolute path of the primary folder.
func (w *Workspace) Root() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.folders) == 0 {
		return ""
	}
	return w.folders[0].root
}

// Table returns the editor's current table: overlays (unsaved buffers)
// applied. It never returns nil after NewWorkspace.
func (w *Workspace) Table() *RouteTable { return w.current.Load() }

// Served returns the table the proxy serves: composed from the disk only
// (overlays never apply), with the last good version of a file that stopped
// parsing (SourceFile.Stale). It never returns nil after NewWorkspace.
func (w *Workspace) Served() *RouteTable { return w.served.Load() }

// Load re-reads every folder's settings and re-scans the route folders.
// Files whose size and modification time are unchanged keep their parse
// results.
func (w *Workspace) Load() *RouteTable {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.folders {
		w.loadFolder(f, true)
	}
	return w.publish()
}

// loadFolder re-reads a folder's settings and re-scans its route folders:
// both views when disk is set, else only the editor's (an overlay of
// devproxy.json changed). w.mu must be held.
func (w *Workspace) loadFolder(f *folder, disk bool) {
	if problem := f.checkRoot(); problem != nil {
		cfg := Config{}.Over(f.defaults).withDefaults()
		diags := []routefile.Diagnostic{*problem}
		f.disk = view{config: cfg, folderDiags: diags, files: map[string]*SourceFile{}}
		f.ed = view{config: cfg, folderDiags: diags, files: map[string]*SourceFile{}}
		clear(f.good)
		f.missing = true
		w.servedDirty = true
		return
	}
	if f.missing {
		disk = true
		f.missing = false
	}
	f.resolvedRoot = ""
	f.realRoot() // before the concurrent reads, which only read it
	if disk {
		cfg, diags := loadConfig(f.root, f.display(ConfigFile), nil)
		f.disk.config, f.disk.configDiags = cfg.Over(f.defaults).withDefaults(), withEnvironmentDiag(f.display(ConfigFile), cfg.Over(f.defaults), diags, w.folders[0] == f)
		f.disk.res, f.disk.resData, f.disk.resDiags = loadResolutions(f.root, f.display(ResolutionsFile), nil)
		f.disk.folderDiags = nil
		todo := f.discover(f.disk.config, nil, &f.disk.folderDiags)
		w.refreshDisk(f, todo, true)
		w.servedDirty = true
	}
	f.ed.config, f.ed.configDiags = f.disk.config, f.disk.configDiags
	if data, ok := f.overlays[ConfigFile]; ok {
		cfg, diags := loadConfig(f.root, f.display(ConfigFile), data)
		f.ed.config, f.ed.configDiags = cfg.Over(f.defaults).withDefaults(), withEnvironmentDiag(f.display(ConfigFile), cfg.Over(f.defaults), diags, w.folders[0] == f)
	}
	f.loadEditorResolutions()
	var todo []fileRef
	if slices.Equal(f.ed.config.Apps, f.disk.config.Apps) && slices.Equal(f.ed.config.Overrides, f.disk.config.Overrides) {
		// The same route files as on disk, and the buffers.
		f.ed.folderDiags = f.disk.folderDiags
		for rel, sf := range f.disk.files {
			todo = append(todo, fileRef{rel, sf.Kind})
		}
		for rel := range f.overlays {
			if _, ok := f.disk.files[rel]; !ok {
				if kind, ok := f.kindOf(&f.ed.config, rel); ok {
					todo = append(todo, fileRef{rel, kind})
				}
			}
		}
	} else {
		f.ed.folderDiags = nil
		todo = f.discover(f.ed.config, f.overlays, &f.ed.folderDiags)
	}
	w.refreshEditor(f, todo, true)
}

// loadEditorResolutions sets the editor's pins: from the overlay of the
// resolutions file, else as on disk.
func (f *folder) loadEditorResolutions() {
	f.ed.res, f.ed.resData, f.ed.resDiags = f.disk.res, f.disk.resData, f.disk.resDiags
	if data, ok := f.overlays[ResolutionsFile]; ok {
		f.ed.res, f.ed.resData, f.ed.resDiags = loadResolutions(f.root, f.display(ResolutionsFile), data)
	}
}

// Reload re-reads the given paths (absolute, or display paths) after a
// change on disk: route files that were saved, created, renamed or
// deleted, devproxy.json or .devproxy/resolutions.json, or folders that
// appeared or went away as a whole. Other files are not touched.
func (w *Workspace) Reload(paths ...string) *RouteTable {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range w.group(paths) {
		w.reload(g.f, g.rels, true)
	}
	return w.publish()
}

type folderPaths struct {
	f    *folder
	rels []string
}

// group sorts paths by folder, the folders in the order their first path
// comes; paths in no folder are dropped. w.mu must be held.
func (w *Workspace) group(paths []string) []folderPaths {
	var out []folderPaths
	for _, p := range paths {
		f, rel := w.locate(p)
		if f == nil {
			continue
		}
		i := slices.IndexFunc(out, func(g folderPaths) bool { return g.f == f })
		if i < 0 {
			out = append(out, folderPaths{f: f})
			i = len(out) - 1
		}
		out[i].rels = append(out[i].rels, rel)
	}
	return out
}

// reload re-reads paths of one folder: on disk and in the editor's view
// when disk is set, else in the editor's view only (an overlay changed).
// w.mu must be held.
func (w *Workspace) reload(f *folder, rels []string, disk bool) {
	if slices.Contains(rels, ConfigFile) || f.missing || disk && f.folderChanged(rels) {
		w.loadFolder(f, disk) // the route folders themselves may have changed
		return
	}
	var diskTodo, edTodo []fileRef
	for _, rel := range rels {
		if rel == ResolutionsFile || strings.HasPrefix(ResolutionsFile, rel+"/") {
			// The file, or the .devproxy folder that held it.
			if disk {
				f.disk.res, f.disk.resData, f.disk.resDiags = loadResolutions(f.root, f.display(ResolutionsFile), nil)
				w.servedDirty = true
			}
			f.loadEditorResolutions()
			continue
		}
		if kind, ok := f.kindOf(&f.disk.config, rel); disk && ok {
			diskTodo = append(diskTodo, fileRef{rel, kind})
		}
		if kind, ok := f.kindOf(&f.ed.config, rel); ok {
			edTodo = append(edTodo, fileRef{rel, kind})
		}
	}
	if len(diskTodo) > 0 {
		f.realRoot() // before the concurrent reads, which only read it
		w.refreshDisk(f, diskTodo, false)
	}
	w.refreshEditor(f, edTodo, false)
}

// folderChanged reports an event for a folder rather than a route file: a
// path that is a folder now (or the workspace folder itself), or under
// which the workspace knows route files (a folder deleted or renamed as a
// whole). File watchers may report only the folder, so the workspace then
// looks at the folder's route folders again. Other paths (an editor's swap
// or backup file) change nothing.
func (f *folder) folderChanged(rels []string) bool {
	for _, rel := range rels {
		if rel == "." {
			return true
		}
		if rel == ResolutionsFile || strings.HasSuffix(rel, ".conf") {
			continue
		}
		if st, err := os.Stat(f.abs(rel)); err == nil && st.IsDir() {
			return true
		}
		for _, files := range []map[string]*SourceFile{f.disk.files, f.ed.files} {
			for known := range files {
				if strings.HasPrefix(known, rel+"/") {
					return true
				}
			}
		}
	}
	return false
}

// SetOverlay makes the file at path (absolute, or a display path) read
// from content instead of the disk (an editor's unsaved buffer) in the
// editor's table, and returns the new table. Route files, devproxy.json
// and .devproxy/resolutions.json can have overlays. The served table does
// not change.
func (w *Workspace) SetOverlay(path string, content []byte) *RouteTable {
	return w.SetOverlayVersion(path, content, 0)
}

// SetOverlayVersion is SetOverlay for an editor buffer with a version: the
// tables carry it with the file (SourceFile.Version), so that whatever is
// computed on a table (positions, edits) names the buffer it applies to.
func (w *Workspace) SetOverlayVersion(path string, content []byte, version int32) *RouteTable {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, rel := w.locate(path); f != nil {
		f.overlays[rel] = append([]byte(nil), content...)
		f.overlayVersions[rel] = version
		w.reload(f, []string{rel}, false)
	}
	return w.publish()
}

// ClearOverlay drops an overlay; the file is read from disk again (which
// changes the served table only if the disk changed meanwhile).
func (w *Workspace) ClearOverlay(path string) *RouteTable {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, rel := w.locate(path); f != nil {
		delete(f.overlays, rel)
		delete(f.overlayVersions, rel)
		w.reload(f, []string{rel}, true)
	}
	return w.publish()
}

// IsRouteFile reports whether path (absolute, or a display path) is a
// route file of this workspace under its current settings.
func (w *Workspace) IsRouteFile(path string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, rel := w.locate(path)
	if f == nil {
		return false
	}
	_, ok := f.kindOf(&f.ed.config, rel)
	return ok
}

func globs(cfg *Config, kind FileKind) []string {
	if kind == OverrideFile {
		return cfg.Overrides
	}
	return cfg.Apps
}

// isRouteFileName applies spec §1: hidden files and names not ending in
// .conf (such as x.conf.backup.123) are ignored.
func isRouteFileName(rel string) bool {
	base := baseName(rel)
	return !strings.HasPrefix(base, ".") && strings.HasSuffix(base, ".conf")
}

func (f *folder) kindOf(cfg *Config, rel string) (FileKind, bool) {
	if !isRouteFileName(rel) || strings.HasPrefix(rel, "../") {
		return 0, false
	}
	for _, kind := range []FileKind{OverrideFile, AppFile} {
		for _, g := range globs(cfg, kind) {
			if ok, _ := filepath.Match(filepath.ToSlash(g), rel); ok {
				return kind, true
			}
		}
	}
	return 0, false
}

// discover lists the route files that cfg's globs name, and those of the
// overlays, overrides first (a file both globs name is an override). The
// folders it cannot read or will not follow are reported to diags, each
// problem once.
func (f *folder) discover(cfg Config, overlays map[string][]byte, diags *[]routefile.Diagnostic) []fileRef {
	seen := map[string]bool{}
	var out []fileRef
	add := func(rel string, kind FileKind) {
		if !seen[rel] {
			seen[rel] = true
			out = append(out, fileRef{rel, kind})
		}
	}
	for _, kind := range []FileKind{OverrideFile, AppFile} {
		for _, g := range globs(&cfg, kind) {
			for _, m := range f.globRouteFiles(g, diags) {
				if rel := f.relOf(m); isRouteFileName(rel) {
					add(rel, kind)
				}
			}
		}
		for rel := range overlays {
			if k, ok := f.kindOf(&cfg, rel); ok && k == kind {
				add(rel, kind)
			}
		}
	}
	// Several globs can name one folder; say each thing once.
	said := map[string]bool{}
	*diags = slices.DeleteFunc(*diags, func(d routefile.Diagnostic) bool {
		key := d.File + "\x00" + d.Message
		dup := said[key]
		said[key] = true
		return dup
	})
	return out
}

type fileRef struct {
	rel  string
	kind FileKind
}

// refreshDisk brings the disk view's entries for files up to date,
// reading and parsing them on all cores (a cold load of a large workspace
// is mostly parsing); with all set, files are all the route files and the
// others are forgotten. It keeps the last good version of each file and
// marks the served table for recomposing when an entry changed. w.mu must
// be held.
func (w *Workspace) refreshDisk(f *folder, files []fileRef, all bool) {
	out := make([]*SourceFile, len(files))
	read := func(i int) {
		out[i] = f.readDisk(files[i].rel, files[i].kind, f.disk.files[files[i].rel])
	}
	if len(files) < 8 {
		for i := range files {
			read(i)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan int)
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for i := range next {
					read(i)
				}
			})
		}
		for i := range files {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	set := func(rel string, sf *SourceFile) {
		if f.disk.files[rel] == sf {
			return
		}
		w.servedDirty = true
		if sf == nil {
			delete(f.disk.files, rel)
			delete(f.good, rel) // a deleted file is dropped, not stale
			return
		}
		f.disk.files[rel] = sf
		if sf.Parsed.OK {
			f.good[rel] = sf
		}
	}
	for i, ref := range files {
		set(ref.rel, out[i])
	}
	if all {
		listed := make(map[string]bool, len(files))
		for _, ref := range files {
			listed[ref.rel] = true
		}
		for rel := range f.disk.files {
			if !listed[rel] {
				set(rel, nil)
			}
		}
		for rel := range f.good {
			if f.disk.files[rel] == nil {
				delete(f.good, rel)
			}
		}
	}
}

// refreshEditor brings the editor's view's entries for files up to date:
// an overlay where the editor has one, else the disk view's entry. With
// all set, files are all the route files and the others are forgotten.
// w.mu must be held, and the disk view must be up to date.
func (w *Workspace) refreshEditor(f *folder, files []fileRef, all bool) {
	for _, ref := range files {
		if sf := f.editorEntry(ref.rel, ref.kind); sf != nil {
			f.ed.files[ref.rel] = sf
		} else {
			delete(f.ed.files, ref.rel)
		}
	}
	if all {
		listed := make(map[string]bool, len(files))
		for _, ref := range files {
			listed[ref.rel] = true
		}
		for rel := range f.ed.files {
			if !listed[rel] {
				delete(f.ed.files, rel)
			}
		}
	}
}

// editorEntry is the editor's view of one file, or nil when it has none.
func (f *folder) editorEntry(rel string, kind FileKind) *SourceFile {
	if content, ok := f.overlays[rel]; ok {
		return f.readOverlay(rel, kind, content)
	}
	if d := f.disk.files[rel]; d != nil && d.Kind == kind {
		return d
	}
	// Only the editor's settings name the file (an unsaved devproxy.json).
	prev := f.ed.files[rel]
	if prev != nil && prev.Open {
		prev = nil
	}
	return f.readDisk(rel, kind, prev)
}

// outsideEntry is the entry of a file that leads outside the folder
// through a link: a warning, and nothing of its content.
func (f *folder) outsideEntry(rel string, kind FileKind, abs, target string) *SourceFile {
	display := f.display(rel)
	mod := time.Time{}
	if st, err := os.Lstat(abs); err == nil {
		mod = st.ModTime()
	}
	return &SourceFile{Path: display, Folder: f.label, Abs: abs, Kind: kind, ModTime: mod, Parsed: &routefile.File{Path: display, Diagnostics: []routefile.Diagnostic{
		folderDiag(display, routefile.Warning, routefile.CodeOutsideWorkspace, outsideMessage(display, abs, target, false)),
	}}}
}

// readOverlay is the editor's entry for a file with an overlay. A link
// that leads outside the folder is never read, and neither is an editor's
// buffer of it: its content must not show anywhere.
func (f *folder) readOverlay(rel string, kind FileKind, content []byte) *SourceFile {
	abs := f.abs(rel)
	if target, out := f.outside(abs); out {
		return f.outsideEntry(rel, kind, abs, target)
	}
	disk := f.disk.files[rel]
	prev := f.ed.files[rel]
	if prev != nil && !prev.Open {
		prev = nil
	}
	var mod time.Time
	var unsaved bool
	switch {
	case disk != nil:
		// Editing does not make a file "newest"; saving does.
		mod, unsaved = disk.ModTime, !bytes.Equal(disk.Text, content)
	default:
		mod, unsaved = time.Now(), true
		if prev != nil {
			mod = prev.ModTime
		}
		if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
			if prev == nil {
				mod = st.ModTime()
			}
			data, err := readLimited(abs, routefile.MaxFileSize+1)
			unsaved = err != nil || !bytes.Equal(data, content)
		}
	}
	version := f.overlayVersions[rel]
	if prev != nil && prev.Kind == kind && bytes.Equal(prev.Text, content) {
		if prev.Version == version && prev.Unsaved == unsaved && prev.ModTime.Equal(mod) {
			return prev
		}
		n := *prev // the same text: no need to parse it again
		n.Version, n.Unsaved, n.ModTime = version, unsaved, mod
		return &n
	}
	display := f.display(rel)
	return &SourceFile{Path: display, Folder: f.label, Abs: abs, Kind: kind, ModTime: mod, Size: int64(len(content)), Text: content,
		Open: true, Version: version, Unsaved: unsaved, Parsed: routefile.Parse(display, content)}
}

// readDisk returns the up-to-date entry for one file on disk, re-parsing
// only when its content may have changed (prev is the entry it had), or
// nil when it is gone. It only reads f's state, so several can run at once
// under w.mu.
func (f *folder) readDisk(rel string, kind FileKind, prev *SourceFile) *SourceFile {
	// A link that leads outside the folder is never read.
	abs := f.abs(rel)
	if target, out := f.outside(abs); out {
		return f.outsideEntry(rel, kind, abs, target)
	}
	st, err := os.Stat(abs)
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	if prev != nil && prev.Kind == kind && prev.Size == st.Size() && prev.ModTime.Equal(st.ModTime()) {
		return prev
	}
	display := f.display(rel)
	if st.Size() > routefile.MaxFileSize {
		return &SourceFile{Path: display, Folder: f.label, Abs: abs, Kind: kind, ModTime: st.ModTime(), Size: st.Size(), Parsed: routefile.TooLarge(display, st.Size())}
	}
	var parsed *routefile.File
	data, err := readLimited(abs, routefile.MaxFileSize+1)
	if err != nil {
		parsed = &routefile.File{Path: display, Diagnostics: []routefile.Diagnostic{{
			File: display, Severity: routefile.Error, Code: routefile.CodeSyntax,
			Message: fmt.Sprintf("cannot read %s: %v", display, err),
			Range:   routefile.Range{Start: routefile.Pos{Line: 1, Col: 1}, End: routefile.Pos{Line: 1, Col: 1}},
		}}}
	} else {
		parsed = routefile.Parse(display, data)
	}
	return &SourceFile{Path: display, Folder: f.label, Abs: abs, Kind: kind, ModTime: st.ModTime(), Size: st.Size(), Text: data, Parsed: parsed}
}

func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// publish composes the editor's table and makes it current, and, when
// something read from disk changed, the served table too. Without
// overlays and stale files the two are composed from the same files, and
// the served table shares the editor's composition. w.mu must be held.
func (w *Workspace) publish() *RouteTable {
	stale := w.staleFiles()
	t := compose(w.input(false, stale))
	w.generation++
	t.Generation = w.generation
	w.current.Store(t)
	for _, fn := range w.subscribers {
		fn(t)
	}
	if w.servedDirty || w.served.Load() == nil {
		var s *RouteTable
		if len(stale) == 0 && !w.hasOverlays() {
			s = new(RouteTable)
			*s = *t
		} else {
			s = compose(w.input(true, stale))
		}
		w.servedGeneration++
		s.Generation = w.servedGeneration
		w.served.Store(s)
		w.servedDirty = false
		for _, fn := range w.servedSubscribers {
			fn(s)
		}
	}
	return t
}

func (w *Workspace) hasOverlays() bool {
	for _, f := range w.folders {
		if len(f.overlays) > 0 {
			return true
		}
	}
	return false
}

// input gathers what composition needs from every folder: the editor's
// views, or the disk views for the served table.
func (w *Workspace) input(served bool, stale map[*SourceFile]*SourceFile) composeInput {
	var in composeInput
	n := 0
	for _, f := range w.folders {
		n += len(f.ed.files)
	}
	in.files = make([]*SourceFile, 0, n)
	for i, f := range w.folders {
		v := &f.ed
		if served {
			v = &f.disk
		}
		if i == 0 {
			in.root, in.config, in.resData = f.root, v.config, v.resData
		}
		in.folders = append(in.folders, f.public(v))
		in.extraDiags = append(in.extraDiags, v.configDiags...)
		in.extraDiags = append(in.extraDiags, v.resDiags...)
		in.extraDiags = append(in.extraDiags, v.folderDiags...)
		in.pins = append(in.pins, pinFile{file: f.display(ResolutionsFile), prefix: f.prefix, data: v.resData, res: v.res})
		for rel, sf := range v.files {
			if cur := f.disk.files[rel]; stale[cur] != nil {
				sf = staleEntry(sf, cur, stale[cur], served)
			}
			in.files = append(in.files, sf)
		}
	}
	if len(w.folders) == 0 {
		in.config = Config{}.withDefaults()
	}
	in.config.Tunnel.TypedURL = in.config.Tunnel.PublicURL
	if w.publicURL != "" {
		in.config.Tunnel.PublicURL = w.publicURL
	}
	return in
}

// Subscribe calls fn with every editor's table the workspace publishes
// from now on, in order, until the returned function is called. fn runs
// under the workspace's lock: it must be quick and must not call the
// workspace.
func (w *Workspace) Subscribe(fn func(*RouteTable)) (unsubscribe func()) {
	return w.subscribe(&w.subscribers, fn)
}

// SubscribeServed is Subscribe for the served tables (Served): the proxy
// swaps its table pointer there.
func (w *Workspace) SubscribeServed(fn func(*RouteTable)) (unsubscribe func()) {
	return w.subscribe(&w.servedSubscribers, fn)
}

func (w *Workspace) subscribe(subs *map[int]func(*RouteTable), fn func(*RouteTable)) func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextSub++
	id := w.nextSub
	if *subs == nil {
		*subs = map[int]func(*RouteTable){}
	}
	(*subs)[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(*subs, id)
	}
}

// Compose builds a table from in-memory files, for tests and tools that do
// not read a folder.
func Compose(cfg Config, files []*SourceFile, res Resolutions) *RouteTable {
	return compose(composeInput{config: cfg.withDefaults(), files: files,
		pins: []pinFile{{file: ResolutionsFile, res: res}}})
}
