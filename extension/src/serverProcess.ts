// The `devproxy lsp` process: finding the binary (serverPath.ts, on the
// real file system), spawning it on stdio for the LanguageClient, and making
// sure it ends. Node only, no `vscode`: the unit tests spawn real processes.
//
// The LanguageClient calls spawn() for every start, restarts included, and
// talks to the process over its pipes. It does not own a process it did not
// spawn, so stop() ends it: SIGTERM, then SIGKILL if it lingers.

import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { errorText, Log } from './log';
import { ExitInfo } from './restartPolicy';
import { describeSource, resolveServerPath } from './serverPath';

export interface LocateInput {
  /** The devproxy.server.path setting. */
  setting: string;
  extensionPath: string;
  workspaceFolder?: string;
}

export type Located = { ok: true; path: string; description: string } | { ok: false; message: string };

/**
 * Finds the binary (setting, then bundled, then PATH) and gives a bundled
 * binary that lost its executable bit its bit back.
 */
export function locateServer(input: LocateInput, log: Log): Located {
  const resolved = resolveServerPath({
    setting: input.setting,
    extensionPath: input.extensionPath,
    platform: process.platform,
    env: process.env,
    workspaceFolder: input.workspaceFolder,
    homeDir: os.homedir(),
    fs: {
      stat: (p) => {
        try {
          const st = fs.statSync(p);
          return { isFile: st.isFile(), mode: st.mode };
        } catch {
          return undefined;
        }
      },
    },
  });
  if (!resolved.ok) {
    return resolved;
  }
  if (resolved.needsExecBit) {
    try {
      fs.chmodSync(resolved.path, 0o755);
    } catch (e) {
      log('Warn', `Cannot make ${resolved.path} executable: ${errorText(e)}`);
    }
  }
  return { ok: true, path: resolved.path, description: describeSource(resolved.source) };
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  private childExited: Promise<void> = Promise.resolve();

  /** onExit hears only the exit of the current process, not of one it replaced. */
  constructor(
    private readonly log: Log,
    private readonly onExit: (exit: ExitInfo) => void,
    private readonly args: readonly string[] = ['lsp'],
  ) {}

  /** Spawns `command lsp`; resolves once it runs, rejects when it cannot start (ENOENT, EACCES). */
  async spawn(command: string, cwd: string | undefined): Promise<ChildProcess> {
    const child = spawn(command, [...this.args], { cwd, env: process.env, stdio: 'pipe', windowsHide: true });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    // After the spawn, an error (a write to a closed pipe) must not take the
    // extension host down; the exit is what matters.
    const name = [path.basename(command), ...this.args].join(' ');
    child.on('error', (e) => this.log('Warn', `${name}: ${errorText(e)}`));
    this.childExited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.log(code === 0 ? 'Info' : 'Warn', `${name} (pid ${child.pid}) exited${signal ? ` on ${signal}` : ` with code ${code}`}.`);
        if (this.child === child) {
          this.onExit({ code, signal });
        }
        resolve();
      }),
    );
    this.child = child;
    return child;
  }

  /** Waits until the current process exited, at most ms; whether it did. */
  waitForExit(ms: number): Promise<boolean> {
    return within(this.childExited, ms);
  }

  /** Ends the current process if it still runs: SIGTERM, then SIGKILL after ms. */
  async stop(ms: number): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    if (!(await within(exited, ms))) {
      child.kill('SIGKILL');
      await within(exited, ms);
    }
  }
}

/** Whether done settles within ms. */
async function within(done: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = await Promise.race([done.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return settled;
}
