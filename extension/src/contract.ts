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
  /** request, client → server: `{}` → TakeOverResult; asks the owner of the port to stop so this server takes it */
  takeOver: 'devproxy/takeOver',
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
  showProxyOwner: 'devproxy.showProxyOwner',
  createRouteFile: 'devproxy.createRouteFile',
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

/**
 * schemas/lsp-status.schema.json `state`. Several devproxy processes on one
 * machine share one port: the one that holds it is the owner (running) and
 * serves every registered folder; the others join it (joined). A window
 * without route files and devproxy.json starts and joins nothing (idle).
 */
export const ProxyStates = ['running', 'joined', 'idle', 'starting', 'port-in-use', 'disabled', 'error'] as const;
export type ProxyState = (typeof ProxyStates)[number];

/** Who started a devproxy process: a VS Code window (devproxy lsp) or `devproxy serve`. */
export type ProcessKind = 'vscode' | 'serve';

/** One folder the proxy on the port serves (ProxyStatus.folders). */
export interface ProxyFolder {
  /** The folder, absolute. */
  root: string;
  /** Its short name, unique among the folders: the prefix of display paths. */
  label: string;
  /** Whether this window registered it. */
  mine: boolean;
  /** The process that registered it. */
  pid: number;
  kind: ProcessKind;
}

/** The process that holds the port (ProxyStatus.owner). */
export interface ProxyOwner {
  pid: number;
  kind: ProcessKind;
  /** For people: the window's or the command's name. */
  name: string;
  /** Its (first) folder, absolute. */
  root: string;
}

export interface ProxyStatus {
  state: ProxyState;
  /** The listen address, host:port. */
  address: string;
  /** http://address when something serves it, else empty. */
  url: string;
  /** For people: what happened and, when something is wrong, the setting to change. */
  message: string;
  /** running → owner, joined → member; absent otherwise. */
  role?: 'owner' | 'member';
  /** Every folder the proxy on this port serves, the owner's first; [] when none. */
  folders: ProxyFolder[];
  /** Who holds the port, when running or joined. */
  owner?: ProxyOwner;
}

/** schemas/lsp-takeover.schema.json: the result of devproxy/takeOver. */
export interface TakeOverResult {
  ok: boolean;
  /** For people: what happened, or why not. */
  message: string;
}

/** schemas/lsp-routes-changed.schema.json */
export interface RoutesChangedParams {
  version: number;
}

/** One route file of RoutesResult.files. */
export interface RouteFileInfo {
  /**
   * Relative to its folder, forward slashes; with more than one folder,
   * prefixed by the folder's label (`shop/apps/shop.conf`).
   */
  path: string;
  uri: string;
  kind: 'app' | 'override';
  /** False when the file does not load (syntax errors): its routes are not in the table. */
  ok: boolean;
  /** The label of its folder (RoutesResult.folders); present when there is more than one folder. */
  folder?: string;
  /** The file no longer parses and the proxy serves its last good version. */
  stale: boolean;
  /** When the version the proxy serves was read (RFC 3339); with stale. */
  staleSince?: string;
  /** The editor's buffer differs from the disk: the proxy still serves the saved version. */
  unsaved?: boolean;
}

/** One folder of RoutesResult.folders. */
export interface RoutesFolder {
  label: string;
  /** Absolute. */
  root: string;
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
  /** The display path of its file: RouteFileInfo.path. */
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
  /** The folders whose route files the table holds; more than one in a multi-root workspace or for the owner of a shared port. */
  folders: RoutesFolder[];
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
