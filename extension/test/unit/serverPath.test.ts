import * as assert from 'assert';
import { resolveServerPath, ServerPathInput, ServerPathSetting } from '../../src/serverPath';

type Entry = { isFile: boolean; mode: number };

/** A fake file system: path → entry. */
function fakeFs(entries: Record<string, Entry>): ServerPathInput['fs'] {
  return { stat: (p) => entries[p] };
}

const exe: Entry = { isFile: true, mode: 0o100755 };
const plain: Entry = { isFile: true, mode: 0o100644 };
const dir: Entry = { isFile: false, mode: 0o40755 };

function input(over: Partial<ServerPathInput>): ServerPathInput {
  return {
    setting: '',
    extensionPath: '/ext',
    platform: 'linux',
    env: { PATH: '/usr/local/bin:/usr/bin' },
    workspaceFolder: '/work/project',
    homeDir: '/home/me',
    fs: fakeFs({}),
    ...over,
  };
}

describe('serverPath.resolveServerPath', () => {
  it('prefers the setting over the bundled binary and PATH', () => {
    const r = resolveServerPath(
      input({ setting: '/opt/devproxy/bin/devproxy', fs: fakeFs({ '/opt/devproxy/bin/devproxy': exe, '/ext/bin/devproxy': exe, '/usr/bin/devproxy': exe }) }),
    );
    assert.deepStrictEqual(r, { ok: true, path: '/opt/devproxy/bin/devproxy', source: 'setting', needsExecBit: false });
  });

  it('uses the bundled binary when the setting is empty', () => {
    const r = resolveServerPath(input({ fs: fakeFs({ '/ext/bin/devproxy': exe, '/usr/bin/devproxy': exe }) }));
    assert.deepStrictEqual(r, { ok: true, path: '/ext/bin/devproxy', source: 'bundled', needsExecBit: false });
  });

  it('treats a whitespace-only setting as empty', () => {
    const r = resolveServerPath(input({ setting: '   ', fs: fakeFs({ '/ext/bin/devproxy': exe }) }));
    assert.ok(r.ok && r.source === 'bundled');
  });

  it('flags a bundled binary that lost its executable bit', () => {
    const r = resolveServerPath(input({ fs: fakeFs({ '/ext/bin/devproxy': plain }) }));
    assert.deepStrictEqual(r, { ok: true, path: '/ext/bin/devproxy', source: 'bundled', needsExecBit: true });
  });

  it('falls back to devproxy on PATH, in PATH order, skipping non-executables', () => {
    const r = resolveServerPath(
      input({ env: { PATH: '/a::/b:/c' }, fs: fakeFs({ '/a/devproxy': plain, '/b/devproxy': exe, '/c/devproxy': exe }) }),
    );
    assert.deepStrictEqual(r, { ok: true, path: '/b/devproxy', source: 'path', needsExecBit: false });
  });

  it('fails with a message naming the setting when nothing is found', () => {
    const r = resolveServerPath(input({ fs: fakeFs({ '/ext/bin': dir }) }));
    assert.strictEqual(r.ok, false);
    assert.ok(!r.ok && r.message.includes(ServerPathSetting), 'the message names devproxy.server.path');
    assert.ok(!r.ok && r.message.includes('/ext/bin/devproxy'), 'the message says where it looked');
  });

  it('does not fall back when the setting points at nothing', () => {
    const r = resolveServerPath(input({ setting: '/nope/devproxy', fs: fakeFs({ '/ext/bin/devproxy': exe }) }));
    assert.strictEqual(r.ok, false);
    assert.ok(!r.ok && r.message.includes(ServerPathSetting) && r.message.includes('/nope/devproxy'));
  });

  it('rejects a setting that is a folder or not executable', () => {
    const d = resolveServerPath(input({ setting: '/opt/devproxy', fs: fakeFs({ '/opt/devproxy': dir }) }));
    assert.ok(!d.ok && d.message.includes('not a file'));
    const x = resolveServerPath(input({ setting: '/opt/devproxy', fs: fakeFs({ '/opt/devproxy': plain }) }));
    assert.ok(!x.ok && x.message.includes('not executable'));
  });

  it('resolves a relative setting, ~ and ${workspaceFolder}', () => {
    const files = fakeFs({ '/work/project/bin/devproxy': exe, '/home/me/go/bin/devproxy': exe });
    const rel = resolveServerPath(input({ setting: './bin/devproxy', fs: files }));
    assert.ok(rel.ok && rel.path === '/work/project/bin/devproxy');
    const home = resolveServerPath(input({ setting: '~/go/bin/devproxy', fs: files }));
    assert.ok(home.ok && home.path === '/home/me/go/bin/devproxy');
    const ws = resolveServerPath(input({ setting: '${workspaceFolder}/bin/devproxy', fs: files }));
    assert.ok(ws.ok && ws.path === '/work/project/bin/devproxy' && ws.source === 'setting');
  });

  it('looks a bare command name in the setting up on PATH', () => {
    const r = resolveServerPath(input({ setting: 'devproxy-dev', fs: fakeFs({ '/usr/bin/devproxy-dev': exe }) }));
    assert.deepStrictEqual(r, { ok: true, path: '/usr/bin/devproxy-dev', source: 'setting', needsExecBit: false });
    const missing = resolveServerPath(input({ setting: 'devproxy-dev' }));
    assert.ok(!missing.ok && missing.message.includes(ServerPathSetting));
  });

  it('uses bin\\devproxy.exe and Path on Windows', () => {
    const bundled = resolveServerPath(
      input({ platform: 'win32', extensionPath: 'C:\\ext', env: {}, workspaceFolder: 'C:\\w', fs: fakeFs({ 'C:\\ext\\bin\\devproxy.exe': plain }) }),
    );
    assert.deepStrictEqual(bundled, { ok: true, path: 'C:\\ext\\bin\\devproxy.exe', source: 'bundled', needsExecBit: false });
    const onPath = resolveServerPath(
      input({ platform: 'win32', extensionPath: 'C:\\ext', env: { Path: 'C:\\tools;C:\\go\\bin' }, fs: fakeFs({ 'C:\\go\\bin\\devproxy.exe': plain }) }),
    );
    assert.deepStrictEqual(onPath, { ok: true, path: 'C:\\go\\bin\\devproxy.exe', source: 'path', needsExecBit: false });
  });
});
