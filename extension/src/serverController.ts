// The language server's whole lifecycle, in one place (house style, habit
// 9): one LanguageClient at a time, one output channel, start, stop and
// restart in order, a bounded restart budget with no restart after a
// failure during initialisation, and one actionable message when the server
// cannot run. This file only wires the parts together; each part can be
// read and tested alone:
//
//   serverProcess.ts   finds the binary, spawns `devproxy lsp`, ends it
//   serverRun.ts       the restart budget and why the server failed (pure)
//   clientOptions.ts   what the client syncs; no file watchers of its own (pure)
//   statusBarItem.ts   the status bar, over statusBar.ts's state machine (pure)
//   routeSync.ts       devproxy/routesChanged → devproxy/routes → the tree (pure)
//   healthSync.ts      devproxy/health, healthChanged, rescan → the tree and the status bar (pure)
//   tunnelSync.ts      devproxy/tunnel, tunnelChanged, tunnelStart, tunnelStop → the tunnel's item (pure)
//   routeFileLanguage.ts  the route-file language for route files in other folders

import * as vscode from 'vscode';
import { CloseAction, ErrorAction, LanguageClient, RevealOutputChannelOn, State } from 'vscode-languageclient/node';
import { ClientId, DisplayName, HealthDocument, Methods, RoutesResult } from './contract';
import { protocolOptions } from './clientOptions';
import { HealthSync, HealthView } from './healthSync';
import { errorText, Log } from './log';
import { failureActionCommands, failureMessage } from './restartPolicy';
import { RouteFileLanguage } from './routeFileLanguage';
import { RoutesView, RouteSync } from './routeSync';
import { locateServer, ServerProcess } from './serverProcess';
import { ServerPathSetting } from './serverPath';
import { ServerRun } from './serverRun';
import { readSettings } from './settings';
import { isProxyStatus } from './statusBar';
import { ServerStatusItem } from './statusBarItem';
import { TunnelSync, TunnelView } from './tunnelSync';

/** How long a stopping server gets before it is killed. */
const stopTimeoutMs = 2000;
/** How long a failure report waits for the exit code that explains it. */
const exitWaitMs = 1000;

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

export interface ServerControllerParts {
  extensionPath: string;
  output: vscode.OutputChannel;
  traceOutput: vscode.OutputChannel;
  log: Log;
  status: ServerStatusItem;
  routesView: RoutesView;
  /** The Routes view again: it shows the health beside the table. */
  healthView: HealthView;
  language: RouteFileLanguage;
  /** The tunnel's status bar item. */
  tunnelView: TunnelView;
  /** More server → client notifications, by method (Calliope's chatDelta and chatThinking); only the current client's reach them. */
  notifications?: Record<string, (params: unknown) => void>;
  /** Called each time a server is up (after initialize): Calliope sends the stored OpenAI key. */
  onRunning?: () => void;
}

export class ServerController implements vscode.Disposable {
  private client: DevproxyLanguageClient | undefined;
  /** Grows with every start by us; events of an older client are ignored. */
  private generation = 0;
  private stopRequested = false;
  private readonly run = new ServerRun();
  private readonly process: ServerProcess;
  private readonly routes: RouteSync;
  private readonly health: HealthSync;
  private readonly tunnelSync: TunnelSync;
  /** Start, stop and restart run one at a time, in order. */
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(private readonly parts: ServerControllerParts) {
    this.process = new ServerProcess(parts.log, (exit) => this.run.exited(exit));
    this.routes = new RouteSync({
      request: () => this.running?.sendRequest<RoutesResult>(Methods.routes, {}),
      view: parts.routesView,
      onTable: (result) => this.onTable(result),
      log: parts.log,
    });
    this.health = new HealthSync({
      request: (method, params) => this.running?.sendRequest<unknown>(method, params),
      view: parts.healthView,
      onHealth: (doc) => this.parts.status.apply({ type: 'health', summary: doc.summary }),
      log: parts.log,
    });
    this.tunnelSync = new TunnelSync({
      request: (method, params) => this.running?.sendRequest<unknown>(method, params),
      view: parts.tunnelView,
      log: parts.log,
    });
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
      this.parts.log('Info', `Restarting the language server: ${why}.`);
      await this.doStop();
      await this.doStart();
    });
  }

  /** The client, when its server is running. */
  get running(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  refreshRoutes(): Promise<void> {
    return this.routes.refresh();
  }

  /** devproxy/rescan: one route, or every route; resolves once the scan finished and the views show it. */
  rescan(route?: string): Promise<HealthDocument | undefined> {
    return this.health.rescan(route);
  }

  /** The tunnel of the running server (or of the owner of the port it joined): its state, start and stop. */
  get tunnel(): TunnelSync {
    return this.tunnelSync;
  }

  /** Whether the running server answers the health methods (false after MethodNotFound). */
  get healthSupported(): boolean {
    return this.health.supported;
  }

  /**
   * Only a new binary needs a new server. Every other devproxy.* change
   * reaches the running server as workspace/didChangeConfiguration; new
   * route folders included, as the server registered its watchers for
   * every *.conf.
   */
  onConfigurationChanged(e: vscode.ConfigurationChangeEvent): void {
    if (e.affectsConfiguration(ServerPathSetting)) {
      void this.restart(`${ServerPathSetting} changed`);
    }
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    this.lifecycle = this.lifecycle.then(op, op);
    return this.lifecycle;
  }

  private async doStart(): Promise<void> {
    if (this.client) {
      await this.doStop(); // one LanguageClient at a time
    }
    const gen = ++this.generation;
    this.stopRequested = false;
    this.run.reset();
    this.routes.reset();
    this.health.reset();
    this.tunnelSync.reset();
    this.parts.status.apply({ type: 'serverStarting' });

    const config = vscode.workspace.getConfiguration('devproxy');
    const settings = readSettings((key) => config.get(key));
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const located = locateServer({ setting: settings.server.path, extensionPath: this.parts.extensionPath, workspaceFolder: cwd }, this.parts.log);
    if (!located.ok) {
      this.parts.log('Error', located.message);
      this.run.binaryNotFound(located.message);
      void this.reportFailure(gen);
      return;
    }
    this.parts.log('Info', `Starting ${located.path} lsp (${located.description})${cwd ? ` in ${cwd}` : ''}.`);

    const client = new DevproxyLanguageClient(ClientId, DisplayName, () => this.spawnServer(gen, located.path, cwd), {
      ...protocolOptions(settings),
      outputChannel: this.parts.output,
      traceOutputChannel: this.parts.traceOutput,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationFailedHandler: (error) => this.run.initializationFailed(errorText(error)),
      errorHandler: {
        error: (_error, _message, count) => ({
          action: this.run.errorDecision(count) === 'continue' ? ErrorAction.Continue : ErrorAction.Shutdown,
          handled: true,
        }),
        closed: () => {
          const outcome = this.run.closed();
          return { action: outcome.restart ? CloseAction.Restart : CloseAction.DoNotRestart, message: outcome.message, handled: true };
        },
      },
    });
    this.client = client;
    client.onDidChangeState((e) => this.onStateChange(gen, e.newState));
    client.onNotification(Methods.routesChanged, (params: unknown) => {
      if (gen === this.generation) {
        this.routes.routesChanged(params);
      }
    });
    client.onNotification(Methods.healthChanged, (params: unknown) => {
      if (gen === this.generation) {
        this.health.healthChanged(params);
      }
    });
    client.onNotification(Methods.tunnelChanged, (params: unknown) => {
      if (gen === this.generation) {
        this.tunnelSync.tunnelChanged(params);
      }
    });
    for (const [method, handler] of Object.entries(this.parts.notifications ?? {})) {
      client.onNotification(method, (params: unknown) => {
        if (gen === this.generation) {
          handler(params);
        }
      });
    }
    client.onNotification(Methods.status, (params: unknown) => {
      if (gen === this.generation && isProxyStatus(params)) {
        this.parts.status.apply({ type: 'proxyStatus', status: params });
      }
    });

    // Not awaited: a server that hangs in initialize must not block the
    // lifecycle queue, or "Restart" would wait behind it forever. doStop
    // handles a client that is still starting.
    client.start().catch(async (e) => {
      if (gen === this.generation && !this.stopRequested) {
        this.run.startFailed(errorText(e));
        await this.reportFailure(gen);
      }
    });
  }

  /** The LanguageClient's ServerOptions: called for the first start and every restart. */
  private async spawnServer(gen: number, command: string, cwd: string | undefined) {
    if (gen !== this.generation || this.stopRequested) {
      // Stopped before the client got to spawning: start nothing that no one would stop.
      throw new Error('the language server was stopped while starting');
    }
    this.run.processStarting(command);
    try {
      return await this.process.spawn(command, cwd);
    } catch (e) {
      this.run.spawnFailed(errorText(e));
      throw e;
    }
  }

  private onStateChange(gen: number, state: State): void {
    if (gen !== this.generation) {
      return;
    }
    switch (state) {
      case State.Starting:
        this.routes.reset();
        this.health.reset();
        this.tunnelSync.reset();
        this.parts.status.apply({ type: 'serverStarting' });
        break;
      case State.Running:
        this.run.initialized();
        this.parts.status.apply({ type: 'serverRunning' });
        void this.routes.refresh();
        void this.health.refresh();
        void this.tunnelSync.refresh();
        this.parts.onRunning?.();
        break;
      case State.Stopped:
        this.routes.reset();
        this.health.reset();
        this.tunnelSync.reset();
        if (this.stopRequested) {
          this.parts.status.apply({ type: 'serverStopped' });
        } else if (this.run.restarting) {
          this.parts.status.apply({ type: 'serverStarting' });
        } else {
          void this.reportFailure(gen);
        }
        break;
    }
  }

  /**
   * A table the tree took: adopt the route files; the status bar learns
   * which are stale, and the table's proxy state fills it until
   * devproxy/status arrives.
   */
  private onTable(result: RoutesResult): void {
    this.parts.language.setRouteFiles(result.files ?? []);
    this.parts.status.apply({ type: 'routeFiles', files: result.files ?? [] });
    if (isProxyStatus(result.proxy)) {
      this.parts.status.apply({ type: 'tableProxyStatus', status: result.proxy });
    }
  }

  /** Shows the one message for this run's failure, with the buttons that fix it. */
  private async reportFailure(gen: number): Promise<void> {
    if (gen !== this.generation || this.stopRequested || !this.run.claimFailureReport()) {
      return;
    }
    if (this.run.waitsForExit()) {
      await this.process.waitForExit(exitWaitMs);
    }
    const msg = failureMessage(this.run.failure());
    this.parts.log('Error', msg.text);
    this.parts.status.apply({ type: 'serverStopped', failure: msg.text });
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
    this.client = undefined;
    if (client) {
      try {
        // Sends shutdown and exit; gives the server stopTimeoutMs to go. A
        // client that is still starting cannot be stopped this way (it
        // throws): ending its process below closes it.
        await client.dispose(stopTimeoutMs);
      } catch (e) {
        this.parts.log('Info', `Stopping the language server: ${errorText(e)}`);
      }
    }
    await this.process.stop(stopTimeoutMs);
    this.routes.reset();
    this.health.reset();
    this.tunnelSync.reset();
    this.parts.status.apply({ type: 'serverStopped' });
  }

  dispose(): void {
    this.routes.dispose();
    this.health.dispose();
  }
}
