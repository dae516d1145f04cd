package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/devtunnelproxy/devproxy/proxy/routing"
)

// The methods this server answers. protocol.ServerHandler decodes each
// standard method's params and calls the *Server method of the same name,
// which overrides protocol.UnimplementedServer's "method not found"; the
// devproxy/ requests go through Request below. capabilities announces
// exactly these; change the two together.
//
//	initialize, initialized, shutdown, exit        initialize.go
//	textDocument/didOpen, didChange, didClose,     textsync.go
//	  didSave; workspace/didChangeWatchedFiles
//	workspace/didChangeConfiguration               configuration.go
//	workspace/didChangeWorkspaceFolders            folders.go
//	$/cancelRequest                                server.go (handle)
//	textDocument/hover                             hover.go
//	textDocument/codeLens                          codelens.go
//	textDocument/documentSymbol                    symbols.go
//	textDocument/definition                        definition.go
//	textDocument/completion                        completion.go
//	textDocument/codeAction                        codeaction.go
//	textDocument/prepareRename, rename             rename.go
//	devproxy/routes, devproxy/explain              devproxy.go
//	devproxy/takeOver                              proxyhost.go
//	devproxy/chat, devproxy/patterns,              chat.go
//	  devproxy/setSecrets
//	devproxy/health, devproxy/rescan,              health.go
//	  devproxy/routeMetrics
//	devproxy/tunnel, devproxy/tunnelStart,         tunnel.go
//	  devproxy/tunnelStop, devproxy/createKey
//
// The server calls the client with workspace/configuration,
// client/registerCapability (the file watchers),
// workspace/codeLens/refresh (server.go, refreshLenses) and
// textDocument/publishDiagnostics, and sends the devproxy/status,
// devproxy/routesChanged, devproxy/healthChanged, devproxy/tunnelChanged,
// devproxy/chatDelta and devproxy/chatThinking notifications.

var _ protocol.Server = (*Server)(nil)

// capabilities announces the methods above.
func capabilities() protocol.ServerCapabilities {
	yes := true
	full := protocol.TextDocumentSyncKindFull
	return protocol.ServerCapabilities{
		// Full sync: every didChange carries the whole text. Saves need
		// no text: the buffer already is the file's content here.
		TextDocumentSync:       &protocol.TextDocumentSyncOptions{OpenClose: &yes, Change: &full, Save: &protocol.SaveOptions{}},
		HoverProvider:          protocol.Boolean(true),
		CodeLensProvider:       &protocol.CodeLensOptions{},
		DocumentSymbolProvider: protocol.Boolean(true),
		DefinitionProvider:     protocol.Boolean(true),
		// References and highlights are those of $variables.
		ReferencesProvider:        protocol.Boolean(true),
		DocumentHighlightProvider: protocol.Boolean(true),
		CompletionProvider:        &protocol.CompletionOptions{TriggerCharacters: []string{"$"}},
		CodeActionProvider: &protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{
			protocol.CodeActionKindQuickFix, protocol.CodeActionKindRefactorRewrite}},
		RenameProvider: &protocol.RenameOptions{PrepareProvider: &yes},
		Workspace: &protocol.WorkspaceOptions{WorkspaceFolders: &protocol.WorkspaceFoldersServerCapabilities{
			Supported: &yes, ChangeNotifications: protocol.Boolean(true)}},
		// No executeCommandProvider: the code lenses and actions run
		// client-side commands (docs/lsp.md).
	}
}

// Request answers the devproxy/ requests (docs/lsp.md, schemas/lsp-*.json);
// protocol.ServerHandler sends every method it does not know here, with
// the params as raw JSON (protocol.LSPAny). Their params and results are
// encoded with encoding/json, the encoding the engine's documents are
// written for.
func (s *Server) Request(ctx context.Context, method string, params any) (any, error) {
	var (
		result any
		err    error
	)
	raw, _ := params.(protocol.LSPAny)
	snap := s.snapshotOf(ctx)
	switch method {
	case "devproxy/routes":
		result, err = s.routes(snap)
	case "devproxy/environments":
		result = environments(snap.table.Config)
	case "devproxy/explain":
		result, err = s.explain(snap, raw)
	case "devproxy/takeOver":
		result = s.proxy.takeOver(ctx)
	case "devproxy/health":
		result = s.proxy.health()
	case "devproxy/rescan":
		result, err = s.proxy.rescan(ctx, json.RawMessage(raw))
	case "devproxy/routeMetrics":
		result, err = s.proxy.routeMetrics(ctx, json.RawMessage(raw))
	case "devproxy/setSecrets":
		s.setSecrets(json.RawMessage(raw)) // a notification: nothing is answered
	case "devproxy/patterns":
		result = s.assistant().Patterns()
	case "devproxy/chat":
		result, err = s.chat(ctx, json.RawMessage(raw))
	case "devproxy/tunnel":
		result = s.proxy.tunnel()
	case "devproxy/tunnelStart":
		result, err = s.proxy.tunnelStart(ctx, json.RawMessage(raw))
	case "devproxy/tunnelStop":
		result, err = s.proxy.tunnelStop(ctx)
	case "devproxy/createKey":
		result, err = s.proxy.createKey(ctx, json.RawMessage(raw))
	default:
		return nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, "method not supported: "+method)
	}
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return jsonrpc2.RawMessage(b), nil
}

func (s *Server) Initialize(_ context.Context, p *protocol.InitializeParams) (*protocol.InitializeResult, error) {
	s.mu.Lock()
	if s.ws != nil {
		s.mu.Unlock()
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize was already called")
	}
	roots := initialRoots(p)
	if len(p.InitializationOptions) > 0 && string(p.InitializationOptions) != "null" {
		if err := json.Unmarshal(p.InitializationOptions, &s.settings); err != nil {
			s.log.Warn("initializationOptions are not devproxy settings", "err", err)
		}
	}
	s.folders = roots
	ws, err := routing.NewWorkspaceOf(s.folderSpecsLocked())
	if err != nil {
		s.folders = nil
		s.mu.Unlock()
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf("workspace %s: %v", roots[0], err))
	}
	s.ws, s.root = ws, ws.Root()
	if w := p.Capabilities.Workspace; w != nil {
		s.caps.configuration = isTrue(w.Configuration)
		s.caps.dynamicWatchers = w.DidChangeWatchedFiles != nil && isTrue(w.DidChangeWatchedFiles.DynamicRegistration)
		s.caps.codeLensRefresh = w.CodeLens != nil && isTrue(w.CodeLens.RefreshSupport)
	}
	if td := p.Capabilities.TextDocument; td != nil && td.CodeAction != nil {
		ca := td.CodeAction
		s.caps.disabledActions = isTrue(ca.DisabledSupport) && len(ca.CodeActionLiteralSupport.CodeActionKind.ValueSet) > 0
	}
	s.mu.Unlock()
	s.setTable(ws.Table())
	s.log.Info("initialized", "folders", roots)
	return &protocol.InitializeResult{
		ServerInfo:   protocol.ServerInfo{Name: "devproxy", Version: protocol.NewOptional(s.opts.Version)},
		Capabilities: capabilities(),
	}, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// Initialized starts what needs a client that is ready: the first
// diagnostics, file watching, the settings and the proxy.
func (s *Server) Initialized(context.Context, *protocol.InitializedParams) error {
	s.mu.Lock()
	if s.ws == nil || s.initialized {
		s.mu.Unlock()
		return nil
	}
	s.initialized = true
	caps := s.caps
	s.mu.Unlock()

	s.diags.publishAll()
	// Calls to the client wait for its answer, which the read loop must
	// be free to read: they run on their own goroutine (habit 2).
	go func() {
		s.refreshWatchers()
		if caps.configuration {
			s.fetchConfiguration() // also starts the proxy
			return
		}
		s.proxy.apply()
	}()
	return nil
}

// watchedFiles are the files whose changes on disk the server needs to
// hear of: route files, wherever the devproxy.apps and devproxy.overrides
// globs point, and the two settings files.
var watchedFiles = []string{"**/*.conf", "**/" + routing.ConfigFile, "**/" + routing.ResolutionsFile,
	// The pins' folder: deleting it as a whole is one event for it.
	"**/" + path.Dir(routing.ResolutionsFile)}

// watchGlobs are the patterns the server registers: watchedFiles, and the
// route folders themselves, whose creation, deletion or renaming as a
// whole a file watcher may report as one event for the folder (the
// workspace then looks again; routing.Workspace.Reload). A folder is
// registered as "**/apps", not "apps": VS Code matches a string pattern
// against the absolute path, so "apps" alone never matched and deleting a
// route folder in the Explorer went unheard.
func watchGlobs(cfg routing.Config) []string {
	globs := slices.Clone(watchedFiles)
	for _, g := range slices.Concat(cfg.Apps, cfg.Overrides) {
		if dir := routing.GlobDir(g); dir != "." && !slices.Contains(globs, "**/"+dir) {
			globs = append(globs, "**/"+dir)
		}
	}
	return globs
}

// refreshWatchers asks the client to report file events of the route
// files, their folders and the settings files with
// workspace/didChangeWatchedFiles, so that a client needs no watchers of
// its own: with VS Code, this is where the file events come from. When the
// folders change (settings, devproxy.json), the old registration is
// replaced. A client that cannot register watchers at run time is not
// asked; it reports the events it watches on its own. It calls the client:
// never from the read loop.
func (s *Server) refreshWatchers() {
	s.mu.Lock()
	supported := s.caps.dynamicWatchers
	s.mu.Unlock()
	if !supported {
		return
	}
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	globs := watchGlobs(s.snap.Load().table.Config)
	if slices.Equal(globs, s.watching) {
		return
	}
	ctx, cancel := s.outbound()
	defer cancel()
	if s.watching != nil {
		err := s.client.UnregisterCapability(ctx, &protocol.UnregistrationParams{Unregisterations: []protocol.Unregistration{{
			ID: watchRegistration, Method: protocol.MethodWorkspaceDidChangeWatchedFiles,
		}}})
		if err != nil {
			s.log.Warn("cannot replace the file watchers", "err", err)
			return
		}
		s.watching = nil
	}
	var opts protocol.DidChangeWatchedFilesRegistrationOptions
	for _, glob := range globs {
		opts.Watchers = append(opts.Watchers, protocol.FileSystemWatcher{GlobPattern: protocol.Pattern(glob)})
	}
	raw, err := protocol.Marshal(&opts)
	if err != nil {
		s.log.Error("cannot encode the file watchers", "err", err)
		return
	}
	err = s.client.RegisterCapability(ctx, &protocol.RegistrationParams{Registrations: []protocol.Registration{{
		ID: watchRegistration, Method: protocol.MethodWorkspaceDidChangeWatchedFiles, RegisterOptions: raw,
	}}})
	if err != nil {
		s.log.Warn("cannot register file watchers", "err", err)
		return
	}
	s.watching = globs
}

// watchRegistration is the id of the server's file-watcher registration.
const watchRegistration = "devproxy-watch"

// Shutdown stops the proxy and clears every published diagnostic; later
// requests are refused.
func (s *Server) Shutdown(context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	s.proxy.handOff()
	s.proxy.stop()
	s.closeAssistant()
	s.diags.clearAll()
	return nil
}

// Exit ends the session (Run returns).
func (s *Server) Exit(context.Context) error {
	s.cancel()
	return nil
}
