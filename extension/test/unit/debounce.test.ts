import * as assert from 'assert';
import { CoalescingDebouncer } from '../../src/debounce';
import { FakeTimers, tick } from './fakeTimers';

describe('debounce.CoalescingDebouncer', () => {
  it('runs once after a burst, delayMs after the last trigger', async () => {
    const timers = new FakeTimers();
    let runs = 0;
    const d = new CoalescingDebouncer(100, async () => void runs++, timers);
    d.trigger();
    timers.advance(60);
    d.trigger();
    timers.advance(60);
    assert.strictEqual(runs, 0);
    timers.advance(40);
    await tick();
    assert.strictEqual(runs, 1);
  });

  it('never runs two at once, and runs once more for triggers during a run', async () => {
    const timers = new FakeTimers();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    const d = new CoalescingDebouncer(
      100,
      async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((r) => (release = r));
        running--;
      },
      timers,
    );
    d.trigger();
    timers.advance(100);
    await tick();
    assert.strictEqual(runs, 1);
    d.trigger();
    timers.advance(100);
    d.trigger();
    timers.advance(100);
    await tick();
    assert.strictEqual(runs, 1, 'waits for the run in flight');
    release();
    await tick();
    await tick();
    assert.strictEqual(runs, 2, 'one more run for both triggers');
    release();
    await tick();
    assert.strictEqual(runs, 2);
    assert.strictEqual(maxRunning, 1);
  });

  it('now() skips the delay, a failed run does not stop later ones, dispose() cancels', async () => {
    const timers = new FakeTimers();
    let runs = 0;
    const d = new CoalescingDebouncer(
      100,
      async () => {
        runs++;
        throw new Error('boom');
      },
      timers,
    );
    await d.now();
    await d.now();
    assert.strictEqual(runs, 2);
    d.trigger();
    d.dispose();
    timers.advance(1000);
    await tick();
    assert.strictEqual(runs, 2);
  });
});
