// calliopeSecrets.ts: the OpenAI key goes to SecretStorage and to the
// server with the trace off, and never into a log line or a message.

import * as assert from 'assert';
import { CalliopeSecrets, CalliopeSecretsParts, redact, SecretClient } from '../../src/calliopeSecrets';
import { OpenAIKeySecret, SetSecretsParams } from '../../src/contract';

const key = 'sk-test-0123456789abcdefSECRET';

function setup(opts: { running?: boolean; failSend?: boolean; typed?: string | undefined; stored?: string } = {}) {
  const store = new Map<string, string>();
  if (opts.stored) {
    store.set(OpenAIKeySecret, opts.stored);
  }
  const events: string[] = [];
  const sent: { params: SetSecretsParams; traceWhenSent: number }[] = [];
  let trace = 2;
  const client: SecretClient = {
    setTrace: async (v) => {
      trace = v;
      events.push(`trace ${v}`);
    },
    sendNotification: async (method, params) => {
      events.push(`send ${method}`);
      if (opts.failSend) {
        throw new Error(`write failed for ${JSON.stringify(params)}`);
      }
      sent.push({ params, traceWhenSent: trace });
    },
  };
  const logged: string[] = [];
  const told: string[] = [];
  const parts: CalliopeSecretsParts = {
    secrets: {
      get: async (k) => store.get(k),
      store: async (k, v) => void store.set(k, v),
      delete: async (k) => void store.delete(k),
    },
    client: () => (opts.running === false ? undefined : client),
    trace: () => 2,
    promptKey: async () => ('typed' in opts ? opts.typed : key),
    inform: (m) => told.push(m),
    log: (level, m) => logged.push(`${level} ${m}`),
  };
  return { secrets: new CalliopeSecrets(parts), store, events, sent, logged, told, trace: () => trace };
}

describe('calliopeSecrets.ts', () => {
  it('stores the key in SecretStorage and sends it with the trace off, then sets the trace back', async () => {
    const s = setup();
    await s.secrets.setKey();
    assert.strictEqual(s.store.get(OpenAIKeySecret), key);
    assert.deepStrictEqual(s.sent, [{ params: { openaiApiKey: key }, traceWhenSent: 0 }]);
    assert.deepStrictEqual(s.events, ['trace 0', 'send devproxy/setSecrets', 'trace 2']);
    assert.strictEqual(s.trace(), 2);
  });

  it('sends the stored key after a server start, and nothing when none is stored', async () => {
    const s = setup({ stored: key });
    await s.secrets.serverStarted();
    assert.deepStrictEqual(s.sent.map((x) => x.params), [{ openaiApiKey: key }]);
    const none = setup();
    await none.secrets.serverStarted();
    assert.deepStrictEqual(none.events, []);
  });

  it('clears the key and tells the server to forget it', async () => {
    const s = setup({ stored: key });
    await s.secrets.clearKey();
    assert.strictEqual(s.store.has(OpenAIKeySecret), false);
    assert.deepStrictEqual(s.sent.map((x) => x.params), [{ openaiApiKey: '' }]);
  });

  it('does nothing when the input box is cancelled or empty', async () => {
    for (const typed of [undefined, '   ']) {
      const s = setup({ typed });
      await s.secrets.setKey();
      assert.strictEqual(s.store.size, 0);
      assert.deepStrictEqual(s.events, []);
    }
  });

  it('stores the key when no server runs, to send at the next start', async () => {
    const s = setup({ running: false });
    await s.secrets.setKey();
    assert.strictEqual(s.store.get(OpenAIKeySecret), key);
    assert.match(s.told[0], /when the language server starts/);
  });

  it('never logs or shows the key, even when the send fails with an error that echoes it, and sets the trace back', async () => {
    const s = setup({ failSend: true });
    await s.secrets.setKey();
    await s.secrets.serverStarted();
    const ok = setup();
    await ok.secrets.setKey();
    await ok.secrets.serverStarted();
    for (const line of [...s.logged, ...s.told, ...ok.logged, ...ok.told]) {
      assert.ok(!line.includes(key), `leaks the key: ${line}`);
      assert.ok(!line.includes('SECRET'), `leaks part of the key: ${line}`);
    }
    assert.ok(s.logged.some((l) => l.includes('[redacted]')));
    assert.strictEqual(s.trace(), 2);
  });

  it('redacts every occurrence', () => {
    assert.strictEqual(redact('a k b k', 'k'), 'a [redacted] b [redacted]');
    assert.strictEqual(redact('nothing', ''), 'nothing');
  });
});
