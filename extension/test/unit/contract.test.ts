// contract.ts against the JSON Schemas of the custom messages (schemas/lsp-*)
// and docs/lsp.md. The samples below are typed with Required<…>, so the
// compiler holds them to contract.ts (a field missing or extra is an error)
// and the tests hold their keys to the schemas.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  ChatDeltaParams,
  ChatFix,
  ChatParams,
  ChatResult,
  ChatThinkingParams,
  HealthDocument,
  HealthReport,
  HealthSources,
  HealthStatuses,
  Methods,
  PassiveTraffic,
  RescanParams,
  RouteMetrics,
  RouteMetricsParams,
  RouteMetricsPoint,
  ProxyFolder,
  ProxyOwner,
  ProxyStates,
  ProxyStatus,
  RouteFileInfo,
  RouteInfo,
  RoutesFolder,
  RoutesResult,
  TakeOverResult,
  ApiKeyRoles,
  CreateKeyParams,
  CreateKeyResult,
  TunnelProviders,
  TunnelStartParams,
  TunnelStartProviders,
  TunnelState,
  TunnelStatuses,
} from '../../src/contract';
import { maxKeyNameLength } from '../../src/apiKeys';

const repo = path.resolve(__dirname, '..', '..', '..');
const readJSON = (rel: string) => JSON.parse(fs.readFileSync(path.join(repo, rel), 'utf8'));
const docs = fs.readFileSync(path.join(repo, 'docs/lsp.md'), 'utf8');

interface ObjectSchema {
  required?: string[];
  properties: Record<string, { enum?: unknown[] }>;
}

const keys = (o: object) => Object.keys(o).sort();
const props = (s: ObjectSchema) => Object.keys(s.properties).sort();

const folder: Required<ProxyFolder> = { root: '/home/me/src/shop', label: 'shop', mine: true, pid: 4242, kind: 'vscode' };
const owner: Required<ProxyOwner> = { pid: 4242, kind: 'vscode', name: 'shop', root: '/home/me/src/shop' };
const status: Required<ProxyStatus> = {
  state: 'running',
  address: '127.0.0.1:8080',
  url: 'http://127.0.0.1:8080',
  message: '',
  role: 'owner',
  folders: [folder],
  owner,
};
/** The fields of ProxyStatus a server may leave out. */
const optionalStatus = ['role', 'owner'];

describe('contract.ts and schemas/lsp-status.schema.json', () => {
  const schema = readJSON('schemas/lsp-status.schema.json');

  it('has the same states', () => {
    assert.deepStrictEqual(schema.properties.state.enum, [...ProxyStates]);
    assert.ok(!(ProxyStates as readonly string[]).includes('other-devproxy'), 'a second devproxy joins now');
  });

  it('has the same fields, required alike', () => {
    assert.deepStrictEqual(keys(status), props(schema));
    assert.deepStrictEqual(
      [...schema.required].sort(),
      keys(status).filter((k) => !optionalStatus.includes(k)),
    );
    assert.deepStrictEqual(schema.properties.role.enum, ['owner', 'member']);
  });

  it('has the same folder and owner', () => {
    assert.deepStrictEqual(keys(folder), props(schema.$defs.folder));
    assert.deepStrictEqual([...schema.$defs.folder.required].sort(), keys(folder));
    assert.deepStrictEqual(keys(owner), props(schema.$defs.owner));
    assert.deepStrictEqual([...schema.$defs.owner.required].sort(), keys(owner));
    assert.deepStrictEqual(schema.$defs.kind.enum, ['vscode', 'serve']);
  });
});

describe('contract.ts and schemas/lsp-takeover.schema.json', () => {
  it('has the same result', () => {
    const schema = readJSON('schemas/lsp-takeover.schema.json');
    const result: Required<TakeOverResult> = { ok: true, message: 'this window serves the proxy now' };
    assert.deepStrictEqual(keys(result), props(schema));
    assert.deepStrictEqual([...schema.required].sort(), keys(result));
  });
});

describe('contract.ts and schemas/lsp-routes.schema.json', () => {
  const schema = readJSON('schemas/lsp-routes.schema.json');
  const routesFolder: Required<RoutesFolder> = { label: 'shop', root: '/home/me/src/shop' };
  const file: Required<RouteFileInfo> = {
    path: 'shop/apps/shop.conf',
    uri: 'file:///home/me/src/shop/apps/shop.conf',
    kind: 'app',
    ok: true,
    folder: 'shop',
    stale: false,
    staleSince: '2024-05-02T14:02:11Z',
    unsaved: false,
  };
  const route: Required<RouteInfo> = {
    id: 'shop/apps/shop.conf#/shop/',
    route: '/shop/',
    file: 'shop/apps/shop.conf',
    uri: file.uri,
    line: 1,
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 15 } },
    modifier: '',
    spec: '/shop/',
    label: '/shop/',
    active: true,
    inactiveCode: null,
    inactiveReason: null,
    conflict: null,
    upstream: 'http://127.0.0.1:3000/',
    url: 'http://127.0.0.1:8080/shop/',
    health: null,
  };
  const result: Required<RoutesResult> = { version: 1, root: routesFolder.root, folders: [routesFolder], files: [file], routes: [route], conflicts: [], proxy: status };

  it('has the same top-level fields, all required', () => {
    assert.deepStrictEqual(keys(result), props(schema));
    assert.deepStrictEqual([...schema.required].sort(), keys(result));
  });

  it('has the same folders', () => {
    const items = schema.properties.folders.items;
    assert.deepStrictEqual(keys(routesFolder), props(items));
    assert.deepStrictEqual([...items.required].sort(), keys(routesFolder));
  });

  it('has the same routes', () => {
    const items = schema.properties.routes.items;
    assert.deepStrictEqual(keys(route), props(items));
  });

  // The file fields (folder, stale, staleSince, unsaved) come to the schema
  // with the server's side of shared ports; until then the check is one way:
  // whatever the schema lets the server send is typed here.
  it('types every field of a route file the schema lets the server send', () => {
    const items = schema.properties.files.items;
    for (const k of props(items)) {
      assert.ok(k in file, `RouteFileInfo has ${k}`);
    }
  });

  it('takes its proxy from lsp-status.schema.json', () => {
    assert.deepStrictEqual(schema.properties.proxy, { $ref: 'lsp-status.schema.json' });
  });
});

describe('contract.ts and schemas/health.schema.json (the server\'s proxy/monitor.Document)', () => {
  const schema = readJSON('schemas/health.schema.json');
  const reportSchema = readJSON('schemas/health-report.schema.json');
  const passive: Required<PassiveTraffic> = { since: '2026-11-29T15:00:00Z', requests: 12, errors: 3, dialErrors: 3, latencyMs: 4.5, lastError: 'dial tcp: connection refused', lastErrorAt: '2026-11-29T15:19:58Z' };
  const report: Required<HealthReport> = {
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
    hmr: { framework: 'vite', url: 'ws://127.0.0.1:8080/app/', ok: false, reason: 'no upgrade' },
    checkedAt: '2026-11-29T15:20:00Z',
    passive,
    tunnel: { url: 'https://abc.ngrok.app/app/', status: 'warning', httpStatus: 404, latencyMs: 80, reason: 'HTTP 404 Not Found', checkedAt: '2026-11-29T15:20:00Z' },
  };
  const doc: Required<HealthDocument> = {
    generatedAt: '2026-11-29T15:20:00Z',
    source: 'owner',
    summary: { total: 1, ok: 0, warning: 0, error: 1, unknown: 0 },
    routes: [report],
    upstreams: [{ upstream: report.upstream, status: 'error', reason: report.reason, routes: ['/app/'] }],
  };

  it('has the same document fields, all required', () => {
    assert.deepStrictEqual(keys(doc), props(schema));
    assert.deepStrictEqual([...schema.required].sort(), keys(doc));
    assert.deepStrictEqual(schema.properties.source.enum, [...HealthSources]);
    assert.deepStrictEqual(keys(doc.summary), props(schema.properties.summary));
    assert.deepStrictEqual(keys(doc.upstreams[0]), props(schema.properties.upstreams.items));
  });

  it('has the same statuses as the scanner', () => {
    assert.deepStrictEqual(reportSchema.$defs.status.enum, [...HealthStatuses]);
    assert.deepStrictEqual(schema.properties.upstreams.items.properties.status, { $ref: 'health-report.schema.json#/$defs/status' });
  });

  it("has the same route report as the scanner's, passive and tunnel optional", () => {
    assert.deepStrictEqual(schema.properties.routes.items, { $ref: 'health-report.schema.json#/$defs/route' });
    const route = reportSchema.$defs.route;
    assert.deepStrictEqual(keys(report), props(route));
    assert.deepStrictEqual([...route.required].sort(), keys(report).filter((k) => k !== 'passive' && k !== 'tunnel'));
    assert.deepStrictEqual(keys(report.tunnel!), props(route.properties.tunnel));
    assert.deepStrictEqual([...route.properties.tunnel.required].sort(), keys(report.tunnel!));
    assert.deepStrictEqual(keys(passive), props(route.properties.passive));
    assert.deepStrictEqual([...route.properties.passive.required].sort(), keys(passive));
    assert.deepStrictEqual(keys(report.hmr!), props(route.properties.hmr.oneOf[1]));
  });

  it('has the same rescan params and route metrics', () => {
    const rescan: Required<RescanParams> = { route: '/app/' };
    assert.deepStrictEqual(keys(rescan), props(readJSON('schemas/lsp-rescan-params.schema.json')));
    const m = readJSON('schemas/lsp-route-metrics.schema.json');
    const point: Required<RouteMetricsPoint> = { start: '2026-11-29T15:19:00Z', requests: 12, errors: 3, bytes: 20480, upstreamMs: 4.5, proxyMs: 0.3 };
    const metrics: Required<RouteMetrics> = { route: '/app/', resolutionSeconds: 60, points: [point] };
    const params: Required<RouteMetricsParams> = { route: '/app/', minutes: 60 };
    assert.deepStrictEqual(keys(metrics), props(m));
    assert.deepStrictEqual([...m.required].sort(), keys(metrics));
    assert.deepStrictEqual(keys(point), props(m.properties.points.items));
    assert.deepStrictEqual([...m.properties.points.items.required].sort(), keys(point));
    assert.deepStrictEqual(keys(params), props(m.$defs.params));
  });
});

/**
 * The chat schemas come from the server's side of issue 12 (written on its
 * branch at the same time as this client). Until both are merged, the
 * comparisons below skip when a schema is absent; once merged they hold
 * the client's types to the server's schema, both ways.
 */
const chatSchemas = ['schemas/lsp-chat.schema.json', 'schemas/lsp-chat-delta.schema.json'];
const hasSchema = (rel: string) => fs.existsSync(path.join(repo, rel));

describe('contract.ts and schemas/lsp-chat.schema.json, lsp-chat-delta.schema.json', () => {
  const fix: Required<ChatFix> = {
    title: 'Add base: "/app/" to vite.config.ts',
    pattern: 'vite-base',
    edit: { changes: { 'file:///w/apps/app.conf': [{ range: { start: { line: 0, character: 9 }, end: { line: 0, character: 13 } }, newText: '/app/' }] } },
    appChange: { file: 'vite.config.ts', description: 'Serve the app under /app/', snippet: "base: '/app/'," },
  };
  const result: Required<ChatResult> = {
    conversation: 'c1',
    text: 'It fails because…',
    sources: [{ file: 'docs/vite.md', heading: 'Serving Vite under a prefix' }],
    provider: '',
    offline: true,
    notes: ['no model answered'],
    fixes: [fix],
  };
  const params: Required<ChatParams> = { message: 'Why does /app/ fail?', conversation: 'c1' };
  const delta: Required<ChatDeltaParams> = { conversation: 'c1', delta: 'It ' };
  const thinking: Required<ChatThinkingParams> = { conversation: 'c1', text: 'probing /app/ …' };

  beforeEach(function () {
    if (!chatSchemas.every(hasSchema)) {
      this.skip();
    }
  });

  it('has the same result, every field required', () => {
    const schema = readJSON('schemas/lsp-chat.schema.json');
    assert.deepStrictEqual(keys(result), props(schema));
    assert.deepStrictEqual([...schema.required].sort(), keys(result));
    assert.deepStrictEqual(keys(result.sources[0]), props(schema.properties.sources.items));
  });

  it('has the same params, message required', () => {
    const schema = readJSON('schemas/lsp-chat.schema.json');
    assert.deepStrictEqual(keys(params), props(schema.$defs.params));
    assert.deepStrictEqual(schema.$defs.params.required, ['message']);
  });

  it('has the same fix: title and pattern required, edit and appChange optional', () => {
    const f = readJSON('schemas/lsp-chat.schema.json').$defs.fix;
    assert.deepStrictEqual(keys(fix), props(f));
    assert.deepStrictEqual([...f.required].sort(), ['pattern', 'title']);
    assert.deepStrictEqual(keys(fix.appChange), props(f.properties.appChange));
    assert.deepStrictEqual(Object.keys(f.properties.edit.properties), ['changes']);
  });

  it('has the same delta and thinking notifications', () => {
    const schema = readJSON('schemas/lsp-chat-delta.schema.json');
    assert.deepStrictEqual(keys(delta), props(schema.$defs.delta));
    assert.deepStrictEqual([...schema.$defs.delta.required].sort(), keys(delta));
    assert.deepStrictEqual(keys(thinking), props(schema.$defs.thinking));
    assert.deepStrictEqual([...schema.$defs.thinking.required].sort(), keys(thinking));
  });
});

/**
 * The tunnel and key schemas come from the server's side of issue 13,
 * written on its branch at the same time as this client: as for the chat
 * schemas, the comparisons skip while a schema is absent and hold the
 * client's types to the server's schemas, both ways, once merged.
 */
const tunnelSchemas = ['schemas/lsp-tunnel.schema.json', 'schemas/lsp-tunnel-start-params.schema.json', 'schemas/lsp-create-key-params.schema.json', 'schemas/lsp-create-key.schema.json'];

describe('contract.ts and schemas/lsp-tunnel*.schema.json, lsp-create-key*.schema.json', () => {
  const state: Required<TunnelState> = { provider: 'ngrok', publicUrl: 'https://abc.ngrok.app', status: 'up', error: '', since: '2026-11-29T15:20:00Z' };
  const start: Required<TunnelStartParams> = { provider: 'manual', url: 'https://abc.example.com' };
  const keyParams: Required<CreateKeyParams> = { role: 'read-only', name: "Ana's laptop" };
  const key: Required<CreateKeyResult> = { id: '3f9a0c1e', role: 'read-only', name: "Ana's laptop", key: 'dvp_x', createdAt: '2026-11-29T15:20:00Z' };
  const schemaOf = (rel: string) => {
    if (!hasSchema(rel)) {
      return undefined;
    }
    return readJSON(rel);
  };

  it('has the same tunnel state: provider, status and since required', function () {
    const schema = schemaOf('schemas/lsp-tunnel.schema.json');
    if (!schema) {
      this.skip();
    }
    assert.deepStrictEqual(keys(state), props(schema));
    assert.deepStrictEqual([...schema.required].sort(), ['provider', 'since', 'status']);
    assert.deepStrictEqual([...schema.properties.status.enum].sort(), [...TunnelStatuses].sort());
    assert.deepStrictEqual([...schema.properties.provider.enum].sort(), [...TunnelProviders].sort());
  });

  it('has the same tunnelStart params, all optional', function () {
    const schema = schemaOf('schemas/lsp-tunnel-start-params.schema.json');
    if (!schema) {
      this.skip();
    }
    assert.deepStrictEqual(keys(start), props(schema));
    assert.deepStrictEqual(schema.required ?? [], []);
    // The server also takes "" for auto (its default); the client always names one.
    assert.deepStrictEqual([...schema.properties.provider.enum].sort(), ['', ...TunnelStartProviders].sort());
  });

  it('has the same createKey params (role required) and result (all required)', function () {
    const params = schemaOf('schemas/lsp-create-key-params.schema.json');
    const result = schemaOf('schemas/lsp-create-key.schema.json');
    if (!params || !result) {
      this.skip();
    }
    assert.deepStrictEqual(keys(keyParams), props(params));
    assert.deepStrictEqual(params.required, ['role']);
    assert.deepStrictEqual([...params.properties.role.enum].sort(), [...ApiKeyRoles].sort());
    assert.strictEqual(params.properties.name.maxLength, maxKeyNameLength, 'apiKeys.ts checks the name as the schema does');
    assert.deepStrictEqual(keys(key), props(result));
    assert.deepStrictEqual([...result.required].sort(), keys(key));
  });
});

describe('contract.ts and docs/lsp.md', () => {
  /** The rows, as cells, of the table whose header row starts with `| first |`. */
  function tableAfterHeader(first: string): string[][] {
    const lines = docs.split('\n');
    const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
    assert.ok(start >= 0, `docs/lsp.md has a table headed "${first}"`);
    const rows: string[][] = [];
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith('|')) {
        break;
      }
      rows.push(
        line
          .slice(1, -1)
          .split('|')
          .map((c) => c.trim().replace(/^`(.*)`$/, '$1')),
      );
    }
    return rows;
  }

  it('documents every health status, and no other', () => {
    assert.deepStrictEqual(
      tableAfterHeader('status').map((r) => r[0]),
      [...HealthStatuses],
    );
  });

  it('documents the health messages with their directions and schemas', () => {
    const rows = new Map(tableAfterHeader('Message').map((r) => [r[0], r]));
    const want: [string, string, string][] = [
      [Methods.health, 'request, client → server', 'schemas/health.schema.json'],
      [Methods.healthChanged, 'notification, server → client', 'schemas/health.schema.json'],
      [Methods.rescan, 'request, client → server', 'schemas/lsp-rescan-params.schema.json'],
      [Methods.routeMetrics, 'request, client → server', 'schemas/lsp-route-metrics.schema.json'],
    ];
    for (const [method, direction, schema] of want) {
      const r = rows.get(method);
      assert.ok(r, `docs/lsp.md lists ${method}`);
      assert.strictEqual(r[1], direction, `direction of ${method}`);
      assert.ok(r[4].includes(schema), `${method} names ${schema}`);
    }
    assert.strictEqual(rows.get(Methods.health)![3], 'HealthDocument');
    assert.strictEqual(rows.get(Methods.rescan)![3], 'HealthDocument');
    assert.strictEqual(rows.get(Methods.routeMetrics)![3], 'RouteMetrics');
  });

  it('documents every proxy state, and no other', () => {
    assert.deepStrictEqual(
      tableAfterHeader('state').map((r) => r[0]),
      [...ProxyStates],
    );
  });

  it("names an existing schema for every custom message, devproxy/takeOver's included", () => {
    const rows = tableAfterHeader('Message');
    assert.ok(rows.some((r) => r[0] === Methods.takeOver));
    for (const r of rows) {
      if (r[4] === '—') {
        // Only devproxy/setSecrets has none: one string field, never traced.
        assert.strictEqual(r[0], Methods.setSecrets, `${r[0]} names its schema`);
        continue;
      }
      const schemas = r[4].split(',').map((s) => s.replace(/`/g, '').trim());
      for (const s of schemas) {
        if ((chatSchemas.includes(s) || tunnelSchemas.includes(s)) && !hasSchema(s)) {
          continue; // the server's branch writes it (see above)
        }
        assert.ok(fs.existsSync(path.join(repo, s)), `${r[0]}: ${s} exists`);
      }
    }
  });

  it('documents the tunnel and key messages with their directions and schemas, and every tunnel status', () => {
    const rows = new Map(tableAfterHeader('Message').map((r) => [r[0], r]));
    const want: [string, string, string, string][] = [
      [Methods.tunnel, 'request, client → server', 'TunnelState', 'schemas/lsp-tunnel.schema.json'],
      [Methods.tunnelChanged, 'notification, server → client', '—', 'schemas/lsp-tunnel.schema.json'],
      [Methods.tunnelStart, 'request, client → server', 'TunnelState', 'schemas/lsp-tunnel-start-params.schema.json'],
      [Methods.tunnelStop, 'request, client → server', 'TunnelState', 'schemas/lsp-tunnel.schema.json'],
      [Methods.createKey, 'request, client → server', '{id, role, name, key, createdAt}', 'schemas/lsp-create-key.schema.json'],
    ];
    for (const [method, direction, result, schema] of want) {
      const r = rows.get(method);
      assert.ok(r, `docs/lsp.md lists ${method}`);
      assert.strictEqual(r[1], direction, `direction of ${method}`);
      assert.strictEqual(r[3], result, `result of ${method}`);
      assert.ok(r[4].includes(schema), `${method} names ${schema}`);
    }
    assert.ok(rows.get(Methods.createKey)![4].includes('schemas/lsp-create-key-params.schema.json'));
    assert.strictEqual(rows.get(Methods.tunnelChanged)![2], 'TunnelState');
    assert.deepStrictEqual(
      tableAfterHeader('`TunnelState.status`').map((r) => r[0]),
      [...TunnelStatuses],
    );
  });

  it('documents the Calliope messages with their directions and schemas', () => {
    const rows = new Map(tableAfterHeader('Message').map((r) => [r[0], r]));
    const want: [string, string, string][] = [
      [Methods.chat, 'request, client → server', 'schemas/lsp-chat.schema.json'],
      [Methods.chatDelta, 'notification, server → client', 'schemas/lsp-chat-delta.schema.json'],
      [Methods.chatThinking, 'notification, server → client', 'schemas/lsp-chat-delta.schema.json'],
      [Methods.setSecrets, 'notification, client → server', '—'],
    ];
    for (const [method, direction, schema] of want) {
      const r = rows.get(method);
      assert.ok(r, `docs/lsp.md lists ${method}`);
      assert.strictEqual(r[1], direction, `direction of ${method}`);
      assert.ok(r[4].includes(schema), `${method} names ${schema}`);
    }
    assert.match(rows.get(Methods.setSecrets)![2], /openaiApiKey/);
  });
});
