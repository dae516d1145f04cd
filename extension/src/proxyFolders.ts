// How the shared proxy is shown to people: which process holds the port
// (the owner), which folders it serves, and the items of "Show Who Serves
// the Proxy". Several devproxy processes on one machine share one port
// (docs/lsp.md, the states of ProxyStatus): the owner serves every
// registered folder, the other windows join it. Pure; statusBar.ts renders
// the status bar from it and showProxyOwner.ts maps the items to a QuickPick.

import { ProxyFolder, ProxyOwner } from './contract';

/**
 * A path with the home directory written as ~ (`~/src/shop`), as shells
 * and VS Code's window titles show it. home is os.homedir(); empty leaves
 * the path as it is.
 */
export function tildePath(p: string, home: string): string {
  const h = home.replace(/[\\/]+$/, '');
  if (h === '' || !p.startsWith(h)) {
    return p;
  }
  const rest = p.slice(h.length);
  if (rest === '') {
    return '~';
  }
  return rest.startsWith('/') || rest.startsWith('\\') ? '~' + rest : p;
}

const loopbackHosts = new Set(['', '127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The listen address, short: `:8080` when the host is this machine's
 * loopback (or every interface, as `:8080` is written in the settings),
 * else the whole `host:port`.
 */
export function shortAddress(address: string): string {
  const m = /^(.*):(\d{1,5})$/.exec(address);
  if (!m) {
    return address;
  }
  return loopbackHosts.has(m[1]) ? `:${m[2]}` : address;
}

/**
 * Escapes text for a MarkdownString: paths, window names and the server's
 * messages are shown as they are, never as markup or links. ~ too: VS
 * Code's Markdown strikes out text between two single tildes, as two ~/
 * paths would have.
 */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]<>|#~]/g, (c) => '\\' + c);
}

/** "1 folder", "3 folders". */
export function folderCount(n: number): string {
  return `${n} ${n === 1 ? 'folder' : 'folders'}`;
}

/** The owner of the port in words: "the VS Code window “shop” (pid 4242)", "devproxy serve (pid 77)". */
export function ownerName(owner: ProxyOwner): string {
  if (owner.kind === 'serve') {
    return `devproxy serve (pid ${owner.pid})`;
  }
  return owner.name ? `the VS Code window “${owner.name}” (pid ${owner.pid})` : `a VS Code window (pid ${owner.pid})`;
}

/** Who registered a folder, in parentheses after it. */
function folderWho(f: ProxyFolder): string {
  if (f.mine) {
    return 'this window';
  }
  return f.kind === 'serve' ? 'devproxy serve' : 'another VS Code window';
}

/** One folder as a line: "shop — ~/src/shop (this window)". */
export function folderLine(f: ProxyFolder, home: string): string {
  return `${f.label} — ${tildePath(f.root, home)} (${folderWho(f)})`;
}

/** The Markdown list of the folders, escaped: one "- label — root (who)" per folder. */
export function folderList(folders: readonly ProxyFolder[], home: string): string {
  return folders.map((f) => `- ${escapeMarkdown(folderLine(f, home))}`).join('\n');
}

/** What the QuickPick of "Show Who Serves the Proxy" does with an item. */
export type OwnerAction = 'takeOver' | 'createRouteFile' | 'showOutput';

export interface OwnerItem {
  label: string;
  description?: string;
  detail?: string;
  /** A separator line with label as its title. */
  separator?: boolean;
  action?: OwnerAction;
}

/** What "Show Who Serves the Proxy" knows: the newest status (statusBar.ts's StatusState). */
export interface OwnerFacts {
  kind: string;
  address: string;
  message: string;
  folders: readonly ProxyFolder[];
  owner?: ProxyOwner;
}

/**
 * The items of "Show Who Serves the Proxy": who holds the port, every
 * folder the proxy serves, and what this window can do: take the port over
 * when it is a member, create a route file when it is idle, show the output.
 */
export function ownerItems(facts: OwnerFacts, home: string): OwnerItem[] {
  const items: OwnerItem[] = [];
  const addr = facts.address || 'the proxy address';
  if (facts.kind === 'running') {
    items.push({ label: `Port ${addr}`, separator: true });
    items.push({ label: '$(radio-tower) This window serves the proxy', description: facts.owner ? `pid ${facts.owner.pid}` : undefined, detail: facts.message || undefined });
  } else if (facts.kind === 'joined') {
    items.push({ label: `Port ${addr}`, separator: true });
    const owner = facts.owner;
    items.push({
      label: `$(radio-tower) ${owner ? capitalise(ownerName(owner)) : 'Another devproxy'} serves the proxy`,
      description: owner?.root ? tildePath(owner.root, home) : undefined,
      detail: 'This window joined it: its route files are served there.',
    });
  } else {
    items.push({ label: facts.address ? `Port ${facts.address}` : 'Dev Tunnel Proxy', separator: true });
    items.push({ label: `$(info) ${stateWords(facts.kind)}`, detail: facts.message || undefined });
  }
  if (facts.folders.length > 0) {
    items.push({ label: `Folders it serves (${facts.folders.length})`, separator: true });
    for (const f of facts.folders) {
      items.push({
        label: `$(${f.mine ? 'root-folder-opened' : 'root-folder'}) ${f.label}`,
        description: tildePath(f.root, home),
        detail: `${capitalise(folderWho(f))}, pid ${f.pid}`,
      });
    }
  }
  items.push({ label: 'Actions', separator: true });
  if (facts.kind === 'joined') {
    items.push({
      label: '$(arrow-swap) Take over',
      detail: 'Ask the owner to stop, so that this window serves the proxy (and every folder registered with it).',
      action: 'takeOver',
    });
  }
  if (facts.kind === 'idle') {
    items.push({ label: '$(new-file) Create a route file', detail: 'A route file makes this window start a proxy, or join the one on the port.', action: 'createRouteFile' });
  }
  items.push({ label: '$(output) Show the output', action: 'showOutput' });
  return items;
}

function stateWords(kind: string): string {
  switch (kind) {
    case 'idle':
      return 'This window has no route files, so it does not start a proxy.';
    case 'starting':
      return 'The proxy is starting.';
    case 'port-in-use':
      return 'Something other than devproxy holds the port.';
    case 'disabled':
      return 'The proxy is off (devproxy.proxy.enabled is false).';
    case 'stopped':
      return 'The language server is not running.';
    default:
      return 'The proxy is not running.';
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Whether a devproxy/takeOver answer has the shape of TakeOverResult. */
export function isTakeOverResult(v: unknown): v is { ok: boolean; message: string } {
  return typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean' && typeof (v as { message?: unknown }).message === 'string';
}
