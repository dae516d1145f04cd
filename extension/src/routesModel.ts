// Turns the server's RoutesResult (devproxy/routes, docs/lsp.md) into the
// model of the Routes tree: one node per route file, one per location under
// it; with more than one folder (a multi-root workspace, or the owner of a
// shared port serving other windows' folders), one node per folder above
// its files. Pure, so what the tree shows is unit-tested without VS Code;
// routesTree.ts only maps these nodes to TreeItems.
//
// Ids are the server's stable ids (the file path; `file#modifier spec`), so
// a refresh keeps what the user expanded and selected.

import { HealthDocument, HealthReport, HealthStatus, Position, Range, RouteConflict, RouteFileInfo, RouteInfo, RoutesFolder, RoutesResult, Settlement } from './contract';
import { escapeMarkdown, healthFor, healthIcon, healthTooltipLines, IconSpec, localTime, statusOf } from './healthModel';
import { tildePath } from './proxyFolders';

export { IconSpec };

/**
 * - active: takes its requests (alone, or by an override or a pinned resolution);
 * - conflict: takes its requests, but other files claim the same route and
 *   nothing settled who wins (the newest file wins for now);
 * - inactive: lost a conflict, or a duplicate;
 * - error: its file does not load.
 */
export type RouteState = 'active' | 'conflict' | 'inactive' | 'error';

export interface RevealTarget {
  uri: string;
  range: Range;
}

export interface FolderNode {
  kind: 'folder';
  /** Stable: `folder:` and the folder's root. */
  id: string;
  /** The folder's label (RoutesResult.folders). */
  label: string;
  root: string;
  description: string;
  tooltip: string;
  icon: IconSpec;
  contextValue: 'folder';
  files: FileNode[];
}

export interface FileNode {
  kind: 'file';
  /** Stable: the file's display path (relative to its folder, prefixed by the folder's label when there are several). */
  id: string;
  path: string;
  /** The id of the FolderNode it is under, when the tree groups by folder. */
  folderId?: string;
  uri: string;
  fileKind: 'app' | 'override';
  ok: boolean;
  /** The proxy serves the last good version of the file, which no longer parses. */
  stale: boolean;
  /** The buffer differs from the disk: the proxy still serves the saved version. */
  unsaved: boolean;
  /** The path without the folder's label when grouped, else the path. */
  label: string;
  description: string;
  tooltip: string;
  icon: IconSpec;
  contextValue: 'file' | 'fileWithErrors';
  routes: RouteNode[];
}

export interface RouteNode {
  kind: 'route';
  /** Stable: the server's route id. */
  id: string;
  /** The id of the FileNode this route is under. */
  fileId: string;
  /** The location as written: modifier and spec. */
  label: string;
  /** The route (RouteInfo.route): what devproxy/rescan and devproxy/routeMetrics take; null for regex and named locations. */
  route: string | null;
  /** 1-based line of the location keyword. */
  line: number;
  /** The upstream, or null. */
  upstream: string | null;
  /** The upstream and the config state ("http://127.0.0.1:5173/ · active"). */
  description: string;
  /** In plain text: where, what, and the config state. */
  tooltip: string;
  /** The tooltip in Markdown, everything from the server escaped, with the health of the last check. */
  tooltipMarkdown: string;
  /** Config state: the engine's decision. */
  state: RouteState;
  /** Runtime health: unknown until the proxy reports. */
  healthStatus: HealthStatus;
  /** The health icon, or the state's for an inactive block and a file that does not load. */
  icon: IconSpec;
  /** Where to open the route through the proxy, or null. */
  url: string | null;
  reveal: RevealTarget;
  /** The report of the last check (devproxy/health), matched by file and line; null until there is one. */
  health: HealthReport | null;
  /**
   * The menus' `viewItem`: whether "Open in browser" applies (a URL), and
   * whether the proxy serves the block, so "Open via Tunnel" does
   * (routeWithUrl; routeWithUrlInactive for an inactive block or one of a
   * file that does not load).
   */
  contextValue: 'route' | 'routeWithUrl' | 'routeWithUrlInactive';
}

export type TreeNode = FolderNode | FileNode | RouteNode;

export interface RoutesModel {
  version: number;
  root: string;
  /** The folder nodes when the table has more than one folder, else empty (the files are the top level). */
  folders: FolderNode[];
  /** Every file node, in the server's order. */
  files: FileNode[];
}

export const emptyRoutesModel: RoutesModel = { version: -1, root: '', folders: [], files: [] };

/** What the model needs besides the table; the defaults suit tests. */
export interface RoutesModelOptions {
  /** The time now, to tell a stale version of today from an older one. */
  now?: Date;
  /** os.homedir(), to show the folders' roots with ~. */
  home?: string;
  /** The newest runtime health (devproxy/health, devproxy/healthChanged); without it every route is unknown. */
  health?: HealthDocument;
}

/** The icon of each route state: a codicon and a theme color, so themes decide the shades. */
export function stateIcon(state: RouteState): IconSpec {
  switch (state) {
    case 'active':
      return { id: 'pass-filled', color: 'testing.iconPassed' };
    case 'conflict':
      return { id: 'warning', color: 'list.warningForeground' };
    case 'inactive':
      return { id: 'circle-slash', color: 'disabledForeground' };
    case 'error':
      return { id: 'error', color: 'list.errorForeground' };
  }
}

function fileIcon(file: RouteFileInfo): IconSpec {
  if (file.stale) {
    return { id: 'warning', color: 'list.warningForeground' };
  }
  if (!file.ok) {
    return { id: 'error', color: 'list.errorForeground' };
  }
  return file.kind === 'override' ? { id: 'layers' } : { id: 'file-code' };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * When the version a stale file serves was read (staleSince, RFC 3339), in
 * local time: `14:02:11` today, `2024-05-02 14:02:11` another day; empty
 * when the server sent no time or one that does not parse.
 */
export function staleTime(since: string | undefined, now: Date = new Date()): string {
  return localTime(since, now);
}

/** "stale: serving the version from 14:02:11": the description of a stale file. */
export function staleDescription(since: string | undefined, now?: Date): string {
  const at = staleTime(since, now);
  return at ? `stale: serving the version from ${at}` : 'stale: serving its last good version';
}

/** What an unsaved file's node says. */
export const unsavedDescription = 'unsaved: the proxy still serves the saved version';

/**
 * Whether a conflict was settled on purpose: an override file won, or the
 * winner is pinned in .devproxy/resolutions.json. The others (newest,
 * same-age-first-by-path) go by file age, which the next save can change,
 * so the user should confirm them. Reads the code (reasonCode), never the
 * words beside it; a code this version does not know is not settled.
 */
export function isSettled(code: Settlement | undefined): boolean {
  return code === 'override' || code === 'pinned';
}

/** fileServes: the file loads, or the proxy serves its last good version (stale). */
function routeState(route: RouteInfo, fileServes: boolean, conflicts: RouteConflict[]): RouteState {
  if (!fileServes) {
    return 'error';
  }
  if (!route.active) {
    return 'inactive';
  }
  if (!route.conflict) {
    return 'active';
  }
  const c = conflicts.find((x) => x.route === route.conflict);
  return c && isSettled(c.reasonCode) ? 'active' : 'conflict';
}

/** The config state in a word, for the description beside the upstream. */
export function stateWord(state: RouteState): string {
  switch (state) {
    case 'active':
      return 'active';
    case 'conflict':
      return 'contested';
    case 'inactive':
      return 'inactive';
    case 'error':
      return 'not loaded';
  }
}

/**
 * The icon of a route: its runtime health, except where config decides
 * that nothing is served (an inactive block, a file that does not load).
 */
export function routeIcon(state: RouteState, health: HealthStatus): IconSpec {
  return state === 'inactive' || state === 'error' ? stateIcon(state) : healthIcon(health);
}

function conflictLine(route: RouteInfo, conflicts: RouteConflict[]): string | undefined {
  if (!route.conflict) {
    return undefined;
  }
  const c = conflicts.find((x) => x.route === route.conflict);
  if (!c) {
    return `Other files claim ${route.conflict} too.`;
  }
  const others = c.files.filter((f) => f !== c.winner);
  const over = others.length ? ` over ${others.join(', ')}` : '';
  const why = c.reason ? ` (${c.reason})` : '';
  return c.winner === route.file
    ? `Wins the contested route ${c.route}${over}${why}.`
    : `${c.route} is contested: ${c.winner} wins${why}.`;
}

/** Ends a reason with exactly one full stop. */
function sentence(s: string): string {
  return s.trim().replace(/[.\s]+$/, '') + '.';
}

function routeTooltip(route: RouteInfo, state: RouteState, conflicts: RouteConflict[], file: FileNode, staleAt: string): string {
  const lines = [`${route.label} — ${route.file}:${route.line}`];
  if (file.stale) {
    lines.push(`Served from the version of ${staleAt || 'the last time the file parsed'}: the file no longer parses.`);
  } else if (file.unsaved) {
    lines.push('Served from the saved file: the editor has unsaved changes.');
  }
  if (route.upstream) {
    lines.push(`Upstream: ${route.upstream}`);
  }
  if (route.url) {
    lines.push(`Open: ${route.url}`);
  }
  switch (state) {
    case 'error':
      lines.push('Not loaded: the file has errors (see the Problems panel).');
      break;
    case 'inactive':
      lines.push(`Inactive: ${sentence(route.inactiveReason || 'another block takes its requests')}`);
      break;
    case 'conflict':
    case 'active':
      lines.push('Active.');
      break;
  }
  const c = conflictLine(route, conflicts);
  if (c) {
    lines.push(c);
  }
  return lines.join('\n');
}

function isPosition(p: unknown): p is Position {
  return typeof p === 'object' && p !== null && typeof (p as Position).line === 'number' && typeof (p as Position).character === 'number';
}

function isRange(r: unknown): r is Range {
  return typeof r === 'object' && r !== null && isPosition((r as Range).start) && isPosition((r as Range).end);
}

/** A fallback range when the server sent none: the start of the location's line. */
function rangeOf(route: RouteInfo): Range {
  if (isRange(route.range)) {
    return route.range;
  }
  const line = Math.max(0, (route.line ?? 1) - 1);
  return { start: { line, character: 0 }, end: { line, character: 0 } };
}

export function buildRoutesModel(result: RoutesResult, options: RoutesModelOptions = {}): RoutesModel {
  const now = options.now ?? new Date();
  const files = new Map<string, FileNode>();
  const infos = new Map<string, RouteFileInfo>();
  const order: FileNode[] = [];
  const fileNode = (info: RouteFileInfo): FileNode => {
    const stale = info.stale === true;
    const node: FileNode = {
      kind: 'file',
      id: info.path,
      path: info.path,
      uri: info.uri,
      fileKind: info.kind,
      ok: info.ok,
      stale,
      unsaved: info.unsaved === true,
      label: info.path,
      description: '',
      tooltip: '',
      icon: fileIcon({ ...info, stale }),
      contextValue: info.ok || stale ? 'file' : 'fileWithErrors',
      routes: [],
    };
    files.set(info.path, node);
    infos.set(info.path, info);
    order.push(node);
    return node;
  };
  for (const f of result.files ?? []) {
    if (!files.has(f.path)) {
      fileNode(f);
    }
  }

  const seen = new Set<string>();
  for (const r of result.routes ?? []) {
    // A route whose file the server did not list: show it under its own file anyway.
    const parent = files.get(r.file) ?? fileNode({ path: r.file, uri: r.uri, kind: 'app', ok: true, stale: false });
    // Tree ids must be unique; the server promises it, a duplicate must not break the view.
    let id = r.id;
    for (let n = 2; seen.has(id); n++) {
      id = `${r.id} (${n})`;
    }
    seen.add(id);
    const state = routeState(r, parent.ok || parent.stale, result.conflicts ?? []);
    // An inactive block or one of a file that does not load is not probed: whatever a report says, it is not served.
    const report = state === 'inactive' || state === 'error' ? undefined : healthFor(r, options.health);
    const healthStatus = report ? statusOf(report.status) : 'unknown';
    const tooltip = routeTooltip(r, state, result.conflicts ?? [], parent, staleTime(infos.get(parent.id)?.staleSince, now));
    const healthLines = state === 'inactive' || state === 'error' ? [] : healthTooltipLines(report, { now, received: options.health !== undefined });
    parent.routes.push({
      kind: 'route',
      id,
      fileId: parent.id,
      label: r.label || `${r.modifier ? r.modifier + ' ' : ''}${r.spec}`,
      route: r.route ?? null,
      line: r.line,
      upstream: r.upstream ?? null,
      description: [r.upstream ?? '', stateWord(state)].filter((p) => p !== '').join(' · '),
      tooltip,
      tooltipMarkdown: [...tooltip.split('\n').map(escapeMarkdown), ...healthLines].join('  \n'),
      state,
      healthStatus,
      icon: routeIcon(state, healthStatus),
      url: r.url ?? null,
      reveal: { uri: r.uri, range: rangeOf(r) },
      health: report ?? null,
      contextValue: !r.url ? 'route' : state === 'inactive' || state === 'error' ? 'routeWithUrlInactive' : 'routeWithUrl',
    });
  }

  for (const f of order) {
    describeFile(f, infos.get(f.id)?.staleSince, now);
    f.routes.sort(byLine);
  }
  // A stable order, whatever the server's (it lists files by age): folder,
  // then file name, then line. A save must not move the rows under the user.
  order.sort(byFolderThenName);
  const folders = groupByFolder(result.folders ?? [], order, infos, options.home ?? '');
  return { version: result.version, root: result.root, folders, files: order };
}

/** Plain code-unit order: the same on every machine and locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Splits a display path into its folder and its name: `apps/a.conf` → [`apps`, `a.conf`]. */
function folderAndName(p: string): [string, string] {
  const at = p.lastIndexOf('/');
  return at < 0 ? ['', p] : [p.slice(0, at), p.slice(at + 1)];
}

/** The files' order: by folder, then by file name; the tree never follows modification times. */
export function byFolderThenName(a: { path: string }, b: { path: string }): number {
  const [fa, na] = folderAndName(a.path);
  const [fb, nb] = folderAndName(b.path);
  return compareText(fa, fb) || compareText(na, nb);
}

/** The routes' order in a file: by line, as written. */
export function byLine(a: { line: number; label: string }, b: { line: number; label: string }): number {
  return a.line - b.line || compareText(a.label, b.label);
}

/** Sets a file node's description and tooltip from its state and routes. */
function describeFile(f: FileNode, staleSince: string | undefined, now: Date): void {
  const kind = f.fileKind === 'override' ? 'override route file' : 'app route file';
  const count = plural(f.routes.length, 'route', 'routes');
  const inactive = f.routes.filter((r) => r.state === 'inactive').length;
  const counts = `${count}${inactive ? `, ${inactive} inactive` : ''}`;
  const lines = [`${f.path} (${kind})`];
  if (f.stale) {
    const at = staleTime(staleSince, now);
    f.description = staleDescription(staleSince, now);
    lines.push(`Stale: the file no longer parses (see the Problems panel); the proxy serves ${at ? `the version from ${at}` : 'its last good version'}.`);
    lines.push(counts);
  } else if (f.ok) {
    f.description = f.unsaved ? `${count} · ${unsavedDescription}` : count;
    lines.push(counts);
  } else {
    f.description = 'not loaded: errors';
    lines.push('Not loaded: the file has errors, so none of its routes are served. See the Problems panel.');
  }
  if (f.unsaved) {
    lines.push(`${unsavedDescription.charAt(0).toUpperCase()}${unsavedDescription.slice(1)}; save the file to serve your changes.`);
  }
  f.tooltip = lines.join('\n');
}

/**
 * Whether path p is root or inside it. Windows roots come with
 * backslashes and a drive letter in either case, paths from URIs with
 * forward slashes: both are compared with forward slashes.
 */
function isUnder(p: string, root: string): boolean {
  const norm = (x: string) => x.replace(/\\/g, '/').replace(/^([A-Za-z]):/, (_, d: string) => d.toLowerCase() + ':');
  const r = norm(root).replace(/\/+$/, '');
  const q = norm(p);
  return r !== '' && (q === r || q.startsWith(r + '/'));
}

/** The absolute path of a file URI, or empty. */
function fsPathOf(uri: string): string {
  const m = /^file:\/\/[^/]*(\/.*)$/.exec(uri);
  if (!m) {
    return '';
  }
  try {
    const p = decodeURIComponent(m[1]);
    return /^\/[A-Za-z]:/.test(p) ? p.slice(1) : p;
  } catch {
    return '';
  }
}

/**
 * With more than one folder, one node per folder above its files, in the
 * server's order of folders. A file's folder is its `folder` label; failing
 * that, the folder its path starts with, or whose root holds its URI; a
 * file of no known folder goes under a last node, "other".
 */
function groupByFolder(folders: readonly RoutesFolder[], files: FileNode[], infos: Map<string, RouteFileInfo>, home: string): FolderNode[] {
  if (folders.length <= 1) {
    return [];
  }
  const nodes: FolderNode[] = folders.map((f) => ({
    kind: 'folder',
    id: `folder:${f.root}`,
    label: f.label,
    root: f.root,
    description: tildePath(f.root, home),
    tooltip: '',
    icon: { id: 'root-folder' },
    contextValue: 'folder',
    files: [],
  }));
  let other: FolderNode | undefined;
  for (const file of files) {
    const info = infos.get(file.id);
    const uriPath = fsPathOf(file.uri);
    const node =
      nodes.find((n) => info?.folder !== undefined && n.label === info.folder) ??
      nodes.find((n) => file.path.startsWith(n.label + '/')) ??
      nodes.find((n) => uriPath !== '' && isUnder(uriPath, n.root));
    let parent = node;
    if (!parent) {
      other ??= { kind: 'folder', id: 'folder:', label: 'other', root: '', description: '', tooltip: 'Route files of no folder the server listed.', icon: { id: 'folder' }, contextValue: 'folder', files: [] };
      parent = other;
    }
    file.folderId = parent.id;
    if (parent.label && file.path.startsWith(parent.label + '/')) {
      file.label = file.path.slice(parent.label.length + 1);
    }
    parent.files.push(file);
  }
  for (const n of nodes) {
    const routes = n.files.reduce((sum, f) => sum + f.routes.length, 0);
    const stale = n.files.filter((f) => f.stale).length;
    n.tooltip = [`${n.label} — ${n.root}`, `${plural(n.files.length, 'route file', 'route files')}, ${plural(routes, 'route', 'routes')}${stale ? `, ${stale} stale` : ''}`].join('\n');
  }
  return other ? [...nodes, other] : nodes;
}

/**
 * Whether a RoutesResult should replace the model: results of one server
 * only grow in version, so an older answer that arrives late is dropped.
 */
export function isNewer(model: RoutesModel, result: RoutesResult): boolean {
  return result.version >= model.version;
}

/**
 * The target of devproxy.revealRoute: `{uri, range}` as docs/lsp.md passes
 * it, or the route node the tree's context menu passes.
 */
export function revealTargetOf(arg: unknown): RevealTarget | undefined {
  if (typeof arg !== 'object' || arg === null) {
    return undefined;
  }
  const node = arg as Partial<RouteNode> & Partial<RevealTarget>;
  if (node.kind === 'route' && node.reveal) {
    return node.reveal;
  }
  if (typeof node.uri === 'string' && isRange(node.range)) {
    return { uri: node.uri, range: node.range };
  }
  return undefined;
}

/** Where devproxy.renameRoute starts VS Code's rename. */
export interface RenameTarget {
  uri: string;
  position: Position;
}

/**
 * The target of devproxy.renameRoute, from the command's arguments: `uri,
 * position` as the server's "Rename route" code action passes them, or the
 * route node the tree's context menu passes (its block's start).
 */
export function renameTargetOf(args: unknown[]): RenameTarget | undefined {
  const [first, second] = args;
  if (typeof first === 'string' && isPosition(second)) {
    return { uri: first, position: { line: second.line, character: second.character } };
  }
  const reveal = revealTargetOf(first);
  return reveal && { uri: reveal.uri, position: reveal.range.start };
}

/**
 * The URL of devproxy.openRoute: a string (code lenses pass the URL), or
 * the route node of the tree. Only http and https: the server's URL goes to
 * the system browser, nothing else should.
 */
export function urlOf(arg: unknown): string | undefined {
  let url: unknown = arg;
  if (typeof arg === 'object' && arg !== null) {
    url = (arg as { url?: unknown }).url;
  }
  if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(url)) {
    return undefined;
  }
  return url;
}

/**
 * A URL split into its origin and the rest (path, query, fragment), for
 * "Open in Browser": the origin goes through vscode.env.asExternalUri (in a
 * remote window, a forwarded port), then the rest is appended as it was, so
 * the route's path is never re-encoded. undefined for anything but http(s).
 */
export function splitOrigin(url: string): { origin: string; rest: string } | undefined {
  const m = /^(https?:\/\/[^/?#\s]+)([^\s]*)$/i.exec(url);
  if (!m) {
    return undefined;
  }
  return { origin: m[1], rest: m[2] || '/' };
}

/** The URL to open: the external origin (no trailing slash) and the rest of the route's URL. */
export function joinExternal(externalOrigin: string, rest: string): string {
  return externalOrigin.replace(/\/+$/, '') + (rest.startsWith('/') ? rest : `/${rest}`);
}

/**
 * The route of devproxy.rescanRoute and devproxy.showRouteDetails: the route
 * node of the tree's menus, or a route string ("/app/").
 */
export function routeOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') {
    return arg.startsWith('/') ? arg : undefined;
  }
  if (typeof arg === 'object' && arg !== null && (arg as RouteNode).kind === 'route') {
    return (arg as RouteNode).route ?? undefined;
  }
  return undefined;
}

/** A file with more routes than this starts collapsed in the tree. */
export const collapseAbove = 20;

/**
 * How a file node starts: expanded when it has routes, collapsed when it has
 * more than collapseAbove (a large file would push every other file out of
 * sight), and expanded when it does not load, to show its errors. VS Code
 * keeps what the user chose afterwards, as the ids are stable.
 */
export function fileStartsExpanded(file: FileNode, problems: number): 'expanded' | 'collapsed' | 'none' {
  if (!file.ok && !file.stale) {
    return problems > 0 ? 'expanded' : 'none';
  }
  if (file.routes.length === 0) {
    return 'none';
  }
  return file.routes.length > collapseAbove ? 'collapsed' : 'expanded';
}

/** One error of a file that does not load, shown under its node. */
export interface ProblemNode {
  kind: 'problem';
  /** Stable enough: the file's id, the line and the message. */
  id: string;
  fileId: string;
  /** The message. */
  label: string;
  /** "line 3". */
  description: string;
  reveal: RevealTarget;
  contextValue: 'problem';
}

/** An error diagnostic of a route file: what the tree needs of a vscode.Diagnostic. */
export interface FileProblem {
  message: string;
  range: Range;
}

/** The nodes of a broken file's errors, in the order of their lines. */
export function problemNodes(file: FileNode, problems: readonly FileProblem[]): ProblemNode[] {
  const seen = new Set<string>();
  return [...problems]
    .sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character)
    .map((p) => {
      let id = `${file.id}#problem:${p.range.start.line + 1}:${p.message}`;
      for (let n = 2; seen.has(id); n++) {
        id = `${file.id}#problem:${p.range.start.line + 1}:${p.message} (${n})`;
      }
      seen.add(id);
      return {
        kind: 'problem' as const,
        id,
        fileId: file.id,
        label: p.message.split('\n')[0],
        description: `line ${p.range.start.line + 1}`,
        reveal: { uri: file.uri, range: p.range },
        contextValue: 'problem' as const,
      };
    });
}

/**
 * Whether a route matches the tree's filter: its path (the location as
 * written, or the route), its file's path, or its upstream contains the
 * text, ignoring case.
 */
export function routeMatches(route: RouteNode, file: FileNode, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (f === '') {
    return true;
  }
  return [route.label, route.route ?? '', file.path, route.upstream ?? ''].some((s) => s.toLowerCase().includes(f));
}

/**
 * The model narrowed by the filter: a file keeps the routes that match
 * (all of them when its path does); files and folders left with no route
 * go. An empty filter returns the model as it is.
 */
export function filterRoutesModel(model: RoutesModel, filter: string): RoutesModel {
  const f = filter.trim().toLowerCase();
  if (f === '') {
    return model;
  }
  const narrowed = new Map<FileNode, FileNode>();
  for (const file of model.files) {
    const routes = file.routes.filter((r) => routeMatches(r, file, f));
    if (routes.length > 0 || file.path.toLowerCase().includes(f)) {
      narrowed.set(file, { ...file, routes });
    }
  }
  const files = model.files.filter((x) => narrowed.has(x)).map((x) => narrowed.get(x)!);
  const folders = model.folders
    .map((folder) => ({ ...folder, files: folder.files.filter((x) => narrowed.has(x)).map((x) => narrowed.get(x)!) }))
    .filter((folder) => folder.files.length > 0);
  return { ...model, folders, files };
}

/** The number of routes of a model. */
export function routeCount(model: RoutesModel): number {
  return model.files.reduce((n, f) => n + f.routes.length, 0);
}

/** The view's description while a filter is set: `filter: api (3 of 12)`. */
export function filterDescription(filter: string, shown: number, total: number): string {
  const f = filter.trim();
  return f === '' ? '' : `filter: ${f} (${shown} of ${total})`;
}

/**
 * The message above the tree while a filter is set (the description alone
 * is cut off in a narrow side bar): `Filter “api”: 3 of 12 routes.`
 */
export function filterMessage(filter: string, shown: number, total: number): string {
  const f = filter.trim();
  return f === '' ? '' : `Filter “${f}”: ${shown} of ${plural(total, 'route', 'routes')}.`;
}

/**
 * What the Routes view shows when it has no rows: the value of the context
 * key devproxy.routesView, which picks the viewsWelcome message.
 * - starting: the server has not answered yet (no message);
 * - stopped: the language server is not running (a Restart button);
 * - empty: the table has no route files ("No routes yet");
 * - filtered: a filter hides every route (a Clear Filter button);
 * - routes: there are rows.
 */
export type RoutesViewState = 'starting' | 'stopped' | 'empty' | 'filtered' | 'routes';

export function routesViewState(s: { stopped: boolean; loaded: boolean; files: number; shownFiles: number }): RoutesViewState {
  if (s.stopped) {
    return 'stopped';
  }
  if (!s.loaded) {
    return 'starting';
  }
  if (s.files === 0) {
    return 'empty';
  }
  return s.shownFiles === 0 ? 'filtered' : 'routes';
}
