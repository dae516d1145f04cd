package lsp

import (
	"context"
	"slices"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The text sync notifications run inline, in wire order (see handle in
// server.go). They update the workspace's overlays, which re-parses the one
// file and recomposes the table (a few milliseconds even for hundreds of
// files), so that requests always read the latest table; publishing
// diagnostics is debounced per file.

// tracked reports whether rel is read by the workspace: a route file, or
// one of the two settings files.
func (s *Server) tracked(rel string) bool {
	return routing.IsSettingsFile(rel) || s.ws.IsRouteFile(rel)
}

// docKey is an open document's key: its path, which keeps while the
// workspace's folders (and so its display path) change.
func docKey(u uri.URI) string {
	p, _ := uriToPath(u)
	return p
}

func (s *Server) DidOpen(_ context.Context, p *protocol.DidOpenTextDocumentParams) error {
	return s.setText(p.TextDocument.URI, p.TextDocument.Version, p.TextDocument.Text)
}

func (s *Server) DidChange(_ context.Context, p *protocol.DidChangeTextDocumentParams) error {
	if len(p.ContentChanges) == 0 {
		return nil
	}
	// Full sync: the last change holds the whole text.
	var text string
	switch c := p.ContentChanges[len(p.ContentChanges)-1].(type) {
	case *protocol.TextDocumentContentChangeWholeDocument:
		text = c.Text
	case *protocol.TextDocumentContentChangePartial:
		text = c.Text // a client that ignored the announced full sync
	}
	return s.setText(p.TextDocument.URI, p.TextDocument.Version, text)
}

func (s *Server) setText(u uri.URI, version int32, text string) error {
	rel, ok := s.rel(u)
	if !ok {
		return nil // outside the workspace
	}
	s.mu.Lock()
	s.docs[docKey(u)] = &document{version: version, text: text}
	s.mu.Unlock()
	if s.tracked(rel) {
		s.setTable(s.ws.SetOverlayVersion(rel, []byte(text), version))
	}
	s.diags.changed(rel)
	return nil
}

func (s *Server) DidClose(_ context.Context, p *protocol.DidCloseTextDocumentParams) error {
	rel, ok := s.rel(p.TextDocument.URI)
	if !ok {
		return nil
	}
	s.mu.Lock()
	delete(s.docs, docKey(p.TextDocument.URI))
	s.mu.Unlock()
	if s.tracked(rel) {
		s.setTable(s.ws.ClearOverlay(rel))
	}
	s.diags.changed(rel)
	return nil
}

// DidSave reads the saved file from disk: the hosted proxy serves the
// workspace's served table, which only the disk feeds (the editor's table
// keeps the buffer). A saved devproxy.json may move the proxy to another
// address.
func (s *Server) DidSave(_ context.Context, p *protocol.DidSaveTextDocumentParams) error {
	rel, ok := s.rel(p.TextDocument.URI)
	if !ok || !s.tracked(rel) {
		return nil
	}
	s.setTable(s.ws.Reload(rel))
	if routing.IsConfigFile(rel) {
		go s.proxy.apply()
	}
	return nil
}

func (s *Server) DidChangeWatchedFiles(_ context.Context, p *protocol.DidChangeWatchedFilesParams) error {
	var rels []string
	s.mu.Lock()
	for _, c := range p.Changes {
		rel, ok := s.rel(c.URI)
		if !ok {
			continue
		}
		// An open file is read too: its buffer keeps winning in the
		// editor's table, and the served table takes the disk's version.
		rels = append(rels, rel)
	}
	s.mu.Unlock()
	if len(rels) == 0 {
		return nil
	}
	s.setTable(s.ws.Reload(rels...))
	s.diags.changed(rels...)
	if slices.ContainsFunc(rels, routing.IsConfigFile) {
		go func() {
			s.proxy.apply()
			s.refreshWatchers() // the route folders may have moved
		}()
	}
	return nil
}
