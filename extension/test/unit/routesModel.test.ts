import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { HealthDocument, HealthReport, InactiveCodes, RouteInfo, RoutesResult, Settlement, Settlements } from '../../src/contract';
import { healthIcon } from '../../src/healthModel';
import {
  buildRoutesModel,
  collapseAbove,
  emptyRoutesModel,
  fileStartsExpanded,
  filterDescription,
  filterMessage,
  filterRoutesModel,
  problemNodes,
  routeCount,
  routesViewState,
  isNewer,
  isSettled,
  renameTargetOf,
  revealTargetOf,
  routeOf,
  joinExternal,
  splitOrigin,
  staleDescription,
  staleTime,
  stateIcon,
  unsavedDescription,
  urlOf,
} from '../../src/routesModel';

const root = '/home/me/project';
const uri = (p: string) => `file://${root}/${p}`;

function route(over: Partial<RouteInfo> & Pick<RouteInfo, 'id' | 'file' | 'label'>): RouteInfo {
  const line = over.line ?? 2;
  return {
    route: over.label.replace(/^(=|\^~) /, ''),
    uri: uri(over.file),
    line,
    range: { start: { line: line - 1, character: 0 }, end: { line: line - 1, character: 9 + over.label.length } },
    modifier: '',
    spec: over.label,
    active: true,
    inactiveCode: null,
    inactiveReason: null,
    conflict: null,
    upstream: null,
    url: null,
    health: null,
    ...over,
  };
}

/** The demo workspace: a conflict on /api/, a web app, and a file that does not load. */
const result: RoutesResult = {
  version: 7,
  root,
  folders: [{ label: 'project', root }],
  files: [
    { path: 'apps/api.conf', uri: uri('apps/api.conf'), kind: 'app', ok: true, stale: false },
    { path: 'apps/legacy-api.conf', uri: uri('apps/legacy-api.conf'), kind: 'app', ok: true, stale: false },
    { path: 'apps/web.conf', uri: uri('apps/web.conf'), kind: 'app', ok: true, stale: false },
    { path: 'overrides/broken.conf', uri: uri('overrides/broken.conf'), kind: 'override', ok: false, stale: false },
  ],
  routes: [
    route({ id: 'apps/api.conf#/api/', file: 'apps/api.conf', label: '/api/', conflict: '/api/', upstream: 'http://127.0.0.1:5174', url: 'http://127.0.0.1:8080/api/' }),
    route({
      id: 'apps/legacy-api.conf#/api/',
      file: 'apps/legacy-api.conf',
      label: '/api/',
      line: 3,
      active: false,
      inactiveCode: 'lost-conflict',
      inactiveReason: 'apps/api.conf wins /api/ (newest).',
      conflict: '/api/',
      upstream: 'http://127.0.0.1:5999/',
      url: 'http://127.0.0.1:8080/api/',
    }),
    route({ id: 'apps/web.conf#= /web', file: 'apps/web.conf', label: '= /web', modifier: '=', spec: '/web', url: 'http://127.0.0.1:8080/web' }),
    route({ id: 'apps/web.conf#^~ /web/', file: 'apps/web.conf', label: '^~ /web/', modifier: '^~', spec: '/web/', line: 4, upstream: 'http://127.0.0.1:5173/', url: 'http://127.0.0.1:8080/web/' }),
    route({ id: 'apps/web.conf#~ \\.map$', file: 'apps/web.conf', label: '~ \\.map$', modifier: '~', spec: '\\.map$', line: 9 }),
  ],
  conflicts: [{ route: '/api/', winner: 'apps/api.conf', reason: 'newest', reasonCode: 'newest', files: ['apps/api.conf', 'apps/legacy-api.conf'] }],
  proxy: { state: 'running', address: '127.0.0.1:8080', url: 'http://127.0.0.1:8080', message: '', folders: [] },
};

describe('routesModel.buildRoutesModel', () => {
  const model = buildRoutesModel(result);

  it('makes one file node per route file, in the server order, with the path as its stable id', () => {
    assert.deepStrictEqual(
      model.files.map((f) => [f.id, f.label, f.description]),
      [
        ['apps/api.conf', 'apps/api.conf', '1 route'],
        ['apps/legacy-api.conf', 'apps/legacy-api.conf', '1 route'],
        ['apps/web.conf', 'apps/web.conf', '3 routes'],
        ['overrides/broken.conf', 'overrides/broken.conf', 'not loaded: errors'],
      ],
    );
    assert.strictEqual(model.version, 7);
    assert.strictEqual(model.root, root);
  });

  it('gives a file that does not load the error icon and says why', () => {
    const broken = model.files[3];
    assert.strictEqual(broken.ok, false);
    assert.deepStrictEqual(broken.icon, { id: 'error', color: 'list.errorForeground' });
    assert.match(broken.tooltip, /Not loaded/);
    assert.strictEqual(broken.contextValue, 'fileWithErrors');
    assert.deepStrictEqual(model.files[0].icon, { id: 'file-code' });
  });

  it('puts each location under its file with the route id, the label as written and the upstream and config state', () => {
    const web = model.files[2];
    assert.deepStrictEqual(
      web.routes.map((r) => [r.id, r.fileId, r.label, r.description]),
      [
        ['apps/web.conf#= /web', 'apps/web.conf', '= /web', 'active'],
        ['apps/web.conf#^~ /web/', 'apps/web.conf', '^~ /web/', 'http://127.0.0.1:5173/ · active'],
        ['apps/web.conf#~ \\.map$', 'apps/web.conf', '~ \\.map$', 'active'],
      ],
    );
    assert.strictEqual(model.files[0].routes[0].description, 'http://127.0.0.1:5174 · contested');
    assert.strictEqual(model.files[1].routes[0].description, 'http://127.0.0.1:5999/ · inactive');
    assert.strictEqual(model.files[3].routes[0]?.description, undefined);
  });

  it('marks the winner of a conflict, and the loser inactive with the reason in the tooltip', () => {
    const [winner] = model.files[0].routes;
    const [loser] = model.files[1].routes;
    assert.strictEqual(winner.state, 'conflict');
    assert.match(winner.tooltip, /Wins the contested route \/api\/ over apps\/legacy-api\.conf \(newest\)/);
    assert.strictEqual(loser.state, 'inactive');
    assert.match(loser.tooltip, /Inactive: apps\/api\.conf wins \/api\/ \(newest\)\.$/m);
    assert.doesNotMatch(loser.tooltip, /\.\./);
    assert.deepStrictEqual(loser.icon, stateIcon('inactive'));
    assert.strictEqual(model.files[2].routes[1].state, 'active');
  });

  it('shows a winner settled by an override or a pin as active, with the reason in the tooltip', () => {
    const cases: [Settlement, string][] = [
      ['pinned', 'pinned in .devproxy/resolutions.json'],
      ['override', 'override'],
    ];
    for (const [reasonCode, reason] of cases) {
      const m = buildRoutesModel({ ...result, conflicts: [{ ...result.conflicts[0], reasonCode, reason }] });
      const [winner] = m.files[0].routes;
      assert.strictEqual(winner.state, 'active', reasonCode);
      assert.ok(winner.tooltip.includes(`(${reason})`), winner.tooltip);
      assert.strictEqual(m.files[1].routes[0].state, 'inactive');
    }
    assert.ok(!isSettled('newest'));
    assert.ok(!isSettled('same-age-first-by-path'));
    assert.ok(!isSettled(undefined), 'a server without reasonCode settles nothing');
  });

  it('reads the codes, never the words: renamed words leave every state as it was', () => {
    const states = (r: RoutesResult) => buildRoutesModel(r).files.flatMap((f) => f.routes.map((n) => `${n.id} ${n.state} ${n.icon.id}`));
    for (const reasonCode of Settlements) {
      const coded: RoutesResult = { ...result, conflicts: [{ ...result.conflicts[0], reasonCode }] };
      const renamed: RoutesResult = {
        ...coded,
        routes: coded.routes.map((r) => (r.inactiveReason ? { ...r, inactiveReason: 'switched off, for reasons' } : r)),
        // Words that name the other settlements must not sway the model.
        conflicts: coded.conflicts.map((c) => ({ ...c, reason: reasonCode === 'pinned' ? 'newest' : 'pinned in .devproxy/resolutions.json' })),
      };
      assert.deepStrictEqual(states(renamed), states(coded), reasonCode);
      const winner = buildRoutesModel(renamed).files[0].routes[0];
      assert.strictEqual(winner.state, isSettled(reasonCode) ? 'active' : 'conflict', reasonCode);
    }
  });

  it('knows the codes the server sends (schemas/lsp-routes.schema.json)', () => {
    const schema = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'schemas', 'lsp-routes.schema.json'), 'utf8'));
    assert.deepStrictEqual(schema.$defs.settlement.enum, [...Settlements]);
    assert.deepStrictEqual(schema.$defs.inactiveCode.enum, [...InactiveCodes, null]);
  });

  it('carries the URL, the reveal target, a context value for the menus and health', () => {
    const [exact, prefix, regex] = model.files[2].routes;
    assert.strictEqual(prefix.url, 'http://127.0.0.1:8080/web/');
    assert.strictEqual(prefix.contextValue, 'routeWithUrl');
    assert.strictEqual(regex.url, null);
    assert.strictEqual(regex.contextValue, 'route');
    // "Open via Tunnel" only where the proxy serves the block: the one that lost /api/ is routeWithUrlInactive.
    assert.strictEqual(model.files[0].routes[0].contextValue, 'routeWithUrl');
    assert.strictEqual(model.files[1].routes[0].contextValue, 'routeWithUrlInactive');
    assert.deepStrictEqual(prefix.reveal, { uri: uri('apps/web.conf'), range: { start: { line: 3, character: 0 }, end: { line: 3, character: 17 } } });
    assert.strictEqual(exact.health, null);
    assert.match(prefix.tooltip, /apps\/web\.conf:4/);
  });

  it('uses a different icon and color for every state', () => {
    const icons = (['active', 'conflict', 'inactive', 'error'] as const).map((s) => stateIcon(s));
    assert.strictEqual(new Set(icons.map((i) => i.id)).size, 4);
    for (const i of icons) {
      assert.ok(i.color, `${i.id} has a theme color`);
    }
  });

  it('shows routes of a file the server did not list, and keeps ids unique', () => {
    const m = buildRoutesModel({
      ...result,
      files: [],
      routes: [route({ id: 'apps/x.conf#/x/', file: 'apps/x.conf', label: '/x/' }), route({ id: 'apps/x.conf#/x/', file: 'apps/x.conf', label: '/x/' })],
    });
    assert.strictEqual(m.files.length, 1);
    assert.deepStrictEqual(
      m.files[0].routes.map((r) => r.id),
      ['apps/x.conf#/x/', 'apps/x.conf#/x/ (2)'],
    );
  });

  it('never shows a green check before health arrives: every served route is unknown', () => {
    for (const f of model.files) {
      for (const r of f.routes) {
        assert.notStrictEqual(r.icon.id, 'pass-filled', `${r.id} before any health`);
        assert.notStrictEqual(r.icon.color, 'testing.iconPassed', `${r.id} before any health`);
        if (r.state === 'active' || r.state === 'conflict') {
          assert.strictEqual(r.healthStatus, 'unknown');
          assert.deepStrictEqual(r.icon, healthIcon('unknown'));
          assert.match(r.tooltipMarkdown, /Health: unknown, no report from the proxy yet/);
        }
      }
    }
    assert.deepStrictEqual(model.files[1].routes[0].icon, stateIcon('inactive'));
  });

  it('is empty for an empty table', () => {
    const m = buildRoutesModel({ ...result, files: [], routes: [], conflicts: [] });
    assert.deepStrictEqual(m.files, []);
  });
});

describe('routesModel with several folders', () => {
  const shopRoot = '/home/me/src/shop';
  const blogRoot = '/home/me/src/blog';
  const two: RoutesResult = {
    version: 3,
    root: shopRoot,
    folders: [
      { label: 'shop', root: shopRoot },
      { label: 'blog', root: blogRoot },
    ],
    files: [
      { path: 'shop/apps/shop.conf', uri: `file://${shopRoot}/apps/shop.conf`, kind: 'app', ok: true, stale: false, folder: 'shop' },
      { path: 'blog/apps/blog.conf', uri: `file://${blogRoot}/apps/blog.conf`, kind: 'app', ok: true, stale: false, folder: 'blog' },
      { path: 'shop/overrides/x.conf', uri: `file://${shopRoot}/overrides/x.conf`, kind: 'override', ok: true, stale: false, folder: 'shop' },
    ],
    routes: [
      route({ id: 'shop/apps/shop.conf#/shop/', file: 'shop/apps/shop.conf', label: '/shop/', uri: `file://${shopRoot}/apps/shop.conf` }),
      route({ id: 'blog/apps/blog.conf#/blog/', file: 'blog/apps/blog.conf', label: '/blog/', uri: `file://${blogRoot}/apps/blog.conf` }),
    ],
    conflicts: [],
    proxy: result.proxy,
  };

  it('groups folder → file → routes, in the order of the folders, with stable ids', () => {
    const m = buildRoutesModel(two, { home: '/home/me' });
    assert.deepStrictEqual(
      m.folders.map((f) => [f.id, f.label, f.description, f.files.map((x) => [x.id, x.label, x.folderId])]),
      [
        [
          `folder:${shopRoot}`,
          'shop',
          '~/src/shop',
          [
            ['shop/apps/shop.conf', 'apps/shop.conf', `folder:${shopRoot}`],
            ['shop/overrides/x.conf', 'overrides/x.conf', `folder:${shopRoot}`],
          ],
        ],
        ['folder:' + blogRoot, 'blog', '~/src/blog', [['blog/apps/blog.conf', 'apps/blog.conf', `folder:${blogRoot}`]]],
      ],
    );
    assert.deepStrictEqual(
      m.files.map((f) => f.id),
      ['blog/apps/blog.conf', 'shop/apps/shop.conf', 'shop/overrides/x.conf'],
      'files stays the flat list, by folder then name',
    );
    assert.deepStrictEqual(m.files[1].routes.map((r) => [r.id, r.fileId]), [['shop/apps/shop.conf#/shop/', 'shop/apps/shop.conf']]);
    assert.match(m.folders[0].tooltip, /shop — \/home\/me\/src\/shop\n2 route files, 1 route/);
    assert.strictEqual(m.folders[0].contextValue, 'folder');
  });

  it('finds the folder of a file without a folder label by its path, then by its URI', () => {
    const m = buildRoutesModel({
      ...two,
      files: two.files.map((f) => ({ ...f, folder: undefined })),
      routes: [...two.routes, route({ id: 'ops/y.conf#/y/', file: 'ops/y.conf', label: '/y/', uri: `file://${blogRoot}/ops/y.conf` })],
    });
    assert.deepStrictEqual(
      m.folders.map((f) => f.files.map((x) => x.label)),
      [['apps/shop.conf', 'overrides/x.conf'], ['apps/blog.conf', 'ops/y.conf']],
    );
  });

  it('puts a file of no known folder under "other"', () => {
    const m = buildRoutesModel({ ...two, routes: [...two.routes, route({ id: 'z.conf#/z/', file: 'z.conf', label: '/z/', uri: 'file:///elsewhere/z.conf' })] });
    assert.deepStrictEqual(
      m.folders.map((f) => [f.id, f.label, f.files.map((x) => x.id)]),
      [
        [`folder:${shopRoot}`, 'shop', ['shop/apps/shop.conf', 'shop/overrides/x.conf']],
        [`folder:${blogRoot}`, 'blog', ['blog/apps/blog.conf']],
        ['folder:', 'other', ['z.conf']],
      ],
    );
  });

  it('does not group with one folder (or none): files are the top level, labelled by their path', () => {
    for (const folders of [[{ label: 'project', root }], []]) {
      const m = buildRoutesModel({ ...result, folders });
      assert.deepStrictEqual(m.folders, []);
      assert.deepStrictEqual(
        m.files.map((f) => [f.id, f.label, f.folderId]),
        result.files.map((f) => [f.path, f.path, undefined]),
      );
    }
  });
});

describe('routesModel stale and unsaved files', () => {
  // Local times, so the expected clock does not depend on the time zone.
  const now = new Date(2024, 4, 2, 15, 0, 0);
  const since = new Date(2024, 4, 2, 14, 2, 11).toISOString();
  const files = (over: Partial<RoutesResult['files'][number]>): RoutesResult => ({
    ...result,
    files: result.files.map((f) => (f.path === 'apps/web.conf' ? { ...f, ...over } : f)),
  });
  const web = (r: RoutesResult) => buildRoutesModel(r, { now }).files[2];

  it('tells the local time of the version served, with the date when it is not today', () => {
    assert.strictEqual(staleTime(since, now), '14:02:11');
    assert.strictEqual(staleTime(new Date(2024, 4, 1, 9, 5, 7).toISOString(), now), '2024-05-01 09:05:07');
    assert.strictEqual(staleTime(undefined, now), '');
    assert.strictEqual(staleTime('yesterday', now), '');
    assert.strictEqual(staleDescription(since, now), 'stale: serving the version from 14:02:11');
    assert.strictEqual(staleDescription(undefined, now), 'stale: serving its last good version');
  });

  it('shows a stale file with a warning icon, the time of the version served, and its routes as served', () => {
    for (const ok of [false, true]) {
      const f = web(files({ ok, stale: true, staleSince: since }));
      assert.strictEqual(f.description, 'stale: serving the version from 14:02:11');
      assert.deepStrictEqual(f.icon, { id: 'warning', color: 'list.warningForeground' });
      assert.strictEqual(f.contextValue, 'file');
      assert.match(f.tooltip, /Stale: the file no longer parses \(see the Problems panel\); the proxy serves the version from 14:02:11\./);
      // The routes are the last good version's, and the proxy serves them.
      assert.deepStrictEqual(
        f.routes.map((r) => r.state),
        ['active', 'active', 'active'],
      );
      assert.match(f.routes[1].tooltip, /Served from the version of 14:02:11: the file no longer parses\./);
    }
  });

  it('says an unsaved file is served as saved', () => {
    const f = web(files({ unsaved: true }));
    assert.strictEqual(unsavedDescription, 'unsaved: the proxy still serves the saved version');
    assert.strictEqual(f.description, '3 routes · unsaved: the proxy still serves the saved version');
    assert.match(f.tooltip, /Unsaved: the proxy still serves the saved version; save the file to serve your changes\./);
    assert.deepStrictEqual(f.icon, { id: 'file-code' });
    assert.match(f.routes[1].tooltip, /Served from the saved file/);
    const both = web(files({ ok: false, stale: true, staleSince: since, unsaved: true }));
    assert.strictEqual(both.description, 'stale: serving the version from 14:02:11');
    assert.match(both.tooltip, /Unsaved: the proxy still serves the saved version/);
  });

  it('leaves a file that is neither as it was', () => {
    const f = web(result);
    assert.strictEqual(f.description, '3 routes');
    assert.strictEqual(f.stale, false);
    assert.strictEqual(f.unsaved, false);
    assert.doesNotMatch(f.tooltip, /stale|unsaved/i);
  });
});

describe('routesModel.isNewer', () => {
  it('accepts the first table and newer ones, and drops an older answer that arrives late', () => {
    assert.ok(isNewer(emptyRoutesModel, { ...result, version: 0 }));
    const m = buildRoutesModel(result);
    assert.ok(isNewer(m, { ...result, version: 8 }));
    assert.ok(isNewer(m, { ...result, version: 7 }));
    assert.ok(!isNewer(m, { ...result, version: 6 }));
  });
});

describe('routesModel command arguments', () => {
  const node = buildRoutesModel(result).files[2].routes[1];

  it('revealTargetOf takes {uri, range} (docs/lsp.md) or a tree node (context menu)', () => {
    assert.deepStrictEqual(revealTargetOf(node), node.reveal);
    assert.deepStrictEqual(revealTargetOf({ uri: 'file:///a', range: node.reveal.range }), { uri: 'file:///a', range: node.reveal.range });
    assert.strictEqual(revealTargetOf({ uri: 'file:///a' }), undefined);
    assert.strictEqual(revealTargetOf(undefined), undefined);
  });

  it('renameTargetOf takes uri and position (the code action) or a tree node (its block start)', () => {
    assert.deepStrictEqual(renameTargetOf(['file:///a', { line: 3, character: 12 }]), { uri: 'file:///a', position: { line: 3, character: 12 } });
    assert.deepStrictEqual(renameTargetOf([node]), { uri: node.reveal.uri, position: node.reveal.range.start });
    assert.strictEqual(renameTargetOf(['file:///a']), undefined);
    assert.strictEqual(renameTargetOf(['file:///a', { line: 'x' }]), undefined);
    assert.strictEqual(renameTargetOf([]), undefined);
  });

  it('urlOf takes a URL string (code lens) or a tree node, http(s) only', () => {
    assert.strictEqual(urlOf('http://127.0.0.1:8080/api/'), 'http://127.0.0.1:8080/api/');
    assert.strictEqual(urlOf(node), 'http://127.0.0.1:8080/web/');
    assert.strictEqual(urlOf(buildRoutesModel(result).files[2].routes[2]), undefined);
    assert.strictEqual(urlOf('command:workbench.action.terminal.new'), undefined);
    assert.strictEqual(urlOf('file:///etc/passwd'), undefined);
    assert.strictEqual(urlOf(42), undefined);
  });
});

describe('routesModel with runtime health', () => {
  const report = (over: Partial<HealthReport> & Pick<HealthReport, 'route' | 'file' | 'line' | 'status'>): HealthReport => ({
    modifier: '',
    upstream: '',
    active: true,
    inactiveCode: null,
    url: '',
    httpStatus: 200,
    latencyMs: 12,
    reason: '',
    assets: [],
    hmr: null,
    checkedAt: '2026-11-29T15:20:00Z',
    passive: null,
    ...over,
  });
  const health: HealthDocument = {
    generatedAt: '2026-11-29T15:20:00Z',
    source: 'owner',
    summary: { total: 5, ok: 1, warning: 1, error: 1, unknown: 2 },
    routes: [
      report({ route: '/api/', file: 'apps/api.conf', line: 2, status: 'error', httpStatus: 0, reason: 'connection refused on 127.0.0.1:5174', passive: { since: '2026-11-29T15:00:00Z', requests: 7, errors: 2, dialErrors: 2, latencyMs: 3, lastError: 'dial tcp 127.0.0.1:5174: connect: connection refused', lastErrorAt: '2026-11-29T15:19:58Z' } }),
      // The loser of the conflict: reported unknown, and it must stay inactive whatever a report says.
      report({ route: '/api/', file: 'apps/legacy-api.conf', line: 3, status: 'ok', active: false, inactiveCode: 'lost-conflict' }),
      report({ route: '/web/', file: 'apps/web.conf', line: 2, modifier: '=', status: 'warning', httpStatus: 404, reason: 'HTTP 404 Not Found' }),
      report({ route: '/web/', file: 'apps/web.conf', line: 4, modifier: '^~', status: 'ok', httpStatus: 200, latencyMs: 8.25 }),
    ],
    upstreams: [],
  };
  const now = new Date('2026-11-29T15:30:00Z');
  const m = buildRoutesModel(result, { health, now });
  const [api] = m.files[0].routes;
  const [legacy] = m.files[1].routes;
  const [exact, prefix, regex] = m.files[2].routes;

  it('gives each served route the icon of its health, matched by file and line', () => {
    assert.deepStrictEqual(
      [api, exact, prefix, regex].map((r) => [r.id, r.healthStatus, r.icon.id, r.icon.color]),
      [
        ['apps/api.conf#/api/', 'error', 'error', 'testing.iconFailed'],
        ['apps/web.conf#= /web', 'warning', 'warning', 'list.warningForeground'],
        ['apps/web.conf#^~ /web/', 'ok', 'pass-filled', 'testing.iconPassed'],
        ['apps/web.conf#~ \\.map$', 'unknown', 'circle-outline', 'disabledForeground'],
      ],
    );
    assert.strictEqual(prefix.health?.latencyMs, 8.25);
    // The config state stays in the description.
    assert.strictEqual(api.description, 'http://127.0.0.1:5174 · contested');
  });

  it('keeps the inactive look for a block that lost a conflict, whatever its report says', () => {
    assert.strictEqual(legacy.state, 'inactive');
    assert.deepStrictEqual(legacy.icon, stateIcon('inactive'));
    assert.strictEqual(legacy.health, null);
    assert.doesNotMatch(legacy.tooltipMarkdown, /Health/);
  });

  it('says the last check in the Markdown tooltip, escaped: status, HTTP status, latency, reason, time, traffic', () => {
    assert.match(api.tooltipMarkdown, /\*\*Health: down\*\* · no answer/);
    assert.match(api.tooltipMarkdown, /connection refused on 127\\\.0\\\.0\\\.1:5174/);
    assert.match(api.tooltipMarkdown, /Traffic: 7 requests, 2 errors, 2 refused, mean 3 ms/);
    assert.match(api.tooltipMarkdown, /Last error at \d\d:\d\d:58: dial tcp/);
    assert.match(prefix.tooltipMarkdown, /\$\(pass-filled\) \*\*Health: ok\*\* · HTTP 200 · 8\.3 ms/);
    assert.match(prefix.tooltipMarkdown, /Last checked \d\d:\d\d:00/);
    assert.match(exact.tooltipMarkdown, /HTTP 404 · 12 ms/);
    assert.match(regex.tooltipMarkdown, /Health: unknown, the proxy has no report of this route/);
    // The plain tooltip keeps the config lines.
    assert.match(api.tooltipMarkdown, /Wins the contested route/);
  });

  it('falls back to the route string when the line moved', () => {
    const moved: HealthDocument = { ...health, routes: [{ ...health.routes[3], line: 40 }] };
    const [, p] = buildRoutesModel(result, { health: moved }).files[2].routes;
    assert.strictEqual(p.healthStatus, 'ok');
  });

  it('escapes hostile words from route files and probes', () => {
    const hostile: HealthDocument = {
      ...health,
      routes: [report({ route: '/web/', file: 'apps/web.conf', line: 4, status: 'error', reason: '[click](command:devproxy.restartServer) <img src=x> $(zap)' })],
    };
    const [, p] = buildRoutesModel(result, { health: hostile }).files[2].routes;
    assert.doesNotMatch(p.tooltipMarkdown, /\]\(command:/);
    assert.doesNotMatch(p.tooltipMarkdown, /[^\\]<img/);
    assert.match(p.tooltipMarkdown, /\\\[click\\\]\\\(command:/);
    assert.doesNotMatch(p.tooltipMarkdown, /[^\\]\$\(zap/);
  });
});

describe('routesModel command arguments for health and the browser', () => {
  it('splits a URL into the origin asExternalUri takes and the path appended after it', () => {
    assert.deepStrictEqual(splitOrigin('http://127.0.0.1:8080/app/x?y=1#z'), { origin: 'http://127.0.0.1:8080', rest: '/app/x?y=1#z' });
    assert.deepStrictEqual(splitOrigin('http://localhost:8080'), { origin: 'http://localhost:8080', rest: '/' });
    assert.strictEqual(splitOrigin('file:///etc/passwd'), undefined);
    assert.strictEqual(splitOrigin('javascript:alert(1)'), undefined);
    assert.strictEqual(joinExternal('https://8080-abc.preview.app.github.dev/', '/app/%20x'), 'https://8080-abc.preview.app.github.dev/app/%20x');
  });

  it('takes the route of a tree node or a route string', () => {
    const m = buildRoutesModel(result);
    const prefix = m.files[2].routes[1];
    assert.strictEqual(routeOf(prefix), '/web/');
    assert.strictEqual(routeOf({ ...m.files[2].routes[2], route: null }), undefined, 'a regex has no route');
    assert.strictEqual(routeOf('/app/'), '/app/');
    assert.strictEqual(routeOf('app'), undefined);
    assert.strictEqual(routeOf({ kind: 'file' }), undefined);
    assert.strictEqual(prefix.line, 4);
    assert.strictEqual(prefix.upstream, 'http://127.0.0.1:5173/');
  });
});

describe('routesModel: a tree that scales', () => {
  const files = (paths: string[]): RoutesResult => ({
    ...result,
    files: paths.map((p) => ({ path: p, uri: uri(p), kind: 'app' as const, ok: true, stale: false })),
    routes: [],
    conflicts: [],
  });

  it('orders files by folder, then file name, whatever the server order (it lists by age)', () => {
    const m = buildRoutesModel(files(['overrides/a.conf', 'apps/z.conf', 'apps/b.conf', 'apps/sub/a.conf', 'apps/a.conf']));
    assert.deepStrictEqual(
      m.files.map((f) => f.id),
      ['apps/a.conf', 'apps/b.conf', 'apps/z.conf', 'apps/sub/a.conf', 'overrides/a.conf'],
    );
    // The same table in another order gives the same tree.
    const again = buildRoutesModel(files(['apps/a.conf', 'apps/sub/a.conf', 'overrides/a.conf', 'apps/b.conf', 'apps/z.conf']));
    assert.deepStrictEqual(again.files.map((f) => f.id), m.files.map((f) => f.id));
  });

  it('orders the routes of a file by line', () => {
    const r: RoutesResult = {
      ...files(['apps/x.conf']),
      routes: [
        route({ id: 'x#/c/', file: 'apps/x.conf', label: '/c/', line: 9 }),
        route({ id: 'x#/a/', file: 'apps/x.conf', label: '/a/', line: 1 }),
        route({ id: 'x#/b/', file: 'apps/x.conf', label: '/b/', line: 5 }),
      ],
    };
    assert.deepStrictEqual(buildRoutesModel(r).files[0].routes.map((x) => x.line), [1, 5, 9]);
  });

  it(`starts a file with more than ${collapseAbove} routes collapsed, a broken one expanded on its errors`, () => {
    const many = (n: number): RoutesResult => ({
      ...files(['apps/big.conf']),
      routes: Array.from({ length: n }, (_, i) => route({ id: `big#/r${i}/`, file: 'apps/big.conf', label: `/r${i}/`, line: i + 1 })),
    });
    assert.strictEqual(fileStartsExpanded(buildRoutesModel(many(collapseAbove)).files[0], 0), 'expanded');
    assert.strictEqual(fileStartsExpanded(buildRoutesModel(many(collapseAbove + 1)).files[0], 0), 'collapsed');
    assert.strictEqual(fileStartsExpanded(buildRoutesModel(many(0)).files[0], 0), 'none');
    const broken = buildRoutesModel(result).files.find((f) => f.id === 'overrides/broken.conf')!;
    assert.strictEqual(fileStartsExpanded(broken, 2), 'expanded');
    assert.strictEqual(fileStartsExpanded(broken, 0), 'none');
  });

  it("shows a broken file's errors as its children, by line, each revealing its range", () => {
    const broken = buildRoutesModel(result).files.find((f) => f.id === 'overrides/broken.conf')!;
    const range = (line: number) => ({ start: { line, character: 2 }, end: { line, character: 8 } });
    const nodes = problemNodes(broken, [
      { message: 'unexpected "}"', range: range(7) },
      { message: 'unknown directive "proxy_pas"\nmore', range: range(2) },
    ]);
    assert.deepStrictEqual(
      nodes.map((n) => [n.label, n.description, n.reveal.range.start.line, n.reveal.uri]),
      [
        ['unknown directive "proxy_pas"', 'line 3', 2, uri('overrides/broken.conf')],
        ['unexpected "}"', 'line 8', 7, uri('overrides/broken.conf')],
      ],
    );
    assert.strictEqual(new Set(nodes.map((n) => n.id)).size, 2);
  });

  it('filters by route path, file name or upstream, ignoring case; an empty filter keeps all', () => {
    const model = buildRoutesModel(result);
    const ids = (f: string) => filterRoutesModel(model, f).files.map((x) => [x.id, x.routes.map((r) => r.label)]);
    assert.deepStrictEqual(ids('/WEB/'), [['apps/web.conf', ['^~ /web/']]]);
    assert.deepStrictEqual(ids('web.conf'), [['apps/web.conf', ['= /web', '^~ /web/', '~ \\.map$']]]);
    assert.deepStrictEqual(ids('legacy'), [['apps/legacy-api.conf', ['/api/']]]);
    assert.deepStrictEqual(ids('5174'), [['apps/api.conf', ['/api/']]]);
    assert.deepStrictEqual(ids('broken'), [['overrides/broken.conf', []]]);
    assert.deepStrictEqual(ids('nothing-matches'), []);
    assert.strictEqual(filterRoutesModel(model, '  '), model);
    assert.strictEqual(routeCount(filterRoutesModel(model, 'web')), 3);
    assert.strictEqual(filterDescription('web', 3, 5), 'filter: web (3 of 5)');
    assert.strictEqual(filterDescription('', 5, 5), '');
    assert.strictEqual(filterMessage(' web ', 3, 5), 'Filter “web”: 3 of 5 routes.');
    assert.strictEqual(filterMessage('', 3, 5), '');
  });

  it('drops the folders a filter empties', () => {
    const shopRoot = '/s/shop';
    const blogRoot = '/s/blog';
    const m = buildRoutesModel({
      ...result,
      folders: [
        { label: 'shop', root: shopRoot },
        { label: 'blog', root: blogRoot },
      ],
      files: [
        { path: 'shop/apps/shop.conf', uri: `file://${shopRoot}/apps/shop.conf`, kind: 'app', ok: true, stale: false, folder: 'shop' },
        { path: 'blog/apps/blog.conf', uri: `file://${blogRoot}/apps/blog.conf`, kind: 'app', ok: true, stale: false, folder: 'blog' },
      ],
      routes: [
        route({ id: 's#/shop/', file: 'shop/apps/shop.conf', label: '/shop/' }),
        route({ id: 'b#/blog/', file: 'blog/apps/blog.conf', label: '/blog/' }),
      ],
      conflicts: [],
    });
    assert.deepStrictEqual(filterRoutesModel(m, 'blog').folders.map((f) => [f.label, f.files.map((x) => x.id)]), [['blog', ['blog/apps/blog.conf']]]);
  });

  it('says what the empty view should say: starting, stopped, no routes yet, or nothing matches', () => {
    assert.strictEqual(routesViewState({ stopped: true, loaded: true, files: 3, shownFiles: 3 }), 'stopped');
    assert.strictEqual(routesViewState({ stopped: false, loaded: false, files: 0, shownFiles: 0 }), 'starting');
    assert.strictEqual(routesViewState({ stopped: false, loaded: true, files: 0, shownFiles: 0 }), 'empty');
    assert.strictEqual(routesViewState({ stopped: false, loaded: true, files: 2, shownFiles: 0 }), 'filtered');
    assert.strictEqual(routesViewState({ stopped: false, loaded: true, files: 2, shownFiles: 1 }), 'routes');
  });
});
