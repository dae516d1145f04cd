// calliopeSession.ts: a Calliope conversation as the extension runs it,
// with a fake client, page, store and timers: streamed text is batched,
// Stop cancels the request's token and keeps the text, and the
// conversation id goes back with the next question.

import * as assert from 'assert';
import { ConversationView, emptyConversation } from '../../src/calliopeConversation';
import { CalliopeSession, flushMs } from '../../src/calliopeSession';
import { ChatParams, ChatResult } from '../../src/contract';

interface Token {
  cancelled: boolean;
}

function setup(opts: { running?: boolean } = {}) {
  const requests: { params: ChatParams; token: Token; resolve: (r: ChatResult) => void; reject: (e: unknown) => void }[] = [];
  const shown: ConversationView[] = [];
  let stored = 0;
  const timers: { f: () => void; ms: number; cleared: boolean }[] = [];
  const logged: string[] = [];
  const session = new CalliopeSession<Token>(emptyConversation(), {
    request: (params, token) =>
      opts.running === false
        ? undefined
        : new Promise<ChatResult>((resolve, reject) => {
            requests.push({ params, token, resolve, reject });
          }),
    canceller: () => {
      const token = { cancelled: false };
      return { token, cancel: () => (token.cancelled = true), dispose: () => undefined };
    },
    show: (v) => shown.push(v),
    store: () => stored++,
    setTimer: (f, ms) => {
      const t = { f, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => ((h as { cleared: boolean }).cleared = true),
    log: (level, m) => logged.push(`${level} ${m}`),
  });
  const fire = () => {
    for (const t of timers.splice(0)) {
      if (!t.cleared) {
        t.f();
      }
    }
  };
  return { session, requests, shown, stored: () => stored, timers, fire, logged };
}

const answer = (over: Partial<ChatResult> = {}): ChatResult => ({ conversation: 'c1', text: 'done', sources: [], provider: 'ollama', offline: false, notes: [], fixes: [], ...over });
const text = (v: ConversationView, i = 0) => JSON.stringify(v.turns[i].blocks);

describe('calliopeSession.ts', () => {
  it('sends the question, batches the streamed text, and shows the result at once', async () => {
    const s = setup();
    const asked = s.session.ask('Why does /app/ fail?');
    assert.deepStrictEqual(s.requests[0].params, { message: 'Why does /app/ fail?' });
    assert.strictEqual(s.shown.length, 1, 'the question shows at once');
    assert.strictEqual(s.shown[0].running, true);
    s.session.thinking({ conversation: 'c1', text: 'probing /app/ …' });
    s.session.delta({ conversation: 'c1', delta: 'It ' });
    s.session.delta({ conversation: 'c1', delta: 'fails' });
    assert.strictEqual(s.shown.length, 1, 'streamed text waits for the timer');
    assert.deepStrictEqual(s.timers.map((t) => t.ms), [flushMs], 'one timer for the burst');
    s.fire();
    assert.strictEqual(s.shown.length, 2);
    assert.deepStrictEqual(s.shown[1].turns[0].thinking, ['probing /app/ …']);
    assert.match(text(s.shown[1]), /It fails/);
    s.requests[0].resolve(answer({ text: 'It fails because nothing listens.' }));
    await asked;
    const last = s.shown[s.shown.length - 1];
    assert.strictEqual(last.running, false);
    assert.match(text(last), /It fails because nothing listens\./);
    assert.ok(s.stored() >= 3, 'the store follows');
  });

  it('continues the conversation with the id of the first answer', async () => {
    const s = setup();
    const first = s.session.ask('one');
    s.requests[0].resolve(answer({ conversation: 'conv-7' }));
    await first;
    const second = s.session.ask('two');
    assert.deepStrictEqual(s.requests[1].params, { message: 'two', conversation: 'conv-7' });
    s.requests[1].resolve(answer({ conversation: 'conv-7' }));
    await second;
  });

  it('cancels the token on Stop, keeps the text marked stopped, and does not call the cancellation a failure', async () => {
    const s = setup();
    const asked = s.session.ask('q');
    s.session.delta({ conversation: 'c1', delta: 'partial' });
    s.session.stop();
    assert.strictEqual(s.requests[0].token.cancelled, true);
    const stopped = s.shown[s.shown.length - 1];
    assert.strictEqual(stopped.running, false);
    assert.strictEqual(stopped.turns[0].statusText, 'Stopped.');
    assert.match(text(stopped), /partial/);
    s.requests[0].reject(Object.assign(new Error('Request devproxy/chat was cancelled'), { code: -32800 }));
    await asked;
    s.session.delta({ conversation: 'c1', delta: 'late' });
    s.fire();
    const last = s.shown[s.shown.length - 1];
    assert.strictEqual(last.turns[0].status, 'stopped');
    assert.doesNotMatch(text(last), /late/);
    assert.deepStrictEqual(s.logged, []);
  });

  it('says when no server runs, or when the server has no Calliope', async () => {
    const off = setup({ running: false });
    await off.session.ask('q');
    assert.match(off.shown[off.shown.length - 1].turns[0].statusText, /language server is not running/);
    const old = setup();
    const asked = old.session.ask('q');
    old.requests[0].reject(Object.assign(new Error('Unhandled method devproxy/chat'), { code: -32601 }));
    await asked;
    assert.strictEqual(old.shown[old.shown.length - 1].turns[0].statusText, 'Calliope could not answer: this language server has no Calliope; a newer devproxy does');
  });

  it('stops the running answer on reset and starts afresh', async () => {
    const s = setup();
    const asked = s.session.ask('q');
    s.session.reset();
    assert.strictEqual(s.requests[0].token.cancelled, true);
    assert.deepStrictEqual(s.shown[s.shown.length - 1].turns, []);
    s.requests[0].resolve(answer());
    await asked;
    assert.deepStrictEqual(s.session.conversation.turns, []);
  });

  it('finds the fix a button names', async () => {
    const s = setup();
    const asked = s.session.ask('q');
    s.requests[0].resolve(answer({ fixes: [{ title: 'Add base', pattern: 'vite-base' }] }));
    await asked;
    assert.strictEqual(s.session.fix(1, 0)?.title, 'Add base');
    assert.strictEqual(s.session.fix(1, 1), undefined);
    assert.strictEqual(s.session.fix(9, 0), undefined);
  });
});
