// What the two browser tests share, scripts/demo-browser.mjs (the demo in
// headless Chromium) and extension/test/e2e/run.mjs (the extension in a
// real VS Code): failures, child processes that each lead their own process
// group (so ending the group ends what they started too), free loopback
// ports, temporary folders, and a headless Chromium that playwright-core
// (installed outside the repo by scripts/e2e-setup.sh) attaches to.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

// --- failures ----------------------------------------------------------------------

/** An expectation that did not hold: reported without a stack. */
export class Failure extends Error {}
export const fail = (msg) => {
  throw new Failure(msg);
};

// --- processes ---------------------------------------------------------------------

/** Every child started, {name, proc}, in order. */
export const children = [];
let stopping = false;
let log = (msg) => console.log(msg);

/** setLog makes the children's unexpected exits go to the caller's log. */
export function setLog(fn) {
  log = fn;
}

export function startGroup(name, cmd, args, opts) {
  const proc = spawn(cmd, args, { ...opts, detached: true });
  children.push({ name, proc });
  proc.on('exit', (code, signal) => {
    proc.exited = true;
    if (!stopping) log(`${name} (pid ${proc.pid}) exited: code ${code} signal ${signal}`);
  });
  proc.on('error', (err) => log(`${name}: ${err.message}`));
  return proc;
}

export function killGroup(proc, signal) {
  try {
    process.kill(-proc.pid, signal);
  } catch {
    /* already gone */
  }
}

/** stopChildren ends every group: SIGTERM, up to 5 s to exit, then SIGKILL. */
export async function stopChildren() {
  stopping = true;
  for (const { proc } of children) killGroup(proc, 'SIGTERM');
  const deadline = Date.now() + 5000;
  for (const { proc } of children) {
    while (!proc.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  // SIGKILL the groups even when the leader exited: a member may linger.
  for (const { proc } of children) killGroup(proc, 'SIGKILL');
}

// Last resort when the process exits some other way.
process.on('exit', () => {
  for (const { proc } of children) killGroup(proc, 'SIGKILL');
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Every folder mkTemp made, for the caller to remove (or keep). */
export const tempDirs = [];

export function mkTemp(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

// --- the browser -------------------------------------------------------------------

export function loadPlaywright(cache, version) {
  const dir = path.join(cache, `playwright-core-${version}`);
  if (!fs.existsSync(path.join(dir, 'node_modules', 'playwright-core'))) {
    fail(`playwright-core ${version} is not in ${cache}: run scripts/e2e-setup.sh`);
  }
  return createRequire(path.join(dir, 'package.json'))('playwright-core');
}

// startChromium starts headless Chromium itself (not through playwright),
// so that its process group is ours to end, and attaches playwright over
// the DevTools protocol. args are added to the common flags.
export async function startChromium(pw, { profile, env, windowSize, args = [] }) {
  const proc = startGroup(
    'chromium',
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      ...args,
      `--window-size=${windowSize}`,
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr = [];
  const wsUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Failure(`Chromium printed no DevTools address in 30s:\n${stderr.join('')}`)), 30_000);
    proc.stderr.on('data', (d) => {
      stderr.push(d.toString());
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', () => reject(new Failure(`Chromium exited at start:\n${stderr.join('')}`)));
  });
  proc.stderr.resume();
  const browser = await pw.chromium.connectOverCDP(wsUrl, { timeout: 30_000 });
  const context = browser.contexts()[0];
  const page = context.pages()[0] || (await context.newPage());
  return { browser, context, page };
}
