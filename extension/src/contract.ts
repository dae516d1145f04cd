// The contract between the extension and `devproxy lsp`, as docs/lsp.md
// states it: the custom messages and their types, and the ids of the
// commands, views and settings the extension contributes. Pure (no `vscode`
// import), so unit tests can compare it with docs/lsp.md and package.json.

/** Custom LSP methods, all under the `devproxy/` prefix. */
export const Methods = {
  /** request, client → server: `{}` → RoutesResult */
  routes: 'devproxy/routes',
  /** request, client → server: `{}` → EnvironmentsResult; the profiles of devproxy.json and the active one */
  environments: 'devproxy/environments',
  /** request, client → server: ExplainParams → the `devproxy explain` document */
  explain: 'devproxy/explain',
  /** notification, server → client: `{version}`; ask `devproxy/routes` again */
  routesChanged: 'devproxy/routesChanged',
  /** notification, server → client: ProxyStatus */
  status: 'devproxy/status',
  /** request, client → server: `{}` → TakeOverResult; asks the owner of the port to stop so this server takes it */
  takeOver: 'devproxy/takeOver',
  /** request, client → server: `{}` → HealthDocument; the newest health the proxy's owner knows */
  health: 'devproxy/health',
  /** notification, server → client: HealthDocument; the runtime health changed */
  healthChanged: 'devproxy/healthChanged',
  /** request, client → server: RescanParams → HealthDocument, once the scan finished */
  rescan: 'devproxy/rescan',
  /** request, client → server: RouteMetricsParams → RouteMetrics */
  routeMetrics: 'devproxy/routeMetrics',
  /** request, client → server: ChatParams → ChatResult; one turn of a conversation with Calliope (docs/calliope.md, "Wire") */
  chat: 'devproxy/chat',
  /** notification, server → client: ChatDeltaParams; the next piece of the answer, in order, while devproxy/chat runs */
  chatDelta: 'devproxy/chatDelta',
  /** notification, server → client: ChatThinkingParams; what Calliope is doing ("probing /myapp/ …") */
  chatThinking: 'devproxy/chatThinking',
  /** notification, client → server: SetSecretsParams; the OpenAI key from VS Code's SecretStorage, "" to forget it */
  setSecrets: 'devproxy/setSecrets',
  /** request, client → server: `{}` → PatternStats[]; every healing pattern with its record */
  patterns: 'devproxy/patterns',
  /** request, client → server: `{}` → TunnelState; the tunnel of the proxy's owner */
  tunnel: 'devproxy/tunnel',
  /** notification, server → client: TunnelState; on every change, and once after the proxy starts or joins */
  tunnelChanged: 'devproxy/tunnelChanged',
  /** request, client → server: TunnelStartParams → TunnelState; errors are LSP errors with a readable message */
  tunnelStart: 'devproxy/tunnelStart',
  /** request, client → server: `{}` → TunnelState */
  tunnelStop: 'devproxy/tunnelStop',
  /** request, client → server: CreateKeyParams → CreateKeyResult; the key is in this answer only (never traced or logged) */
  createKey: 'devproxy/createKey',
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
  rescanRoute: 'devproxy.rescanRoute',
  rescanAll: 'devproxy.rescanAll',
  showRouteDetails: 'devproxy.showRouteDetails',
  calliopeAsk: 'devproxy.calliope.ask',
  calliopeDiagnoseRoute: 'devproxy.calliope.diagnoseRoute',
  calliopeNewConversation: 'devproxy.calliope.newConversation',
  calliopeShowPatterns: 'devproxy.calliope.showPatterns',
  calliopeSetOpenAIKey: 'devproxy.calliope.setOpenAIKey',
  calliopeClearOpenAIKey: 'devproxy.calliope.clearOpenAIKey',
  startTunnel: 'devproxy.startTunnel',
  stopTunnel: 'devproxy.stopTunnel',
  copyTunnelUrl: 'devproxy.copyTunnelUrl',
  openViaTunnel: 'devproxy.openViaTunnel',
  createApiKey: 'devproxy.createApiKey',
  switchEnvironment: 'devproxy.switchEnvironment',
  showStatusMenu: 'devproxy.showStatusMenu',
  openDashboard: 'devproxy.openDashboard',
  filterRoutes: 'devproxy.filterRoutes',
  clearRoutesFilter: 'devproxy.clearRoutesFilter',
  openRouteFile: 'devproxy.openRouteFile',
  revealRouteFileInExplorer: 'devproxy.revealRouteFileInExplorer',
  copyRouteFilePath: 'devproxy.copyRouteFilePath',
  copyRouteUrl: 'devproxy.copyRouteUrl',
  copyRouteAsCurl: 'devproxy.copyRouteAsCurl',
  sendRequest: 'devproxy.sendRequest',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

export const LanguageId = 'devproxy-routes';
export const ViewContainerId = 'devproxy';
export const RoutesViewId = 'devproxy.routes';
/** The panel's view container of the Calliope view (docs/lsp.md, "The extension's views"). */
export const CalliopeContainerId = 'devproxy-calliope';
/** Calliope's webview view; VS Code derives "Focus on Calliope View" (`devproxy.calliope.focus`) from it. */
export const CalliopeViewId = 'devproxy.calliope';
/** Where the OpenAI key lives in VS Code's SecretStorage (never in settings, never in a log). */
export const OpenAIKeySecret = 'devproxy.openaiApiKey';
/** The client id: VS Code reads `<id>.trace.server` for the LSP trace. */
export const ClientId = 'devproxy';
export const DisplayName = 'Dev Tunnel Proxy';
export const OutputChannelName = 'Dev Tunnel Proxy';
export const TraceChannelName = 'Dev Tunnel Proxy Trace';
/** The tunnel's status bar item: its name in the status bar's menu. */
export const TunnelItemName = 'Dev Tunnel Proxy Tunnel';
/** The context key that is true while the tunnel is up: "Open via Tunnel" and "Copy Tunnel URL" need it. */
export const TunnelUpContextKey = 'devproxy.tunnelUp';
/**
 * What the Routes view shows when it has no rows (routesModel.ts
 * RoutesViewState): `starting`, `stopped` (a Restart button), `empty` ("No
 * routes yet"), `filtered` (a Clear Filter button) or `routes`.
 */
export const RoutesViewContextKey = 'devproxy.routesView';
/** True while the Routes view has a filter: "Clear Filter" is in its title. */
export const RoutesFilteredContextKey = 'devproxy.routesFiltered';

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

/** schemas/lsp-environments.schema.json: the result of devproxy/environments. */
export interface EnvironmentsResult {
  /** The devproxy.environment setting; "" for none. */
  active: string;
  /** Whether devproxy.json defines `active` (true when it is ""). */
  known: boolean;
  /** The profiles devproxy.json defines, sorted. */
  names: string[];
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

/**
 * A route's runtime health (schemas/health-report.schema.json `$defs.status`):
 * ok: 2xx or 308 with every asset and the HMR channel working; warning:
 * another 3xx, a 4xx, no answer in time, or a failing asset or HMR channel;
 * error: a 5xx or a refused connection; unknown: not probed (an inactive
 * block, a cancelled scan, or no scan yet). Switch on these, never on `reason`.
 */
export const HealthStatuses = ['ok', 'warning', 'error', 'unknown'] as const;
export type HealthStatus = (typeof HealthStatuses)[number];

/** Who answered the health: the process that serves the proxy (owner), it through this one (joined), or nobody (none: no proxy here). */
export const HealthSources = ['owner', 'joined', 'none'] as const;
export type HealthSource = (typeof HealthSources)[number];

/** HealthDocument.summary: how many routes have each status. */
export interface HealthSummary {
  total: number;
  ok: number;
  warning: number;
  error: number;
  unknown: number;
}

/** One same-origin asset of the page the scanner loaded (HealthReport.assets). */
export interface HealthAsset {
  url: string;
  kind: 'script' | 'style' | 'font' | 'wasm';
  status: number;
  contentType: string;
  ok: boolean;
  reason: string;
}

/** The hot-reload WebSocket the page shows (HealthReport.hmr). */
export interface HealthHmr {
  framework: string;
  url: string;
  ok: boolean;
  reason: string;
}

/** What the proxy saw of the route's real traffic since `since` (HealthReport.passive). */
export interface PassiveTraffic {
  /** When the window of these counts began (RFC 3339). */
  since: string;
  requests: number;
  /** Of them answered 5xx or not at all. */
  errors: number;
  /** Of them, the upstream could not be reached. */
  dialErrors: number;
  /** Moving average of the whole exchange. */
  latencyMs: number;
  /** The newest failure, for people; empty when none. */
  lastError: string;
  /** RFC 3339; null when none. */
  lastErrorAt: string | null;
}

/** The route's page probed through the tunnel's public URL (HealthReport.tunnel). */
export interface TunnelProbe {
  url: string;
  status: HealthStatus;
  /** 0 when nothing answered. */
  httpStatus: number;
  latencyMs: number;
  /** Why it failed there, for people; empty when ok. */
  reason: string;
  checkedAt: string;
}

/** The health of one route (a location block). */
export interface HealthReport {
  /** The block's route ("/app/"). */
  route: string;
  /** The display path of its file: RouteInfo.file. */
  file: string;
  /** 1-based line of the location keyword: RouteInfo.line. */
  line: number;
  modifier: '' | '^~' | '=';
  upstream: string;
  /** Config state, as in RouteInfo. */
  active: boolean;
  inactiveCode: string | null;
  /** Runtime health. */
  status: HealthStatus;
  /** The page probed; empty when not probed. */
  url: string;
  /** The page's HTTP status; 0 when nothing answered. */
  httpStatus: number;
  latencyMs: number;
  /** Why the route is not ok, for people; empty when ok. */
  reason: string;
  assets: HealthAsset[];
  hmr: HealthHmr | null;
  /** When the route was probed (RFC 3339); the zero time when never. */
  checkedAt: string;
  /** The proxy's counts of real requests; absent when it has none (a one-shot scan, an older server). */
  passive?: PassiveTraffic | null;
  /** Through the tunnel, when its public URL is known (devproxy.json tunnel.publicUrl); absent otherwise. */
  tunnel?: TunnelProbe | null;
}

/** HealthDocument.upstreams: the worst status of the routes that share an upstream. */
export interface UpstreamHealth {
  upstream: string;
  status: HealthStatus;
  reason: string;
  routes: string[];
}

/** schemas/health.schema.json (proxy/monitor.Document): devproxy/health's answer, devproxy/healthChanged's params, devproxy/rescan's answer. */
export interface HealthDocument {
  /** RFC 3339. */
  generatedAt: string;
  source: HealthSource;
  summary: HealthSummary;
  /** Every prefix and exact route of the served table, in table order (schemas/health-report.schema.json `$defs.route`). */
  routes: HealthReport[];
  upstreams: UpstreamHealth[];
}

/** schemas/lsp-rescan-params.schema.json: probe one route now, or every route without one. */
export interface RescanParams {
  route?: string;
}

/** schemas/lsp-route-metrics.schema.json `params`. */
export interface RouteMetricsParams {
  route: string;
  /** How far back, in minutes; the server's default (60) without it. */
  minutes?: number;
}

/** One bucket of RouteMetrics.points. */
export interface RouteMetricsPoint {
  /** When the bucket starts (RFC 3339). */
  start: string;
  requests: number;
  errors: number;
  bytes: number;
  /** Mean time the upstream took, per request of the bucket. */
  upstreamMs: number;
  /** Mean time the proxy itself took, per request of the bucket. */
  proxyMs: number;
}

/** schemas/lsp-route-metrics.schema.json: the answer of devproxy/routeMetrics, oldest bucket first. */
export interface RouteMetrics {
  route: string;
  resolutionSeconds: number;
  points: RouteMetricsPoint[];
}

/** schemas/lsp-chat.schema.json `$defs.params`: devproxy/chat's params. */
export interface ChatParams {
  message: string;
  /** Continues this conversation (ChatResult.conversation); absent starts one. */
  conversation?: string;
}

/** A doc passage an answer was grounded in. */
export interface ChatSource {
  /** "docs/vite.md" (built in) or "workspace:README.md". */
  file: string;
  heading: string;
}

/** One edit of ChatWorkspaceEdit.changes: an LSP TextEdit. */
export interface ChatTextEdit {
  range: Range;
  newText: string;
}

/** An LSP WorkspaceEdit of route files, `changes` only: file URI → its edits. */
export interface ChatWorkspaceEdit {
  changes: Record<string, ChatTextEdit[]>;
}

/** The change to make in the app's own config, when the cause is there. */
export interface AppChange {
  /** The app's file, e.g. "vite.config.ts". */
  file: string;
  description: string;
  snippet: string;
}

/** schemas/lsp-chat.schema.json `$defs.fix`: a fix a healing pattern proposes, checked before it is offered. */
export interface ChatFix {
  title: string;
  /** The healing pattern that proposes it. */
  pattern: string;
  edit?: ChatWorkspaceEdit;
  appChange?: AppChange;
}

/** schemas/lsp-chat.schema.json: devproxy/chat's result. */
export interface ChatResult {
  /** The conversation's id: send it back to continue. */
  conversation: string;
  /** The whole answer, Markdown: authoritative over the deltas. */
  text: string;
  sources: ChatSource[];
  /** Who answered ("ollama", "openai", …); empty when offline. */
  provider: string;
  /** No model answered: the answer comes from the route engine and the docs. */
  offline: boolean;
  /** For people: providers that failed, or why the answer is offline. */
  notes: string[];
  fixes: ChatFix[];
}

/** schemas/lsp-chat-delta.schema.json `$defs.delta`. */
export interface ChatDeltaParams {
  conversation: string;
  delta: string;
}

/** schemas/lsp-chat-delta.schema.json `$defs.thinking`. */
export interface ChatThinkingParams {
  conversation: string;
  text: string;
}

/** devproxy/setSecrets's params: the key, or "" to forget it. Never logged or traced. */
export interface SetSecretsParams {
  openaiApiKey: string;
}

/** One healing pattern and its record (devproxy/patterns, schemas/lsp-patterns.schema.json). */
export interface PatternStats {
  id: string;
  title: string;
  /** Fixes proposed and checked. */
  attempts: number;
  successes: number;
  /** (successes + 1) / (attempts + 2). */
  confidence: number;
  /** Below 0.5 after at least 4 attempts: not offered until switched on again. */
  disabled: boolean;
  /** "builtin", or the pattern file's path. */
  source: string;
}

/** schemas/lsp-tunnel.schema.json `status`: off (no tunnel), starting (looking for the public URL), up (publicUrl is known), error (`error` says why). */
export const TunnelStatuses = ['off', 'starting', 'up', 'error'] as const;
export type TunnelStatus = (typeof TunnelStatuses)[number];

/** Who provides the tunnel; "" when none was asked for. */
export const TunnelProviders = ['ngrok', 'cloudflared', 'manual', ''] as const;
export type TunnelProvider = (typeof TunnelProviders)[number];

/**
 * schemas/lsp-tunnel.schema.json: devproxy/tunnel's, tunnelStart's and
 * tunnelStop's answer and devproxy/tunnelChanged's params. A window that
 * joined another devproxy gets the owner's tunnel.
 */
export interface TunnelState {
  provider: TunnelProvider;
  /** The public address, e.g. https://abc.ngrok.app; present when up. */
  publicUrl?: string;
  status: TunnelStatus;
  /** Why it failed, for people; with error (or off after a failure). */
  error?: string;
  /** When the tunnel entered this state (RFC 3339). */
  since: string;
}

/** What devproxy/tunnelStart may ask for: auto attaches to a running ngrok agent; manual needs url. */
export const TunnelStartProviders = ['auto', 'ngrok', 'cloudflared', 'manual'] as const;
export type TunnelStartProvider = (typeof TunnelStartProviders)[number];

/** schemas/lsp-tunnel-start-params.schema.json */
export interface TunnelStartParams {
  provider?: TunnelStartProvider;
  /** The public URL (scheme and host only), for manual. */
  url?: string;
}

/** The roles of an API key: read-only reads the proxy's state; admin may change it. */
export const ApiKeyRoles = ['read-only', 'admin'] as const;
export type ApiKeyRole = (typeof ApiKeyRoles)[number];

/** schemas/lsp-create-key-params.schema.json */
export interface CreateKeyParams {
  role: ApiKeyRole;
  name?: string;
}

/** schemas/lsp-create-key.schema.json: the new key; `key` is shown once and never kept by the client. */
export interface CreateKeyResult {
  id: string;
  role: string;
  name: string;
  key: string;
  /** RFC 3339. */
  createdAt: string;
}
