import * as assert from 'assert';
import { HealthReport, RouteMetrics } from '../../src/contract';
import { chartSlots, escapeHtml, latencySvg, meanLatency, niceCeiling, requestsChartSvg, routeDetailsHtml, RouteDetailsInput } from '../../src/routeDetails';

const end = new Date('2026-11-29T15:30:20Z');
const minute = (m: number) => `2026-11-29T15:${String(m).padStart(2, '0')}:00Z`;

const metrics: RouteMetrics = {
  route: '/app/',
  resolutionSeconds: 60,
  points: [
    { start: minute(29), requests: 10, errors: 2, bytes: 100, upstreamMs: 20, proxyMs: 1 },
    { start: minute(30), requests: 30, errors: 0, bytes: 300, upstreamMs: 4, proxyMs: 0.5 },
    // Outside the window, and unparsable: dropped.
    { start: '2026-11-29T13:00:00Z', requests: 999, errors: 0, bytes: 0, upstreamMs: 0, proxyMs: 0 },
    { start: 'yesterday', requests: 999, errors: 0, bytes: 0, upstreamMs: 0, proxyMs: 0 },
  ],
};

const report: HealthReport = {
  route: '/app/',
  file: 'apps/app.conf',
  line: 1,
  modifier: '',
  upstream: 'http://127.0.0.1:5999',
  active: true,
  inactiveCode: null,
  status: 'error',
  url: 'http://127.0.0.1:8080/app/',
  httpStatus: 0,
  latencyMs: 1.2,
  reason: 'connection refused on 127.0.0.1:5999',
  assets: [],
  hmr: null,
  checkedAt: '2026-11-29T15:29:00Z',
  passive: { since: '2026-11-29T14:30:00Z', requests: 40, errors: 2, dialErrors: 2, latencyMs: 8, lastError: 'dial tcp: refused', lastErrorAt: '2026-11-29T15:29:10Z' },
};

const input = (over: Partial<RouteDetailsInput> = {}): RouteDetailsInput => ({
  label: '/app/',
  route: '/app/',
  file: 'apps/app.conf',
  line: 1,
  upstream: 'http://127.0.0.1:5999',
  state: 'active',
  report,
  metrics,
  cspSource: 'vscode-webview://abc',
  nonce: 'n0nce',
  now: end,
  ...over,
});

describe('routeDetails chart data', () => {
  it('lays the points on 60 one-minute slots ending with the current minute, zeros where none came', () => {
    const slots = chartSlots(metrics, end);
    assert.strictEqual(slots.length, 60);
    assert.strictEqual(new Date(slots[59].start).toISOString(), '2026-11-29T15:30:00.000Z');
    assert.strictEqual(new Date(slots[0].start).toISOString(), '2026-11-29T14:31:00.000Z');
    assert.deepStrictEqual([slots[58].requests, slots[58].errors, slots[59].requests], [10, 2, 30]);
    assert.strictEqual(slots.reduce((n, s) => n + s.requests, 0), 40, 'points outside the window or unparsable are dropped');
  });

  it('follows the resolution the server sends', () => {
    assert.strictEqual(chartSlots({ ...metrics, resolutionSeconds: 300 }, end).length, 12);
    assert.strictEqual(chartSlots(undefined, end).length, 60);
  });

  it('weighs the mean latency by requests', () => {
    assert.deepStrictEqual(meanLatency(metrics.points.slice(0, 2)), { upstreamMs: (10 * 20 + 30 * 4) / 40, proxyMs: (10 * 1 + 30 * 0.5) / 40, requests: 40 });
    assert.deepStrictEqual(meanLatency([]), { upstreamMs: 0, proxyMs: 0, requests: 0 });
  });

  it('rounds the top of the axis to 1, 2 or 5 times a power of ten', () => {
    assert.deepStrictEqual([0, 1, 3, 30, 31, 101, 499].map(niceCeiling), [1, 1, 5, 50, 50, 200, 500]);
  });
});

describe('routeDetails SVG', () => {
  it('scales the bars to the axis: the tallest fills the plot in proportion to the nice ceiling', () => {
    const svg = requestsChartSvg(chartSlots(metrics, end));
    const heights = [...svg.matchAll(/<rect class="requests"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.strictEqual(heights.length, 2, 'one bar per minute with requests');
    // Plot height 132 (160 - 20 - 8), axis top 50: 10 → 26.4, 30 → 79.2.
    assert.deepStrictEqual(heights, [26.4, 79.2]);
    assert.match(svg, />50<\/text>/);
    assert.strictEqual([...svg.matchAll(/<rect class="errors"/g)].length, 1);
  });

  it('draws the axes alone for no traffic', () => {
    const svg = requestsChartSvg(chartSlots({ ...metrics, points: [] }, end));
    assert.doesNotMatch(svg, /<rect/);
    assert.match(svg, /<line class="axis"/);
    assert.match(svg, />1<\/text>/);
  });

  it('draws upstream against proxy latency on one scale', () => {
    const svg = latencySvg({ upstreamMs: 100, proxyMs: 25 });
    const widths = [...svg.matchAll(/<rect class="(upstream|proxy)"[^>]* width="([\d.]+)"/g)].map((m) => [m[1], Number(m[2])]);
    assert.deepStrictEqual(widths, [
      ['upstream', 430],
      ['proxy', 107.5],
    ]);
    assert.match(svg, />100 ms</);
  });
});

describe('routeDetails page', () => {
  it('has a strict Content-Security-Policy: nothing but its own style, no script', () => {
    const html = routeDetailsHtml(input());
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? '';
    assert.strictEqual(csp, "default-src 'none'; style-src vscode-webview://abc 'nonce-n0nce';");
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, /style-src vscode-webview:\/\/abc 'nonce-n0nce';/);
    assert.doesNotMatch(csp, /script-src|unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, /<style nonce="n0nce">/);
    assert.doesNotMatch(html, / style="/, 'no inline style attributes: the CSP would block them');
    assert.match(html, /var\(--vscode-foreground\)/);
  });

  it("shows the report: status, HTTP status, latency, reason, check time and the proxy's traffic", () => {
    const html = routeDetailsHtml(input());
    assert.match(html, /class="status status-error">down</);
    assert.match(html, /<th scope="row">HTTP status<\/th><td>no answer<\/td>/);
    assert.match(html, /<td>1\.2 ms<\/td>/);
    assert.match(html, /connection refused on 127\.0\.0\.1:5999/);
    assert.match(html, /<th scope="row">Last checked<\/th><td>\d\d:\d\d:00<\/td>/);
    assert.match(html, /40 requests, 2 errors, 2 refused, mean 8 ms/);
    assert.match(html, /40 requests, 2 errors in the last 60 minutes\./);
    assert.match(html, /<svg class="chart"/);
    assert.match(html, /<svg class="latency"/);
  });

  it('escapes everything that comes from route files and the server', () => {
    const evil = '</title><script>alert(1)</script><img src=x onerror="y">';
    const html = routeDetailsHtml(
      input({
        label: evil,
        file: `apps/${evil}.conf`,
        upstream: evil,
        report: { ...report, reason: evil, url: evil, passive: { ...report.passive!, lastError: evil }, hmr: { framework: evil, url: 'ws://x', ok: false, reason: evil } },
        metrics: `Traffic unavailable: ${evil}`,
        nonce: '"><script>',
      }),
    );
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /onerror="/);
    assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.strictEqual(escapeHtml(`<a href="x" title='y'>&`), '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;');
  });

  it('says what is missing: no report yet, traffic loading or unavailable, no requests', () => {
    const none = routeDetailsHtml(input({ report: undefined, metrics: undefined }));
    assert.match(none, /status-unknown">unknown</);
    assert.match(none, /No health report yet/);
    assert.match(none, /Loading traffic…/);
    assert.match(routeDetailsHtml(input({ metrics: 'The language server keeps no traffic metrics.' })), /keeps no traffic metrics/);
    const quiet = routeDetailsHtml(input({ metrics: { ...metrics, points: [] } }));
    assert.match(quiet, /0 requests, 0 errors in the last 60 minutes/);
    assert.match(quiet, /No requests: no latency to show/);
  });
});
