// The status bar item's state machine: what the language server and the
// proxy it hosts or joins are doing, and how to show it. Pure;
// statusBarItem.ts applies the rendered value to a vscode.StatusBarItem.
//
//   starting ──serverRunning──▶ starting (waiting for devproxy/status)
//      │                            │ proxyStatus
//      │                            ▼
//      │   running | joined | idle | starting | port-in-use | disabled | error
//      │                            │ serverStopped
//      └──────────serverStopped────▶ stopped ──serverStarting──▶ starting
//
// Several devproxy processes on one machine share one port: the one that
// holds it (running, the owner) serves the folders of every window; the
// others join it (joined, a member). A window with no route files and no
// devproxy.json starts and joins nothing (idle).
//
// A proxy status that arrives after the server stopped is ignored: the
// status of a process that is gone is not news. Two sources report the
// proxy's state: devproxy/status, pushed by the server, and the copy in
// every devproxy/routes answer. The push is authoritative: once a server
// sent one, the copies no longer move the state (an answer may be older than
// the push); until then they fill the gap. The route files of every table
// (routeFiles) say which files the proxy serves an older version of.

import { Commands, HealthSummary, ProxyFolder, ProxyOwner, ProxyState, ProxyStates, ProxyStatus, RouteFileInfo } from './contract';
import { summarySentence, summaryText } from './healthModel';
import { escapeMarkdown, folderCount, folderList, ownerName, shortAddress, tildePath } from './proxyFolders';

export type StatusKind = 'starting' | ProxyState | 'stopped';

export interface StatusState {
  kind: StatusKind;
  /** host:port of the proxy, when known. */
  address: string;
  /** The server's own words (ProxyStatus.message), or why the server stopped. */
  message: string;
  /** For stopped: whether it stopped because of a failure (not by request). */
  failed: boolean;
  /** Whether this server sent devproxy/status yet. */
  pushed: boolean;
  /** Every folder the proxy on the port serves, the owner's first (ProxyStatus.folders). */
  folders: ProxyFolder[];
  /** Who holds the port, when running or joined. */
  owner?: ProxyOwner;
  /** The route files whose last good version the proxy serves (display paths), from the newest table. */
  staleFiles: string[];
  /** The routes' health counts (HealthDocument.summary), once the proxy reported. */
  health?: HealthSummary;
}

export type StatusEvent =
  | { type: 'serverStarting' }
  | { type: 'serverRunning' }
  /** devproxy/status */
  | { type: 'proxyStatus'; status: ProxyStatus }
  /** RoutesResult.proxy, the copy in a devproxy/routes answer */
  | { type: 'tableProxyStatus'; status: ProxyStatus }
  /** RoutesResult.files of the newest table */
  | { type: 'routeFiles'; files: readonly RouteFileInfo[] }
  /** HealthDocument.summary of devproxy/health, devproxy/healthChanged or devproxy/rescan */
  | { type: 'health'; summary: HealthSummary }
  | { type: 'serverStopped'; failure?: string };

export const initialStatus: StatusState = { kind: 'starting', address: '', message: '', failed: false, pushed: false, folders: [], staleFiles: [] };

/** Whether a notification's params (or RoutesResult.proxy) look like a ProxyStatus. */
export function isProxyStatus(v: unknown): v is ProxyStatus {
  return typeof v === 'object' && v !== null && typeof (v as { state?: unknown }).state === 'string';
}

export function nextStatus(state: StatusState, event: StatusEvent): StatusState {
  switch (event.type) {
    case 'serverStarting':
      return { ...initialStatus, address: state.address };
    case 'serverRunning':
      // The server is up; the proxy's state comes with devproxy/status.
      return state.kind === 'stopped' ? { ...initialStatus, address: state.address } : state;
    case 'proxyStatus':
      return state.kind === 'stopped' ? state : { ...fromProxy(event.status), staleFiles: state.staleFiles, health: state.health, pushed: true };
    case 'tableProxyStatus':
      return state.kind === 'stopped' || state.pushed ? state : { ...fromProxy(event.status), staleFiles: state.staleFiles, health: state.health, pushed: false };
    case 'routeFiles':
      return state.kind === 'stopped' ? state : { ...state, staleFiles: (event.files ?? []).filter((f) => f.stale === true).map((f) => f.path) };
    case 'health':
      return state.kind === 'stopped' ? state : { ...state, health: event.summary };
    case 'serverStopped':
      return { ...initialStatus, kind: 'stopped', address: state.address, message: event.failure ?? '', failed: event.failure !== undefined };
  }
}

function isFolder(f: unknown): f is ProxyFolder {
  return typeof f === 'object' && f !== null && typeof (f as ProxyFolder).root === 'string' && typeof (f as ProxyFolder).label === 'string';
}

function fromProxy(s: ProxyStatus): Omit<StatusState, 'pushed' | 'staleFiles' | 'health'> {
  // An unknown state from a newer server is shown as an error with its message.
  const kind: StatusKind = (ProxyStates as readonly string[]).includes(s.state) ? s.state : 'error';
  // An older server sends no folders and no owner.
  const folders = Array.isArray(s.folders) ? s.folders.filter(isFolder) : [];
  const owner = typeof s.owner === 'object' && s.owner !== null ? s.owner : undefined;
  return { kind, address: s.address ?? '', message: s.message ?? '', failed: false, folders, owner };
}

/** Whether this state change should offer to create a route file: the window just became idle. */
export function becameIdle(before: StatusState, after: StatusState): boolean {
  return after.kind === 'idle' && before.kind !== 'idle';
}

export interface StatusView {
  /** With a $(codicon) prefix. */
  text: string;
  /** Markdown, with everything from the server escaped. */
  tooltip: string;
  /** A ThemeColor id for the item's background, if it needs attention. */
  backgroundColor?: 'statusBarItem.warningBackground' | 'statusBarItem.errorBackground';
  command: string;
}

const maxTextMessage = 48;

/** Shortens a message for the status bar; the tooltip has it whole. */
export function shorten(s: string, max = maxTextMessage): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : one.slice(0, max - 1).trimEnd() + '…';
}

/** Joins the non-empty parts with spaces. */
function words(...parts: string[]): string {
  return parts.filter((p) => p !== '').join(' ');
}

/** The tooltip's last line: what a click offers (statusActions), in words. */
function clickHint(state: StatusState, environment: string): string {
  const names = statusActions(state, environment).map((a) => a.label.replace(/^\$\([^)]*\)\s*/, ''));
  return `Click for the actions: ${names.join(', ')}.`;
}

/**
 * Renders the state. home (os.homedir()) shortens paths to ~; it is a
 * parameter so that the rendering stays pure.
 */
export function renderStatus(state: StatusState, home = '', environment = ''): StatusView {
  // Every click opens the menu of actions; the state's own action is its first.
  const view = { ...renderState(state, home, environment), command: Commands.showStatusMenu };
  if (environment !== '') {
    // The devproxy.environment setting: which upstreams the routes go to.
    view.text = `${view.text} · env: ${shorten(environment, 24)}`;
    view.tooltip = `Environment: **${escapeMarkdown(environment)}** (\`devproxy.environment\`; "Switch Environment" changes it).\n\n${view.tooltip}`;
  }
  return view;
}

function renderState(state: StatusState, home: string, environment: string): StatusView {
  const addr = state.address;
  const short = addr ? shortAddress(addr) : '';
  // The tooltip: a lead sentence, the folders and owner (when known), stale
  // files, the server's own words, and what a click does.
  const tooltip = (lead: string, command: string, extra: string[] = []) =>
    [lead, ...extra, ...(state.message ? [escapeMarkdown(state.message)] : []), clickHint(state, environment)].join('\n\n');
  const stale = state.staleFiles.length
    ? [`$(warning) Stale: the proxy serves the last good version of ${state.staleFiles.map(escapeMarkdown).join(', ')}; ${state.staleFiles.length === 1 ? 'it no longer parses' : 'they no longer parse'} (see the Problems panel).`]
    : [];
  const staleColour = state.staleFiles.length ? ('statusBarItem.warningBackground' as const) : undefined;
  const folders = state.folders.length ? [`Folders it serves:\n\n${folderList(state.folders, home)}`] : [];
  // The routes' health, where a proxy serves them: "· 3 ok · 1 down".
  const summary = summaryText(state.health);
  const healthText = summary ? `· ${summary}` : '';
  const health = state.health && summary ? [summarySentence(state.health)] : [];
  switch (state.kind) {
    case 'starting': {
      const command = Commands.showOutput;
      return { text: '$(sync~spin) devproxy', tooltip: tooltip('Dev Tunnel Proxy: starting…', command), command };
    }
    case 'running': {
      const command = Commands.showProxyOwner;
      return {
        text: words('$(radio-tower) devproxy', short, state.folders.length ? `· ${folderCount(state.folders.length)}` : '', healthText),
        tooltip: tooltip(`Dev Tunnel Proxy: this window serves the proxy on ${escapeMarkdown(`http://${addr}`)}.`, command, [...health, ...folders, ...stale]),
        backgroundColor: staleColour,
        command,
      };
    }
    case 'joined': {
      const command = Commands.showProxyOwner;
      const ownerRoot = state.owner?.root || state.folders[0]?.root || '';
      const owner = state.owner ? `${ownerName(state.owner)}${ownerRoot ? ` in ${tildePath(ownerRoot, home)}` : ''}` : 'another devproxy';
      return {
        text: words('$(radio-tower) devproxy', short, `· joined ${ownerRoot ? tildePath(ownerRoot, home) : 'another devproxy'}`, healthText),
        tooltip: tooltip(
          `Dev Tunnel Proxy: ${escapeMarkdown(owner)} holds ${escapeMarkdown(addr || 'the port')}; this window joined it, and its route files are served there.`,
          command,
          [...health, ...folders, ...stale],
        ),
        backgroundColor: staleColour,
        command,
      };
    }
    case 'idle': {
      const command = Commands.createRouteFile;
      return {
        text: '$(new-file) devproxy: no route files',
        tooltip: tooltip('Dev Tunnel Proxy: this window has no route files and no devproxy.json, so it starts no proxy and joins none.', command),
        command,
      };
    }
    case 'port-in-use': {
      const command = Commands.showOutput;
      return {
        text: `$(warning) devproxy: ${shorten(state.message || `${addr} is in use`)}`,
        tooltip: tooltip(`Dev Tunnel Proxy: something else holds ${escapeMarkdown(addr || 'the address')}, so the proxy is not running.`, command),
        backgroundColor: 'statusBarItem.warningBackground',
        command,
      };
    }
    case 'disabled': {
      const command = Commands.showOutput;
      return {
        text: '$(circle-slash) devproxy off',
        tooltip: tooltip('Dev Tunnel Proxy: the proxy is off (devproxy.proxy.enabled is false); the editor features keep working.', command),
        command,
      };
    }
    case 'error': {
      const command = Commands.showOutput;
      return {
        text: `$(error) devproxy: ${shorten(state.message || 'the proxy could not start')}`,
        tooltip: tooltip('Dev Tunnel Proxy: the proxy could not start.', command),
        backgroundColor: 'statusBarItem.errorBackground',
        command,
      };
    }
    case 'stopped': {
      const command = Commands.showOutput;
      return state.failed
        ? {
            text: '$(error) devproxy stopped',
            tooltip: tooltip('Dev Tunnel Proxy: the language server is not running.', command),
            backgroundColor: 'statusBarItem.errorBackground',
            command,
          }
        : { text: '$(debug-stop) devproxy stopped', tooltip: tooltip('Dev Tunnel Proxy: the language server is stopped.', command), command };
    }
  }
}

/** One action of the status bar's menu (devproxy.showStatusMenu). */
export interface StatusAction {
  label: string;
  /** Why, or what it acts on. */
  description?: string;
  command: string;
}

/** The proxy's dashboard on its listener: `http://127.0.0.1:8080/devproxy/`, when the address is known. */
export function dashboardUrl(address: string): string | undefined {
  const a = address.trim();
  if (a === '') {
    return undefined;
  }
  const host = a.startsWith(':') ? `127.0.0.1${a}` : a.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  return `http://${host}/devproxy/`;
}

/**
 * What a click on the status bar item offers, for the state: what the
 * click used to do comes first (see who serves the proxy, create a route
 * file, show the output), then the rest. The dashboard and the rescan
 * need a proxy (running or joined). "Switch Environment…" (with the
 * devproxy.environment setting, environment, as its description) needs the
 * language server, so not while it is stopped; nor when idle, as there is
 * no devproxy.json to define environments, unless one is set (to leave it).
 */
export function statusActions(state: StatusState, environment = ''): StatusAction[] {
  const serving = state.kind === 'running' || state.kind === 'joined';
  const actions: StatusAction[] = [];
  const dashboard = serving ? dashboardUrl(state.address) : undefined;
  if (state.kind === 'idle') {
    actions.push({ label: '$(new-file) Create a Route File', command: Commands.createRouteFile });
  }
  if (serving) {
    actions.push({ label: '$(radio-tower) Show Who Serves the Proxy', description: state.kind === 'joined' ? 'joined another devproxy' : 'this window', command: Commands.showProxyOwner });
  }
  if (dashboard) {
    actions.push({ label: '$(dashboard) Open Dashboard', description: dashboard, command: Commands.openDashboard });
  }
  if (serving) {
    actions.push({ label: '$(pulse) Rescan All Routes', command: Commands.rescanAll });
  }
  if (state.kind !== 'stopped' && (state.kind !== 'idle' || environment !== '')) {
    actions.push({ label: '$(server-environment) Switch Environment…', description: environment !== '' ? environment : 'none', command: Commands.switchEnvironment });
  }
  actions.push({ label: '$(debug-restart) Restart Server', description: state.kind === 'stopped' ? 'the language server is not running' : undefined, command: Commands.restartServer });
  actions.push({ label: '$(output) Show Output', command: Commands.showOutput });
  // A failure is read in the output first.
  if (state.kind === 'error' || state.kind === 'port-in-use' || (state.kind === 'stopped' && state.failed)) {
    const out = actions.findIndex((a) => a.command === Commands.showOutput);
    actions.unshift(...actions.splice(out, 1));
  }
  return actions.map((a) => (a.description === undefined ? { label: a.label, command: a.command } : a));
}
