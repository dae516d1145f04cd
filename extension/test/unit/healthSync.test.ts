import * as assert from 'assert';
import { HealthDocument, Methods } from '../../src/contract';
import { isNewerHealth } from '../../src/healthModel';
import { HealthSync, HealthView, isMethodNotFound } from '../../src/healthSync';
import { LogLevel } from '../../src/log';
import { FakeTimers, tick } from './fakeTimers';
import { FakeServer } from './fakeServer';

function doc(minute: number, ok = 1): HealthDocument {
  return {
    generatedAt: `2026-11-29T15:${String(minute).padStart(2, '0')}:00Z`,
    source: 'owner',
    summary: { total: ok, ok, warning: 0, error: 0, unknown: 0 },
    routes: [],
    upstreams: [],
  };
}

/** A view that keeps the newest document, as routesTree.ts does. */
class FakeView implements HealthView {
  shown: HealthDocument[] = [];
  updateHealth(d: HealthDocument): boolean {
    if (!isNewerHealth(this.shown.at(-1), d)) {
      return false;
    }
    this.shown.push(d);
    return true;
  }
}

function setup() {
  const timers = new FakeTimers();
  const view = new FakeView();
  const server = new FakeServer();
  const logs: [LogLevel, string][] = [];
  const summaries: number[] = [];
  const sync = new HealthSync({
    request: server.request,
    view,
    onHealth: (d) => summaries.push(d.summary.ok),
    log: (level, message) => logs.push([level, message]),
    debounceMs: 100,
    timers,
  });
  return { timers, view, server, logs, summaries, sync };
}

const notFound = Object.assign(new Error('Unhandled method devproxy/health'), { code: -32601 });

describe('HealthSync', () => {
  it('asks devproxy/health on start and shows the answer in the tree and the status bar', async () => {
    const { view, server, summaries, sync } = setup();
    const done = sync.refresh();
    assert.deepStrictEqual(server.sent, [[Methods.health, {}]]);
    server.answer(doc(20, 3));
    await done;
    assert.deepStrictEqual(view.shown.map((d) => d.generatedAt), ['2026-11-29T15:20:00Z']);
    assert.deepStrictEqual(summaries, [3]);
  });

  it('coalesces a burst of devproxy/healthChanged: only the newest is shown', async () => {
    const { timers, view, summaries, sync } = setup();
    sync.healthChanged(doc(21, 1));
    sync.healthChanged(doc(22, 2));
    sync.healthChanged({ not: 'a document' });
    timers.advance(99);
    await tick();
    assert.strictEqual(view.shown.length, 0);
    timers.advance(1);
    await tick();
    assert.deepStrictEqual(summaries, [2]);
  });

  it('drops a document older than the one shown', async () => {
    const { timers, view, server, sync } = setup();
    sync.healthChanged(doc(30));
    timers.advance(100);
    await tick();
    const late = sync.refresh();
    server.answer(doc(10));
    await late;
    assert.deepStrictEqual(view.shown.map((d) => d.generatedAt), ['2026-11-29T15:30:00Z']);
  });

  it('takes MethodNotFound from an older server quietly, once, and stops asking', async () => {
    const { view, server, logs, sync } = setup();
    const first = sync.refresh();
    server.fail(notFound);
    await first;
    assert.strictEqual(sync.supported, false);
    assert.deepStrictEqual(logs.map(([l]) => l), ['Info']);
    assert.match(logs[0][1], /does not report route health/);
    await sync.refresh();
    assert.strictEqual(server.sent.length, 1, 'no second devproxy/health');
    assert.strictEqual(view.shown.length, 0);
    const r = sync.rescan('/app/');
    assert.strictEqual(server.sent.length, 2);
    server.fail(notFound);
    assert.strictEqual(await r, undefined, 'a rescan on an older server resolves to nothing');
    assert.strictEqual(logs.length, 1);
    sync.reset();
    assert.strictEqual(sync.supported, true, 'a new server may know health');
  });

  it('logs another failure of devproxy/health once, as a warning', async () => {
    const { server, logs, sync } = setup();
    for (let i = 0; i < 2; i++) {
      const p = sync.refresh();
      server.fail(new Error('boom'));
      await p;
    }
    assert.deepStrictEqual(logs, [['Warn', `${Methods.health} failed: boom (routes show their last known health).`]]);
  });

  it('rescans one route or every route and shows the answer; a failure reaches the command', async () => {
    const { view, server, sync } = setup();
    const one = sync.rescan('/app/');
    assert.deepStrictEqual(server.sent.at(-1), [Methods.rescan, { route: '/app/' }]);
    server.answer(doc(40));
    assert.strictEqual((await one)?.generatedAt, '2026-11-29T15:40:00Z');
    assert.strictEqual(view.shown.length, 1);
    const all = sync.rescan();
    assert.deepStrictEqual(server.sent.at(-1), [Methods.rescan, {}]);
    server.fail(new Error('scan cancelled'));
    await assert.rejects(all, /scan cancelled/);
  });

  it('drops answers of a server that stopped, and does nothing without a server', async () => {
    const { view, server, sync } = setup();
    const p = sync.refresh();
    sync.reset();
    server.answer(doc(50));
    await p;
    assert.strictEqual(view.shown.length, 0);
    server.running = false;
    assert.strictEqual(await sync.rescan('/x/'), undefined);
  });

  it('knows MethodNotFound by its code', () => {
    assert.ok(isMethodNotFound(notFound));
    assert.ok(!isMethodNotFound(new Error('x')));
    assert.ok(!isMethodNotFound({ code: -32603 }));
  });
});
