// Turns the server's RoutesResult (devproxy/routes, docs/lsp.md) into the
// model of the Routes tree: one node per route file, one per location under
// it. Pure, so what the tree shows is unit-tested without VS Code;
// routesTree.ts only maps these nodes to TreeItems.
//
// Ids are the server's stable ids (the file path; `file#modifier spec`), so
// a refresh keeps what the user expanded and selected.

import { Position, Range, RouteConflict, RouteFileInfo, RouteInfo, RoutesResult, Settlement } from './contract';

/**
 * - active: takes its requests (alone, or by an override or a pinned resolution);
 * - conflict: takes its requests, but other files claim the same route and
 *   nothing settled who wins (the newest file wins for now);
 * - inactive: lost a conflict, or a duplicate;
 * - error: its file does not load.
 */
export type RouteState = 'active' | 'conflict' | 'inactive' | 'error';

/** A codicon id and an optional ThemeColor id. */
export interface IconSpec {
  id: string;
  color?: string;
}

export interface RevealTarget {
  uri: string;
  range: Range;
}

export interface FileNode {
  kind: 'file';
  /** Stable: the file's path relative to the workspace root. */
  id: string;
  path: string;
  uri: string;
  fileKind: 'app' | 'override';
  ok: boolean;
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
  /** The upstream, or empty. */
  description: string;
  tooltip: string;
  state: RouteState;
  icon: IconSpec;
  /** Where to open the route through the proxy, or null. */
  url: string | null;
  reveal: RevealTarget;
  /** Reserved for the health scanner (null today); replaces the state icon later. */
  health: unknown;
  /** The menus' `viewItem`: whether "Open in browser" applies. */
  contextValue: 'route' | 'routeWithUrl';
}

export type TreeNode = FileNode | RouteNode;

export interface RoutesModel {
  version: number;
  root: string;
  files: FileNode[];
}

export const emptyRoutesModel: RoutesModel = { version: -1, root: '', files: [] };

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
  if (!file.ok) {
    return { id: 'error', color: 'list.errorForeground' };
  }
  return file.kind === 'override' ? { id: 'layers' } : { id: 'file-code' };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

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

function routeState(route: RouteInfo, fileOk: boolean, conflicts: RouteConflict[]): RouteState {
  if (!fileOk) {
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

function routeTooltip(route: RouteInfo, state: RouteState, conflicts: RouteConflict[]): string {
  const lines = [`${route.label} — ${route.file}:${route.line}`];
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

export function buildRoutesModel(result: RoutesResult): RoutesModel {
  const files = new Map<string, FileNode>();
  const order: FileNode[] = [];
  const fileNode = (info: RouteFileInfo): FileNode => {
    const node: FileNode = {
      kind: 'file',
      id: info.path,
      path: info.path,
      uri: info.uri,
      fileKind: info.kind,
      ok: info.ok,
      label: info.path,
      description: '',
      tooltip: '',
      icon: fileIcon(info),
      contextValue: info.ok ? 'file' : 'fileWithErrors',
      routes: [],
    };
    files.set(info.path, node);
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
    const parent = files.get(r.file) ?? fileNode({ path: r.file, uri: r.uri, kind: 'app', ok: true });
    // Tree ids must be unique; the server promises it, a duplicate must not break the view.
    let id = r.id;
    for (let n = 2; seen.has(id); n++) {
      id = `${r.id} (${n})`;
    }
    seen.add(id);
    const state = routeState(r, parent.ok, result.conflicts ?? []);
    parent.routes.push({
      kind: 'route',
      id,
      fileId: parent.id,
      label: r.label || `${r.modifier ? r.modifier + ' ' : ''}${r.spec}`,
      description: r.upstream ?? '',
      tooltip: routeTooltip(r, state, result.conflicts ?? []),
      state,
      icon: stateIcon(state),
      url: r.url ?? null,
      reveal: { uri: r.uri, range: rangeOf(r) },
      health: r.health ?? null,
      contextValue: r.url ? 'routeWithUrl' : 'route',
    });
  }

  for (const f of order) {
    const kind = f.fileKind === 'override' ? 'override route file' : 'app route file';
    if (f.ok) {
      f.description = plural(f.routes.length, 'route', 'routes');
      const inactive = f.routes.filter((r) => r.state === 'inactive').length;
      f.tooltip = `${f.path} (${kind})\n${f.description}${inactive ? `, ${inactive} inactive` : ''}`;
    } else {
      f.description = 'not loaded: errors';
      f.tooltip = `${f.path} (${kind})\nNot loaded: the file has errors, so none of its routes are served. See the Problems panel.`;
    }
  }
  return { version: result.version, root: result.root, files: order };
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
