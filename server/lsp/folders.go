package lsp

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The workspace holds every folder of the editor's workspace (a multi-root
// workspace registers them all) and, after them, the folders other devproxy
// processes registered with the proxy on the same port (joined folders).
// The editor feeds its own folders' file events; the workspace watches the
// joined ones itself. Diagnostics are published for the editor's folders
// only: another window shows its own.

// initialRoots are the editor's folders at initialize: the workspace
// folders, else the root URI or path, else the working directory.
func initialRoots(p *protocol.InitializeParams) []string {
	var roots []string
	if folders, ok := p.WorkspaceFolders.Get(); ok {
		for _, f := range folders {
			if root, ok := uriToPath(f.URI); ok {
				roots = append(roots, root)
			}
		}
	}
	if len(roots) == 0 && p.RootURI != nil {
		if root, ok := uriToPath(*p.RootURI); ok {
			roots = append(roots, root)
		}
	}
	if rootPath, set := p.RootPath.Get(); len(roots) == 0 && set && rootPath != "" {
		roots = append(roots, rootPath)
	}
	if len(roots) == 0 {
		wd, _ := os.Getwd()
		roots = append(roots, wd)
	}
	for i, r := range roots {
		if abs, err := filepath.Abs(r); err == nil {
			roots[i] = abs
		}
	}
	return roots
}

// DidChangeWorkspaceFolders follows folders added to or removed from the
// editor's workspace. The first remaining folder is the primary one (its
// devproxy.json gives the listen address).
func (s *Server) DidChangeWorkspaceFolders(_ context.Context, p *protocol.DidChangeWorkspaceFoldersParams) error {
	s.mu.Lock()
	roots := slices.Clone(s.folders)
	for _, f := range p.Event.Removed {
		if root, ok := uriToPath(f.URI); ok {
			roots = slices.DeleteFunc(roots, func(r string) bool { return r == filepath.Clean(root) })
		}
	}
	for _, f := range p.Event.Added {
		if root, ok := uriToPath(f.URI); ok && !slices.Contains(roots, filepath.Clean(root)) {
			roots = append(roots, filepath.Clean(root))
		}
	}
	if len(roots) == 0 {
		s.mu.Unlock()
		return nil // keep the last folder rather than serve nothing
	}
	s.folders = roots
	s.mu.Unlock()
	go func() {
		s.applyFolders()
		s.diags.publishAll()
		s.refreshWatchers()
		s.proxy.apply()
	}()
	return nil
}

// setJoined replaces the folders other processes registered (nil when this
// process serves alone or is not part of a shared proxy).
func (s *Server) setJoined(specs []routing.FolderSpec) {
	s.mu.Lock()
	same := routing.SameFolders(specs, s.joined)
	s.joined = specs
	s.mu.Unlock()
	if len(specs) > 0 {
		// The folders other processes register are watched here (the
		// editor reports its own folders' file events); from the first
		// one on.
		s.watchJoined.Do(func() {
			if _, err := s.ws.Watch(s.ctx, routing.WatchDebounce, func(*routing.RouteTable) { s.setTable(s.ws.Table()) }); err != nil {
				s.log.Warn("cannot watch the joined folders", "err", err)
			}
		})
	}
	if !same {
		s.applyFolders()
		s.diags.publishAll()
	}
}

// applyFolders gives the workspace the editor's folders, with the editor's
// settings, and then the joined ones, and installs the resulting table.
func (s *Server) applyFolders() {
	s.foldersMu.Lock()
	defer s.foldersMu.Unlock()
	s.mu.Lock()
	ws, specs := s.ws, s.folderSpecsLocked()
	s.mu.Unlock()
	s.setTable(ws.SetFolders(specs))
}

// folderSpecsLocked are the workspace's folders: the editor's, with its
// settings, then the joined ones. s.mu must be held.
func (s *Server) folderSpecsLocked() []routing.FolderSpec {
	cfg := s.settings.config()
	specs := make([]routing.FolderSpec, 0, len(s.folders)+len(s.joined))
	for _, root := range s.folders {
		specs = append(specs, routing.FolderSpec{Root: root, Defaults: cfg})
	}
	for _, j := range s.joined {
		if !slices.Contains(s.folders, j.Root) {
			j.Watched = true
			specs = append(specs, j)
		}
	}
	return specs
}

// ownFolder reports whether a display path lies in one of the editor's own
// folders (not a joined one).
func (s *Server) ownFolder(t *routing.RouteTable, rel string) bool {
	abs, ok := t.AbsPath(rel)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, root := range s.folders {
		if abs == root || isUnder(abs, root) {
			return true
		}
	}
	return false
}

func isUnder(p, root string) bool {
	r, err := filepath.Rel(root, p)
	return err == nil && filepath.IsLocal(r)
}

// rel turns a URI into the workspace's display path (root-relative with
// one folder, "label/..." with several), or false when it is outside every
// folder.
func (s *Server) rel(u uri.URI) (string, bool) {
	p, ok := uriToPath(u)
	if !ok {
		return "", false
	}
	return s.snap.Load().table.DisplayPath(p)
}

// uriOf is the URI of a display path.
func (s *Server) uriOf(rel string) uri.URI {
	if abs, ok := s.snap.Load().table.AbsPath(rel); ok {
		return pathToURI(abs)
	}
	return pathToURI(filepath.Join(s.root, filepath.FromSlash(rel)))
}
