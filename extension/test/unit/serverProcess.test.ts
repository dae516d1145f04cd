// Real processes: small shell scripts stand in for devproxy.
import * as assert from 'assert';
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LogLevel } from '../../src/log';
import { ExitInfo } from '../../src/restartPolicy';
import { locateServer, ServerProcess } from '../../src/serverProcess';

const posix = process.platform !== 'win32';

function script(dir: string, name: string, body: string, mode = 0o755): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode });
  fs.chmodSync(file, mode);
  return file;
}

/** The first line the process writes. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        resolve(out.split('\n')[0]);
      }
    });
  });
}

(posix ? describe : describe.skip)('serverProcess.ServerProcess', function () {
  this.timeout(10_000);
  let dir: string;
  let logs: [LogLevel, string][];
  let exits: ExitInfo[];
  let proc: ServerProcess;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devproxy-serverprocess-'));
    logs = [];
    exits = [];
    proc = new ServerProcess((level, message) => logs.push([level, message]), (exit) => exits.push(exit));
  });

  afterEach(async () => {
    await proc.stop(500);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs `command lsp` in the folder and reports its exit', async () => {
    const bin = script(dir, 'devproxy', 'echo "$1 $(pwd)"\ncat >/dev/null\nexit 3');
    const child = await proc.spawn(bin, dir);
    assert.strictEqual(await firstLine(child), `lsp ${fs.realpathSync(dir)}`);
    child.stdin!.end();
    assert.strictEqual(await proc.waitForExit(5000), true);
    assert.deepStrictEqual(exits, [{ code: 3, signal: null }]);
    assert.ok(logs.some(([level, m]) => level === 'Warn' && /devproxy lsp \(pid \d+\) exited with code 3\./.test(m)), JSON.stringify(logs));
  });

  it('rejects when the binary cannot run', async () => {
    await assert.rejects(proc.spawn(path.join(dir, 'missing'), dir), /ENOENT/);
    const plain = script(dir, 'devproxy', 'exit 0', 0o644);
    await assert.rejects(proc.spawn(plain, dir), /EACCES/);
    assert.deepStrictEqual(exits, []);
  });

  it('hears only the exit of the current process, not of one a restart replaced', async () => {
    const bin = script(dir, 'devproxy', 'cat >/dev/null\nexit 5');
    const old = await proc.spawn(bin, dir);
    const current = await proc.spawn(bin, dir);
    const oldExited = new Promise((r) => old.once('exit', r));
    old.stdin!.end();
    await oldExited;
    assert.deepStrictEqual(exits, []);
    current.stdin!.end();
    assert.strictEqual(await proc.waitForExit(5000), true);
    assert.deepStrictEqual(exits, [{ code: 5, signal: null }]);
  });

  it('stops a process with SIGTERM, and one that ignores it with SIGKILL', async () => {
    const polite = await proc.spawn(script(dir, 'polite', 'echo ready\nexec sleep 30'), dir);
    await firstLine(polite);
    await proc.stop(2000);
    assert.strictEqual(polite.signalCode, 'SIGTERM');

    const stubborn = await proc.spawn(script(dir, 'stubborn', "trap '' TERM\necho ready\nwhile :; do sleep 0.05; done"), dir);
    await firstLine(stubborn);
    const t0 = Date.now();
    await proc.stop(300);
    assert.strictEqual(stubborn.signalCode, 'SIGKILL');
    assert.ok(Date.now() - t0 >= 300, 'SIGKILL only after the timeout');
  });

  it('waits for the exit at most the given time', async () => {
    const child = await proc.spawn(script(dir, 'devproxy', 'echo ready\nexec sleep 30'), dir);
    await firstLine(child);
    assert.strictEqual(await proc.waitForExit(50), false);
  });
});

(posix ? describe : describe.skip)('serverProcess.locateServer', () => {
  it('gives a bundled binary that lost its executable bit its bit back', () => {
    const ext = fs.mkdtempSync(path.join(os.tmpdir(), 'devproxy-ext-'));
    try {
      fs.mkdirSync(path.join(ext, 'bin'));
      const bin = path.join(ext, 'bin', 'devproxy');
      fs.writeFileSync(bin, '#!/bin/sh\n', { mode: 0o644 });
      fs.chmodSync(bin, 0o644);
      const r = locateServer({ setting: '', extensionPath: ext }, () => {});
      assert.deepStrictEqual(r, { ok: true, path: bin, description: 'bundled with the extension' });
      assert.strictEqual(fs.statSync(bin).mode & 0o111, 0o111);
    } finally {
      fs.rmSync(ext, { recursive: true, force: true });
    }
  });

  it('says what to set when there is no binary', () => {
    const r = locateServer({ setting: '/nowhere/devproxy', extensionPath: '/nowhere/ext' }, () => {});
    assert.strictEqual(r.ok, false);
    assert.match((r as { message: string }).message, /devproxy\.server\.path is "\/nowhere\/devproxy", but \/nowhere\/devproxy does not exist/);
  });
});
