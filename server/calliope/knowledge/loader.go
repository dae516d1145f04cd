package knowledge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Bounds on what WorkspaceDocs reads: a workspace is the user's, and may hold
// anything.
const (
	maxDocBytes = 1 << 20 // larger files are skipped
	maxDocFiles = 500     // at most this many documents
)

// DefaultWorkspaceGlobs are the workspace documents indexed when no globs
// are configured.
var DefaultWorkspaceGlobs = []string{"README.md", "docs/**/*.md"}

// Docs reads every *.md file of fsys (the embedded docs.FS), in path order,
// naming each prefix/path: Docs(docs.FS, "docs") gives "docs/guides/vite.md".
func Docs(fsys fs.FS, prefix string) ([]Doc, error) {
	var out []Doc
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".md") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, Doc{Path: path.Join(prefix, p), Text: string(b)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read docs: %w", err)
	}
	return out, nil
}

// WorkspaceDocs reads the Markdown files of the workspace at root that match
// globs (slash-separated, relative to root; "**" matches any number of
// folders; nil means DefaultWorkspaceGlobs), named "workspace:<path>". It
// skips files over 1 MiB, stops at 500 files, does not descend into
// node_modules or hidden folders, and never reads through a symbolic link
// that leads outside root.
func WorkspaceDocs(root string, globs []string) ([]Doc, error) {
	if len(globs) == 0 {
		globs = DefaultWorkspaceGlobs
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("workspace docs: %w", err)
	}
	realRoot, err = filepath.Abs(realRoot)
	if err != nil {
		return nil, fmt.Errorf("workspace docs: %w", err)
	}
	var rels []string
	errFull := errors.New("enough files")
	err = filepath.WalkDir(realRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == realRoot {
				return err
			}
			return nil // an unreadable folder is skipped, not fatal
		}
		rel, _ := filepath.Rel(realRoot, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != realRoot && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !matchAny(globs, rel) {
			return nil
		}
		rels = append(rels, rel)
		if len(rels) >= maxDocFiles {
			return errFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, fmt.Errorf("workspace docs under %s: %w", root, err)
	}
	sort.Strings(rels)
	var out []Doc
	for _, rel := range rels {
		text, ok := readInside(realRoot, filepath.Join(realRoot, filepath.FromSlash(rel)))
		if ok {
			out = append(out, Doc{Path: "workspace:" + rel, Text: text})
		}
	}
	return out, nil
}

// readInside reads a regular file no larger than maxDocBytes whose real path
// (symbolic links resolved) is inside root.
func readInside(root, p string) (string, bool) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	info, err := os.Stat(real)
	if err != nil || !info.Mode().IsRegular() || info.Size() > maxDocBytes {
		return "", false
	}
	b, err := os.ReadFile(real)
	if err != nil || len(b) > maxDocBytes {
		return "", false
	}
	return string(b), true
}

func matchAny(globs []string, rel string) bool {
	for _, g := range globs {
		if matchGlob(strings.Split(g, "/"), strings.Split(rel, "/")) {
			return true
		}
	}
	return false
}

// matchGlob matches path segments against pattern segments, where "**"
// stands for zero or more segments and the others follow path.Match.
func matchGlob(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchGlob(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
