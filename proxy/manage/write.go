package manage

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A change writes one file: data at abs.
type change struct {
	abs  string
	data []byte
}

// commit writes every change, all or nothing. Each file is first written
// in full to a temporary file in its own folder and synced; only then are
// they renamed over their targets, one by one. When a rename fails, the
// files already renamed get their previous content back (or are removed
// when they did not exist), the temporary files are removed, and so are
// the folders commit created: the disk is as it was.
func (a *API) commit(changes []change) error {
	for _, c := range changes {
		if err := a.checkInside(c.abs); err != nil {
			return err
		}
	}
	type prev struct {
		existed bool
		data    []byte
		mode    os.FileMode
	}
	prevs := make([]prev, len(changes))
	for i, c := range changes {
		st, err := os.Lstat(c.abs)
		switch {
		case err == nil && !st.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file; it is left alone", c.abs)
		case err == nil:
			data, err := os.ReadFile(c.abs)
			if err != nil {
				return fmt.Errorf("read %s: %w", c.abs, err)
			}
			prevs[i] = prev{existed: true, data: data, mode: st.Mode().Perm()}
		case errors.Is(err, os.ErrNotExist):
			prevs[i] = prev{mode: 0o644}
		default:
			return fmt.Errorf("stat %s: %w", c.abs, err)
		}
	}
	var madeDirs []string
	var temps []string
	undo := func() {
		for _, t := range temps {
			os.Remove(t)
		}
		slices.Reverse(madeDirs)
		for _, d := range madeDirs {
			os.Remove(d) // only when empty
		}
	}
	for i, c := range changes {
		made, err := mkdirAll(filepath.Dir(c.abs))
		madeDirs = append(madeDirs, made...)
		if err != nil {
			undo()
			return err
		}
		t, err := writeTemp(c.abs, c.data, prevs[i].mode)
		if err != nil {
			undo()
			return err
		}
		temps = append(temps, t)
	}
	for i, c := range changes {
		if err := a.rename(temps[i], c.abs); err != nil {
			for j := i - 1; j >= 0; j-- {
				if prevs[j].existed {
					if t, werr := writeTemp(changes[j].abs, prevs[j].data, prevs[j].mode); werr == nil {
						if os.Rename(t, changes[j].abs) != nil {
							os.Remove(t)
						}
					}
				} else {
					os.Remove(changes[j].abs)
				}
			}
			undo()
			return fmt.Errorf("write %s: %w", c.abs, err)
		}
		temps[i] = "" // renamed: nothing to remove
		syncDir(filepath.Dir(c.abs))
	}
	return nil
}

// writeTemp writes data to a new temporary file beside target, synced,
// and returns its path. Its name starts with "." so that the route engine
// never reads it as a route file, even for an instant.
func writeTemp(target string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", target, err)
	}
	name := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", target, err)
	}
	return name, nil
}

// mkdirAll is os.MkdirAll that says which folders it created, outermost
// first.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	slices.Reverse(missing)
	var made []string
	for _, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return made, fmt.Errorf("create folder %s: %w", d, err)
		}
		made = append(made, d)
	}
	return made, nil
}

// syncDir makes a rename in dir durable; best effort (not every system
// can sync a folder).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// within reports whether abs is root or inside it.
func within(root, abs string) bool {
	rel, err := filepath.Rel(root, abs)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// errOutside refuses a write through a link that leads outside the
// workspace's folders (apps/ linked to /etc, say).
var errOutside = errors.New("leads outside the workspace")

// checkInside makes sure abs, once the links of its existing folders are
// followed, is inside the root or another folder of the workspace: the
// route engine never reads through such links, and the API never writes
// through them.
func (a *API) checkInside(abs string) error {
	var roots []string
	for _, r := range append([]string{a.root}, a.folderRoots()...) {
		if real, err := filepath.EvalSymlinks(r); err == nil {
			roots = append(roots, real)
		}
	}
	d := filepath.Dir(abs)
	for {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		if filepath.Dir(d) == d {
			break
		}
		d = filepath.Dir(d)
	}
	real, err := filepath.EvalSymlinks(d)
	if err != nil {
		return fmt.Errorf("%s: %w", abs, err)
	}
	for _, r := range roots {
		if within(r, real) {
			return nil
		}
	}
	return fmt.Errorf("%s %w (through a link)", abs, errOutside)
}

func (a *API) folderRoots() []string {
	if a.opts.Workspace == nil {
		return nil
	}
	var out []string
	for _, f := range a.opts.Workspace.Folders() {
		out = append(out, f.Root)
	}
	return out
}

// commitError is the answer to a failed commit.
func commitError(err error, what string) *Error {
	if errors.Is(err, errOutside) {
		return errorf(http.StatusConflict, "", "%s refused, nothing was changed: %v", what, err)
	}
	return errorf(http.StatusInternalServerError, "", "%s failed, nothing was changed: %v", what, err)
}
