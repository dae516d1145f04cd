// calliopeConversation.ts: the order rules of a Calliope turn.

import * as assert from 'assert';
import { askingTurn, Conversation, ConversationAction, emptyConversation, maxTurns, offlineText, reduce, restoreConversation, viewModel } from '../../src/calliopeConversation';
import { ChatResult } from '../../src/contract';

const run = (actions: ConversationAction[], from: Conversation = emptyConversation()) => actions.reduce(reduce, from);

const result = (over: Partial<ChatResult> = {}): ChatResult => ({
  conversation: 'c1',
  text: 'The **whole** answer.',
  sources: [{ file: 'docs/vite.md', heading: 'Base path' }],
  provider: 'ollama',
  offline: false,
  notes: [],
  fixes: [],
  ...over,
});

describe('calliopeConversation.ts', () => {
  it('appends deltas in the order they come, and adopts the conversation id on the first turn', () => {
    const c = run([
      { type: 'ask', question: '  Why does /app/ fail?  ' },
      { type: 'delta', conversation: 'c1', delta: 'It ' },
      { type: 'delta', conversation: 'c1', delta: 'fails ' },
      { type: 'delta', conversation: 'c1', delta: 'because…' },
    ]);
    assert.strictEqual(c.id, 'c1');
    assert.strictEqual(c.turns[0].question, 'Why does /app/ fail?');
    assert.strictEqual(c.turns[0].answer, 'It fails because…');
    assert.strictEqual(c.turns[0].status, 'asking');
    assert.strictEqual(viewModel(c).running, true);
  });

  it('ignores deltas of another conversation', () => {
    const c = run([
      { type: 'ask', question: 'q' },
      { type: 'delta', conversation: 'c1', delta: 'a' },
      { type: 'delta', conversation: 'other', delta: 'X' },
      { type: 'thinking', conversation: 'other', text: 'X' },
    ]);
    assert.strictEqual(c.turns[0].answer, 'a');
    assert.deepStrictEqual(c.turns[0].thinking, []);
  });

  it('keeps thinking lines apart from the answer, in order', () => {
    const c = run([
      { type: 'ask', question: 'q' },
      { type: 'thinking', conversation: 'c1', text: 'probing /myapp/ …' },
      { type: 'delta', conversation: 'c1', delta: 'a' },
      { type: 'thinking', conversation: 'c1', text: 'reading docs/vite.md' },
    ]);
    assert.deepStrictEqual(c.turns[0].thinking, ['probing /myapp/ …', 'reading docs/vite.md']);
    assert.strictEqual(c.turns[0].answer, 'a');
  });

  it('replaces the streamed text with the result, which is authoritative', () => {
    const c = run([
      { type: 'ask', question: 'q' },
      { type: 'delta', conversation: 'c1', delta: 'The wh' },
      { type: 'result', turn: 1, result: result() },
    ]);
    const t = c.turns[0];
    assert.strictEqual(t.answer, 'The **whole** answer.');
    assert.strictEqual(t.status, 'done');
    assert.deepStrictEqual(t.sources, [{ file: 'docs/vite.md', heading: 'Base path' }]);
    assert.strictEqual(askingTurn(c), undefined);
    const v = viewModel(c);
    assert.strictEqual(v.running, false);
    assert.strictEqual(v.turns[0].providerText, 'Answered by ollama');
    assert.deepStrictEqual(v.turns[0].blocks[0], {
      type: 'paragraph',
      children: [
        { type: 'text', text: 'The ' },
        { type: 'strong', children: [{ type: 'text', text: 'whole' }] },
        { type: 'text', text: ' answer.' },
      ],
    });
  });

  it('shows the offline badge and notes of an offline answer', () => {
    const c = run([
      { type: 'ask', question: 'q' },
      { type: 'result', turn: 1, result: result({ provider: '', offline: true, notes: ['ollama at http://127.0.0.1:11434/v1 failed: connection refused'] }) },
    ]);
    const v = viewModel(c).turns[0];
    assert.strictEqual(v.offline, true);
    assert.strictEqual(v.providerText, offlineText);
    assert.deepStrictEqual(v.notes, ['ollama at http://127.0.0.1:11434/v1 failed: connection refused']);
  });

  it('keeps the partial text on stop, marks it stopped, and ignores what comes after', () => {
    const c = run([
      { type: 'ask', question: 'q' },
      { type: 'delta', conversation: 'c1', delta: 'part' },
      { type: 'stop', turn: 1 },
      { type: 'delta', conversation: 'c1', delta: 'late' },
      { type: 'thinking', conversation: 'c1', text: 'late' },
      { type: 'result', turn: 1, result: result({ text: 'late result' }) },
    ]);
    assert.strictEqual(c.turns[0].answer, 'part');
    assert.strictEqual(c.turns[0].status, 'stopped');
    assert.strictEqual(viewModel(c).turns[0].statusText, 'Stopped.');
    // The next question continues the conversation.
    const next = run([{ type: 'ask', question: 'again' }, { type: 'delta', conversation: 'c1', delta: 'b' }], c);
    assert.strictEqual(next.turns[1].answer, 'b');
    assert.strictEqual(next.id, 'c1');
  });

  it('asks one question at a time and ignores empty ones', () => {
    const c = run([
      { type: 'ask', question: 'one' },
      { type: 'ask', question: 'two' },
      { type: 'ask', question: '   ' },
    ]);
    assert.deepStrictEqual(c.turns.map((t) => t.question), ['one']);
  });

  it('shows a failure under its question', () => {
    const c = run([
      { type: 'ask', question: 'q' },
      { type: 'fail', turn: 1, message: 'the language server is not running' },
    ]);
    assert.strictEqual(viewModel(c).turns[0].statusText, 'Calliope could not answer: the language server is not running');
    assert.strictEqual(viewModel(c).running, false);
  });

  it('starts afresh on reset and ignores the old conversation\'s late notifications', () => {
    const c = run([
      { type: 'ask', question: 'q' },
      { type: 'delta', conversation: 'c1', delta: 'a' },
      { type: 'stop', turn: 1 },
      { type: 'reset' },
      { type: 'ask', question: 'new' },
      { type: 'delta', conversation: 'c1', delta: 'old' },
      { type: 'delta', conversation: 'c2', delta: 'fresh' },
    ]);
    assert.strictEqual(c.id, 'c2');
    assert.strictEqual(c.turns.length, 1);
    assert.strictEqual(c.turns[0].answer, 'fresh');
    assert.strictEqual(c.turns[0].id, 2, 'turn ids keep growing, so a late result of the old turn finds nothing');
  });

  it('restores a stored conversation, stopping a turn that was asking and dropping malformed ones', () => {
    const stored = JSON.parse(
      JSON.stringify(
        run([
          { type: 'ask', question: 'q' },
          { type: 'result', turn: 1, result: result({ fixes: [{ title: 'Add base', pattern: 'vite-base' }] }) },
          { type: 'ask', question: 'q2' },
          { type: 'delta', conversation: 'c1', delta: 'half' },
        ]),
      ),
    );
    stored.turns.push({ id: 'x' }, null, 7);
    const c = restoreConversation(stored);
    assert.strictEqual(c.id, 'c1');
    assert.deepStrictEqual(c.turns.map((t) => [t.question, t.status, t.answer]), [
      ['q', 'done', 'The **whole** answer.'],
      ['q2', 'stopped', 'half'],
    ]);
    assert.deepStrictEqual(c.turns[0].fixes, [{ title: 'Add base', pattern: 'vite-base' }]);
    assert.strictEqual(c.nextTurn, 3);
    assert.deepStrictEqual(restoreConversation(undefined), emptyConversation());
    assert.deepStrictEqual(restoreConversation('junk'), emptyConversation());
  });

  it('keeps at most maxTurns turns', () => {
    let c = emptyConversation();
    for (let i = 0; i < maxTurns + 5; i++) {
      c = run([{ type: 'ask', question: `q${i}` }, { type: 'result', turn: c.nextTurn, result: result() }], c);
    }
    assert.strictEqual(c.turns.length, maxTurns);
    assert.strictEqual(c.turns[0].question, 'q5');
  });

  it('describes each fix by what it offers', () => {
    const c = run([
      { type: 'ask', question: 'q' },
      {
        type: 'result',
        turn: 1,
        result: result({
          fixes: [
            { title: 'Add the slash redirect', pattern: 'missing-slash', edit: { changes: {} } },
            { title: 'Set base in vite.config.ts', pattern: 'vite-base', appChange: { file: 'vite.config.ts', description: 'd', snippet: 's' } },
          ],
        }),
      },
    ]);
    assert.deepStrictEqual(viewModel(c).turns[0].fixes, [
      { index: 0, title: 'Add the slash redirect', pattern: 'missing-slash', edit: true, appChange: false },
      { index: 1, title: 'Set base in vite.config.ts', pattern: 'vite-base', edit: false, appChange: true },
    ]);
  });
});
