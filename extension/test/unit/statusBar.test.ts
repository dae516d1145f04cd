import * as assert from 'assert';
import { Commands, ProxyStatus } from '../../src/contract';
import { initialStatus, isProxyStatus, nextStatus, renderStatus, shorten, StatusEvent, StatusState } from '../../src/statusBar';

function run(...events: StatusEvent[]): StatusState {
  return events.reduce(nextStatus, initialStatus);
}

const status = (over: Partial<ProxyStatus>): StatusEvent => ({
  type: 'proxyStatus',
  status: { state: 'running', address: '127.0.0.1:8080', url: 'http://127.0.0.1:8080', message: '', ...over },
});

describe('statusBar state machine', () => {
  it('starts in starting, and stays there until the proxy reports', () => {
    assert.strictEqual(run().kind, 'starting');
    assert.strictEqual(run({ type: 'serverStarting' }, { type: 'serverRunning' }).kind, 'starting');
  });

  it('follows devproxy/status through every proxy state', () => {
    for (const s of ['running', 'other-devproxy', 'port-in-use', 'disabled', 'error'] as const) {
      const st = run({ type: 'serverRunning' }, status({ state: s }));
      assert.strictEqual(st.kind, s);
      assert.strictEqual(st.address, '127.0.0.1:8080');
    }
  });

  it('shows an unknown state from a newer server as an error', () => {
    const st = run(status({ state: 'sleeping' as ProxyStatus['state'], message: 'zzz' }));
    assert.strictEqual(st.kind, 'error');
    assert.strictEqual(st.message, 'zzz');
  });

  it('stops, ignores a late status, and starts again', () => {
    const stopped = run(status({}), { type: 'serverStopped', failure: 'exit code 2' });
    assert.deepStrictEqual(stopped, { kind: 'stopped', address: '127.0.0.1:8080', message: 'exit code 2', failed: true, pushed: false });
    assert.strictEqual(nextStatus(stopped, status({})).kind, 'stopped');
    assert.strictEqual(nextStatus(stopped, { type: 'serverStarting' }).kind, 'starting');
    assert.strictEqual(run(status({}), { type: 'serverStopped' }).failed, false);
  });

  // devproxy/routes answers carry the proxy's state too; until the server
  // pushed devproxy/status they fill the status bar, after it they may be
  // older than the push and are ignored.
  const table = (over: Partial<ProxyStatus>): StatusEvent => {
    const e = status(over) as { status: ProxyStatus };
    return { type: 'tableProxyStatus', status: e.status };
  };

  it("takes the table's copy of the proxy state until devproxy/status arrives", () => {
    assert.strictEqual(run({ type: 'serverRunning' }, table({ state: 'port-in-use' })).kind, 'port-in-use');
    assert.strictEqual(run(table({ state: 'disabled' }), table({ state: 'running' })).kind, 'running');
    assert.strictEqual(run(status({ state: 'running' }), table({ state: 'port-in-use' })).kind, 'running');
    assert.strictEqual(run(status({}), { type: 'serverStopped' }, table({})).kind, 'stopped');
  });

  it('listens to the copies again after a new server starts', () => {
    const st = run(status({ state: 'running' }), { type: 'serverStarting' }, table({ state: 'disabled' }));
    assert.strictEqual(st.kind, 'disabled');
  });

  it('recognises a ProxyStatus by its state', () => {
    assert.strictEqual(isProxyStatus({ state: 'running', address: '' }), true);
    assert.strictEqual(isProxyStatus({ address: '127.0.0.1:8080' }), false);
    assert.strictEqual(isProxyStatus(null), false);
    assert.strictEqual(isProxyStatus('running'), false);
  });
});

describe('statusBar rendering', () => {
  it('shows the radio tower and the address while running; a click shows the output', () => {
    const v = renderStatus(run(status({})));
    assert.strictEqual(v.text, '$(radio-tower) devproxy 127.0.0.1:8080');
    assert.strictEqual(v.command, Commands.showOutput);
    assert.strictEqual(v.backgroundColor, undefined);
    assert.match(v.tooltip, /http:\/\/127\.0\.0\.1:8080/);
  });

  it('shows a warning icon and the message when the port is held', () => {
    const message = '127.0.0.1:8080 is in use by another program; change devproxy.listen, or listen in devproxy.json';
    const v = renderStatus(run(status({ state: 'port-in-use', message })));
    assert.ok(v.text.startsWith('$(warning) devproxy: 127.0.0.1:8080 is in use'), v.text);
    assert.ok(v.text.length < 80, 'the status bar gets a short text');
    assert.ok(v.tooltip.includes(message), 'the tooltip has the whole message');
    assert.strictEqual(v.backgroundColor, 'statusBarItem.warningBackground');
  });

  it('renders every state with a codicon and the output command', () => {
    const states: StatusState[] = [
      run(),
      run(status({ state: 'other-devproxy' })),
      run(status({ state: 'disabled' })),
      run(status({ state: 'error', message: 'listen tcp: bad address' })),
      run({ type: 'serverStopped' }),
      run({ type: 'serverStopped', failure: 'no binary' }),
    ];
    const texts = states.map((s) => renderStatus(s).text);
    for (const t of texts) {
      assert.match(t, /^\$\([a-z-~]+\) devproxy/);
    }
    assert.strictEqual(new Set(texts).size, texts.length, 'each state looks different');
    assert.strictEqual(renderStatus(states[3]).backgroundColor, 'statusBarItem.errorBackground');
    assert.strictEqual(renderStatus(states[5]).backgroundColor, 'statusBarItem.errorBackground');
    assert.match(renderStatus(states[2]).tooltip, /devproxy\.proxy\.enabled/);
  });

  it('shortens long messages on one line', () => {
    assert.strictEqual(shorten('a  b\nc'), 'a b c');
    const s = shorten('x'.repeat(100), 20);
    assert.strictEqual(s.length, 20);
    assert.ok(s.endsWith('…'));
  });
});
