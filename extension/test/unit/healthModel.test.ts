import * as assert from 'assert';
import { HealthDocument, HealthReport, HealthStatuses } from '../../src/contract';
import { formatMs, healthFor, healthIcon, healthTooltipLines, healthWord, isHealthDocument, isNewerHealth, localTime, statusOf, summarySentence, summaryText } from '../../src/healthModel';

const report = (over: Partial<HealthReport> & Pick<HealthReport, 'route' | 'file' | 'line'>): HealthReport => ({
  modifier: '',
  upstream: 'http://127.0.0.1:3000',
  active: true,
  inactiveCode: null,
  status: 'ok',
  url: '',
  httpStatus: 200,
  latencyMs: 1,
  reason: '',
  assets: [],
  hmr: null,
  checkedAt: '2026-11-29T15:20:00Z',
  passive: null,
  ...over,
});

const doc = (routes: HealthReport[], generatedAt = '2026-11-29T15:20:00Z'): HealthDocument => ({
  generatedAt,
  source: 'owner',
  summary: { total: routes.length, ok: 0, warning: 0, error: 0, unknown: 0 },
  routes,
  upstreams: [],
});

describe('healthModel icons and words', () => {
  it('has a distinct codicon and theme color for every status, and green only for ok', () => {
    const icons = HealthStatuses.map(healthIcon);
    assert.strictEqual(new Set(icons.map((i) => i.id)).size, HealthStatuses.length);
    for (const i of icons) {
      assert.ok(i.color, `${i.id} has a theme color`);
    }
    assert.deepStrictEqual(healthIcon('ok'), { id: 'pass-filled', color: 'testing.iconPassed' });
    assert.deepStrictEqual(healthIcon('error'), { id: 'error', color: 'testing.iconFailed' });
    assert.notStrictEqual(healthIcon('unknown').color, 'testing.iconPassed');
    assert.notStrictEqual(healthIcon('unknown').id, 'pass-filled');
  });

  it('calls an error "down" and takes a status it does not know as unknown', () => {
    assert.strictEqual(healthWord('error'), 'down');
    assert.strictEqual(statusOf('degraded'), 'unknown');
    assert.strictEqual(statusOf('warning'), 'warning');
  });
});

describe('healthModel documents', () => {
  it('recognises a HealthDocument and rejects what is not one', () => {
    assert.ok(isHealthDocument(doc([])));
    assert.ok(!isHealthDocument(null));
    assert.ok(!isHealthDocument({ routes: [] }));
    assert.ok(!isHealthDocument({ generatedAt: 'x', routes: {}, summary: {} }));
    assert.ok(isHealthDocument({ ...doc([]), source: 'none', routes: null }), 'a Go nil slice');
    assert.strictEqual(healthFor({ file: 'a', line: 1, route: '/a/' }, { ...doc([]), routes: null as unknown as HealthReport[] }), undefined);
  });

  it('replaces the shown document only with one not older', () => {
    const a = doc([], '2026-11-29T15:20:00Z');
    const b = doc([], '2026-11-29T15:21:00Z');
    assert.ok(isNewerHealth(undefined, a));
    assert.ok(isNewerHealth(a, b));
    assert.ok(isNewerHealth(a, a));
    assert.ok(!isNewerHealth(b, a));
  });

  it('matches a route by file and line, then by route in its file, then by a route only one report has', () => {
    const d = doc([
      report({ route: '/a/', file: 'apps/a.conf', line: 1, status: 'ok' }),
      report({ route: '/a/', file: 'apps/b.conf', line: 7, status: 'error' }),
      report({ route: '/c/', file: 'shop/apps/c.conf', line: 3, status: 'warning' }),
    ]);
    assert.strictEqual(healthFor({ file: 'apps/b.conf', line: 7, route: '/a/' }, d)?.status, 'error');
    assert.strictEqual(healthFor({ file: 'apps/a.conf', line: 9, route: '/a/' }, d)?.status, 'ok', 'the line moved');
    assert.strictEqual(healthFor({ file: 'apps/z.conf', line: 9, route: '/a/' }, d), undefined, 'two reports have /a/: no guess');
    assert.strictEqual(healthFor({ file: 'apps/c.conf', line: 1, route: '/c/' }, d)?.status, 'warning');
    assert.strictEqual(healthFor({ file: 'apps/r.conf', line: 1, route: null }, d), undefined);
    assert.strictEqual(healthFor({ file: 'apps/a.conf', line: 1, route: '/a/' }, undefined), undefined);
  });
});

describe('healthModel status bar summary', () => {
  it('says "3 ok · 1 down", and the warnings when any', () => {
    assert.strictEqual(summaryText({ total: 5, ok: 3, warning: 0, error: 1, unknown: 1 }), '3 ok · 1 down');
    assert.strictEqual(summaryText({ total: 5, ok: 3, warning: 1, error: 1, unknown: 0 }), '3 ok · 1 down · 1 warning');
    assert.strictEqual(summaryText({ total: 5, ok: 2, warning: 3, error: 0, unknown: 0 }), '2 ok · 3 warnings');
    assert.strictEqual(summaryText({ total: 2, ok: 0, warning: 0, error: 2, unknown: 0 }), '0 ok · 2 down');
  });

  it('says nothing without a summary or with nothing probed', () => {
    assert.strictEqual(summaryText(undefined), '');
    assert.strictEqual(summaryText({ total: 2, ok: 0, warning: 0, error: 0, unknown: 2 }), '');
  });

  it('gives every count in the tooltip sentence', () => {
    assert.strictEqual(summarySentence({ total: 6, ok: 3, warning: 1, error: 1, unknown: 1 }), 'Route health: 3 ok, 1 down, 1 warning, 1 unknown (of 6).');
  });
});

describe('healthModel formatting', () => {
  it('formats latencies', () => {
    assert.strictEqual(formatMs(0.44), '0.4 ms');
    assert.strictEqual(formatMs(12.4), '12 ms');
    assert.strictEqual(formatMs(1250), '1.25 s');
    assert.strictEqual(formatMs(2000), '2 s');
    assert.strictEqual(formatMs(Number.NaN), '—');
  });

  it('shows a time of today as a clock, another day with its date, and the zero time as nothing', () => {
    const now = new Date(2026, 10, 29, 16, 0, 0);
    assert.strictEqual(localTime(new Date(2026, 10, 29, 15, 2, 11).toISOString(), now), '15:02:11');
    assert.strictEqual(localTime(new Date(2026, 10, 28, 15, 2, 11).toISOString(), now), '2026-11-28 15:02:11');
    assert.strictEqual(localTime('0001-01-01T00:00:00Z', now), '');
    assert.strictEqual(localTime('nope', now), '');
  });
});

describe('healthModel tooltip', () => {
  it('says how the route does through the tunnel, when the proxy probed it there', () => {
    const r = report({
      route: '/app/',
      file: 'apps/app.conf',
      line: 1,
      status: 'warning',
      reason: 'through the tunnel (https://abc.ngrok.app): HTTP 404 Not Found',
      tunnel: { url: 'https://abc.ngrok.app/app/', status: 'warning', httpStatus: 404, latencyMs: 80, reason: 'HTTP 404 Not Found', checkedAt: '2026-11-29T15:20:00Z' },
    });
    const lines = healthTooltipLines(r, { received: true });
    assert.ok(lines.includes('Through the tunnel: warning · HTTP 404 · 80 ms'), lines.join('\n'));
    assert.ok(!healthTooltipLines(report({ route: '/a/', file: 'apps/a.conf', line: 1 }), { received: true }).some((l) => l.startsWith('Through the tunnel')));
  });
});
