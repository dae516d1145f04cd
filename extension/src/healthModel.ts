// Runtime health of the routes (docs/lsp.md, "Route health"): which
// HealthReport belongs to a route of the tree, the icon and words of each
// status, the tooltip lines of the last check, and the status bar's summary.
// Pure (no `vscode` import), so what the tree and the status bar show is
// unit-tested without VS Code.
//
// Config state (the engine's decision: active, contested, inactive) and
// runtime health (the probe's finding) are separate: a route the server has
// not reported on yet is "unknown", never green.

import { HealthDocument, HealthReport, HealthStatus, HealthStatuses, HealthSummary } from './contract';

/** A codicon id and an optional ThemeColor id. */
export interface IconSpec {
  id: string;
  color?: string;
}

/** The icon of each health status: a codicon and a theme color, so themes decide the shades. */
export function healthIcon(status: HealthStatus): IconSpec {
  switch (status) {
    case 'ok':
      return { id: 'pass-filled', color: 'testing.iconPassed' };
    case 'warning':
      return { id: 'warning', color: 'list.warningForeground' };
    case 'error':
      return { id: 'error', color: 'testing.iconFailed' };
    case 'unknown':
      return { id: 'circle-outline', color: 'disabledForeground' };
  }
}

/** A status for people: error is "down" (nothing usable answers). */
export function healthWord(status: HealthStatus): string {
  switch (status) {
    case 'ok':
      return 'ok';
    case 'warning':
      return 'warning';
    case 'error':
      return 'down';
    case 'unknown':
      return 'unknown';
  }
}

/** A status this version knows, else unknown (a newer server may add some). */
export function statusOf(v: unknown): HealthStatus {
  return (HealthStatuses as readonly unknown[]).includes(v) ? (v as HealthStatus) : 'unknown';
}

/** Whether devproxy/health's answer (or devproxy/healthChanged's params) has the shape the views need. */
export function isHealthDocument(v: unknown): v is HealthDocument {
  if (typeof v !== 'object' || v === null) {
    return false;
  }
  const d = v as Partial<HealthDocument>;
  // A Go nil slice encodes as null: a document without routes (source none) is still a document.
  return typeof d.generatedAt === 'string' && (Array.isArray(d.routes) || d.routes === null) && typeof d.summary === 'object' && d.summary !== null;
}

/**
 * Whether a document should replace the one shown: not older by
 * generatedAt. A time that does not parse replaces (the server knows best).
 */
export function isNewerHealth(shown: HealthDocument | undefined, next: HealthDocument): boolean {
  if (!shown) {
    return true;
  }
  const a = Date.parse(shown.generatedAt);
  const b = Date.parse(next.generatedAt);
  return Number.isNaN(a) || Number.isNaN(b) || b >= a;
}

/** What of a tree route the match needs: RouteInfo has these. */
export interface RouteKey {
  file: string;
  line: number;
  route: string | null;
}

/**
 * The report of a route: by file and line (the same display path and
 * 1-based line as RoutesResult); failing that, by route string in the same
 * file, then by route string alone when exactly one report has it.
 */
export function healthFor(route: RouteKey, doc: HealthDocument | undefined): HealthReport | undefined {
  const reports = doc?.routes ?? [];
  const exact = reports.find((r) => r.file === route.file && r.line === route.line);
  if (exact || !route.route) {
    return exact;
  }
  const sameFile = reports.find((r) => r.file === route.file && r.route === route.route);
  if (sameFile) {
    return sameFile;
  }
  const byRoute = reports.filter((r) => r.route === route.route);
  return byRoute.length === 1 ? byRoute[0] : undefined;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * An RFC 3339 time in local time: `14:02:11` today, `2024-05-02 14:02:11`
 * another day; empty when absent, unparsable, or the zero time (never).
 */
export function localTime(at: string | null | undefined, now: Date = new Date()): string {
  if (!at) {
    return '';
  }
  const t = new Date(at);
  if (Number.isNaN(t.getTime()) || t.getUTCFullYear() <= 1) {
    return '';
  }
  const clock = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}`;
  const sameDay = t.getFullYear() === now.getFullYear() && t.getMonth() === now.getMonth() && t.getDate() === now.getDate();
  return sameDay ? clock : `${t.getFullYear()}-${pad2(t.getMonth() + 1)}-${pad2(t.getDate())} ${clock}`;
}

/** "12 ms", "0.4 ms", "1.25 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    return '—';
  }
  if (ms >= 1000) {
    return `${(ms / 1000).toFixed(2).replace(/\.?0+$/, '')} s`;
  }
  return ms < 10 ? `${(Math.round(ms * 10) / 10).toString()} ms` : `${Math.round(ms)} ms`;
}

/** Escapes text for a Markdown tooltip: route files are hostile, so nothing of theirs may become a link or markup. */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()<>#+\-.!|~&$]/g, (c) => '\\' + c).replace(/\r?\n/g, ' ');
}

/**
 * The health part of a route's tooltip, as Markdown lines (everything from
 * the server escaped): the last status, HTTP status and latency, why it is
 * not ok, when it was checked, and the proxy's counts of real requests.
 */
export function healthTooltipLines(report: HealthReport | undefined, options: { now?: Date; received: boolean } = { received: false }): string[] {
  if (!report) {
    return [options.received ? '$(circle-outline) Health: unknown, the proxy has no report of this route.' : '$(circle-outline) Health: unknown, no report from the proxy yet.'];
  }
  const status = statusOf(report.status);
  const icon = healthIcon(status).id;
  const answer = report.httpStatus > 0 ? `HTTP ${report.httpStatus}` : report.checkedAt && localTime(report.checkedAt, options.now) ? 'no answer' : '';
  const head = [`$(${icon}) **Health: ${healthWord(status)}**`, answer, report.latencyMs > 0 || report.httpStatus > 0 ? formatMs(report.latencyMs) : '']
    .filter((p) => p !== '')
    .join(' · ');
  const lines = [head];
  if (report.reason) {
    lines.push(escapeMarkdown(report.reason));
  }
  const failingAssets = (report.assets ?? []).filter((a) => !a.ok);
  if (failingAssets.length) {
    lines.push(`Failing assets: ${failingAssets.map((a) => `${escapeMarkdown(a.url)} (${a.status || 'no answer'})`).join(', ')}`);
  }
  if (report.hmr) {
    lines.push(`Hot reload (${escapeMarkdown(report.hmr.framework)}): ${report.hmr.ok ? 'connected' : escapeMarkdown(report.hmr.reason || 'fails')}`);
  }
  if (report.tunnel) {
    const t = report.tunnel;
    const answer = t.httpStatus > 0 ? `HTTP ${t.httpStatus}` : 'no answer';
    lines.push(`Through the tunnel: ${healthWord(statusOf(t.status))} · ${answer} · ${formatMs(t.latencyMs)}`);
  }
  const at = localTime(report.checkedAt, options.now);
  lines.push(at ? `Last checked ${at}` : 'Not checked yet');
  const p = report.passive;
  if (p) {
    const parts = [`${p.requests} ${p.requests === 1 ? 'request' : 'requests'}`, `${p.errors} ${p.errors === 1 ? 'error' : 'errors'}`];
    if (p.dialErrors) {
      parts.push(`${p.dialErrors} refused`);
    }
    if (p.requests > 0) {
      parts.push(`mean ${formatMs(p.latencyMs)}`);
    }
    lines.push(`Traffic: ${parts.join(', ')}`);
    if (p.lastError) {
      const when = localTime(p.lastErrorAt, options.now);
      lines.push(`Last error${when ? ` at ${when}` : ''}: ${escapeMarkdown(p.lastError)}`);
    }
  }
  return lines;
}

/**
 * The status bar's summary: "3 ok · 1 down", with "· 1 warning" when any;
 * unknown routes are left out (inactive blocks are never probed). Empty when
 * there is nothing to say.
 */
export function summaryText(summary: HealthSummary | undefined): string {
  if (!summary) {
    return '';
  }
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  const ok = n(summary.ok);
  const error = n(summary.error);
  const warning = n(summary.warning);
  if (ok + error + warning === 0) {
    return '';
  }
  const parts = [`${ok} ok`];
  if (error) {
    parts.push(`${error} down`);
  }
  if (warning) {
    parts.push(`${warning} ${warning === 1 ? 'warning' : 'warnings'}`);
  }
  return parts.join(' · ');
}

/** A summary in a sentence, for the status bar's tooltip. */
export function summarySentence(summary: HealthSummary | undefined): string {
  if (!summary) {
    return '';
  }
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  const parts = [`${n(summary.ok)} ok`, `${n(summary.error)} down`, `${n(summary.warning)} ${n(summary.warning) === 1 ? 'warning' : 'warnings'}`, `${n(summary.unknown)} unknown`];
  return `Route health: ${parts.join(', ')} (of ${n(summary.total)}).`;
}
