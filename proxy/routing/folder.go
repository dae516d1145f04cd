package routing

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// A workspace holds one or more folders (a VS Code multi-root workspace,
// plus folders that other devproxy processes registered) and composes the
// route files of all of them into one table, so that conflicts across
// folders are found and settled by the rules of spec §4.
//
// Paths the engine shows (SourceFile.Path, block labels, diagnostics,
// reports) are display paths: with one folder, relative to it exactly as
// always ("apps/a.conf"); with several, the folder's label, a slash and
// the path in the folder ("shop/apps/shop.conf").

// FolderSpec names one folder of a workspace.
type FolderSpec struct {
	// Root is the folder, absolute or relative to the working directory.
	Root string
	// Defaults are the folder's editor settings; the folder's devproxy.json
	// overrides them where it sets a value.
	Defaults Config
	// Watched folders are watched by Watch itself. Folders whose changes
	// an editor reports (through Reload and the overlays) are not.
	Watched bool
}

// SameFolders reports whether two folder lists name the same folders, in
// the same order, with the same route-file globs and environment (Watched
// aside): setting one after the other would change nothing.
func SameFolders(a, b []FolderSpec) bool {
	return slices.EqualFunc(a, b, func(x, y FolderSpec) bool {
		return x.Root == y.Root && slices.Equal(x.Defaults.Apps, y.Defaults.Apps) && slices.Equal(x.Defaults.Overrides, y.Defaults.Overrides) &&
			x.Defaults.Environment == y.Defaults.Environment
	})
}

// WatchDebounce is how long Watch collects the several writes of one save
// into one reload, for the callers that run it (devproxy serve, the
// language server for joined folders).
const WatchDebounce = 25 * time.Millisecond

// Folder is one folder of a workspace as a table shows it.
type Folder struct {
	// Label names the folder in display paths: its base name, with "~2",
	// "~3"... added to repeats, in folder order.
	Label string
	// Root is the folder's absolute, cleaned path.
	Root    string
	Watched bool
	// Config is the folder's effective settings: its devproxy.json over
	// its Defaults, with the gaps filled in. Its Apps and Overrides decide
	// the folder's route files; listen, tunnel, allowedHosts, dataDir
	// and retention are settings of the process, read from the primary
	// (first) folder (RouteTable.Config).
	Config Config
}

// folder is the workspace's state for one folder. The disk view is what
// the folder holds on disk, from which the proxy's table is composed; the
// editor's view applies the overlays (unsaved buffers) on top of it.
// Entries of the editor's view that have no overlay are the disk view's
// own *SourceFile values, so a file is read and parsed once for both.
type folder struct {
	w       *Workspace
	label   string
	root    string // absolute, cleaned
	watched bool
	// defaults are the editor's settings, under devproxy.json.
	defaults Config
	// prefix is what display paths start with: "" with one folder, the
	// label and a slash with several.
	prefix string
	// missing is set when the last load found no folder at root.
	missing bool
	// resolvedRoot is root with its links resolved, set by realRoot.
	resolvedRoot string

	overlays map[string][]byte // by folder-relative path
	// overlayVersions are the editor's versions of the overlays.
	overlayVersions map[string]int32

	disk, ed view
	// good holds, by folder-relative path, the last version read from
	// disk that parsed, for serving while the file on disk does not
	// (spec §4, stale).
	good map[string]*SourceFile
}

// view is one reading of a folder: its settings, pins, route files and
// the problems met while finding them.
type view struct {
	config      Config
	configDiags []routefile.Diagnostic
	res         Resolutions
	resData     []byte
	resDiags    []routefile.Diagnostic
	folderDiags []routefile.Diagnostic
	files       map[string]*SourceFile // by folder-relative path
}

func newFolder(w *Workspace, root string) *folder {
	return &folder{w: w, root: root, overlays: map[string][]byte{}, overlayVersions: map[string]int32{},
		disk: view{files: map[string]*SourceFile{}}, ed: view{files: map[string]*SourceFile{}}, good: map[string]*SourceFile{}}
}

// folderLabels names folders by their base names; repeats get "~2", "~3"...
// in folder order.
func folderLabels(roots []string) []string {
	labels := make([]string, len(roots))
	used := map[string]bool{}
	for i, r := range roots {
		base := filepath.Base(r)
		if base == string(filepath.Separator) || base == "." || base == "" {
			base = "folder"
		}
		label := base
		for n := 2; used[label]; n++ {
			label = fmt.Sprintf("%s~%d", base, n)
		}
		used[label] = true
		labels[i] = label
	}
	return labels
}

// display is the display path of a folder-relative path; "." is the
// folder itself.
func (f *folder) display(rel string) string {
	return displayPath(f.prefix, rel)
}

func displayPath(prefix, rel string) string {
	if rel == "." {
		if prefix == "" {
			return "."
		}
		return strings.TrimSuffix(prefix, "/")
	}
	return prefix + rel
}

// abs is the absolute path of a folder-relative path.
func (f *folder) abs(rel string) string {
	return filepath.Join(f.root, filepath.FromSlash(rel))
}

// relOf is the folder-relative path of an absolute path under the folder.
func (f *folder) relOf(abs string) string {
	if r, err := filepath.Rel(f.root, abs); err == nil {
		abs = r
	}
	return filepath.ToSlash(filepath.Clean(abs))
}

func (f *folder) public(v *view) Folder {
	return Folder{Label: f.label, Root: f.root, Watched: f.watched, Config: v.config}
}

// within reports whether p is root or lies under it; both are cleaned
// absolute paths.
func within(root, p string) bool {
	if p == root {
		return true
	}
	if !strings.HasSuffix(root, string(filepath.Separator)) {
		root += string(filepath.Separator)
	}
	return strings.HasPrefix(p, root)
}

// locate finds the folder of a path, absolute or a display path, and the
// path inside it. With one folder a relative path is relative to it, as
// always. With several, a relative path starts with a folder's label; one
// that starts with no label is taken as relative to the primary folder.
// An absolute path belongs to the folder with the longest root that holds
// it (folders may be nested); with several folders, an absolute path in
// none of them has no folder (nil). w.mu must be held.
func (w *Workspace) locate(p string) (*folder, string) {
	if len(w.folders) == 0 {
		return nil, ""
	}
	if filepath.IsAbs(p) {
		p = filepath.Clean(p)
		var best *folder
		for _, f := range w.folders {
			if within(f.root, p) && (best == nil || len(f.root) > len(best.root)) {
				best = f
			}
		}
		if best == nil {
			if len(w.folders) > 1 {
				return nil, ""
			}
			best = w.folders[0] // "../x": never a route file
		}
		return best, best.relOf(p)
	}
	rel := path.Clean(filepath.ToSlash(p))
	if len(w.folders) > 1 {
		label, rest, _ := strings.Cut(rel, "/")
		for _, f := range w.folders {
			if f.label == label {
				if rest == "" {
					rest = "."
				}
				return f, rest
			}
		}
	}
	return w.folders[0], rel
}

// Rel maps a path, absolute or a display path, to its display path. An
// absolute path outside every folder stays as it is (with one folder, it
// becomes relative to it: "../x", as always).
func (w *Workspace) Rel(p string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, rel := w.locate(p)
	if f == nil {
		return filepath.ToSlash(filepath.Clean(p))
	}
	return f.display(rel)
}

// Folders lists the workspace's folders, the primary first, with the
// settings the editor's table uses.
func (w *Workspace) Folders() []Folder {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Folder, len(w.folders))
	for i, f := range w.folders {
		out[i] = f.public(&f.ed)
	}
	return out
}

// folderAt finds the folder of a display path in a table's folders and
// the path inside it.
func folderAt(folders []Folder, display string) (int, string, bool) {
	if len(folders) == 0 || filepath.IsAbs(display) {
		return 0, "", false
	}
	rel := path.Clean(filepath.ToSlash(display))
	i := 0
	if len(folders) > 1 {
		label, rest, _ := strings.Cut(rel, "/")
		i = slices.IndexFunc(folders, func(f Folder) bool { return f.Label == label })
		if i < 0 {
			return 0, "", false
		}
		rel = rest
		if rel == "" {
			rel = "."
		}
	}
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return 0, "", false
	}
	return i, rel, true
}

// AbsPath maps a display path (a route file, devproxy.json, a resolutions
// file, a folder such as "shop/overrides") to its absolute path; false
// when it names no place in the table's folders.
func (t *RouteTable) AbsPath(display string) (string, bool) {
	i, rel, ok := folderAt(t.Folders, display)
	if !ok {
		return "", false
	}
	return filepath.Join(t.Folders[i].Root, filepath.FromSlash(rel)), true
}

// DisplayPath maps an absolute path to its display path; false when it is
// outside every folder. For nested folders the longest root that holds
// the path wins.
func (t *RouteTable) DisplayPath(abs string) (string, bool) {
	if !filepath.IsAbs(abs) {
		return "", false
	}
	abs = filepath.Clean(abs)
	best := -1
	for i, f := range t.Folders {
		if within(f.Root, abs) && (best < 0 || len(f.Root) > len(t.Folders[best].Root)) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	rel, err := filepath.Rel(t.Folders[best].Root, abs)
	if err != nil {
		return "", false
	}
	return displayPath(t.displayPrefix(best), filepath.ToSlash(rel)), true
}

func (t *RouteTable) displayPrefix(i int) string {
	if len(t.Folders) < 2 {
		return ""
	}
	return t.Folders[i].Label + "/"
}

// ResolutionsFileFor is the display path of the resolutions file of the
// folder that holds path (a display path: a route file, usually), where a
// pin for it belongs: ".devproxy/resolutions.json" with one folder,
// "shop/.devproxy/resolutions.json" with several. The file need not exist.
func (t *RouteTable) ResolutionsFileFor(path string) string {
	i, _, ok := folderAt(t.Folders, path)
	if !ok {
		return ResolutionsFile
	}
	return t.displayPrefix(i) + ResolutionsFile
}

// ResolutionsTextOf is the text of a folder's resolutions file, by its
// display path ("shop/.devproxy/resolutions.json"), as the table's pins
// were read from it; nil when the folder has none.
func (t *RouteTable) ResolutionsTextOf(resolutionsFile string) []byte {
	return t.pinTexts[path.Clean(filepath.ToSlash(resolutionsFile))]
}

// checkRoot reports the folder itself missing, not a folder, or not
// readable: an error on the folder, naming it.
func (f *folder) checkRoot() *routefile.Diagnostic {
	st, err := os.Stat(f.root)
	reason := ""
	switch {
	case err != nil && os.IsNotExist(err):
		reason = "does not exist"
	case err != nil:
		reason = "cannot be read: " + osReason(err).Error()
	case !st.IsDir():
		reason = "is not a folder"
	default:
		return nil
	}
	d := folderDiag(f.display("."), routefile.Error, routefile.CodeRouteFolder,
		fmt.Sprintf("the workspace folder %s (%s) %s; no route files are loaded from it", f.label, f.root, reason))
	return &d
}

// repath renames the folder's cached files after its display prefix
// changed (a folder added or removed, a label changed). Parse results are
// kept: only the names in them change.
func (f *folder) repath() {
	moved := map[*SourceFile]*SourceFile{}
	move := func(rel string, sf *SourceFile) *SourceFile {
		if n, ok := moved[sf]; ok {
			return n
		}
		n := withPath(sf, f.display(rel), f.label)
		moved[sf] = n
		return n
	}
	for _, m := range []map[string]*SourceFile{f.disk.files, f.ed.files, f.good} {
		for rel, sf := range m {
			m[rel] = move(rel, sf)
		}
	}
}

// withPath is a copy of sf under another display path, its parse result
// shared but for the names in its diagnostics.
func withPath(sf *SourceFile, display, label string) *SourceFile {
	n := *sf
	old := sf.Path
	n.Path, n.Folder = display, label
	if sf.Parsed != nil {
		p := *sf.Parsed
		p.Path = display
		p.Diagnostics = make([]routefile.Diagnostic, len(sf.Parsed.Diagnostics))
		for i, d := range sf.Parsed.Diagnostics {
			if d.File == old {
				d.File = display
			}
			if len(d.Related) > 0 {
				d.Related = slices.Clone(d.Related)
				for j := range d.Related {
					if d.Related[j].File == old {
						d.Related[j].File = display
					}
				}
			}
			p.Diagnostics[i] = d
		}
		n.Parsed = &p
	}
	return &n
}

// FolderOf finds the folder that holds a display path: the folder, the
// prefix its display paths carry ("" with one folder, "shop/" with
// several) and the path relative to the folder; false when no folder holds
// it.
func (t *RouteTable) FolderOf(display string) (f Folder, prefix, rel string, ok bool) {
	i, rel, ok := folderAt(t.Folders, display)
	if !ok {
		return Folder{}, "", "", false
	}
	return t.Folders[i], t.displayPrefix(i), rel, true
}

// IsSettingsFile reports whether a display path is a folder's devproxy.json
// or .devproxy/resolutions.json.
func IsSettingsFile(display string) bool {
	return IsConfigFile(display) || display == ResolutionsFile || strings.HasSuffix(display, "/"+ResolutionsFile)
}

// IsConfigFile reports whether a display path is a folder's devproxy.json.
func IsConfigFile(display string) bool {
	return display == ConfigFile || (strings.HasSuffix(display, "/"+ConfigFile) && strings.Count(display, "/") == 1)
}
