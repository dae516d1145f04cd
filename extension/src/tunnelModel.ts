// The tunnel's state as the client sees it, and how to show it: the second
// status bar item, the context key of "Open via Tunnel", the public URL a
// person types for a tunnel they run themselves, and a route's address
// through the tunnel. Pure; tunnelItem.ts applies it to VS Code.
//
// Two sources report the tunnel: devproxy/tunnelChanged, pushed by the
// server on every change (in a window that joined another devproxy, the
// owner's tunnel), and the answers of devproxy/tunnel, tunnelStart and
// tunnelStop. A push always wins: it is the newest news, even when a new
// owner of the port has a tunnel older than the last one shown. An answer
// may cross a push on the wire ("starting" answered after "up" was pushed),
// so it is taken only when it is not older than what is shown (`since`).
// When the server stops or restarts, nothing is known: the item hides.

import { Commands, TunnelState, TunnelStatuses, TunnelStartProvider } from './contract';
import { escapeMarkdown } from './proxyFolders';

export const tunnelUnknown: TunnelState = { provider: '', status: 'off', since: '' };

export type TunnelEvent =
  /** devproxy/tunnelChanged */
  | { type: 'pushed'; state: TunnelState }
  /** the answer of devproxy/tunnel, tunnelStart or tunnelStop */
  | { type: 'answered'; state: TunnelState }
  /** the server stopped or is starting again */
  | { type: 'reset' };

/** Whether a notification's params or an answer look like a TunnelState. */
export function isTunnelState(v: unknown): v is TunnelState {
  if (typeof v !== 'object' || v === null) {
    return false;
  }
  const s = v as Record<string, unknown>;
  return typeof s.status === 'string' && (s.provider === undefined || typeof s.provider === 'string') && (s.publicUrl === undefined || typeof s.publicUrl === 'string');
}

/** A state with every field in range: an unknown status from a newer server is an error, with its words. */
function normalise(s: TunnelState): TunnelState {
  const known = (TunnelStatuses as readonly string[]).includes(s.status);
  return {
    // A provider a newer server names is kept: the tooltip shows it as written.
    provider: typeof s.provider === 'string' ? s.provider : '',
    ...(typeof s.publicUrl === 'string' && s.publicUrl !== '' ? { publicUrl: s.publicUrl } : {}),
    status: known ? s.status : 'error',
    ...(typeof s.error === 'string' && s.error !== '' ? { error: s.error } : known ? {} : { error: `the tunnel is "${s.status}"` }),
    since: typeof s.since === 'string' ? s.since : '',
  };
}

export function nextTunnel(current: TunnelState, event: TunnelEvent): TunnelState {
  switch (event.type) {
    case 'reset':
      return tunnelUnknown;
    case 'pushed':
      return normalise(event.state);
    case 'answered': {
      const was = Date.parse(current.since);
      const is = Date.parse(event.state.since);
      return !Number.isNaN(was) && !Number.isNaN(is) && is < was ? current : normalise(event.state);
    }
  }
}

/** The public URL while the tunnel is up, else undefined. */
export function upUrl(state: TunnelState): string | undefined {
  return state.status === 'up' && state.publicUrl ? state.publicUrl : undefined;
}

export interface TunnelItemView {
  /** Off without an error: the item is hidden. */
  visible: boolean;
  /** With a $(codicon) prefix. */
  text: string;
  /** Markdown, everything from the server escaped. */
  tooltip: string;
  /** The item's accessible name: "Tunnel up: https://abc.ngrok.app". */
  label: string;
  command: string;
  backgroundColor?: 'statusBarItem.warningBackground';
}

/** The host (and port, when not the default) of a URL, for the status bar; the URL itself when it does not parse. */
export function tunnelHost(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

const providerNames: Record<string, string> = { ngrok: 'ngrok', cloudflared: 'cloudflared', manual: 'a URL you entered' };

function byWhom(state: TunnelState): string {
  const name = providerNames[state.provider];
  return name ? ` (${name})` : state.provider ? ` (${escapeMarkdown(state.provider)})` : '';
}

export function renderTunnel(state: TunnelState): TunnelItemView {
  const url = upUrl(state);
  if (url) {
    return {
      visible: true,
      text: `$(globe) ${tunnelHost(url)}`,
      tooltip: [`Dev Tunnel Proxy: the tunnel${byWhom(state)} is up at ${escapeMarkdown(url)}`, 'Click to copy the URL.'].join('\n\n'),
      label: `Tunnel up: ${url}`,
      command: Commands.copyTunnelUrl,
    };
  }
  if (state.status === 'starting') {
    return {
      visible: true,
      text: '$(sync~spin) tunnel…',
      // While starting, `error` says what it waits for ("the ngrok agent … has no tunnel to … yet").
      tooltip: [
        `Dev Tunnel Proxy: the tunnel${byWhom(state)} is starting; waiting for its public URL.`,
        ...(state.error ? [escapeMarkdown(state.error)] : []),
        'Click to show the Dev Tunnel Proxy output.',
      ].join('\n\n'),
      label: 'Tunnel starting',
      command: Commands.showOutput,
    };
  }
  if (state.status === 'error' || state.error) {
    const why = state.error || 'the tunnel failed';
    return {
      visible: true,
      text: '$(warning) tunnel',
      tooltip: [`Dev Tunnel Proxy: the tunnel${byWhom(state)} failed: ${escapeMarkdown(why)}`, 'Click to start a tunnel.'].join('\n\n'),
      label: `Tunnel failed: ${why}`,
      command: Commands.startTunnel,
      backgroundColor: 'statusBarItem.warningBackground',
    };
  }
  // Off (or up without a URL, which a server should not send): nothing to show.
  return { visible: false, text: '', tooltip: '', label: 'Tunnel off', command: Commands.startTunnel };
}

/** One choice of "Start Tunnel"'s quick pick. */
export interface TunnelStartChoice {
  provider: TunnelStartProvider;
  label: string;
  description: string;
}

export const tunnelStartChoices: readonly TunnelStartChoice[] = [
  { provider: 'auto', label: 'Auto', description: 'attach to a running ngrok agent' },
  { provider: 'ngrok', label: 'ngrok', description: 'start ngrok (it must be installed, with its authtoken)' },
  { provider: 'cloudflared', label: 'cloudflared', description: 'start a cloudflared quick tunnel' },
  { provider: 'manual', label: 'Enter public URL…', description: 'a tunnel you run yourself, to the tunnel listener' },
];

/**
 * Checks a public URL typed for a manual tunnel: http or https, a host,
 * nothing else (no path, query, fragment, user or password). Gives the URL
 * as the server should get it (the origin), or why not.
 */
export function checkPublicUrl(input: string): { url: string } | { error: string } {
  const text = input.trim();
  if (text === '') {
    return { error: 'Enter the public URL of your tunnel, like https://abc.ngrok.app' };
  }
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { error: `Not a URL: enter one like https://abc.ngrok.app` };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    return { error: `The URL must start with https:// or http://, not ${u.protocol}//` };
  }
  if (u.hostname === '') {
    return { error: 'The URL needs a host, like https://abc.ngrok.app' };
  }
  if (u.username !== '' || u.password !== '') {
    return { error: 'No user name or password in the URL: only the scheme and the host' };
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '' || /[?#]/.test(text)) {
    return { error: `Only the scheme and the host: ${u.origin}, without a path, query or fragment` };
  }
  return { url: u.origin };
}

/**
 * A route's address through the tunnel: the public URL with the route's
 * path (and query) from its local URL, or the route itself; one slash
 * between them. Undefined when there is nothing to open.
 */
export function tunnelRouteUrl(publicUrl: string, route: { url: string | null; route: string | null }): string | undefined {
  let rest: string | undefined;
  if (route.url) {
    try {
      const u = new URL(route.url);
      rest = u.pathname + u.search;
    } catch {
      rest = undefined;
    }
  }
  rest ??= route.route ?? undefined;
  if (!rest || !publicUrl) {
    return undefined;
  }
  return publicUrl.replace(/\/+$/, '') + '/' + rest.replace(/^\/+/, '');
}
