import * as assert from 'assert';
import { failureMessage } from '../../src/restartPolicy';
import { ServerRun } from '../../src/serverRun';

/** A run on a clock the test moves; 2 restarts within 60 s. */
function newRun() {
  let now = 0;
  const run = new ServerRun({ maxRestarts: 2, windowMs: 60_000, now: () => now });
  return { run, advance: (ms: number) => (now += ms) };
}

/** A process that starts and answers initialize. */
function startAndInitialize(run: ServerRun, command = '/bin/devproxy'): void {
  run.processStarting(command);
  run.initialized();
}

describe('serverRun.ServerRun', () => {
  it('restarts a crashed server within the budget, then gives up with the budget failure', () => {
    const { run } = newRun();
    run.reset();
    startAndInitialize(run);
    const first = run.closed();
    assert.strictEqual(first.restart, true);
    assert.match(first.message, /restarting it \(1 of 2 within 1 minutes\)/);
    assert.strictEqual(run.restarting, true);

    startAndInitialize(run);
    assert.strictEqual(run.closed().restart, true);

    startAndInitialize(run);
    run.exited({ code: 2, signal: null });
    const last = run.closed();
    assert.strictEqual(last.restart, false);
    assert.match(last.message, /stopped 3 times in a short while; it will not be restarted/);
    assert.strictEqual(run.restarting, false);
    assert.deepStrictEqual(run.failure(), { kind: 'budget', command: '/bin/devproxy', crashes: 3, windowMs: 60_000, exit: { code: 2, signal: null } });
    assert.deepStrictEqual(failureMessage(run.failure()).actions, ['Show output', 'Restart']);
  });

  it('does not restart after a failure during initialisation, and says so', () => {
    const { run } = newRun();
    run.reset();
    run.processStarting('/bin/devproxy');
    assert.strictEqual(run.initializationFailed('unknown command "lsp"'), false, 'the initializationFailedHandler says: do not retry');
    const outcome = run.closed();
    assert.strictEqual(outcome.restart, false);
    assert.match(outcome.message, /stopped while starting; it will not be restarted/);
    assert.deepStrictEqual(run.failure(), { kind: 'initialization', command: '/bin/devproxy', exit: undefined, error: 'unknown command "lsp"' });
  });

  it('treats an exit before initialize as a start failure, even without an error', () => {
    const { run } = newRun();
    run.reset();
    run.processStarting('/bin/devproxy');
    run.exited({ code: 1, signal: null });
    assert.strictEqual(run.closed().restart, false);
    assert.strictEqual(run.failure().kind, 'initialization');
  });

  it('reports a binary that is not found, or cannot be spawned, before anything else', () => {
    const { run } = newRun();
    run.reset();
    run.binaryNotFound('Cannot find the devproxy binary');
    assert.deepStrictEqual(run.failure(), { kind: 'not-found', message: 'Cannot find the devproxy binary' });
    assert.strictEqual(run.waitsForExit(), false, 'no process, no exit code to wait for');

    run.reset();
    run.processStarting('/opt/devproxy');
    run.spawnFailed('spawn /opt/devproxy EACCES');
    assert.deepStrictEqual(run.failure(), { kind: 'spawn', command: '/opt/devproxy', error: 'spawn /opt/devproxy EACCES' });
    assert.strictEqual(run.waitsForExit(), false);
  });

  it('waits for the exit code of a crash that has none yet', () => {
    const { run } = newRun();
    run.reset();
    startAndInitialize(run);
    assert.strictEqual(run.waitsForExit(), true);
    run.exited({ code: null, signal: 'SIGSEGV' });
    assert.strictEqual(run.waitsForExit(), false);
    assert.deepStrictEqual(run.failure(), { kind: 'crashed', command: '/bin/devproxy', exit: { code: null, signal: 'SIGSEGV' } });
  });

  it('forgets the previous process on a restart, but not the budget', () => {
    const { run } = newRun();
    run.reset();
    startAndInitialize(run);
    run.exited({ code: 2, signal: null });
    run.closed();
    run.processStarting('/bin/devproxy');
    assert.strictEqual(run.restarting, false, 'the close decision belongs to the previous process');
    assert.strictEqual(run.failure().kind, 'crashed');
    assert.strictEqual(run.waitsForExit(), true, 'the previous exit code does not explain this process');
    run.initialized();
    assert.strictEqual(run.closed().restart, true);
    startAndInitialize(run);
    assert.strictEqual(run.closed().restart, false, 'the third crash is over the budget of 2');
  });

  it('gives a fresh budget and a fresh report on a start by the user', () => {
    const { run, advance } = newRun();
    run.reset();
    for (let i = 0; i < 3; i++) {
      startAndInitialize(run);
      run.closed();
    }
    assert.strictEqual(run.failure().kind, 'budget');
    assert.strictEqual(run.claimFailureReport(), true);
    assert.strictEqual(run.claimFailureReport(), false, 'one message per failure');
    run.reset();
    assert.strictEqual(run.claimFailureReport(), true);
    startAndInitialize(run);
    assert.strictEqual(run.closed().restart, true);
    advance(61_000);
    startAndInitialize(run);
    assert.strictEqual(run.closed().restart, true, 'restarts older than the window no longer count');
  });

  it('tolerates a few broken messages, and shuts a stream of them down', () => {
    const { run } = newRun();
    assert.strictEqual(run.errorDecision(undefined), 'continue');
    assert.strictEqual(run.errorDecision(1), 'continue');
    assert.strictEqual(run.errorDecision(3), 'continue');
    assert.strictEqual(run.errorDecision(4), 'shutdown');
  });

  it('keeps the first error of a start that failed', () => {
    const { run } = newRun();
    run.reset();
    run.processStarting('/bin/devproxy');
    run.initializationFailed('bad flags');
    run.startFailed('Connection got disposed');
    assert.strictEqual((run.failure() as { error?: string }).error, 'bad flags');
  });
});
