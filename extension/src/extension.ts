// The Dev Tunnel Proxy extension: it starts `devproxy lsp` (the Go language
// server, which also hosts the proxy) and shows what it reports: diagnostics
// and quick fixes come through the LanguageClient; the route table through
// devproxy/routes (the Routes view), the proxy's state through
// devproxy/status (the status bar), and the routes' runtime health through
// devproxy/health and devproxy/healthChanged (the tree's icons, the status
// bar's summary, the route details page); Calliope, the assistant, through
// devproxy/chat and its notifications (the Calliope view in the panel); the
// tunnel through devproxy/tunnel and devproxy/tunnelChanged (a second status
// bar item); API keys through devproxy/createKey. The contract is
// docs/lsp.md.
//
// This file creates the one output channel, the views and the commands, and
// hands the server's lifecycle to ServerController (serverController.ts),
// the one place that owns it (house style, habit 9). The logic that does not
// need VS Code lives in pure modules with unit tests.

import * as vscode from 'vscode';
import { Trace } from 'vscode-languageclient/node';
import { checkKeyName, createApiKey } from './apiKeys';
import { environmentChoices, isEnvironmentsResult } from './environments';
import { CalliopeCodeActions, isDiagnosticArg } from './calliopeCodeActions';
import { askDraft, diagnoseQuestion, diagnosticQuestion, routeAtLine, routeFacts } from './calliopeQuestions';
import { CalliopeSecrets } from './calliopeSecrets';
import { patternsMarkdown } from './calliopePatterns';
import { CalliopeView } from './calliopeView';
import {
  CalliopeViewId,
  CommandId,
  Commands,
  DisplayName,
  LanguageId,
  Methods,
  OutputChannelName,
  PatternStats,
  RoutesFilteredContextKey,
  RoutesViewContextKey,
  RoutesViewId,
  TraceChannelName,
} from './contract';
import { ExplainPanel } from './explainPanel';
import { isExplainDocument } from './explainView';
import { curlCommand, listenerOf, pathOfUrl } from './requestModel';
import { RequestRunnerPanel } from './requestRunner';
import { dashboardUrl, statusActions } from './statusBar';
import { createRouteFile } from './createRouteFile';
import { parseExplainInput } from './explainInput';
import { errorText, Log, logLine } from './log';
import { RouteFileLanguage } from './routeFileLanguage';
import { healthWord, statusOf } from './healthModel';
import { RouteDetailsPanels } from './routeDetailsPanel';
import { FileNode, joinExternal, renameTargetOf, revealTargetOf, RouteNode, routeOf, splitOrigin, urlOf } from './routesModel';
import { RoutesTreeProvider } from './routesTree';
import { ServerController } from './serverController';
import { showProxyOwner } from './showProxyOwner';
import { ServerStatusItem } from './statusBarItem';
import { copyTunnelUrl, openViaTunnel, startTunnel, stopTunnel, TunnelCommandParts } from './tunnelCommands';
import { TunnelStatusItem } from './tunnelItem';

let controller: ServerController | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel(OutputChannelName);
  const traceOutput = vscode.window.createOutputChannel(TraceChannelName);
  const log: Log = (level, message) => output.appendLine(logLine(level, message));
  const statusItem = vscode.window.createStatusBarItem('devproxy.status', vscode.StatusBarAlignment.Left, 10);
  statusItem.name = DisplayName;
  // Right of the proxy's item; hidden while no tunnel is up, starting or failed.
  const tunnelStatusItem = vscode.window.createStatusBarItem('devproxy.tunnel', vscode.StatusBarAlignment.Left, 9);
  const tunnelItem = new TunnelStatusItem(tunnelStatusItem);
  const tree = new RoutesTreeProvider();
  const view = vscode.window.createTreeView(RoutesViewId, { treeDataProvider: tree, showCollapseAll: true });
  const language = new RouteFileLanguage(log);
  // A window without route files starts no proxy and joins none; say so
  // once per session, with the way out.
  let offeredRouteFile = false;
  const offerRouteFile = () => {
    if (offeredRouteFile) {
      return;
    }
    offeredRouteFile = true;
    void vscode.window.showInformationMessage('This window has no route files, so it does not start a proxy.', 'Create a route file').then((choice) =>
      choice ? vscode.commands.executeCommand(Commands.createRouteFile) : undefined,
    );
  };
  const status = new ServerStatusItem(statusItem, offerRouteFile, (state) => tree.setStopped(state.kind === 'stopped'));
  const configuredEnvironment = () => vscode.workspace.getConfiguration('devproxy').get<string>('environment') ?? '';
  status.setEnvironment(configuredEnvironment());
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('devproxy.environment')) {
        status.setEnvironment(configuredEnvironment());
      }
    }),
  );
  // A file that does not load shows its errors (the client's diagnostics) as its children.
  tree.problemsOf = (uri) =>
    vscode.languages
      .getDiagnostics(vscode.Uri.parse(uri, true))
      .filter((d) => d.severity === vscode.DiagnosticSeverity.Error)
      .map((d) => ({ message: d.message, range: { start: { line: d.range.start.line, character: d.range.start.character }, end: { line: d.range.end.line, character: d.range.end.character } } }));
  // The view's description shows the filter; the context keys pick the
  // empty view's message and the title's Clear Filter.
  // Only what changed is sent: every table and health push comes through
  // here, and a needless update re-renders the view under the user's click
  // (an inline action clicked mid-render gets no node).
  let shownState = '';
  const syncViewState = () => {
    const next = { description: tree.description, message: tree.message, view: tree.viewState, filtered: tree.filter !== '' };
    const key = JSON.stringify(next);
    if (key === shownState) {
      return;
    }
    shownState = key;
    view.description = next.description || undefined;
    view.message = next.message || undefined;
    void vscode.commands.executeCommand('setContext', RoutesViewContextKey, next.view);
    void vscode.commands.executeCommand('setContext', RoutesFilteredContextKey, next.filtered);
  };
  syncViewState();
  // Calliope's view and key need the client, and the client's start needs
  // them (the notifications, the key sent once it runs): late-bound.
  let server: ServerController | undefined;
  /** The trace the client should have: set back after a message that carries a secret. */
  const configuredTrace = () => Trace.fromString(vscode.workspace.getConfiguration('devproxy').get<string>('trace.server') ?? 'off');
  const calliope = new CalliopeView(context, () => server?.running, log);
  const secrets = new CalliopeSecrets({
    secrets: context.secrets,
    client: () => server?.running,
    trace: configuredTrace,
    promptKey: () =>
      vscode.window.showInputBox({
        title: 'Set OpenAI API Key',
        prompt: 'Calliope uses OpenAI with this key when no local model answers. It is kept in VS Code\'s secret storage and sent only to the devproxy language server.',
        password: true,
        ignoreFocusOut: true,
        placeHolder: 'sk-…',
      }),
    inform: (message) => void vscode.window.showInformationMessage(message),
    log,
  });
  server = new ServerController({
    extensionPath: context.extensionPath,
    output,
    traceOutput,
    log,
    status,
    routesView: tree,
    healthView: tree,
    language,
    tunnelView: tunnelItem,
    notifications: {
      [Methods.chatDelta]: (params) => calliope.onDelta(params),
      [Methods.chatThinking]: (params) => calliope.onThinking(params),
    },
    onRunning: () => void secrets.serverStarted(),
  });
  controller = server;
  const details = new RouteDetailsPanels(tree, (method, params) => server.running?.sendRequest<unknown>(method, params));
  const explainPanel = new ExplainPanel(context, tree);
  const runner = new RequestRunnerPanel(
    context,
    () => {
      const s = status.current;
      const listener = s.kind === 'running' || s.kind === 'joined' ? listenerOf(s.address) : undefined;
      return listener ?? `${DisplayName}: no proxy is listening (${s.kind}), so the request cannot be sent.`;
    },
    log,
    (file, line) => explainPanel.openAt(file, line),
  );
  context.subscriptions.push(
    output,
    traceOutput,
    statusItem,
    tunnelStatusItem,
    tree,
    view,
    language,
    server,
    details,
    explainPanel,
    runner,
    tree.onDidChangeViewState(syncViewState),
    vscode.languages.onDidChangeDiagnostics((e) => tree.problemsChanged(e.uris.map((u) => u.toString()))),
    calliope,
    vscode.window.registerWebviewViewProvider(CalliopeViewId, calliope),
    vscode.languages.registerCodeActionsProvider({ language: LanguageId }, new CalliopeCodeActions(), CalliopeCodeActions.metadata),
  );

  /** Sends devproxy/rescan with progress in the Routes view, and says the outcome. */
  const rescan = async (route: string | undefined) => {
    if (!server.running) {
      void vscode.window.showWarningMessage(`${DisplayName}: the language server is not running, so nothing can be rescanned.`);
      return;
    }
    const title = route ? `Rescanning ${route}` : 'Rescanning every route';
    try {
      const doc = await vscode.window.withProgress({ location: { viewId: RoutesViewId }, title }, () => server.rescan(route));
      if (!doc) {
        if (!server.healthSupported) {
          void vscode.window.showInformationMessage(`${DisplayName}: this language server does not check route health; a newer devproxy does.`);
        }
        return;
      }
      const report = route ? (doc.routes ?? []).find((r) => r.route === route) : undefined;
      const outcome = route
        ? `${route}: ${report ? healthWord(statusOf(report.status)) : 'no report'}`
        : `routes: ${doc.summary.ok} ok, ${doc.summary.error} down, ${doc.summary.warning} warning`;
      vscode.window.setStatusBarMessage(`${DisplayName}: ${outcome}`, 5000);
    } catch (e) {
      void vscode.window.showErrorMessage(`${DisplayName}: cannot rescan ${route ?? 'the routes'}: ${errorText(e)}`);
    }
  };

  const tunnelParts: TunnelCommandParts = { tunnel: () => server.tunnel, running: () => server.running !== undefined, log };

  let lastExplain = '/';
  // Typed as a Record over CommandId, so every command of docs/lsp.md has a handler.
  const handlers: Record<CommandId, (...args: unknown[]) => unknown> = {
    [Commands.openRoute]: async (arg) => {
      const url = urlOf(arg);
      const parts = url && splitOrigin(url);
      if (!url || !parts) {
        log('Warn', `${Commands.openRoute}: no http(s) URL in ${JSON.stringify(arg)}.`);
        return;
      }
      // In a remote window the proxy's port is forwarded: asExternalUri
      // gives the address the local browser reaches. Only the origin goes
      // through it, so the route's path is appended exactly as written.
      const origin = await vscode.env.asExternalUri(vscode.Uri.parse(parts.origin, true));
      await vscode.env.openExternal(vscode.Uri.parse(joinExternal(origin.toString(true), parts.rest), true));
    },
    [Commands.revealRoute]: async (arg) => {
      const target = revealTargetOf(arg);
      if (!target) {
        log('Warn', `${Commands.revealRoute}: no {uri, range} in ${JSON.stringify(arg)}.`);
        return;
      }
      const { start, end } = target.range;
      const selection = new vscode.Range(start.line, start.character, end.line, end.character);
      await vscode.window.showTextDocument(vscode.Uri.parse(target.uri, true), { selection, preview: true });
    },
    [Commands.renameRoute]: async (...args: unknown[]) => {
      const target = renameTargetOf(args);
      if (!target) {
        log('Warn', `${Commands.renameRoute}: no uri and position in ${JSON.stringify(args)}.`);
        return;
      }
      const at = new vscode.Position(target.position.line, target.position.character);
      await vscode.window.showTextDocument(vscode.Uri.parse(target.uri, true), { selection: new vscode.Range(at, at), preview: false });
      // VS Code's rename asks the server (prepareRename, then rename) and
      // shows the edit across files, with a preview on Shift+Enter.
      await vscode.commands.executeCommand('editor.action.rename');
    },
    [Commands.refreshRoutes]: () => server.refreshRoutes(),
    [Commands.explain]: async () => {
      const client = server.running;
      if (!client) {
        const choice = await vscode.window.showWarningMessage(`${DisplayName}: the language server is not running.`, 'Show output', 'Restart');
        if (choice === 'Show output') {
          output.show(true);
        } else if (choice === 'Restart') {
          await server.restart('asked from Explain a Request');
        }
        return;
      }
      const text = await vscode.window.showInputBox({
        title: 'Explain a Request',
        prompt: 'A path with an optional query, or a URL; a method may come first (POST /api/x).',
        placeHolder: '/api/x?y=1',
        value: lastExplain,
        validateInput: (v) => {
          const r = parseExplainInput(v);
          return 'error' in r ? r.error : undefined;
        },
      });
      if (text === undefined) {
        return;
      }
      const parsed = parseExplainInput(text);
      if ('error' in parsed) {
        return;
      }
      lastExplain = text.trim();
      try {
        const result = await client.sendRequest<unknown>(Methods.explain, parsed.params);
        if (isExplainDocument(result)) {
          explainPanel.show(parsed.params, result);
        } else {
          // A server whose document this client does not know: its JSON, as before.
          const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(result, null, 2) + '\n' });
          await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
        }
      } catch (e) {
        void vscode.window.showErrorMessage(`${DisplayName}: cannot explain ${parsed.params.url}: ${errorText(e)}`);
      }
    },
    [Commands.restartServer]: () => server.restart('asked by the user'),
    [Commands.showOutput]: () => output.show(true),
    [Commands.showProxyOwner]: () => showProxyOwner({ status: () => status.current, client: () => server.running, output, log }),
    [Commands.createRouteFile]: () => createRouteFile(log),
    [Commands.rescanRoute]: (arg) => {
      const route = routeOf(arg);
      if (!route) {
        log('Warn', `${Commands.rescanRoute}: no route in ${JSON.stringify(arg)}.`);
        return;
      }
      return rescan(route);
    },
    [Commands.rescanAll]: () => rescan(undefined),
    [Commands.showRouteDetails]: (arg) => {
      const node = routeNodeOf(arg);
      if (!node) {
        log('Warn', `${Commands.showRouteDetails}: no route in ${JSON.stringify(arg)}.`);
        return;
      }
      details.show(node);
    },
    [Commands.calliopeAsk]: (arg) => {
      const editor = vscode.window.activeTextEditor;
      const selection = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : undefined;
      return calliope.reveal(askDraft(arg, selection) || undefined);
    },
    [Commands.calliopeDiagnoseRoute]: async (arg) => {
      if (isDiagnosticArg(arg)) {
        const node = routeAtLine(tree.current, arg.uri, arg.line + 1);
        const file = node?.fileId ?? vscode.workspace.asRelativePath(vscode.Uri.parse(arg.uri, true));
        const question = diagnosticQuestion({
          file,
          line: arg.line + 1,
          message: arg.message,
          ...(node ? { route: node.route ?? node.label, status: node.healthStatus, reason: node.health?.reason || undefined } : {}),
        });
        return calliope.askNow(question);
      }
      let node = routeNodeOf(arg);
      if (!node) {
        // From the Command Palette: pick a route.
        const routes = tree.current.files.flatMap((f) => f.routes);
        if (routes.length === 0) {
          void vscode.window.showInformationMessage(`${DisplayName}: there are no routes to diagnose yet.`);
          return;
        }
        const picked = await vscode.window.showQuickPick(
          routes.map((r) => ({ label: r.label, description: `${r.fileId}:${r.line}`, detail: r.description, node: r })),
          { title: 'Diagnose Route with Calliope', placeHolder: 'The route to ask about' },
        );
        node = picked?.node;
      }
      if (node) {
        return calliope.askNow(diagnoseQuestion(routeFacts(node)));
      }
    },
    [Commands.calliopeNewConversation]: () => calliope.newConversation(),
    [Commands.calliopeShowPatterns]: async () => {
      const client = server?.running;
      if (!client) {
        void vscode.window.showWarningMessage('The Dev Tunnel Proxy language server is not running.');
        return;
      }
      const stats = await client.sendRequest<PatternStats[]>(Methods.patterns, {});
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: patternsMarkdown(stats ?? []) });
      await vscode.window.showTextDocument(doc, { preview: true });
    },
    [Commands.calliopeSetOpenAIKey]: () => secrets.setKey(),
    [Commands.calliopeClearOpenAIKey]: () => secrets.clearKey(),
    [Commands.startTunnel]: () => startTunnel(tunnelParts),
    [Commands.stopTunnel]: () => stopTunnel(tunnelParts),
    [Commands.copyTunnelUrl]: () => copyTunnelUrl(tunnelParts),
    [Commands.openViaTunnel]: (arg) => openViaTunnel(tunnelParts, routeNodeOf(arg)),
    [Commands.switchEnvironment]: async () => {
      const client = server?.running;
      if (!client) {
        void vscode.window.showWarningMessage('The Dev Tunnel Proxy language server is not running.');
        return;
      }
      const answer = await client.sendRequest<unknown>(Methods.environments, {});
      if (!isEnvironmentsResult(answer)) {
        void vscode.window.showWarningMessage(`${DisplayName}: the language server did not list the environments.`);
        return;
      }
      if (answer.names.length === 0 && answer.active === '') {
        void vscode.window.showInformationMessage(`${DisplayName}: devproxy.json defines no "environments".`);
        return;
      }
      const picked = await vscode.window.showQuickPick(
        environmentChoices(answer).map((c) => ({ label: c.label, description: c.description, choice: c })),
        { title: 'Switch Environment', placeHolder: 'The profile of devproxy.json whose upstreams the routes go to' },
      );
      if (picked) {
        // The server follows through workspace/didChangeConfiguration.
        await vscode.workspace.getConfiguration('devproxy').update('environment', picked.choice.name, vscode.ConfigurationTarget.Workspace);
      }
    },
    [Commands.createApiKey]: () =>
      createApiKey({
        client: () => server.running,
        trace: configuredTrace,
        pickRole: async (choices) =>
          (await vscode.window.showQuickPick(
            choices.map((c) => ({ label: c.label, description: c.description, choice: c })),
            { title: 'Create API Key', placeHolder: 'What the key may do through the tunnel (docs/auth.md)' },
          ))?.choice,
        promptName: () =>
          vscode.window.showInputBox({
            title: 'Create API Key: Name',
            prompt: 'Who or what the key is for (optional), e.g. "Ana\'s laptop" or "ci".',
            placeHolder: 'optional',
            validateInput: (v) => checkKeyName(v),
          }),
        showKey: async (message, detail) => (await vscode.window.showInformationMessage(message, { modal: true, detail }, 'Copy')) === 'Copy',
        copy: (text) => vscode.env.clipboard.writeText(text),
        inform: (message) => void vscode.window.showInformationMessage(message),
        warn: (message) => void vscode.window.showWarningMessage(message),
        log,
      }),
    [Commands.showStatusMenu]: async () => {
      const picked = await vscode.window.showQuickPick(
        statusActions(status.current, configuredEnvironment()).map((a) => ({ label: a.label, description: a.description, action: a })),
        { title: DisplayName, placeHolder: statusItem.text.replace(/^\$\([^)]*\)\s*/, '') },
      );
      if (picked) {
        await vscode.commands.executeCommand(picked.action.command);
      }
    },
    [Commands.openDashboard]: async () => {
      const url = dashboardUrl(status.current.address);
      if (!url) {
        void vscode.window.showWarningMessage(`${DisplayName}: the proxy's address is not known yet.`);
        return;
      }
      // Through asExternalUri, as Open in Browser: a remote window opens the forwarded port.
      await vscode.commands.executeCommand(Commands.openRoute, url);
    },
    [Commands.filterRoutes]: async () => {
      const text = await vscode.window.showInputBox({
        title: 'Filter Routes',
        prompt: 'Shows the routes whose path, file name or upstream contains this text; empty shows all.',
        placeHolder: '/api/, a file name, or :5173',
        value: tree.filter,
      });
      if (text !== undefined) {
        tree.setFilter(text);
      }
    },
    [Commands.clearRoutesFilter]: () => tree.setFilter(''),
    [Commands.openRouteFile]: (arg) => {
      const file = fileNodeOf(arg);
      return file && vscode.commands.executeCommand('vscode.open', vscode.Uri.parse(file.uri, true));
    },
    [Commands.revealRouteFileInExplorer]: (arg) => {
      const file = fileNodeOf(arg);
      return file && vscode.commands.executeCommand('revealInExplorer', vscode.Uri.parse(file.uri, true));
    },
    [Commands.copyRouteFilePath]: async (arg) => {
      const file = fileNodeOf(arg);
      if (file) {
        await vscode.env.clipboard.writeText(vscode.Uri.parse(file.uri, true).fsPath);
      }
    },
    [Commands.copyRouteUrl]: async (arg) => {
      const url = urlOf(routeNodeOf(arg) ?? arg);
      if (url) {
        await vscode.env.clipboard.writeText(url);
        vscode.window.setStatusBarMessage(`${DisplayName}: copied ${url}`, 3000);
      }
    },
    [Commands.copyRouteAsCurl]: async (arg) => {
      const url = urlOf(routeNodeOf(arg) ?? arg);
      if (url) {
        await vscode.env.clipboard.writeText(curlCommand(url));
        vscode.window.setStatusBarMessage(`${DisplayName}: copied the curl command for ${url}`, 3000);
      }
    },
    [Commands.sendRequest]: async (arg) => {
      let node = routeNodeOf(arg);
      if (!node && arg === undefined) {
        // From the Command Palette: pick a route (or start from /).
        const routes = tree.current.files.flatMap((f) => f.routes).filter((r) => r.url);
        const picked = await vscode.window.showQuickPick(
          [{ label: '/', description: 'an empty request', node: undefined as RouteNode | undefined }, ...routes.map((r) => ({ label: r.label, description: `${r.fileId}:${r.line}`, node: r as RouteNode | undefined }))],
          { title: 'Send Request', placeHolder: 'The route to start from' },
        );
        if (!picked) {
          return;
        }
        node = picked.node;
      }
      // A code lens may pass the route's URL; the tree and a route string give the node.
      const path =
        typeof arg === 'string' && /^https?:\/\//i.test(arg)
          ? pathOfUrl(arg)
          : node
            ? node.url
              ? pathOfUrl(node.url)
              : (node.route ?? '/')
            : typeof arg === 'string' && arg.startsWith('/')
              ? arg
              : '/';
      runner.show({ method: 'GET', path, headers: '', body: '' }, node ? `${node.label} (${node.fileId}:${node.line})` : '');
    },
  };

  /** The file node of a command argument (the tree's menus pass it). */
  function fileNodeOf(arg: unknown): FileNode | undefined {
    return typeof arg === 'object' && arg !== null && (arg as FileNode).kind === 'file' ? (arg as FileNode) : undefined;
  }

  /** The tree's route node of a command argument: the node itself, or a route string. */
  function routeNodeOf(arg: unknown): RouteNode | undefined {
    if (typeof arg === 'object' && arg !== null && (arg as RouteNode).kind === 'route') {
      return tree.route((arg as RouteNode).id) ?? (arg as RouteNode);
    }
    const route = routeOf(arg);
    if (!route) {
      return undefined;
    }
    const nodes = tree.current.files.flatMap((f) => f.routes).filter((r) => r.route === route);
    // Prefer the block that takes the requests.
    return nodes.find((r) => r.state === 'active' || r.state === 'conflict') ?? nodes[0];
  }
  for (const [id, handler] of Object.entries(handlers)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  }
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => server.onConfigurationChanged(e)));

  void server.start();
}

export async function deactivate(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.stop();
}
