package routing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/devtunnelproxy/devproxy/proxy/routefile"
)

// Route folders are read with their problems reported, where
// filepath.Glob would drop them: a folder that cannot be read is an error
// that names it and the reason, not "0 route files". Route files must
// live inside the workspace, where the watcher and the editor see them,
// so a symbolic link (to a file or a folder) that leads outside it is not
// followed: a warning names the link and where it leads, and nothing of
// what it points at is read.

// realRoot is the folder's root with symbolic links resolved, to which
// resolved paths are compared; w.mu must be held.
func (f *folder) realRoot() string {
	if f.resolvedRoot == "" {
		f.resolvedRoot = f.root
		if r, err := filepath.EvalSymlinks(f.root); err == nil {
			f.resolvedRoot = r
		}
	}
	return f.resolvedRoot
}

// outside resolves the symbolic links of abs and reports whether it leads
// out of the folder, and where. A path that does not resolve (missing,
// dangling) is not outside: reading it fails on its own.
func (f *folder) outside(abs string) (target string, out bool) {
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(f.realRoot(), real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return real, true
	}
	return real, false
}

// folderDiag is a finding on a route folder (or a route file found in
// one), with the folder's display path as its file.
func folderDiag(rel string, sev routefile.Severity, code, msg string) routefile.Diagnostic {
	start := routefile.Pos{Line: 1, Col: 1}
	return routefile.Diagnostic{File: rel, Severity: sev, Code: code, Message: msg,
		Range: routefile.Range{Start: start, End: start}}
}

// outsideMessage is the warning for a path that leads outside the
// workspace: the path and the folder it leads into, never the content.
// abs is the path itself, to tell a link from a path under a linked
// folder.
func outsideMessage(rel, abs, target string, folder bool) string {
	how := "is a symbolic link"
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
		how = "leads, through a symbolic link,"
	}
	if folder {
		return fmt.Sprintf("%s %s to %s, outside the workspace; the route files in it were skipped. Route files must live inside the workspace folder",
			rel, how, target)
	}
	return fmt.Sprintf("%s %s into %s, outside the workspace; it was skipped. Route files must live inside the workspace folder",
		rel, how, filepath.Dir(target))
}

// globRouteFiles expands one route-file glob (folder-relative, already
// checked to stay inside the folder) like filepath.Glob, and reports the
// folders it cannot read or will not follow.
func (f *folder) globRouteFiles(pattern string, diags *[]routefile.Diagnostic) []string {
	return f.glob(f.abs(pattern), diags)
}

func hasMeta(path string) bool {
	return strings.ContainsAny(path, `*?[\`)
}

func (f *folder) glob(pattern string, diags *[]routefile.Diagnostic) []string {
	if !hasMeta(pattern) {
		if _, err := os.Lstat(pattern); err != nil {
			return nil
		}
		return []string{pattern}
	}
	dir, file := filepath.Split(pattern)
	dir = filepath.Clean(dir)
	if !hasMeta(dir) {
		return f.globDir(dir, file, true, diags)
	}
	if dir == pattern {
		return nil // a pattern that does not shrink; checkGlobs refuses such globs
	}
	var out []string
	for _, d := range f.glob(dir, diags) {
		out = append(out, f.globDir(d, file, false, diags)...)
	}
	return out
}

// globDir lists the entries of dir that match pattern. configured is true
// for a folder named in the setting (apps/ of apps/*.conf), which must be
// a readable folder if it exists at all; a folder that a wildcard matched
// may also be a file, which is then simply not a folder of route files.
func (f *folder) globDir(dir, pattern string, configured bool, diags *[]routefile.Diagnostic) []string {
	rel := f.display(f.relOf(dir))
	fail := func(msg string) {
		*diags = append(*diags, folderDiag(rel, routefile.Error, routefile.CodeRouteFolder, msg))
	}
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil // route folders are optional
	case err != nil:
		fail(fmt.Sprintf("cannot read the route folder %s: %v; no route files are loaded from it", rel, osReason(err)))
		return nil
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if _, err := filepath.EvalSymlinks(dir); err != nil {
			if configured {
				link, _ := os.Readlink(dir)
				fail(fmt.Sprintf("the route folder %s is a symbolic link to %s, which cannot be followed: %v; no route files are loaded from it", rel, link, osReason(err)))
			}
			return nil
		}
	}
	if target, out := f.outside(dir); out {
		*diags = append(*diags, folderDiag(rel, routefile.Warning, routefile.CodeOutsideWorkspace, outsideMessage(rel, dir, target, true)))
		return nil
	}
	if fi, err = os.Stat(dir); err != nil || !fi.IsDir() {
		if configured {
			reason := "it is not a folder"
			if err != nil {
				reason = osReason(err).Error()
			}
			fail(fmt.Sprintf("cannot read the route folder %s: %s; no route files are loaded from it", rel, reason))
		}
		return nil
	}
	entries, err := f.w.readDir(dir)
	if err != nil {
		fail(fmt.Sprintf("cannot read the route folder %s: %v; no route files are loaded from it", rel, osReason(err)))
		return nil
	}
	var out []string
	for _, e := range entries {
		if ok, _ := filepath.Match(pattern, e.Name()); ok {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// osReason strips the path from an OS error: the message names the folder
// relative to the workspace already.
func osReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
