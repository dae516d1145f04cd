// tunnelSync.ts: the status bar item follows devproxy/tunnelChanged and the
// answers of devproxy/tunnel, tunnelStart and tunnelStop, by tunnelModel's
// rule; an older server without a tunnel is said once, not as an error.

import * as assert from 'assert';
import { Methods, TunnelState } from '../../src/contract';
import { TunnelSync, TunnelView } from '../../src/tunnelSync';
import { FakeServer } from './fakeServer';

const up: TunnelState = { provider: 'ngrok', publicUrl: 'https://e2e-test.ngrok-free.app', status: 'up', since: '2026-11-29T15:20:01Z' };
const starting: TunnelState = { provider: 'ngrok', status: 'starting', since: '2026-11-29T15:20:00Z' };
const off: TunnelState = { provider: 'ngrok', status: 'off', since: '2026-11-29T15:21:00Z' };

class FakeView implements TunnelView {
  shown: TunnelState[] = [];
  show(state: TunnelState): void {
    this.shown.push(state);
  }
  get last(): TunnelState | undefined {
    return this.shown.at(-1);
  }
}

function setup() {
  const view = new FakeView();
  const server = new FakeServer();
  const logged: string[] = [];
  const sync = new TunnelSync({ request: server.request, view, log: (level, m) => logged.push(`${level} ${m}`) });
  return { view, server, logged, sync };
}

describe('tunnelSync.TunnelSync', () => {
  it('shows nothing known at first, then the answer of devproxy/tunnel', async () => {
    const s = setup();
    assert.deepStrictEqual(s.view.shown.map((x) => x.status), ['off']);
    const done = s.sync.refresh();
    assert.deepStrictEqual(s.server.sent, [[Methods.tunnel, {}]]);
    s.server.answer(up);
    await done;
    assert.deepStrictEqual(s.view.last, up);
    assert.deepStrictEqual(s.sync.current, up);
  });

  it('follows devproxy/tunnelChanged, and keeps a newer push over an older answer that crossed it', async () => {
    const s = setup();
    const started = s.sync.start({ provider: 'auto' });
    assert.deepStrictEqual(s.server.sent, [[Methods.tunnelStart, { provider: 'auto' }]]);
    s.sync.tunnelChanged(up);
    s.server.answer(starting);
    const answered = await started;
    assert.deepStrictEqual(answered, up, 'the answer resolves with what is shown');
    assert.deepStrictEqual(s.view.last, up);
  });

  it('stops: devproxy/tunnelStop, and the item shows off', async () => {
    const s = setup();
    s.sync.tunnelChanged(up);
    const stopped = s.sync.stop();
    assert.deepStrictEqual(s.server.sent, [[Methods.tunnelStop, {}]]);
    s.server.answer(off);
    assert.deepStrictEqual(await stopped, off);
    assert.strictEqual(s.view.last?.status, 'off');
  });

  it("rejects with the server's error for the command to show", async () => {
    const s = setup();
    const started = s.sync.start({ provider: 'manual' });
    s.server.fail(Object.assign(new Error('manual needs url'), { code: -32602 }));
    await assert.rejects(started, /manual needs url/);
  });

  it('forgets the tunnel when the server stops, and drops answers of the server before', async () => {
    const s = setup();
    s.sync.tunnelChanged(up);
    const asked = s.sync.refresh();
    s.sync.reset();
    assert.strictEqual(s.view.last?.status, 'off');
    assert.strictEqual(s.view.last?.publicUrl, undefined);
    s.server.answer(up);
    await asked;
    assert.strictEqual(s.view.last?.status, 'off');
  });

  it('says once, as info, that an older server has no tunnel', async () => {
    const s = setup();
    for (let i = 0; i < 2; i++) {
      const asked = s.sync.refresh();
      s.server.fail({ code: -32601, message: 'method not found' });
      await asked;
    }
    assert.strictEqual(s.sync.supported, false);
    assert.strictEqual(s.logged.length, 1);
    assert.match(s.logged[0], /^Info .*devproxy\/tunnel: method not found/);
  });

  it('asks nothing when no server runs, and ignores what is not a tunnel state', async () => {
    const s = setup();
    s.server.running = false;
    assert.strictEqual(await s.sync.start({ provider: 'auto' }), undefined);
    s.sync.tunnelChanged({ state: 'up' });
    assert.strictEqual(s.view.shown.length, 1);
    assert.match(s.logged[0], /^Warn devproxy\/tunnelChanged without a tunnel state/);
  });
});
