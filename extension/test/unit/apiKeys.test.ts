// apiKeys.ts: "Create API Key" sends devproxy/createKey with the trace off,
// shows the key once, copies it on request, and never logs it.

import * as assert from 'assert';
import { apiKeyRoleChoices, checkKeyName, createApiKey, CreateApiKeyParts, KeyClient, keyCreatedMessage } from '../../src/apiKeys';
import { ApiKeyRoles, CreateKeyParams, CreateKeyResult, Methods } from '../../src/contract';

const secret = 'dvp_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP';
const created: CreateKeyResult = { id: '3f9a0c1e', role: 'admin', name: 'ci', key: secret, createdAt: '2026-11-29T15:20:00Z' };

function setup(opts: { running?: boolean; role?: number | undefined; name?: string | undefined; answer?: unknown; fail?: Error; copy?: boolean } = {}) {
  const events: string[] = [];
  const sent: { method: string; params: CreateKeyParams; traceWhenSent: number }[] = [];
  let trace = 2;
  const client: KeyClient = {
    setTrace: async (v) => {
      trace = v;
      events.push(`trace ${v}`);
    },
    sendRequest: async <R>(method: string, params: CreateKeyParams): Promise<R> => {
      events.push(`request ${method}`);
      sent.push({ method, params, traceWhenSent: trace });
      if (opts.fail) {
        throw opts.fail;
      }
      return ('answer' in opts ? opts.answer : created) as R;
    },
  };
  const shown: { message: string; detail: string }[] = [];
  const copied: string[] = [];
  const logged: string[] = [];
  const told: string[] = [];
  const parts: CreateApiKeyParts = {
    client: () => (opts.running === false ? undefined : client),
    trace: () => 2,
    pickRole: async (choices) => ('role' in opts ? (opts.role === undefined ? undefined : choices[opts.role]) : choices[1]),
    promptName: async () => ('name' in opts ? opts.name : ' ci '),
    showKey: async (message, detail) => {
      shown.push({ message, detail });
      return opts.copy ?? true;
    },
    copy: async (text) => void copied.push(text),
    inform: (m) => told.push(`info ${m}`),
    warn: (m) => told.push(`warn ${m}`),
    log: (level, m) => logged.push(`${level} ${m}`),
  };
  return { run: () => createApiKey(parts), events, sent, shown, copied, logged, told, trace: () => trace };
}

describe('apiKeys.createApiKey', () => {
  it('sends the role and the trimmed name with the trace off, then sets it back', async () => {
    const s = setup();
    await s.run();
    assert.deepStrictEqual(s.sent, [{ method: Methods.createKey, params: { role: 'admin', name: 'ci' }, traceWhenSent: 0 }]);
    assert.deepStrictEqual(s.events, ['trace 0', `request ${Methods.createKey}`, 'trace 2']);
    assert.strictEqual(s.trace(), 2);
  });

  it('shows the key once, saying it will not be shown again; Copy puts it on the clipboard', async () => {
    const s = setup();
    await s.run();
    assert.strictEqual(s.shown.length, 1);
    assert.strictEqual(s.shown[0].detail, secret);
    assert.match(s.shown[0].message, /will not be shown again/);
    assert.deepStrictEqual(s.copied, [secret]);
    assert.deepStrictEqual(s.told, ['info API key "ci" copied to the clipboard.']);
  });

  it('never writes the key to the log or a notification', async () => {
    const s = setup();
    await s.run();
    for (const line of [...s.logged, ...s.told]) {
      assert.ok(!line.includes(secret), line);
    }
    assert.deepStrictEqual(s.logged, ['Info Created API key 3f9a0c1e (admin, ci).']);
  });

  it('sends no name when none is given, and copies nothing when the message is closed', async () => {
    const s = setup({ role: 0, name: '   ', copy: false });
    await s.run();
    assert.deepStrictEqual(s.sent[0].params, { role: 'read-only' });
    assert.deepStrictEqual(s.copied, []);
    assert.deepStrictEqual(s.told, []);
  });

  it('sends nothing when the role or the name is cancelled, or no server runs', async () => {
    for (const opts of [{ role: undefined }, { name: undefined }]) {
      const s = setup(opts);
      await s.run();
      assert.deepStrictEqual(s.sent, []);
      assert.deepStrictEqual(s.shown, []);
    }
    const s = setup({ running: false });
    await s.run();
    assert.deepStrictEqual(s.sent, []);
    assert.match(s.told[0], /^warn .*not running/);
  });

  it("shows the server's error, and sets the trace back after it", async () => {
    const s = setup({ fail: new Error('only the owner of the port keeps keys') });
    await s.run();
    assert.deepStrictEqual(s.told, ['warn Dev Tunnel Proxy: cannot create an API key: only the owner of the port keeps keys']);
    assert.strictEqual(s.trace(), 2);
    assert.deepStrictEqual(s.shown, []);
  });

  it('says so when the answer has no key', async () => {
    const s = setup({ answer: { id: 'x', role: 'admin' } });
    await s.run();
    assert.deepStrictEqual(s.shown, []);
    assert.match(s.told[0], /without a key/);
  });
});

describe('apiKeys helpers', () => {
  it('offers the roles of the contract, read-only first', () => {
    assert.deepStrictEqual(
      apiKeyRoleChoices.map((c) => c.role),
      [...ApiKeyRoles],
    );
  });

  it('checks the optional name', () => {
    assert.strictEqual(checkKeyName(''), undefined);
    assert.strictEqual(checkKeyName("Ana's laptop"), undefined);
    assert.strictEqual(checkKeyName('x'.repeat(64)), undefined);
    assert.match(checkKeyName('x'.repeat(65))!, /At most 64/);
    assert.match(checkKeyName('a\nb')!, /control/);
  });

  it('names the key and its role in the message, the key alone in the detail', () => {
    assert.deepStrictEqual(keyCreatedMessage({ ...created, name: '' }), {
      message: 'API key (admin) created. Copy it now: it will not be shown again.',
      detail: secret,
    });
    assert.match(keyCreatedMessage(created).message, /^API key "ci" \(admin\)/);
  });
});
