import * as assert from 'assert';
import { Methods, RoutesResult } from '../../src/contract';
import { LogLevel } from '../../src/log';
import { changedVersion, isRoutesResult, RoutesView, RouteSync } from '../../src/routeSync';
import { FakeServer } from './fakeServer';
import { FakeTimers, tick } from './fakeTimers';

function table(version: number, files: string[] = []): RoutesResult {
  return {
    version,
    root: '/w',
    folders: [{ label: 'w', root: '/w' }],
    files: files.map((f) => ({ path: f, uri: `file:///w/${f}`, kind: 'app', ok: true, stale: false })),
    routes: [],
    conflicts: [],
    proxy: { state: 'running', address: '127.0.0.1:8080', url: 'http://127.0.0.1:8080', message: '', folders: [] },
  };
}

/** A view that keeps the newest table, as routesTree.ts does. */
class FakeView implements RoutesView {
  current = { version: -1 };
  shown: number[] = [];
  clears = 0;
  update(result: RoutesResult): boolean {
    if (result.version < this.current.version) {
      return false;
    }
    this.current = { version: result.version };
    this.shown.push(result.version);
    return true;
  }
  clear(): void {
    this.current = { version: -1 };
    this.clears++;
  }
}

/** A server whose devproxy/routes answers the test releases by hand,
 * the table of its version by default. */
class RouteServer extends FakeServer {
  version = 0;
  get requests(): number {
    return this.sent.length;
  }
  override answer(v: unknown = table(this.version)): void {
    super.answer(v);
  }
}

function setup() {
  const timers = new FakeTimers();
  const view = new FakeView();
  const server = new RouteServer();
  const logs: [LogLevel, string][] = [];
  const tables: RoutesResult[] = [];
  const sync = new RouteSync({
    request: () => server.request(Methods.routes, {}),
    view,
    onTable: (t) => tables.push(t),
    log: (level, message) => logs.push([level, message]),
    debounceMs: 100,
    timers,
  });
  return { timers, view, server, logs, tables, sync };
}

describe('routeSync.RouteSync', () => {
  it('coalesces a burst of routesChanged into one devproxy/routes request', async () => {
    const { timers, view, server, tables, sync } = setup();
    for (let v = 1; v <= 5; v++) {
      server.version = v;
      sync.routesChanged({ version: v });
      timers.advance(50);
    }
    assert.strictEqual(server.requests, 0, 'still within the delay');
    timers.advance(100);
    assert.strictEqual(server.requests, 1);
    server.answer();
    await tick();
    assert.deepStrictEqual(view.shown, [5]);
    assert.deepStrictEqual(
      tables.map((t) => t.version),
      [5],
    );
  });

  it('ignores a routesChanged that is not newer than the table shown, or has no version', async () => {
    const { timers, server, sync } = setup();
    server.version = 3;
    const done = sync.refresh();
    server.answer();
    await done;
    const before = server.requests;
    for (const params of [{ version: 3 }, { version: 2 }, {}, null, { version: '4' }, { version: NaN }]) {
      sync.routesChanged(params);
    }
    timers.advance(1000);
    assert.strictEqual(server.requests, before);
    sync.routesChanged({ version: 4 });
    timers.advance(100);
    assert.strictEqual(server.requests, before + 1);
  });

  it('drops an answer from before a reset (a new server numbers its tables again)', async () => {
    const { view, server, tables, sync } = setup();
    server.version = 9;
    const done = sync.refresh();
    sync.reset();
    server.answer();
    await done;
    assert.deepStrictEqual(view.shown, []);
    assert.deepStrictEqual(tables, []);
    assert.strictEqual(view.clears, 1);
  });

  it('asks nothing when no server runs, and ignores answers of the wrong shape', async () => {
    const { view, server, sync } = setup();
    server.running = false;
    await sync.refresh();
    assert.strictEqual(server.requests, 0);
    server.running = true;
    const done = sync.refresh();
    server.answer(null);
    await done;
    const again = sync.refresh();
    server.answer({ version: 1 });
    await again;
    assert.deepStrictEqual(view.shown, []);
  });

  it('hands on only the tables the view took', async () => {
    const { server, tables, sync } = setup();
    server.version = 5;
    let done = sync.refresh();
    server.answer();
    await done;
    done = sync.refresh();
    server.answer(table(4));
    await done;
    assert.deepStrictEqual(
      tables.map((t) => t.version),
      [5],
    );
  });

  it('logs a failing devproxy/routes once per server', async () => {
    const { server, logs, sync } = setup();
    for (let i = 0; i < 3; i++) {
      const done = sync.refresh();
      server.fail(new Error('method not found'));
      await done;
    }
    assert.deepStrictEqual(logs, [['Warn', 'devproxy/routes failed: method not found (the Routes view stays empty).']]);
    sync.reset();
    const done = sync.refresh();
    server.fail(new Error('method not found'));
    await done;
    assert.strictEqual(logs.length, 2);
  });
});

describe('routeSync helpers', () => {
  it('reads the version of routesChanged', () => {
    assert.strictEqual(changedVersion({ version: 7 }), 7);
    assert.strictEqual(changedVersion({ version: '7' }), undefined);
    assert.strictEqual(changedVersion(undefined), undefined);
  });

  it('recognises a RoutesResult by its routes', () => {
    assert.strictEqual(isRoutesResult(table(1)), true);
    assert.strictEqual(isRoutesResult({ version: 1 }), false);
    assert.strictEqual(isRoutesResult(null), false);
  });
});
