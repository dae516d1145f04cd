// The contract between the extension and `devproxy lsp`, as docs/lsp.md
// states it: the custom messages and their types, and the ids of the
// commands, views and settings the extension contributes. Pure (no `vscode`
// import), so unit tests can compare it with docs/lsp.md and package.json.

/** Custom LSP methods, all under the `devproxy/` prefix. */
export const Methods = {
  /** request, client → server: `{}` → RoutesResult */
  routes: 'devproxy/routes',
  /** request, client → server: ExplainParams → the `devproxy explain` document */
  explain: 'devproxy/explain',
  /** notification, server → client: `{version}`; ask `devproxy/routes` again */
  routesChanged: 'devproxy/routesChanged',
  /** notification, server → client: ProxyStatus */
  status: 'devproxy/status',
} as const;

/** Commands of docs/lsp.md's "Client commands" table. */
export const Commands = {
  openRoute: 'devproxy.openRoute',
  revealRoute: 'devproxy.revealRoute',
  renameRoute: 'devproxy.renameRoute',
  refreshRoutes: 'devproxy.refreshRoutes',
  explain: 'devproxy.explain',
  restartServer: 'devproxy.restartServer',
  showOutput: 'devproxy.showOutput',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

export const LanguageId = 'devproxy-routes';
export const ViewContainerId = 'devproxy';
export const RoutesViewId = 'devproxy.routes';
/** The client id: VS Code reads `<id>.trace.server` for the LSP trace. */
export const ClientId = 'devproxy';
export const DisplayName = 'Dev Tunnel Proxy';
export const OutputChannelName = 'Dev Tunnel Proxy';
export const TraceChannelName = 'Dev Tunnel Proxy Trace';

/** An LSP position: 0-based line, 0-based UTF-16 character. */
export interface Position {
  line: number;
  character: number;
}

/** An LSP range. */
export interface Range {
  start: Position;
  end: Position;
}

/** schemas/lsp-status.schema.json */
export type ProxyState = 'running' | 'other-devproxy' | 'port-in-use' | 'disabled' | 'error';

export interface ProxyStatus {
  state: ProxyState;
  /** The listen address, host:port. */
  address: string;
  /** http://address when something serves it, else empty. */
  url: string;
  /** For people: what happened and, when something is wrong, the setting to change. */
  message: string;
}

/** schemas/lsp-routes-changed.schema.json */
export interface RoutesChangedParams {
  version: number;
}

/** One route file of RoutesResult.files. */
export interface RouteFileInfo {
  /** Relative to the workspace root, forward slashes. */
  path: string;
  uri: string;
  kind: 'app' | 'override';
  /** False when the file does not load (syntax errors): its routes are not in the table. */
  ok: boolean;
}

/**
 * Why a block takes no requests: proxy/routing.InactiveReason,
 * schemas/lsp-routes.schema.json `$defs.inactiveCode`. Switch on these, never
 * on the words beside them.
 */
export const InactiveCodes = ['duplicate', 'reserved', 'lost-conflict', 'shadowed-by-earlier'] as const;
export type InactiveCode = (typeof InactiveCodes)[number];

/**
 * How the winner of a conflict was chosen: proxy/routing.Settlement,
 * schemas/lsp-routes.schema.json `$defs.settlement`.
 */
export const Settlements = ['override', 'pinned', 'newest', 'same-age-first-by-path'] as const;
export type Settlement = (typeof Settlements)[number];

/** One location of RoutesResult.routes. */
export interface RouteInfo {
  /** Stable across edits: `file#modifier spec`, with #2, #3… appended to repeats. */
  id: string;
  route: string | null;
  file: string;
  uri: string;
  /** 1-based line of the location keyword. */
  line: number;
  /** The location header, for "Reveal in file". */
  range: Range;
  modifier: '' | '=' | '^~' | '~' | '~*' | '@';
  spec: string;
  /** The modifier and spec as written, e.g. "^~ /web/". */
  label: string;
  active: boolean;
  /** Why the block takes no requests; null when active. */
  inactiveCode: InactiveCode | null;
  /** inactiveCode in words, for people: show it, never match on it. */
  inactiveReason: string | null;
  /** The contested route, when other files claim it too. */
  conflict: string | null;
  upstream: string | null;
  /** Where to open the route through the proxy; null for regex and named locations. */
  url: string | null;
  /** Reserved for the health scanner; null until it reports. */
  health: unknown;
}

export interface RouteConflict {
  route: string;
  winner: string;
  /** reasonCode in words, for people: show it, never match on it. */
  reason: string;
  reasonCode: Settlement;
  files: string[];
}

/** schemas/lsp-routes.schema.json */
export interface RoutesResult {
  version: number;
  root: string;
  files: RouteFileInfo[];
  routes: RouteInfo[];
  conflicts: RouteConflict[];
  proxy: ProxyStatus;
}

/** schemas/lsp-explain-params.schema.json */
export interface ExplainParams {
  url: string;
  method?: string;
  headers?: Record<string, string>;
}
