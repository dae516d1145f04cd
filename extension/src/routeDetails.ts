// The page of "Show Route Details" (devproxy.showRouteDetails): a route's
// last health report and a chart of its traffic (devproxy/routeMetrics:
// requests and errors per minute over the last hour, mean upstream against
// proxy latency). Pure: HTML and SVG are built here, as strings, and
// routeDetailsPanel.ts only puts them in a webview.
//
// The page runs no script: the chart is SVG rendered here. Its
// Content-Security-Policy allows nothing but the one style element (by
// nonce). Everything that comes from route files or the server (route
// names, upstreams, reasons) is hostile text and goes through escapeHtml
// where it is written (house style, habit 16). Colours are the theme's CSS
// variables.

import { HealthReport, RouteMetrics, RouteMetricsPoint } from './contract';
import { formatMs, healthWord, localTime, statusOf } from './healthModel';

/** Escapes text for HTML and SVG, in element content and quoted attributes alike. */
export function escapeHtml(s: string): string {
  return String(s).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One slot of the chart: a minute (a bucket of resolutionSeconds) of the window. */
export interface ChartSlot {
  start: number;
  requests: number;
  errors: number;
}

/**
 * The points laid on a window of `minutes` that ends at `end`: one slot per
 * bucket, oldest first, zeros where the server sent no point (a bucket
 * without traffic may be left out). Points outside the window are dropped,
 * points that do not parse too.
 */
export function chartSlots(metrics: RouteMetrics | undefined, end: Date, minutes = 60): ChartSlot[] {
  const step = Math.max(1, Math.round(metrics?.resolutionSeconds || 60)) * 1000;
  const count = Math.max(1, Math.ceil((minutes * 60_000) / step));
  // The window ends with the bucket that holds `end`.
  const last = Math.floor(end.getTime() / step) * step;
  const first = last - (count - 1) * step;
  const slots: ChartSlot[] = Array.from({ length: count }, (_, i) => ({ start: first + i * step, requests: 0, errors: 0 }));
  for (const p of metrics?.points ?? []) {
    const t = Date.parse(p.start);
    if (Number.isNaN(t)) {
      continue;
    }
    const i = Math.floor((t - first) / step);
    if (i < 0 || i >= count) {
      continue;
    }
    slots[i].requests += finite(p.requests);
    slots[i].errors += finite(p.errors);
  }
  return slots;
}

function finite(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

/** The smallest of 1, 2, 5 × 10^k not below n (at least 1): the top of the axis. */
export function niceCeiling(n: number): number {
  if (!(n > 1)) {
    return 1;
  }
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) {
    if (m * p >= n) {
      return m * p;
    }
  }
  return 10 * p;
}

/** Mean upstream and proxy time over the window, each request weighing the same. */
export function meanLatency(points: readonly RouteMetricsPoint[]): { upstreamMs: number; proxyMs: number; requests: number } {
  let requests = 0;
  let upstream = 0;
  let proxy = 0;
  for (const p of points) {
    const n = finite(p.requests);
    requests += n;
    upstream += finite(p.upstreamMs) * n;
    proxy += finite(p.proxyMs) * n;
  }
  return requests ? { upstreamMs: upstream / requests, proxyMs: proxy / requests, requests } : { upstreamMs: 0, proxyMs: 0, requests: 0 };
}

const chart = { width: 600, height: 160, left: 40, bottom: 20, top: 8 };

const pad2 = (n: number) => String(n).padStart(2, '0');
const clock = (t: number) => {
  const d = new Date(t);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
};

/**
 * Requests (and, over them, errors) per slot as an SVG bar chart, with the
 * top of the axis and the first and last minute labelled. Empty slots draw
 * nothing; all zeros give the axis alone.
 */
export function requestsChartSvg(slots: readonly ChartSlot[]): string {
  const { width, height, left, bottom, top } = chart;
  const plotW = width - left;
  const plotH = height - bottom - top;
  const max = niceCeiling(Math.max(0, ...slots.map((s) => s.requests)));
  const bw = plotW / Math.max(1, slots.length);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const bars: string[] = [];
  slots.forEach((s, i) => {
    const x = (left + i * bw + 0.5).toFixed(1);
    const w = Math.max(1, bw - 1).toFixed(1);
    if (s.requests > 0) {
      bars.push(`<rect class="requests" x="${x}" y="${y(s.requests).toFixed(1)}" width="${w}" height="${(top + plotH - y(s.requests)).toFixed(1)}"><title>${escapeHtml(`${clock(s.start)}: ${s.requests} requests, ${s.errors} errors`)}</title></rect>`);
    }
    if (s.errors > 0) {
      const e = Math.min(s.errors, max);
      bars.push(`<rect class="errors" x="${x}" y="${y(e).toFixed(1)}" width="${w}" height="${(top + plotH - y(e)).toFixed(1)}"></rect>`);
    }
  });
  const first = slots[0]?.start ?? 0;
  const last = slots.at(-1)?.start ?? 0;
  return [
    `<svg class="chart" role="img" aria-label="Requests and errors per minute" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
    `<line class="axis" x1="${left}" y1="${top + plotH}" x2="${width}" y2="${top + plotH}"></line>`,
    `<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}"></line>`,
    `<text class="label" x="${left - 4}" y="${top + 8}" text-anchor="end">${max}</text>`,
    `<text class="label" x="${left - 4}" y="${top + plotH}" text-anchor="end">0</text>`,
    `<text class="label" x="${left}" y="${height - 4}">${clock(first)}</text>`,
    `<text class="label" x="${width}" y="${height - 4}" text-anchor="end">${clock(last)}</text>`,
    ...bars,
    '</svg>',
  ].join('\n');
}

/** Mean upstream against proxy time, as two horizontal bars on one scale. */
export function latencySvg(mean: { upstreamMs: number; proxyMs: number }): string {
  const width = 600;
  const left = 90;
  const max = Math.max(mean.upstreamMs, mean.proxyMs, Number.EPSILON);
  const bar = (row: number, cls: string, label: string, ms: number) => {
    const w = ((width - left - 80) * ms) / max;
    const y = row * 22;
    return [
      `<text class="label" x="0" y="${y + 13}">${label}</text>`,
      `<rect class="${cls}" x="${left}" y="${y + 2}" width="${Math.max(ms > 0 ? 1 : 0, w).toFixed(1)}" height="14"></rect>`,
      `<text class="label" x="${(left + w + 6).toFixed(1)}" y="${y + 13}">${escapeHtml(formatMs(ms))}</text>`,
    ].join('');
  };
  return [
    `<svg class="latency" role="img" aria-label="Mean upstream and proxy latency" viewBox="0 0 ${width} 44" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
    bar(0, 'upstream', 'upstream', mean.upstreamMs),
    bar(1, 'proxy', 'proxy', mean.proxyMs),
    '</svg>',
  ].join('\n');
}

/** What the page shows. */
export interface RouteDetailsInput {
  /** The location as written ("^~ /web/"). */
  label: string;
  /** The route devproxy/routeMetrics takes ("/web/"). */
  route: string;
  file: string;
  line: number;
  upstream: string;
  /** The config state in words ("active", "contested"). */
  state: string;
  /** The last health report; undefined before one arrived. */
  report: HealthReport | undefined;
  /** devproxy/routeMetrics' answer; a string says why there is none. */
  metrics: RouteMetrics | string | undefined;
  /** webview.cspSource. */
  cspSource: string;
  /** A fresh random nonce for the style element. */
  nonce: string;
  now: Date;
  minutes?: number;
}

function row(name: string, value: string): string {
  return `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`;
}

function healthTable(report: HealthReport | undefined, now: Date): string {
  if (!report) {
    return '<p class="muted">No health report yet: the proxy has not checked this route.</p>';
  }
  const rows = [
    row('Status', healthWord(statusOf(report.status))),
    row('HTTP status', report.httpStatus > 0 ? String(report.httpStatus) : 'no answer'),
    row('Latency', formatMs(report.latencyMs)),
  ];
  if (report.url) {
    rows.push(row('Probed', report.url));
  }
  if (report.reason) {
    rows.push(row('Reason', report.reason));
  }
  rows.push(row('Last checked', localTime(report.checkedAt, now) || 'never'));
  const failing = (report.assets ?? []).filter((a) => !a.ok);
  if ((report.assets ?? []).length) {
    rows.push(row('Assets', `${report.assets.length - failing.length} of ${report.assets.length} ok${failing.length ? `; failing: ${failing.map((a) => `${a.url} (${a.reason || a.status})`).join(', ')}` : ''}`));
  }
  if (report.hmr) {
    rows.push(row('Hot reload', `${report.hmr.framework}: ${report.hmr.ok ? 'connected' : report.hmr.reason || 'fails'}`));
  }
  const p = report.passive;
  if (p) {
    rows.push(row('Traffic', `${p.requests} requests, ${p.errors} errors, ${p.dialErrors} refused, mean ${formatMs(p.latencyMs)}`));
    if (p.lastError) {
      const at = localTime(p.lastErrorAt, now);
      rows.push(row('Last error', `${at ? `${at}: ` : ''}${p.lastError}`));
    }
  }
  return `<table>${rows.join('')}</table>`;
}

/** The whole page. */
export function routeDetailsHtml(input: RouteDetailsInput): string {
  const minutes = input.minutes ?? 60;
  const status = input.report ? statusOf(input.report.status) : 'unknown';
  const nonce = escapeHtml(input.nonce);
  const csp = `default-src 'none'; style-src ${input.cspSource} 'nonce-${nonce}';`;
  let traffic: string;
  if (typeof input.metrics === 'string') {
    traffic = `<p class="muted">${escapeHtml(input.metrics)}</p>`;
  } else if (!input.metrics) {
    traffic = '<p class="muted">Loading traffic…</p>';
  } else {
    const slots = chartSlots(input.metrics, input.now, minutes);
    const total = slots.reduce((n, s) => n + s.requests, 0);
    const errors = slots.reduce((n, s) => n + s.errors, 0);
    const mean = meanLatency(input.metrics.points ?? []);
    traffic = [
      `<p>${total} requests, ${errors} errors in the last ${minutes} minutes.</p>`,
      requestsChartSvg(slots),
      '<p class="legend"><span class="key requests"></span> requests <span class="key errors"></span> errors</p>',
      '<h2>Mean latency</h2>',
      mean.requests ? latencySvg(mean) : '<p class="muted">No requests: no latency to show.</p>',
    ].join('\n');
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(input.label)}</title>
<style nonce="${nonce}">
body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 16px; }
h1 { font-size: 1.4em; font-weight: 600; }
h2 { font-size: 1.1em; font-weight: 600; margin-top: 1.5em; }
.muted, .label, .legend { color: var(--vscode-descriptionForeground); }
table { border-collapse: collapse; }
th { text-align: left; font-weight: normal; color: var(--vscode-descriptionForeground); padding: 2px 16px 2px 0; vertical-align: top; }
td { padding: 2px 0; word-break: break-all; }
.status { padding: 1px 6px; border-radius: 3px; border: 1px solid currentColor; }
.status-ok { color: var(--vscode-testing-iconPassed); }
.status-warning { color: var(--vscode-list-warningForeground); }
.status-error { color: var(--vscode-testing-iconFailed); }
.status-unknown { color: var(--vscode-disabledForeground); }
svg { max-width: 720px; display: block; }
svg .axis { stroke: var(--vscode-descriptionForeground); stroke-width: 1; }
svg .label { fill: var(--vscode-descriptionForeground); font-size: 10px; }
svg .requests, .key.requests { fill: var(--vscode-charts-blue); background: var(--vscode-charts-blue); }
svg .errors, .key.errors { fill: var(--vscode-charts-red); background: var(--vscode-charts-red); }
svg .upstream { fill: var(--vscode-charts-purple); }
svg .proxy { fill: var(--vscode-charts-green); }
.key { display: inline-block; width: 10px; height: 10px; margin-left: 8px; }
</style>
</head>
<body>
<h1>${escapeHtml(input.label)} <span class="status status-${status}">${escapeHtml(healthWord(status))}</span></h1>
<table>
${row('File', `${input.file}:${input.line}`)}
${row('Upstream', input.upstream || 'none')}
${row('Config', input.state)}
</table>
<h2>Last check</h2>
${healthTable(input.report, input.now)}
<h2>Traffic, last ${minutes} minutes</h2>
${traffic}
</body>
</html>
`;
}
