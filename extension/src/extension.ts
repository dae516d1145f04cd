// The Dev Tunnel Proxy extension: it starts `devproxy lsp` (the Go language
// server, which also hosts the proxy) and shows what it reports: diagnostics
// and quick fixes come through the LanguageClient; the route table through
// devproxy/routes (the Routes view) and the proxy's state through
// devproxy/status (the status bar). The contract is docs/lsp.md.
//
// The server's whole lifecycle is owned here, in ServerController (house
// style, habit 9): one LanguageClient at a time, one output channel, the
// status state machine of statusBar.ts, the restart budget of
// restartPolicy.ts (no restart after a failure during initialisation), and
// one actionable message when the server cannot run. The logic that does not
// need VS Code lives in pure modules with unit tests.

import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import {
  ClientId,
  CommandId,
  Commands,
  DisplayName,
  LanguageId,
  Methods,
  OutputChannelName,
  ProxyStatus,
  RoutesChangedParams,
  RoutesResult,
  RoutesViewId,
  TraceChannelName,
} from './contract';
import { CoalescingDebouncer } from './debounce';
import { parseExplainInput } from './explainInput';
import { CloseDecision, ExitInfo, failureActionCommands, failureMessage, RestartPolicy, ServerFailure } from './restartPolicy';
import { renameTargetOf, revealTargetOf, urlOf } from './routesModel';
import { RoutesTreeProvider } from './routesTree';
import { describeSource, resolveServerPath, ServerPathSetting } from './serverPath';
import { readSettings, settingsWatchGlobs, staticWatchGlobs } from './settings';
import { initialStatus, nextStatus, renderStatus, StatusEvent, StatusState } from './statusBar';

/** How long routesChanged notifications are coalesced before asking devproxy/routes. */
const routesDebounceMs = 100;
/** How long a stopping server gets before it is killed. */
const stopTimeoutMs = 2000;

/**
 * The LanguageClient, minus its own pop-ups: every message about the
 * server's lifecycle comes from ServerController, once, with the buttons
 * that fix it. The client still logs everything to the output channel.
 */
class DevproxyLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown, _showNotification?: boolean | 'force'): void {
    super.error(message, data, false);
  }

  // Likewise for notices. The client passes "show a notification?" as the
  // data of its restart notice, which would log a stray "false" line.
  override info(message: string, data?: unknown, _showNotification?: boolean): void {
    super.info(message, typeof data === 'boolean' ? undefined : data, false);
  }
}

function time(): string {
  return new Date().toLocaleTimeString();
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

class ServerController implements vscode.Disposable {
  private client: DevproxyLanguageClient | undefined;
  private child: ChildProcess | undefined;
  private childExited: Promise<void> = Promise.resolve();
  private lastExit: ExitInfo | undefined;
  private spawnError: string | undefined;
  private initError: string | undefined;
  private lastDecision: CloseDecision | undefined;
  private command = 'devproxy';
  private watchers: vscode.FileSystemWatcher[] = [];
  private folderGlobs: string[] = [];
  /** The route files the server reads (devproxy/routes), as URI strings. */
  private routeFiles = new Set<string>();

  /** Grows with every start by us; events of an older client are ignored. */
  private generation = 0;
  private stopRequested = false;
  private failureReported = false;
  private statusSeen = false;
  private routesErrorLogged = false;
  private status: StatusState = initialStatus;
  private readonly policy = new RestartPolicy();
  private readonly routesRefresh: CoalescingDebouncer;
  /** Start, stop and restart run one at a time, in order. */
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.OutputChannel,
    private readonly traceOutput: vscode.OutputChannel,
    private readonly tree: RoutesTreeProvider,
    private readonly statusItem: vscode.StatusBarItem,
  ) {
    this.routesRefresh = new CoalescingDebouncer(routesDebounceMs, () => this.fetchRoutes());
    this.applyStatus();
  }

  log(level: 'Info' | 'Warn' | 'Error', message: string): void {
    this.output.appendLine(`[${level.padEnd(5)} - ${time()}] ${message}`);
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    this.lifecycle = this.lifecycle.then(op, op);
    return this.lifecycle;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  /** A restart asked for by the user or by a settings change: a fresh restart budget. */
  restart(why: string): Promise<void> {
    return this.enqueue(async () => {
      this.log('Info', `Restarting the language server: ${why}.`);
      await this.doStop();
      await this.doStart();
    });
  }

  get running(): DevproxyLanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  private setStatus(event: StatusEvent): void {
    this.status = nextStatus(this.status, event);
    this.applyStatus();
  }

  private applyStatus(): void {
    const view = renderStatus(this.status);
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.command = view.command;
    this.statusItem.backgroundColor = view.backgroundColor ? new vscode.ThemeColor(view.backgroundColor) : undefined;
    this.statusItem.show();
  }

  private workspaceFolder(): string | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  private async doStart(): Promise<void> {
    if (this.client) {
      await this.doStop(); // one LanguageClient at a time
    }
    const gen = ++this.generation;
    this.stopRequested = false;
    this.failureReported = false;
    this.statusSeen = false;
    this.routesErrorLogged = false;
    this.spawnError = undefined;
    this.initError = undefined;
    this.lastDecision = undefined;
    this.lastExit = undefined;
    this.policy.reset();
    this.tree.clear();
    this.setStatus({ type: 'serverStarting' });

    const config = vscode.workspace.getConfiguration('devproxy');
    const settings = readSettings((key) => config.get(key));
    const cwd = this.workspaceFolder();
    const resolved = resolveServerPath({
      setting: settings.server.path,
      extensionPath: this.context.extensionPath,
      platform: process.platform,
      env: process.env,
      workspaceFolder: cwd,
      homeDir: os.homedir(),
      fs: {
        stat: (p) => {
          try {
            const st = fs.statSync(p);
            return { isFile: st.isFile(), mode: st.mode };
          } catch {
            return undefined;
          }
        },
      },
    });
    if (!resolved.ok) {
      this.log('Error', resolved.message);
      void this.reportFailure(gen, { kind: 'not-found', message: resolved.message });
      return;
    }
    if (resolved.needsExecBit) {
      try {
        fs.chmodSync(resolved.path, 0o755);
      } catch (e) {
        this.log('Warn', `Cannot make ${resolved.path} executable: ${errorText(e)}`);
      }
    }
    this.command = resolved.path;
    this.log('Info', `Starting ${resolved.path} lsp (${describeSource(resolved.source)})${cwd ? ` in ${cwd}` : ''}.`);

    // File events for the server (docs/lsp.md, "Documents"): the fixed
    // globs anywhere, and the folders the settings add, in each folder.
    this.folderGlobs = settingsWatchGlobs(settings);
    this.watchers = staticWatchGlobs.map((g) => vscode.workspace.createFileSystemWatcher(g));
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      for (const g of this.folderGlobs) {
        this.watchers.push(vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, g)));
      }
    }

    const serverOptions: ServerOptions = () => this.spawnServer(gen, resolved.path, cwd);
    const clientOptions: LanguageClientOptions = {
      // Only route files are the language. The server publishes diagnostics
      // for devproxy.json and .devproxy/resolutions.json by URI, and reads
      // them from disk (watched below), so they need no text sync.
      documentSelector: [{ scheme: 'file', language: LanguageId }],
      synchronize: {
        // Sends workspace/didChangeConfiguration on change; the server then
        // pulls section devproxy with workspace/configuration.
        configurationSection: 'devproxy',
        fileEvents: this.watchers,
      },
      initializationOptions: settings,
      diagnosticCollectionName: 'devproxy',
      outputChannel: this.output,
      traceOutputChannel: this.traceOutput,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationFailedHandler: (error) => {
        this.initError = errorText(error);
        return this.policy.initializationFailed();
      },
      errorHandler: {
        // A broken message now and then is survivable; a stream of them is
        // not. Without a count (a write to a server that already exited),
        // carry on: closed() decides what happens to a server that is gone.
        error: (_error, _message, count) => ({
          action: count === undefined || count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
          handled: true,
        }),
        closed: () => {
          const decision = this.policy.closed();
          this.lastDecision = decision;
          if (decision.restart) {
            const message = `The language server stopped; restarting it (${decision.attempt} of ${this.policy.maxRestarts} within ${Math.round(this.policy.windowMs / 60000)} minutes).`;
            return { action: CloseAction.Restart, message, handled: true };
          }
          const message =
            decision.reason === 'initialization'
              ? 'The language server stopped while starting; it will not be restarted.'
              : `The language server stopped ${decision.crashes} times in a short while; it will not be restarted.`;
          return { action: CloseAction.DoNotRestart, message, handled: true };
        },
      },
    };

    const client = new DevproxyLanguageClient(ClientId, DisplayName, serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => this.onStateChange(gen, e.newState));
    client.onNotification(Methods.routesChanged, (params: RoutesChangedParams) => {
      if (gen === this.generation && (params?.version ?? 0) > this.tree.current.version) {
        this.routesRefresh.trigger();
      }
    });
    client.onNotification(Methods.status, (params: ProxyStatus) => {
      if (gen === this.generation && params && typeof params.state === 'string') {
        this.statusSeen = true;
        this.setStatus({ type: 'proxyStatus', status: params });
      }
    });

    // Not awaited: a server that hangs in initialize must not block the
    // lifecycle queue, or "Restart" would wait behind it forever. doStop
    // handles a client that is still starting.
    client.start().catch(async (e) => {
      if (gen === this.generation && !this.stopRequested) {
        this.initError ??= errorText(e);
        await this.reportFailure(gen, this.currentFailure());
      }
    });
  }

  /** Starts `devproxy lsp` on stdio; the LanguageClient talks to it. */
  private async spawnServer(gen: number, command: string, cwd: string | undefined): Promise<ChildProcess> {
    if (gen !== this.generation || this.stopRequested) {
      // Stopped before the client got to spawning: start nothing that no one would stop.
      throw new Error('the language server was stopped while starting');
    }
    // A new process: what we knew about the previous one no longer applies.
    this.policy.serverStarting();
    this.lastExit = undefined;
    this.spawnError = undefined;
    this.initError = undefined;
    this.lastDecision = undefined;
    const child = spawn(command, ['lsp'], { cwd, env: process.env, stdio: 'pipe', windowsHide: true });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (e) {
      this.spawnError = errorText(e);
      throw e;
    }
    // After the spawn, an error (a write to a closed pipe) must not take the
    // extension host down; the exit is what matters.
    child.on('error', (e) => this.log('Warn', `devproxy lsp: ${errorText(e)}`));
    this.childExited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.lastExit = { code, signal };
        this.log(code === 0 ? 'Info' : 'Warn', `devproxy lsp (pid ${child.pid}) exited${signal ? ` on ${signal}` : ` with code ${code}`}.`);
        resolve();
      }),
    );
    this.child = child;
    return child;
  }

  private onStateChange(gen: number, state: State): void {
    if (gen !== this.generation) {
      return;
    }
    switch (state) {
      case State.Starting:
        this.tree.clear();
        this.setStatus({ type: 'serverStarting' });
        break;
      case State.Running:
        this.policy.serverInitialized();
        this.setStatus({ type: 'serverRunning' });
        void this.routesRefresh.now();
        break;
      case State.Stopped:
        this.tree.clear();
        if (this.stopRequested) {
          this.setStatus({ type: 'serverStopped' });
        } else if (this.lastDecision?.restart) {
          this.setStatus({ type: 'serverStarting' });
        } else {
          void this.reportFailure(gen, this.currentFailure());
        }
        break;
    }
  }

  /** Why the current server is not running, from what we saw. */
  private currentFailure(): ServerFailure {
    const command = this.command;
    if (this.spawnError !== undefined) {
      return { kind: 'spawn', command, error: this.spawnError };
    }
    const d = this.lastDecision;
    if (d && !d.restart && d.reason === 'budget') {
      return { kind: 'budget', command, crashes: d.crashes, windowMs: this.policy.windowMs, exit: this.lastExit };
    }
    if ((d && !d.restart && d.reason === 'initialization') || this.initError !== undefined) {
      return { kind: 'initialization', command, exit: this.lastExit, error: this.initError };
    }
    return { kind: 'crashed', command, exit: this.lastExit };
  }

  /** Shows the one message for this server's failure, with the buttons that fix it. */
  private async reportFailure(gen: number, failure: ServerFailure): Promise<void> {
    if (gen !== this.generation || this.failureReported || this.stopRequested) {
      return;
    }
    this.failureReported = true;
    // The exit code explains most failures; it can arrive just after the pipe closed.
    if (failure.kind !== 'not-found' && failure.kind !== 'spawn' && this.lastExit === undefined) {
      await Promise.race([this.childExited, new Promise((r) => setTimeout(r, 1000))]);
      failure = { ...failure, exit: this.lastExit } as ServerFailure;
    }
    const msg = failureMessage(failure);
    this.log('Error', msg.text);
    this.setStatus({ type: 'serverStopped', failure: msg.text });
    // Not awaited: a message nobody answers must not hold up the lifecycle
    // queue (a settings change restarts the server meanwhile).
    void vscode.window.showErrorMessage(msg.text, ...msg.actions).then((choice) => {
      if (choice === 'Open settings') {
        return vscode.commands.executeCommand(failureActionCommands[choice], ServerPathSetting);
      } else if (choice) {
        return vscode.commands.executeCommand(failureActionCommands[choice]);
      }
      return undefined;
    });
  }

  private async doStop(): Promise<void> {
    this.stopRequested = true;
    const client = this.client;
    const child = this.child;
    this.client = undefined;
    this.child = undefined;
    if (client) {
      try {
        // Sends shutdown and exit; gives the server stopTimeoutMs to go. A
        // client that is still starting cannot be stopped this way (it
        // throws): ending its process below closes it.
        await client.dispose(stopTimeoutMs);
      } catch (e) {
        this.log('Info', `Stopping the language server: ${errorText(e)}`);
      }
    }
    if (child && child.exitCode === null && child.signalCode === null) {
      // The client does not own a process it did not spawn: make sure it ends.
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), stopTimeoutMs))]);
      if (timedOut) {
        child.kill('SIGKILL');
      }
    }
    for (const w of this.watchers) {
      w.dispose();
    }
    this.watchers = [];
    this.tree.clear();
    this.setStatus({ type: 'serverStopped' });
  }

  /** Asks devproxy/routes and shows the answer; called through the debouncer. */
  private async fetchRoutes(): Promise<void> {
    const gen = this.generation;
    const client = this.running;
    if (!client) {
      return;
    }
    try {
      const result = await client.sendRequest<RoutesResult>(Methods.routes, {});
      if (gen !== this.generation || !result || !Array.isArray(result.routes)) {
        return;
      }
      this.tree.update(result);
      this.routeFiles = new Set((result.files ?? []).map((f) => normalizeUri(f.uri)));
      for (const doc of vscode.workspace.textDocuments) {
        void this.adoptRouteFile(doc);
      }
      // devproxy/status is authoritative once it arrived; until then the
      // table's copy of the proxy's state fills the status bar.
      if (!this.statusSeen && result.proxy && typeof result.proxy.state === 'string') {
        this.setStatus({ type: 'proxyStatus', status: result.proxy });
      }
    } catch (e) {
      if (!this.routesErrorLogged) {
        this.routesErrorLogged = true;
        this.log('Warn', `${Methods.routes} failed: ${errorText(e)} (the Routes view stays empty).`);
      }
    }
  }

  /**
   * Gives a route file the route-file language when its name does not
   * (folders from devproxy.apps, devproxy.overrides or devproxy.json that
   * the manifest's apps/ and overrides/ patterns do not cover), so that it
   * gets the grammar, diagnostics as you type and the quick fixes.
   */
  async adoptRouteFile(doc: vscode.TextDocument): Promise<void> {
    if (doc.languageId === LanguageId || !this.routeFiles.has(normalizeUri(doc.uri.toString()))) {
      return;
    }
    try {
      await vscode.languages.setTextDocumentLanguage(doc, LanguageId);
    } catch (e) {
      this.log('Warn', `Cannot set the route-file language on ${doc.uri.fsPath}: ${errorText(e)}`);
    }
  }

  refreshRoutes(): Promise<void> {
    return this.routesRefresh.now();
  }

  /** Whether a settings change needs a new server: a new binary, or new folders to watch. */
  onConfigurationChanged(e: vscode.ConfigurationChangeEvent): void {
    if (e.affectsConfiguration(ServerPathSetting)) {
      void this.restart(`${ServerPathSetting} changed`);
      return;
    }
    if (e.affectsConfiguration('devproxy.apps') || e.affectsConfiguration('devproxy.overrides')) {
      const config = vscode.workspace.getConfiguration('devproxy');
      const globs = settingsWatchGlobs(readSettings((key) => config.get(key)));
      if (globs.join('\n') !== this.folderGlobs.join('\n')) {
        void this.restart('the route folders of devproxy.apps or devproxy.overrides changed, and the new ones need watching');
      }
    }
  }

  dispose(): void {
    this.routesRefresh.dispose();
  }
}

/** One spelling per URI: VS Code and the server escape some characters differently. */
function normalizeUri(uri: string): string {
  try {
    return vscode.Uri.parse(uri, true).toString();
  } catch {
    return uri;
  }
}

let controller: ServerController | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel(OutputChannelName);
  const traceOutput = vscode.window.createOutputChannel(TraceChannelName);
  const statusItem = vscode.window.createStatusBarItem('devproxy.status', vscode.StatusBarAlignment.Left, 10);
  statusItem.name = DisplayName;
  const tree = new RoutesTreeProvider();
  const view = vscode.window.createTreeView(RoutesViewId, { treeDataProvider: tree, showCollapseAll: true });
  const server = new ServerController(context, output, traceOutput, tree, statusItem);
  controller = server;
  context.subscriptions.push(output, traceOutput, statusItem, tree, view, server);

  let lastExplain = '/';
  // Typed as a Record over CommandId, so every command of docs/lsp.md has a handler.
  const handlers: Record<CommandId, (...args: unknown[]) => unknown> = {
    [Commands.openRoute]: async (arg) => {
      const url = urlOf(arg);
      if (!url) {
        server.log('Warn', `${Commands.openRoute}: no http(s) URL in ${JSON.stringify(arg)}.`);
        return;
      }
      await vscode.env.openExternal(vscode.Uri.parse(url, true));
    },
    [Commands.revealRoute]: async (arg) => {
      const target = revealTargetOf(arg);
      if (!target) {
        server.log('Warn', `${Commands.revealRoute}: no {uri, range} in ${JSON.stringify(arg)}.`);
        return;
      }
      const { start, end } = target.range;
      const selection = new vscode.Range(start.line, start.character, end.line, end.character);
      await vscode.window.showTextDocument(vscode.Uri.parse(target.uri, true), { selection, preview: true });
    },
    [Commands.renameRoute]: async (...args: unknown[]) => {
      const target = renameTargetOf(args);
      if (!target) {
        server.log('Warn', `${Commands.renameRoute}: no uri and position in ${JSON.stringify(args)}.`);
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
        const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(result, null, 2) + '\n' });
        await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
      } catch (e) {
        void vscode.window.showErrorMessage(`${DisplayName}: cannot explain ${parsed.params.url}: ${errorText(e)}`);
      }
    },
    [Commands.restartServer]: () => server.restart('asked by the user'),
    [Commands.showOutput]: () => output.show(true),
  };
  for (const [id, handler] of Object.entries(handlers)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  }
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => server.onConfigurationChanged(e)));
  context.subscriptions.push(vscode.workspace.onDidOpenTextDocument((doc) => void server.adoptRouteFile(doc)));

  void server.start();
}

export async function deactivate(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.stop();
}
