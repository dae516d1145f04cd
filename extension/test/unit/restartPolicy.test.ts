import * as assert from 'assert';
import { Commands } from '../../src/contract';
import { failureActionCommands, failureMessage, RestartPolicy } from '../../src/restartPolicy';
import { ServerPathSetting } from '../../src/serverPath';

/** A policy on a fake clock. */
function policy(max = 4, windowMs = 180_000) {
  let now = 1_000_000;
  const p = new RestartPolicy({ maxRestarts: max, windowMs, now: () => now });
  return { p, advance: (ms: number) => (now += ms) };
}

/** One server life: started, initialised, then crashed. */
function crash(p: RestartPolicy) {
  p.serverStarting();
  p.serverInitialized();
  return p.closed();
}

describe('restartPolicy.RestartPolicy', () => {
  it('never restarts a server that closed before it initialised', () => {
    const { p } = policy();
    p.serverStarting();
    assert.deepStrictEqual(p.closed(), { restart: false, reason: 'initialization', crashes: 1 });
  });

  it('never restarts after initializationFailed, and tells the client not to retry', () => {
    const { p } = policy();
    p.serverStarting();
    assert.strictEqual(p.initializationFailed(), false);
    const d = p.closed();
    assert.ok(!d.restart && d.reason === 'initialization');
  });

  it('restarts a crash after initialisation, up to the budget, then stops', () => {
    const { p, advance } = policy(4, 180_000);
    for (let i = 1; i <= 4; i++) {
      assert.deepStrictEqual(crash(p), { restart: true, attempt: i });
      advance(10_000);
    }
    assert.deepStrictEqual(crash(p), { restart: false, reason: 'budget', crashes: 5 });
  });

  it('forgets restarts older than the window', () => {
    const { p, advance } = policy(2, 60_000);
    assert.ok(crash(p).restart);
    advance(30_000);
    assert.ok(crash(p).restart);
    advance(31_000); // the first restart is now older than a minute
    assert.deepStrictEqual(crash(p), { restart: true, attempt: 2 });
  });

  it('does not count a crash of a restarted server before it initialised again as a crash to restart', () => {
    const { p } = policy();
    assert.ok(crash(p).restart);
    p.serverStarting(); // the restart
    const d = p.closed(); // dies during its initialize
    assert.ok(!d.restart && d.reason === 'initialization');
  });

  it('reset() gives a fresh budget (a restart by hand)', () => {
    const { p } = policy(1);
    assert.ok(crash(p).restart);
    assert.ok(!crash(p).restart);
    p.reset();
    assert.ok(crash(p).restart);
  });
});

describe('restartPolicy.failureMessage', () => {
  it('names the setting and offers to open it when the binary is missing', () => {
    const m = failureMessage({ kind: 'not-found', message: `Set ${ServerPathSetting} to the binary.` });
    assert.ok(m.text.startsWith('Dev Tunnel Proxy: '));
    assert.ok(m.text.includes(ServerPathSetting));
    assert.deepStrictEqual(m.actions, ['Open settings', 'Show output']);
  });

  it('explains an initialisation failure with the exit code and the setting to change', () => {
    const m = failureMessage({ kind: 'initialization', command: '/x/devproxy', exit: { code: 2, signal: null } });
    assert.ok(m.text.includes('/x/devproxy lsp'), m.text);
    assert.ok(m.text.includes('exit code 2'), m.text);
    assert.ok(m.text.includes(ServerPathSetting), m.text);
    assert.deepStrictEqual(m.actions, ['Show output', 'Open settings']);
  });

  it('says the server will not be restarted when the budget is spent, and offers Restart', () => {
    const m = failureMessage({ kind: 'budget', command: 'devproxy', crashes: 5, windowMs: 180_000, exit: { code: null, signal: 'SIGSEGV' } });
    assert.ok(m.text.includes('5 times in 3 minutes'), m.text);
    assert.ok(m.text.includes('SIGSEGV'), m.text);
    assert.ok(m.text.includes('will not be restarted'), m.text);
    assert.deepStrictEqual(m.actions, ['Show output', 'Restart']);
  });

  it('maps every button to a command', () => {
    assert.strictEqual(failureActionCommands['Show output'], Commands.showOutput);
    assert.strictEqual(failureActionCommands.Restart, Commands.restartServer);
    assert.strictEqual(failureActionCommands['Open settings'], 'workbench.action.openSettings');
  });
});
