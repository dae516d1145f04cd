// The status bar item's state machine: what the language server and the
// proxy it hosts are doing, and how to show it. Pure; statusBarItem.ts
// applies the rendered value to a vscode.StatusBarItem.
//
//   starting ──serverRunning──▶ starting (waiting for devproxy/status)
//      │                            │ proxyStatus
//      │                            ▼
//      │      running | other-devproxy | port-in-use | disabled | error
//      │                            │ serverStopped
//      └──────────serverStopped────▶ stopped ──serverStarting──▶ starting
//
// A proxy status that arrives after the server stopped is ignored: the
// status of a process that is gone is not news. Two sources report the
// proxy's state: devproxy/status, pushed by the server, and the copy in
// every devproxy/routes answer. The push is authoritative: once a server
// sent one, the copies no longer move the state (an answer may be older than
// the push); until then they fill the gap.

import { Commands, ProxyState, ProxyStatus } from './contract';

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
}

export type StatusEvent =
  | { type: 'serverStarting' }
  | { type: 'serverRunning' }
  /** devproxy/status */
  | { type: 'proxyStatus'; status: ProxyStatus }
  /** RoutesResult.proxy, the copy in a devproxy/routes answer */
  | { type: 'tableProxyStatus'; status: ProxyStatus }
  | { type: 'serverStopped'; failure?: string };

export const initialStatus: StatusState = { kind: 'starting', address: '', message: '', failed: false, pushed: false };

const proxyStates: readonly ProxyState[] = ['running', 'other-devproxy', 'port-in-use', 'disabled', 'error'];

/** Whether a notification's params (or RoutesResult.proxy) look like a ProxyStatus. */
export function isProxyStatus(v: unknown): v is ProxyStatus {
  return typeof v === 'object' && v !== null && typeof (v as { state?: unknown }).state === 'string';
}

export function nextStatus(state: StatusState, event: StatusEvent): StatusState {
  switch (event.type) {
    case 'serverStarting':
      return { kind: 'starting', address: state.address, message: '', failed: false, pushed: false };
    case 'serverRunning':
      // The server is up; the proxy's state comes with devproxy/status.
      return state.kind === 'stopped' ? { ...initialStatus, address: state.address } : state;
    case 'proxyStatus':
      return state.kind === 'stopped' ? state : { ...fromProxy(event.status), pushed: true };
    case 'tableProxyStatus':
      return state.kind === 'stopped' || state.pushed ? state : { ...fromProxy(event.status), pushed: false };
    case 'serverStopped':
      return { kind: 'stopped', address: state.address, message: event.failure ?? '', failed: event.failure !== undefined, pushed: false };
  }
}

function fromProxy(s: ProxyStatus): Omit<StatusState, 'pushed'> {
  // An unknown state from a newer server is shown as an error with its message.
  const kind: StatusKind = proxyStates.includes(s.state) ? s.state : 'error';
  return { kind, address: s.address ?? '', message: s.message ?? '', failed: false };
}

export interface StatusView {
  /** With a $(codicon) prefix. */
  text: string;
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

const clickHint = 'Click to show the Dev Tunnel Proxy output.';

export function renderStatus(state: StatusState): StatusView {
  const command = Commands.showOutput;
  const addr = state.address;
  const withMessage = (lead: string) => (state.message ? `${lead}\n\n${state.message}\n\n${clickHint}` : `${lead}\n\n${clickHint}`);
  switch (state.kind) {
    case 'starting':
      return { text: '$(sync~spin) devproxy', tooltip: withMessage('Dev Tunnel Proxy: starting the language server…'), command };
    case 'running':
      return {
        text: words('$(radio-tower) devproxy', addr),
        tooltip: withMessage(`Dev Tunnel Proxy: the proxy answers on http://${addr}.`),
        command,
      };
    case 'other-devproxy':
      return {
        text: words('$(radio-tower) devproxy', addr, '(other)'),
        tooltip: withMessage(
          `Dev Tunnel Proxy: another devproxy (another VS Code window, or devproxy serve) already serves ${addr || 'the address'}; the editor features keep working.`,
        ),
        command,
      };
    case 'port-in-use':
      return {
        text: `$(warning) devproxy: ${shorten(state.message || `${addr} is in use`)}`,
        tooltip: withMessage(`Dev Tunnel Proxy: something else holds ${addr || 'the address'}, so the proxy is not running.`),
        backgroundColor: 'statusBarItem.warningBackground',
        command,
      };
    case 'disabled':
      return {
        text: '$(circle-slash) devproxy off',
        tooltip: withMessage('Dev Tunnel Proxy: the proxy is off (devproxy.proxy.enabled is false); the editor features keep working.'),
        command,
      };
    case 'error':
      return {
        text: `$(error) devproxy: ${shorten(state.message || 'the proxy could not start')}`,
        tooltip: withMessage('Dev Tunnel Proxy: the proxy could not start.'),
        backgroundColor: 'statusBarItem.errorBackground',
        command,
      };
    case 'stopped':
      return state.failed
        ? {
            text: '$(error) devproxy stopped',
            tooltip: withMessage('Dev Tunnel Proxy: the language server is not running.'),
            backgroundColor: 'statusBarItem.errorBackground',
            command,
          }
        : { text: '$(debug-stop) devproxy stopped', tooltip: withMessage('Dev Tunnel Proxy: the language server is stopped.'), command };
  }
}
