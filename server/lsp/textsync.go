package lsp

import (
	"slices"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The text sync notifications run inline, in wire order (see server.go).
// They update the workspace's overlays, which re-parses the one file and
// recomposes the table (a few milliseconds even for hundreds of files), so
// that requests always read the latest table; publishing diagnostics is
// debounced per file.

// tracked reports whether rel is read by the workspace: a route file, or
// one of the two settings files.
func (s *Server) tracked(rel string) bool {
	return rel == routing.ConfigFile || rel == routing.ResolutionsFile || s.ws.IsRouteFile(rel)
}

func (s *Server) didOpen(p DidOpenTextDocumentParams) error {
	return s.setText(p.TextDocument.URI, p.TextDocument.Version, p.TextDocument.Text)
}

func (s *Server) didChange(p DidChangeTextDocumentParams) error {
	if len(p.ContentChanges) == 0 {
		return nil
	}
	// Full sync: the last change holds the whole text.
	version := 0
	if p.TextDocument.Version != nil {
		version = *p.TextDocument.Version
	}
	return s.setText(p.TextDocument.URI, version, p.ContentChanges[len(p.ContentChanges)-1].Text)
}

func (s *Server) setText(uri string, version int, text string) error {
	rel, ok := s.rel(uri)
	if !ok {
		return nil // outside the workspace
	}
	s.mu.Lock()
	s.docs[rel] = &document{uri: uri, rel: rel, version: version, text: text}
	s.mu.Unlock()
	if s.tracked(rel) {
		s.setTable(s.ws.SetOverlay(rel, []byte(text)))
	}
	s.diags.changed(rel)
	return nil
}

func (s *Server) didClose(p DidCloseTextDocumentParams) error {
	rel, ok := s.rel(p.TextDocument.URI)
	if !ok {
		return nil
	}
	s.mu.Lock()
	delete(s.docs, rel)
	s.mu.Unlock()
	if s.tracked(rel) {
		s.setTable(s.ws.ClearOverlay(rel))
	}
	s.diags.changed(rel)
	return nil
}

// didSave needs no work for route files: the buffer already is the file's
// content here, and the hosted proxy watches the disk itself. A saved
// devproxy.json may move the proxy to another address.
func (s *Server) didSave(p DidSaveTextDocumentParams) error {
	if rel, ok := s.rel(p.TextDocument.URI); ok && rel == routing.ConfigFile {
		go s.proxy.apply()
	}
	return nil
}

func (s *Server) didChangeWatchedFiles(p DidChangeWatchedFilesParams) error {
	var rels []string
	s.mu.Lock()
	for _, c := range p.Changes {
		rel, ok := s.rel(c.URI)
		if !ok {
			continue
		}
		if _, open := s.docs[rel]; open && c.Type != 3 {
			continue // the editor's buffer wins over the disk while it is open
		}
		rels = append(rels, rel)
	}
	s.mu.Unlock()
	if len(rels) == 0 {
		return nil
	}
	s.setTable(s.ws.Reload(rels...))
	s.diags.changed(rels...)
	if slices.Contains(rels, routing.ConfigFile) {
		go s.proxy.apply()
	}
	return nil
}
