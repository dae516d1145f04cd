#!/usr/bin/env node
// The extension's end-to-end test in a real VS Code: code-server (the VS Code
// workbench and extension host, served over HTTP) driven by headless Debian
// Chromium through playwright-core, both installed outside the repo by
// scripts/e2e-setup.sh.
//
//   node extension/test/e2e/run.mjs dist/devproxy-linux-x64.vsix
//
// It installs the .vsix into a fresh extensions dir, opens a copy of
// fixture/ (two apps claiming /api/) and checks, as a person would see it:
//   a. the Problems panel shows the conflict on both files;
//   b. the "Dev Tunnel Proxy" container's Routes tree lists the files and routes;
//   c. the quick fix "Make apps/a.conf win /api/" pins a.conf in
//      .devproxy/resolutions.json, the conflict leaves the Problems panel and
//      the tree shows b.conf's /api inactive and a.conf's /api/ active; the
//      code lens above a.conf's /api/, "inactive: …" before, shows its
//      upstream after, in the same editor, and follows the pin when it is
//      changed on disk (workspace/codeLens/refresh);
//   d. services/c.conf (a folder devproxy.json adds) opens as a route file;
//   e. a route file created, then changed, on disk (not in the editor) shows
//      in the tree, each time from exactly one workspace/didChangeWatchedFiles
//      change (counted in the verbose LSP trace);
//   f. a folder that devproxy.overrides adds (a workspace setting, set while
//      running) is read: its file shows in the tree, a change on disk
//      reaches the server as one file event, it opens as a route file, and
//      the language server was not restarted for it;
//   g. route health (docs/lsp.md "Route health"): apps/health.conf, written
//      on disk, has /never/ (its upstream a free port nobody listens on) and
//      /live/ (a node:http server of this test): /never/ shows the error
//      icon, "health down" in its aria-label and "connection refused" in its
//      tooltip, never a green check, its inline Rescan says "down" and its
//      context menu's Show Route Details opens its panel; /live/ shows
//      pass-filled; the status
//      bar ends with the health summary (e.g. "· 1 ok · 7 down"); stopping the
//      server turns /live/'s icon to error and one ok into one down in the
//      status bar, starting it again on the same port turns them back, each
//      within 10 s without a request (the times are logged); screenshots
//      health-ok.png and health-error.png (with /live/'s tooltip), and the
//      proxy's /health.json of each state beside them;
//   h. Calliope (docs/calliope.md): with the workspace's devproxy.calliope.*
//      settings on a fake OpenAI-compatible server of this test (node:http,
//      the real wire format: /v1/models, then /v1/chat/completions as
//      server-sent chat.completion.chunk events 300 ms apart), "Calliope:
//      Focus on Calliope View" opens the view, "Why does /never/ fail?" typed
//      and sent with Enter gets an answer that grows in at least two steps
//      before it is the pieces joined, "Answered by local"; the fake got one
//      streamed chat request with tools and a system message naming /never/
//      (saved as calliope-chat-request.json); Stop while the fake holds the
//      stream marks the turn "Stopped." and closes the model's request; with
//      the base URL on a port nobody listens on, a new conversation's answer
//      carries the offline badge, names /never/ and says why in a note;
//      screenshots calliope-streamed.png, calliope-stopped.png and
//      calliope-offline.png;
//   i. the tunnel (docs/lsp.md "Tunnel and API keys"): a fake ngrok agent of
//      this test (node:http, the agent's real GET /api/tunnels answer),
//      found by the language server through DEVPROXY_NGROK_API, lists no
//      tunnel until this step; then it lists one to devproxy.tunnel.listen's
//      port, and within 20 s the tunnel's status bar item shows
//      e2e-test.ngrok-free.app with the accessible name "Tunnel up:
//      https://e2e-test.ngrok-free.app" (the automatic mode polls the agent
//      about every 5 s; screenshot tunnel-status.png); "Open via Tunnel" is
//      in the context menu of a route the proxy serves and not in that of
//      the inactive one; "Create API Key" (read-only, named e2e) shows a
//      dvp_ key once in a modal dialog with a Copy button, and the key is
//      in no log (the LSP trace, which carries no devproxy/createKey, the
//      extension's output with the server's log, code-server's log); "Stop
//      Tunnel" from the Command Palette hides the item; "Start Tunnel",
//      "Enter public URL…" refuses a URL with a path (the input box says
//      why) and takes https://manual-e2e.example.com, which the item then
//      shows, until "Stop Tunnel" again;
//   m. the editor a power user expects (issue 14), on apps/runner.conf
//      (written here) whose /runner/ proxies to an echoing server of this
//      test: Open in Browser on /runner/ opens a page whose URL ends in
//      /runner/ (code-server maps the proxy's origin to its /proxy/PORT/ with
//      asExternalUri; caught with context.on('page')); Explain a Request…
//      shows the Explain webview with apps/runner.conf:2 as a link, the trace
//      and the upstream's URL, and the link opens the file at line 2
//      (explain-view.png); Send Request from /runner/'s context menu opens
//      the request runner with the route's path, Send gets 200 through the
//      proxy with a time and the location that answered (the proxy's
//      X-Devproxy-Location, apps/runner.conf:2), the upstream gets the
//      form's header, the location's file:line link opens the file at the
//      line, and the
//      history lists the request (request-runner.png); Filter Routes…
//      "runner" leaves only apps/runner.conf and the view says
//      Filter “runner”, Clear Filter brings every file back
//      (routes-filter.png); a click on the status bar item offers Show Who
//      Serves the Proxy, Open Dashboard, Rescan All Routes, Switch
//      Environment…, Restart Server and Show Output; the inactive /api offers neither Open in Browser nor
//      Send Request, a file offers Open, Reveal in Explorer and Copy Path;
//      apps/broken.conf, which does not parse, shows expanded with its
//      errors as rows under it ("line N"; routes-broken-file.png), and
//      leaves the tree when deleted, and apps/big.conf (21 routes) starts
//      collapsed; the files are listed by folder, then name; F2 on $backend in apps/vars.conf
//      (the rename box holds "backend") renames the set and the use to
//      $api_upstream (rename-variable.png); in apps/semi.conf, whose
//      proxy_set_header misses its ';', the lens says "not loaded" until the
//      quick fix "Add the missing ';'" and shows the upstream after it, in
//      the same editor (lens-after-quick-fix.png).
//      Run alone (after a., with n.) with DEVPROXY_E2E_ONLY=editor;
//   n. environments (docs/route-files.md, devproxy.switchEnvironment):
//      apps/env.conf (written here) proxies /env/ to a server of this test
//      answering "dev", and devproxy.json gets a profile "staging" mapping
//      that upstream to a second one answering "staging"; "Switch
//      Environment" from the Command Palette with staging picked in its
//      quick pick makes the status bar end with "· env: staging" and the
//      proxy answer /env/ with "staging" (switch-environment.png); the status
//      bar item's menu offers "Switch Environment…" with "staging" beside it
//      (status-menu-environment.png), and None picked from there takes the
//      env out of the status bar and /env/ back to "dev" (the times are
//      logged); devproxy.json, apps/env.conf and .vscode/settings.json are
//      restored after. Run alone (after a.) with DEVPROXY_E2E_ONLY=env.
// Then, on another proxy port, a multi-root workspace and a second window
// sharing its proxy (docs/join.md):
//   j. a .code-workspace with two folders (site: a copy of fixture/ with
//      overrides/site.conf added; shop: fixture-multi/shop, which claims
//      /api/ too), opened in a second tab of the same code-server: the
//      Problems panel shows the conflict across folders on shop.conf, the
//      status bar says "devproxy :PORT · 2 folders", the Routes tree groups
//      the files under the two folders, and the proxy answers /shop/;
//   k. a second code-server (its own profile and extensions, the same
//      DEVPROXY_STATE_DIR and devproxy settings) on fixture-multi/other, in
//      another browser context: its status bar says "devproxy :PORT ·
//      joined <site's path>", the first window's proxy answers /other/, and
//      the first window says "· 3 folders" and shows other's folder;
//   l. deleting site's overrides/ in the Explorer (Delete key, confirming
//      the dialog) removes its route from the Routes tree and the proxy.
// Every wait is for an element or a state, bounded; there are no fixed sleeps.
// Screenshots (on failure: failure.png of the current step's tab and
// failure-<tab>.png of every tab), each code-server's log, VS Code's logs
// (with the extension's output channel; vscode-logs-code-server-2 for the
// second code-server) and the browser consoles go to
// ${DEVPROXY_E2E_ARTIFACTS:-<repo>/dist/e2e-artifacts}. Every process it starts
// is ended by its process group id on exit, failure, timeout or signal.
//
// Every code-server gets the same DEVPROXY_STATE_DIR (a temporary dir), so
// their language servers share the join token and never touch the user's.
//
// Environment: DEVPROXY_E2E_CACHE (where e2e-setup.sh installed code-server
// and playwright-core), DEVPROXY_E2E_ARTIFACTS, DEVPROXY_E2E_KEEP=1 to keep
// the temporary workspace and profiles, DEVPROXY_E2E_ONLY=editor to run only
// a., m. and n., DEVPROXY_E2E_ONLY=env to run only a. and n.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  Failure,
  fail,
  freePort,
  loadPlaywright as loadPlaywrightFrom,
  mkTemp,
  setLog,
  startChromium as startChromiumWith,
  startGroup,
  stopChildren,
  tempDirs,
} from '../../../scripts/lib/headless.mjs';

// Keep in step with scripts/e2e-setup.sh.
const CODE_SERVER_VERSION = '4.100.3';
const PLAYWRIGHT_VERSION = '1.64.1';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const cache = process.env.DEVPROXY_E2E_CACHE || path.join(os.homedir(), '.cache', 'devproxy-e2e');
const artifacts = path.resolve(process.env.DEVPROXY_E2E_ARTIFACTS || path.join(repo, 'dist', 'e2e-artifacts'));
const keep = process.env.DEVPROXY_E2E_KEEP === '1';

const OVERALL_MS = 6 * 60_000; // the whole run (about 2 min here; 3.5 min seen on a busy machine)
const WAIT_MS = 60_000; // one expectation (the language server may be building its first table)
const POLL_MS = 200; // how often a probe is re-read while waiting

// --- output and failure ---------------------------------------------------------

const t0 = Date.now();
const secs = (ms) => (ms / 1000).toFixed(1) + 's';
const log = (msg) => console.log(`[${secs(Date.now() - t0).padStart(6)}] ${msg}`);

setLog(log);

let currentStep = '(setup)';
async function step(name, fn) {
  currentStep = name;
  const start = Date.now();
  log(`▶ ${name}`);
  const result = await fn();
  log(`✓ ${name} (${secs(Date.now() - start)})`);
  return result;
}

// until re-reads probe() until it returns {ok: true}, at most timeout ms.
// probe returns {ok, detail}; the last detail is in the failure message, so a
// failed expectation says what was seen instead.
async function until(what, probe, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
    } catch (e) {
      last = { ok: false, detail: `probe error: ${e.message.split('\n')[0]}` };
    }
    if (last.ok) return last;
    if (Date.now() > deadline) {
      fail(`timed out after ${secs(timeout)} waiting for ${what}; last seen: ${fmt(last.detail)}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
const rel = (p) => (path.relative(process.cwd(), p).startsWith('..') ? p : path.relative(process.cwd(), p));
const fmt = (v) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

// --- processes ---------------------------------------------------------------------

// Each child is started as the leader of its own process group, so ending the
// group ends what it started too (code-server's extension host, the
// language server, Chromium's renderers): scripts/lib/headless.mjs.
const profiles = []; // {name, userData} of every code-server profile, for its logs

// An environment without the variables that would make code-server hand the
// job to a running instance (when this runs in a code-server terminal) and
// with its config and data dirs in the run's temp dir instead of $HOME. The
// devproxy processes of every code-server share stateDir (their join token).
function childEnv(home, stateDir) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('VSCODE_')) env[k] = v;
  }
  env.XDG_CONFIG_HOME = path.join(home, 'config');
  env.XDG_DATA_HOME = path.join(home, 'data');
  env.XDG_CACHE_HOME = path.join(home, 'cache');
  env.DEVPROXY_STATE_DIR = stateDir;
  return env;
}

// --- the fixture ----------------------------------------------------------------------

// copyFixture copies fixture/ to a temp dir (the quick fix writes
// .devproxy/resolutions.json into it) and makes b.conf the newer file, so
// b.conf wins /api/ until the quick fix pins a.conf.
function copyFixture() {
  const ws = mkTemp('devproxy-e2e-ws-');
  fs.cpSync(path.join(here, 'fixture'), ws, { recursive: true });
  fs.rmSync(path.join(ws, '.devproxy'), { recursive: true, force: true });
  const now = Date.now() / 1000;
  fs.utimesSync(path.join(ws, 'apps', 'a.conf'), now - 7200, now - 7200);
  fs.utimesSync(path.join(ws, 'apps', 'b.conf'), now - 3600, now - 3600);
  return ws;
}

// The 1-based line of the first line of file that contains text.
function lineOf(file, text) {
  const i = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (i < 0) fail(`${file} has no line with ${JSON.stringify(text)}`);
  return i + 1;
}

// --- code-server ---------------------------------------------------------------------------

function codeServerBin() {
  const bin = path.join(cache, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
  if (!fs.existsSync(bin)) fail(`code-server ${CODE_SERVER_VERSION} is not in ${cache}: run scripts/e2e-setup.sh`);
  return bin;
}

const loadPlaywright = () => loadPlaywrightFrom(cache, PLAYWRIGHT_VERSION);

function writeSettings(userDataDir, settings) {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

function installExtension(bin, vsix, dirs, env, name = 'code-server') {
  const r = spawnSync(
    bin,
    ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, '--config', dirs.config, '--install-extension', vsix, '--force'],
    { env, encoding: 'utf8', timeout: 120_000 },
  );
  const out = `${r.stdout || ''}${r.stderr || ''}`.trim();
  fs.writeFileSync(path.join(artifacts, name === 'code-server' ? 'install-extension.log' : `install-extension-${name}.log`), out + '\n');
  if (r.error) fail(`installing ${vsix} failed: ${r.error.message}`);
  if (r.status !== 0 || !/successfully installed/i.test(out)) {
    fail(`installing ${vsix} failed (exit ${r.status}):\n${out}`);
  }
  return out.split('\n').filter((l) => /installed/i.test(l)).join('; ');
}

// name: the process's name in the log, and its log file (<name>.log).
async function startCodeServer(bin, port, ws, dirs, env, name = 'code-server') {
  const logFile = fs.openSync(path.join(artifacts, `${name}.log`), 'w');
  const proc = startGroup(
    name,
    bin,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--config', dirs.config,
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
      ws,
    ],
    { env, stdio: ['ignore', logFile, logFile] },
  );
  await until(`code-server to answer on 127.0.0.1:${port}`, async () => {
    if (proc.exited) fail(`${name} exited during start; see ${name}.log`);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return { ok: res.ok, detail: `HTTP ${res.status}` };
  });
}

// --- Chromium ---------------------------------------------------------------------------------

// Chromium, as scripts/lib/headless.mjs starts it; env: its crash reports go
// under the run's temp dir, not ~/.config.
function startChromium(pw, profile, env) {
  return startChromiumWith(pw, {
    profile,
    env,
    windowSize: '1600,1000',
    args: [
      '--disable-quic',
      // Several tabs work at once: none is throttled for being in the background.
      '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows',
      '--disable-renderer-backgrounding',
    ],
  });
}

// --- reading the workbench ---------------------------------------------------------------------

const SIDEBAR = '[id="workbench.parts.sidebar"]';

// The visible rows of the Problems panel, in order: {level, name (of a
// file), text, label (for a problem: severity, message, position, source)}.
// Level 1 is a file, 2 a problem, 3 a problem's related information.
async function problemRows(page) {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll('.markers-panel .monaco-list-row')];
    rows.sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
    return rows.map((r) => ({
      level: Number(r.getAttribute('aria-level') || 0),
      name: (r.querySelector('.label-name')?.innerText || '').trim(),
      text: r.innerText.replace(/\s+/g, ' ').trim(),
      label: r.getAttribute('aria-label') || '',
    }));
  });
}

// The problems under each file: {"a.conf": ["…message…", …], …}.
function problemsByFile(rows) {
  const byFile = {};
  let file = null;
  for (const r of rows) {
    if (r.level === 1) {
      file = r.name;
      byFile[file] = byFile[file] || [];
    } else if (r.level === 2 && file) {
      byFile[file].push(r.label || r.text);
    }
  }
  return byFile;
}

const CONFLICT = 'is also claimed by';
const conflictsIn = (byFile, file) => (byFile[file] || []).filter((m) => m.includes(CONFLICT));

// The visible rows of the Routes tree: {level, label, description, aria,
// icon (the codicon class names of its icon), expanded}.
async function treeRows(page) {
  return page.evaluate((sidebar) => {
    const root = document.querySelector(sidebar);
    if (!root) return [];
    const rows = [...root.querySelectorAll('.customview-tree .monaco-list-row')];
    rows.sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
    return rows.map((r) => {
      const icon = r.querySelector('.custom-view-tree-node-item-icon');
      return {
        level: Number(r.getAttribute('aria-level') || 0),
        label: (r.querySelector('.label-name')?.innerText || '').trim(),
        description: (r.querySelector('.label-description')?.innerText || '').trim(),
        aria: r.getAttribute('aria-label') || '',
        icon: icon ? [...icon.classList].filter((c) => c.startsWith('codicon-')).join(' ') : '',
        expanded: r.getAttribute('aria-expanded'),
      };
    });
  }, SIDEBAR);
}

// The routes under each file node: {"apps/a.conf": [row, …], …}.
function routesByFile(rows) {
  const byFile = {};
  let file = null;
  for (const r of rows) {
    if (r.level === 1) {
      file = r.label;
      byFile[file] = [];
    } else if (r.level === 2 && file) {
      byFile[file].push(r);
    }
  }
  return byFile;
}

// A route's config state (docs/lsp.md, "The extension's views"): its icon is
// circle-slash when it is inactive (lost a conflict, or a duplicate);
// otherwise the icon is its runtime health, and the config state is the last
// word of its description ("http://127.0.0.1:5173 · active", "contested"
// when it wins a conflict nobody settled, "not loaded" when its file does not
// load).
const isInactive = (r) => r.icon.split(' ').includes('codicon-circle-slash');
const isActive = (r) => !isInactive(r) && /(^|· )(active|contested)$/.test(r.description);
const showRoute = (r) => `${r.label} [${r.icon.replace(/codicon-/g, '')}] ${r.description}`;

function findRoute(byFile, file, label) {
  const base = path.basename(file);
  const key = Object.keys(byFile).find((k) => k === file || k === base || k.endsWith('/' + base));
  return key ? byFile[key].find((r) => r.label === label) : undefined;
}

// --- the LSP trace ------------------------------------------------------------------------------

// devproxy.trace.server is "verbose" in this run, so the "Dev Tunnel Proxy
// Trace" output channel, which VS Code writes to a file under
// <user-data>/logs, holds every message between the client and the server
// with its params. The newest such file is this window's.
function traceLogText(userData) {
  return outputChannelText(userData, 'Dev Tunnel Proxy Trace');
}

// What an output channel of this window holds so far ("Dev Tunnel Proxy" is
// the extension's own log).
function outputChannelText(userData, name) {
  const logs = path.join(userData, 'logs');
  if (!fs.existsSync(logs)) return '';
  const files = fs
    .readdirSync(logs, { recursive: true })
    .filter((f) => String(f).endsWith(`-${name}.log`))
    .map((f) => path.join(logs, String(f)))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files.length > 0 ? fs.readFileSync(files[0], 'utf8') : '';
}

// The messages of the trace: {head (the "[Trace - time] Sending …" line), params (parsed, or undefined)}.
function traceMessages(text) {
  const out = [];
  for (const chunk of text.split(/^(?=\[Trace - )/m)) {
    const [head, ...rest] = chunk.split('\n');
    const body = rest.join('\n');
    const at = body.indexOf('Params: ');
    let params;
    if (at >= 0) {
      // The params run to the next "Result:" or the end of the message.
      const json = body.slice(at + 'Params: '.length).split(/^Result: /m)[0].trim();
      try {
        params = JSON.parse(json);
      } catch {
        params = undefined;
      }
    }
    out.push({ head, params });
  }
  return out;
}

// The workspace/didChangeWatchedFiles notifications the client sent, each
// as its list of changes ({uri, type}; 1 created, 2 changed, 3 deleted).
function watchedFileNotifications(userData) {
  return traceMessages(traceLogText(userData))
    .filter((m) => m.head.includes("Sending notification 'workspace/didChangeWatchedFiles'"))
    .map((m) => m.params?.changes ?? []);
}

// How many devproxy/routes requests the client sent so far.
function routesRequests(userData) {
  return traceMessages(traceLogText(userData)).filter((m) => m.head.includes("Sending request 'devproxy/routes")).length;
}

// The texts of the devproxy status bar items (one per window), trimmed.
async function devproxyStatus(page) {
  const items = await page.locator('.statusbar-item').allInnerTexts();
  return items.map((t) => t.trim()).filter((t) => t.includes('devproxy'));
}

// The routes' health summary that ends the status bar item once the proxy
// reported ("· 1 ok · 4 down", "· 2 warnings" when any; docs/lsp.md "Route
// health"): {ok, down, warning}, or undefined when there is none.
const HEALTH_SUMMARY = / · (\d+) ok(?: · (\d+) down)?(?: · (\d+) warnings?)?$/;
function healthSummary(text) {
  const m = HEALTH_SUMMARY.exec(text);
  return m ? { ok: Number(m[1]), down: Number(m[2] ?? 0), warning: Number(m[3] ?? 0) } : undefined;
}

// Whether a status bar text is want, followed by nothing or by the health
// summary: what the summary counts depends on what listens on the fixture's
// upstream ports, so only the health step (g) checks its numbers.
function statusIs(text, want) {
  if (!text.startsWith(want)) return false;
  const rest = text.slice(want.length);
  return rest === '' || (HEALTH_SUMMARY.test(rest) && rest.match(HEALTH_SUMMARY).index === 0);
}

// --- driving the workbench ---------------------------------------------------------------------

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill('>' + title);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 10_000 });
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
}

async function openFile(page, relPath) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(relPath);
  const name = path.basename(relPath);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ state: 'visible', timeout: 20_000 });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  await page.locator(`.tabs-container .tab.active[aria-label*="${name}"]`).waitFor({ state: 'visible', timeout: 15_000 });
}

// Opens the Problems panel. The command focuses it (Ctrl+Shift+M toggles).
async function showProblems(page) {
  await runCommand(page, 'Focus on Problems View');
  await page.locator('.markers-panel').waitFor({ state: 'visible', timeout: 15_000 });
}

// Opens the "Dev Tunnel Proxy" container from its activity bar icon, as a
// person would; a click on the icon of the container already shown would
// close it, so only when it is not.
async function showRoutesView(page) {
  const tree = page.locator(`${SIDEBAR} .customview-tree`).first();
  const title = page.locator(`${SIDEBAR} .composite.title`, { hasText: /dev tunnel proxy/i });
  if ((await tree.isVisible()) && (await title.isVisible())) return;
  const icon = page.locator('.activitybar .action-item .action-label[aria-label^="Dev Tunnel Proxy"]');
  await icon.waitFor({ state: 'visible', timeout: 30_000 });
  await icon.click();
  await title.waitFor({ state: 'visible', timeout: 15_000 });
  await tree.waitFor({ state: 'visible', timeout: 15_000 });
}

// The code lenses of the active editor, one text per line that has any
// ("→ http://… | Open in browser"): VS Code renders them as
// .codelens-decoration elements above their lines.
async function codeLenses(page) {
  const texts = await page.locator('.editor-group-container.active .monaco-editor .codelens-decoration').allInnerTexts();
  return texts.map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => t);
}

// line: a line number, or "line:column".
async function goToLine(page, line) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`:${line}`);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  const [ln, col] = String(line).split(':');
  const want = col ? `Ln ${ln}, Col ${col}` : `Ln ${ln},`;
  await until(`the cursor at ${want}`, async () => {
    const status = await page.locator('.statusbar-item[id="status.editor.selection"]').innerText().catch(() => '');
    return { ok: status.includes(want), detail: status };
  }, 10_000);
}

// Applies the code action titled title at the cursor (Ctrl+.), picking it
// with the keyboard, as the widget blocks the pointer until the mouse moves.
async function applyQuickFix(page, title) {
  await page.keyboard.press('Control+.');
  const widget = page.locator('.action-widget');
  await widget.waitFor({ state: 'visible', timeout: 20_000 });
  const item = widget.locator(`.monaco-list-row.action[aria-label="${title}"]`);
  try {
    await item.waitFor({ state: 'visible', timeout: 20_000 });
  } catch {
    const offered = await widget.locator('.monaco-list-row').allInnerTexts();
    fail(`no code action titled ${JSON.stringify(title)}; offered: ${fmt(offered)}`);
  }
  const count = await widget.locator('.monaco-list-row.action').count();
  await until(`${JSON.stringify(title)} focused in the Quick Fix list`, async () => {
    const focused = await widget.locator('.monaco-list-row.focused').getAttribute('aria-label', { timeout: 2000 });
    if (focused !== title) await page.keyboard.press('ArrowDown');
    return { ok: focused === title, detail: `focused: ${focused}` };
  }, 2000 + count * 1000);
  await page.keyboard.press('Enter');
  await widget.waitFor({ state: 'hidden', timeout: 10_000 });
}

async function shot(page, name) {
  const file = path.join(artifacts, name);
  await page.screenshot({ path: file, timeout: 15_000 });
  log(`  screenshot ${rel(file)}`);
}

// The user settings of every code-server profile: no trust dialog, no
// welcome pages, no network, no extra work.
const baseSettings = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
  'git.enabled': false,
  'files.refactoring.autoSave': true,
  'editor.minimap.enabled': false,
  'remote.autoForwardPorts': false,
};

// A code-server profile in a temp dir: {home, dirs, env}. name names its
// logs in the artifacts; stateDir is the DEVPROXY_STATE_DIR of its processes.
function newProfile(name, stateDir) {
  const home = mkTemp('devproxy-e2e-home-');
  const dirs = {
    userData: path.join(home, 'user-data'),
    extensions: path.join(home, 'extensions'),
    config: path.join(home, 'code-server.yaml'),
    chromium: path.join(home, 'chromium'),
  };
  // Its own config file, so code-server neither reads nor creates ~/.config/code-server.
  fs.writeFileSync(dirs.config, 'auth: none\n');
  profiles.push({ name, userData: dirs.userData });
  return { home, dirs, env: childEnv(home, stateDir) };
}

// --- the test ---------------------------------------------------------------------------------------

async function main() {
  const vsix = process.argv[2];
  if (!vsix) fail('usage: node extension/test/e2e/run.mjs path/to/extension.vsix');
  const vsixPath = path.resolve(vsix);
  if (!fs.existsSync(vsixPath)) fail(`no such .vsix: ${vsixPath}`);

  fs.rmSync(artifacts, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });

  const bin = codeServerBin();
  const pw = loadPlaywright();
  // The join token of every devproxy this run starts (docs/join.md).
  const stateDir = mkTemp('devproxy-e2e-state-');
  const { dirs, env } = newProfile('code-server', stateDir);
  const [csPort, proxyPort, tunnelPort] = [await freePort(), await freePort(), await freePort()];
  const ws = copyFixture();
  log(`workspace ${ws}; code-server on 127.0.0.1:${csPort}; devproxy.listen 127.0.0.1:${proxyPort}`);

  writeSettings(dirs.userData, {
    ...baseSettings,
    // The hosted proxy gets its own free ports, never the developer's 8080.
    'devproxy.listen': `127.0.0.1:${proxyPort}`,
    'devproxy.tunnel.listen': `127.0.0.1:${tunnelPort}`,
    // verbose: the watched-file step counts the file events in the trace.
    'devproxy.trace.server': 'verbose',
  });

  await step(`install ${rel(vsixPath)}`, async () => {
    log(`  ${installExtension(bin, vsixPath, dirs, env)}`);
  });

  // The fake ngrok agent listens before code-server starts, so the
  // language server of this window (only) knows where to look for it; it
  // lists no tunnel until the tunnel step.
  const ngrok = await startFakeNgrok();
  log(`  fake ngrok agent on ${ngrok.api} (no tunnel listed yet)`);

  await step('start code-server', () => startCodeServer(bin, csPort, ws, dirs, { ...env, DEVPROXY_NGROK_API: ngrok.api }));

  const { page, context } = await step('start Chromium and open the workspace', async () => {
    const chrome = await startChromium(pw, dirs.chromium, env);
    chrome.page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') {
        fs.appendFileSync(path.join(artifacts, 'browser-console.log'), `[${m.type()}] ${m.text()}\n`);
      }
    });
    chrome.page.on('pageerror', (e) => fs.appendFileSync(path.join(artifacts, 'browser-console.log'), `[pageerror] ${e.message}\n`));
    pageForFailure = chrome.page;
    pages.push({ name: 'folder', page: chrome.page });
    await chrome.page.setViewportSize({ width: 1600, height: 1000 });
    await chrome.page.goto(`http://127.0.0.1:${csPort}/?folder=${encodeURIComponent(ws)}`, { timeout: 60_000 });
    await chrome.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    // The explorer shows the workspace: the workbench is connected to the server.
    await chrome.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'apps' }).first().waitFor({ state: 'visible', timeout: 60_000 });
    return chrome;
  });

  // a. The conflict, on both files, in the Problems panel.
  const aLine = lineOf(path.join(ws, 'apps', 'a.conf'), 'location /api/');
  await step('open apps/a.conf (activates the extension)', async () => {
    await openFile(page, 'apps/a.conf');
    await page.locator('.monaco-editor .view-lines', { hasText: 'location /api/' }).first().waitFor({ state: 'visible', timeout: 15_000 });
  });

  await step('Problems panel shows the /api/ conflict on a.conf and b.conf', async () => {
    await showProblems(page);
    const seen = await until('conflict problems for both a.conf and b.conf', async () => {
      const byFile = problemsByFile(await problemRows(page));
      const ok = conflictsIn(byFile, 'a.conf').length > 0 && conflictsIn(byFile, 'b.conf').length > 0;
      return { ok, detail: byFile };
    });
    for (const f of ['a.conf', 'b.conf']) log(`  ${f}: ${conflictsIn(seen.detail, f).join(' | ')}`);
    await shot(page, '01-problems-conflict.png');
  });

  // The proxy hosted by the language server listens where devproxy.listen
  // says; this window owns the port and serves its one folder (the status
  // bar shortens a loopback address to its port).
  await step(`status bar shows the proxy running on 127.0.0.1:${proxyPort}`, async () => {
    await until('the devproxy status bar item', async () => {
      const items = await page.locator('.statusbar-item').allInnerTexts();
      const mine = items.map((t) => t.trim()).filter((t) => t.includes('devproxy'));
      return { ok: mine.some((t) => statusIs(t, `devproxy :${proxyPort} · 1 folder`)), detail: mine };
    });
  });

  // DEVPROXY_E2E_ONLY=editor: only the editor steps (m, n), for working on
  // them; DEVPROXY_E2E_ONLY=env: only the environments (n).
  const only = process.env.DEVPROXY_E2E_ONLY;
  if (only === 'editor' || only === 'env') {
    if (only === 'editor') await powerUser({ page, context, ws });
    await environments({ page, ws, proxyPort });
    return;
  }

  // b. The routes tree.
  await step('Routes tree lists the files and their routes', async () => {
    await showRoutesView(page);
    const want = { 'apps/a.conf': ['/a/', '/api/'], 'apps/b.conf': ['/b/', '/api'] };
    const seen = await until('the file nodes and route labels in the Routes tree', async () => {
      const rows = await treeRows(page);
      // Expand collapsed file nodes (a click on the row toggles it).
      for (const r of rows) {
        if (r.level === 1 && r.expanded === 'false') {
          await page.locator(`${SIDEBAR} .customview-tree .monaco-list-row[aria-level="1"][aria-expanded="false"]`, { hasText: r.label }).first().click();
        }
      }
      const byFile = routesByFile(rows);
      const ok = Object.entries(want).every(([f, labels]) => labels.every((l) => findRoute(byFile, f, l)));
      return { ok, detail: rows };
    });
    const byFile = routesByFile(seen.detail);
    for (const [f, rs] of Object.entries(byFile)) log(`  ${f}: ${rs.map(showRoute).join(', ')}`);
    // Before the fix b.conf is the newer file and wins /api/.
    const aApi = findRoute(byFile, 'apps/a.conf', '/api/');
    const bApi = findRoute(byFile, 'apps/b.conf', '/api');
    if (!isInactive(aApi)) fail(`a.conf's /api/ should be shown inactive (b.conf is newer and wins): ${fmt(aApi)}`);
    if (!isActive(bApi)) fail(`b.conf's /api should be shown active (it is newer): ${fmt(bApi)}`);
    await shot(page, '02-routes-tree.png');
  });

  // c. The quick fix.
  await step('apply the quick fix "Make apps/a.conf win /api/"', async () => {
    const title = 'Make apps/a.conf win /api/';
    await openFile(page, 'apps/a.conf');
    await goToLine(page, aLine);
    // Before the fix, the code lens above a.conf's /api/ says it is inactive.
    const before = await until("the code lens above a.conf's /api/ saying it is inactive", async () => {
      const lenses = await codeLenses(page);
      return { ok: lenses.some((t) => t.includes('inactive: apps/b.conf wins /api/')), detail: lenses };
    });
    log(`  code lenses: ${before.detail.join(' || ')}`);
    await applyQuickFix(page, title);
  });

  // The lens depends on another file (the pin): without
  // workspace/codeLens/refresh it stayed "inactive" in the editor still
  // showing a.conf. Read from that editor, never reopened (reopening asks
  // for the lenses again and would hide a stale one).
  await step("the code lens above a.conf's /api/ follows the pin", async () => {
    const after = await until("the code lens above a.conf's /api/ showing its upstream, no longer inactive", async () => {
      const active = await page.locator('.tabs-container .tab.active').getAttribute('aria-label', { timeout: 2000 }).catch(() => '');
      const lenses = await codeLenses(page);
      const ok = /a\.conf/.test(active || '') && !lenses.some((t) => t.includes('inactive')) && lenses.some((t) => t.includes('→ http://127.0.0.1:5999'));
      return { ok, detail: { active, lenses } };
    });
    log(`  code lenses: ${after.detail.lenses.join(' || ')}`);
    await shot(page, '03a-code-lens-after-quick-fix.png');
  });

  await step('.devproxy/resolutions.json pins /api/ to apps/a.conf', async () => {
    const file = path.join(ws, '.devproxy', 'resolutions.json');
    await until(`${file} with "/api/": "apps/a.conf" on disk`, async () => {
      if (!fs.existsSync(file)) return { ok: false, detail: 'no file' };
      const text = fs.readFileSync(file, 'utf8');
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, detail: `not JSON yet: ${text}` };
      }
      return { ok: json['/api/'] === 'apps/a.conf', detail: text };
    }, 20_000);
    fs.copyFileSync(file, path.join(artifacts, 'resolutions.json'));
  });

  // Nothing in the workbench moves here (no focus change, no edit of
  // a.conf, which would make VS Code ask for the lenses anyway): only the
  // server's workspace/codeLens/refresh updates the lens when the pin
  // changes on disk, to b.conf and back.
  await step("a pin changed on disk flips the code lens in a.conf's open editor", async () => {
    const file = path.join(ws, '.devproxy', 'resolutions.json');
    const pinned = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, pinned.replace('"apps/a.conf"', '"apps/b.conf"'));
    await until("the code lens above a.conf's /api/ saying b.conf wins (pinned)", async () => {
      const lenses = await codeLenses(page);
      return { ok: lenses.some((t) => t.includes('inactive: apps/b.conf wins /api/ (pinned')), detail: lenses };
    });
    fs.writeFileSync(file, pinned);
    const back = await until("the code lens above a.conf's /api/ showing its upstream again", async () => {
      const lenses = await codeLenses(page);
      return { ok: !lenses.some((t) => t.includes('inactive')) && lenses.some((t) => t.includes('→ http://127.0.0.1:5999')), detail: lenses };
    });
    log(`  code lenses: ${back.detail.join(' || ')}`);
  });

  await step('the conflict leaves the Problems panel', async () => {
    await showProblems(page);
    await until('no conflict problem for a.conf or b.conf', async () => {
      const rows = await problemRows(page);
      const byFile = problemsByFile(rows);
      // Something rendered: the problems left, or the panel's "No problems" message.
      const none = await page.locator('.markers-panel .message-box-container', { hasText: 'No problems' }).isVisible();
      const ok = (rows.length > 0 || none) && conflictsIn(byFile, 'a.conf').length === 0 && conflictsIn(byFile, 'b.conf').length === 0;
      return { ok, detail: none ? 'No problems have been detected in the workspace.' : byFile };
    });
  });

  await step('the Routes tree shows a.conf winning /api/', async () => {
    await showRoutesView(page);
    const seen = await until("a.conf's /api/ active and b.conf's /api inactive in the Routes tree", async () => {
      const byFile = routesByFile(await treeRows(page));
      const aApi = findRoute(byFile, 'apps/a.conf', '/api/');
      const bApi = findRoute(byFile, 'apps/b.conf', '/api');
      return { ok: !!aApi && !!bApi && isActive(aApi) && isInactive(bApi), detail: byFile };
    });
    for (const [f, rs] of Object.entries(seen.detail)) log(`  ${f}: ${rs.map(showRoute).join(', ')}`);
    await showProblems(page);
    await shot(page, '03-after-quick-fix.png');
  });

  // d. A route file outside apps/ (devproxy.json adds services/*.conf) is
  // a route file too: it gets the route-file language, and its route is in
  // the tree.
  await step('services/c.conf (from devproxy.json) opens as a route file', async () => {
    await openFile(page, 'services/c.conf');
    await until('the language mode "Dev Tunnel Proxy routes" for services/c.conf', async () => {
      const mode = await page.locator('.statusbar-item[id="status.editor.mode"]').innerText().catch(() => '');
      return { ok: mode.trim() === 'Dev Tunnel Proxy routes', detail: mode };
    });
    await showRoutesView(page);
    await until('services/c.conf with /c/ in the Routes tree', async () => {
      const byFile = routesByFile(await treeRows(page));
      return { ok: !!findRoute(byFile, 'services/c.conf', '/c/'), detail: byFile };
    });
    await shot(page, '04-route-file-outside-apps.png');
  });

  // e. File events come from the watchers the server registers
  // (client/registerCapability, docs/lsp.md "Documents"), not from the
  // client's own: a file written on disk, not through the editor, reaches
  // the server once and the Routes tree shows it.
  const dFile = path.join(ws, 'apps', 'd.conf');
  // The changes for file in the notifications after the first `from`.
  const eventsFor = (file, from) =>
    watchedFileNotifications(dirs.userData)
      .slice(from)
      .map((changes) => changes.filter((c) => c.uri === `file://${file}`))
      .filter((changes) => changes.length > 0);
  // Waits until the client asked devproxy/routes again after a refresh:
  // every file event sent before it is in the trace by then.
  const settleTrace = async () => {
    const before = routesRequests(dirs.userData);
    await runCommand(page, 'Dev Tunnel Proxy: Refresh Routes');
    await until('one more devproxy/routes request in the trace', async () => {
      const n = routesRequests(dirs.userData);
      return { ok: n > before, detail: `${n} requests, ${before} before the refresh` };
    }, 15_000);
  };
  // Expects exactly one notification since `from`, carrying exactly one change of type for file.
  const expectOneEvent = (file, from, type, what) => {
    const events = eventsFor(file, from);
    const flat = events.flat();
    if (events.length !== 1 || flat.length !== 1 || flat[0].type !== type) {
      fail(`${what} should reach the server as one workspace/didChangeWatchedFiles with one change of type ${type} for ${rel(file)}; the trace has: ${fmt(events)}`);
    }
    log(`  one workspace/didChangeWatchedFiles: ${fmt(flat[0])}`);
  };

  await step('apps/d.conf written on disk appears in the Routes tree, from one file event', async () => {
    const from = watchedFileNotifications(dirs.userData).length;
    fs.writeFileSync(dFile, '# Written on disk by the end-to-end test.\nlocation /d/ {\n    proxy_pass http://127.0.0.1:5994/;\n}\n');
    await showRoutesView(page);
    await until('apps/d.conf with /d/ in the Routes tree', async () => {
      const byFile = routesByFile(await treeRows(page));
      return { ok: !!findRoute(byFile, 'apps/d.conf', '/d/'), detail: byFile };
    });
    await settleTrace();
    expectOneEvent(dFile, from, 1, 'creating apps/d.conf');
  });

  await step('apps/d.conf changed on disk updates the Routes tree, from one file event', async () => {
    const from = watchedFileNotifications(dirs.userData).length;
    fs.writeFileSync(dFile, '# Written on disk by the end-to-end test.\nlocation /dd/ {\n    proxy_pass http://127.0.0.1:5994/;\n}\n');
    await until('apps/d.conf with /dd/ (not /d/) in the Routes tree', async () => {
      const byFile = routesByFile(await treeRows(page));
      return { ok: !!findRoute(byFile, 'apps/d.conf', '/dd/') && !findRoute(byFile, 'apps/d.conf', '/d/'), detail: byFile };
    });
    await settleTrace();
    expectOneEvent(dFile, from, 2, 'saving apps/d.conf');
    await shot(page, '05-route-file-written-on-disk.png');
  });

  // f. Route folders added by a setting need no watcher of the client's
  // and no restart: the server hears the setting
  // (workspace/didChangeConfiguration), reads the new folder, and its
  // registered **/*.conf watcher already covers the folder's files.
  const oFile = path.join(ws, 'ops', 'o.conf');
  await step('a folder added by devproxy.overrides is read, without a restart', async () => {
    // A workspace setting (.vscode/settings.json), as a project would set it.
    fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'devproxy.overrides': ['ops/*.conf'] }, null, 2));
    fs.mkdirSync(path.join(ws, 'ops'));
    fs.writeFileSync(oFile, '# An override in a folder that devproxy.overrides adds.\nlocation /o/ {\n    proxy_pass http://127.0.0.1:5993/;\n}\n');
    await showRoutesView(page);
    await until('ops/o.conf with /o/ in the Routes tree', async () => {
      const byFile = routesByFile(await treeRows(page));
      return { ok: !!findRoute(byFile, 'ops/o.conf', '/o/'), detail: byFile };
    });
  });

  await step('ops/o.conf changed on disk updates the Routes tree, from one file event', async () => {
    const from = watchedFileNotifications(dirs.userData).length;
    fs.writeFileSync(oFile, '# An override in a folder that devproxy.overrides adds.\nlocation /oo/ {\n    proxy_pass http://127.0.0.1:5993/;\n}\n');
    await until('ops/o.conf with /oo/ (not /o/) in the Routes tree', async () => {
      const byFile = routesByFile(await treeRows(page));
      return { ok: !!findRoute(byFile, 'ops/o.conf', '/oo/') && !findRoute(byFile, 'ops/o.conf', '/o/'), detail: byFile };
    });
    await settleTrace();
    expectOneEvent(oFile, from, 2, 'saving ops/o.conf');
  });

  await step('ops/o.conf opens as a route file; the language server started once', async () => {
    await openFile(page, 'ops/o.conf');
    await until('the language mode "Dev Tunnel Proxy routes" for ops/o.conf', async () => {
      const mode = await page.locator('.statusbar-item[id="status.editor.mode"]').innerText().catch(() => '');
      return { ok: mode.trim() === 'Dev Tunnel Proxy routes', detail: mode };
    });
    const starts = outputChannelText(dirs.userData, 'Dev Tunnel Proxy').match(/^\[Info +- [^\]]*\] Starting .* lsp /gm) ?? [];
    if (starts.length !== 1) fail(`the language server should have started once, not ${starts.length} times`);
    await shot(page, '06-folder-from-a-setting.png');
  });

  await routeHealth({ page, ws, proxyPort });

  await powerUser({ page, context, ws });

  await environments({ page, ws, proxyPort });

  await calliope({ page, ws, userData: dirs.userData });

  await tunnel({ page, ngrok, tunnelPort, userData: dirs.userData });

  await multiRoot({ bin, pw, vsixPath, context, csPort, stateDir });
}

// g. Route health (docs/lsp.md "Route health"): the monitor the language
// server hosts beside the proxy dials each loopback upstream about every
// second, so a route's icon follows its upstream going down and up without
// a request. apps/health.conf (written here, so the earlier steps' trees are
// as they were) has /never/, whose upstream is a free port nobody listens
// on, and /live/, whose upstream is a node:http server of this test.
async function routeHealth({ page, ws, proxyPort }) {
  const HEALTH_MS = 10_000; // the bound of one change (the product's target is about 2 s)
  const deadPort = await freePort();
  const live = await startUpstream(0);
  const livePort = live.address().port;
  let upstream = live;
  const file = 'apps/health.conf';
  fs.writeFileSync(
    path.join(ws, file),
    `# Written by the end-to-end test's health step.\nlocation /live/ {\n    proxy_pass http://127.0.0.1:${livePort};\n}\n\nlocation /never/ {\n    proxy_pass http://127.0.0.1:${deadPort};\n}\n`,
  );
  log(`  ${file}: /live/ → 127.0.0.1:${livePort} (this test's server), /never/ → 127.0.0.1:${deadPort} (nobody)`);

  // The two routes' rows ({live, never}, each undefined until shown),
  // expanding the file nodes that are collapsed.
  const healthRows = async () => {
    const rows = await treeRows(page);
    for (const r of rows) {
      if (r.level === 1 && r.expanded === 'false') {
        await page.locator(`${SIDEBAR} .customview-tree .monaco-list-row[aria-level="1"][aria-expanded="false"]`, { hasText: r.label }).first().click();
      }
    }
    const byFile = routesByFile(rows);
    return { live: findRoute(byFile, file, '/live/'), never: findRoute(byFile, file, '/never/') };
  };
  const hasIcon = (r, id) => !!r && r.icon.split(' ').includes(`codicon-${id}`);
  const showRows = (rows) => ({ live: rows.live && showRoute(rows.live), never: rows.never && showRoute(rows.never) });
  // Every row read while waiting: a route must never show a green check
  // before its upstream answered.
  const neverGreen = (rows) => {
    if (hasIcon(rows.never, 'pass-filled')) fail(`/never/ (nobody listens on ${deadPort}) shown ok: ${showRoute(rows.never)}`);
  };

  await step(`${file}: /never/ down ("connection refused"), /live/ ok`, async () => {
    await showRoutesView(page);
    const seen = await until(`/never/ with the error icon and /live/ with pass-filled in the Routes tree`, async () => {
      const rows = await healthRows();
      neverGreen(rows);
      const ok = hasIcon(rows.never, 'error') && hasIcon(rows.live, 'pass-filled');
      return { ok, detail: showRows(rows) };
    });
    log(`  ${seen.detail.never}; ${seen.detail.live}`);
    // What a person reads: the row's accessible label, then its tooltip (on hover).
    const { never, live: liveRow } = await healthRows();
    if (!/health down/.test(never.aria)) fail(`/never/'s aria-label should say "health down": ${never.aria}`);
    if (!/health ok/.test(liveRow.aria)) fail(`/live/'s aria-label should say "health ok": ${liveRow.aria}`);
    const tip = await routeTooltip(page, '/never/', (t) => t.includes('connection refused'), 'connection refused');
    log(`  /never/'s tooltip: ${tip}`);
    if (!tip.includes(`127.0.0.1:${deadPort}`)) fail(`/never/'s tooltip should name 127.0.0.1:${deadPort}: ${tip}`);
  });

  // The route's own actions: the inline Rescan (shown on hover) probes it
  // now and says the outcome in the status bar; the context menu's Show
  // Route Details opens its panel.
  await step("/never/'s inline Rescan says it is down; Show Route Details opens its panel", async () => {
    const row = page.locator(`${SIDEBAR} .customview-tree .monaco-list-row`, { hasText: '/never/' }).first();
    await row.hover({ timeout: 10_000 });
    await row.locator('.action-label[aria-label="Rescan"]').click({ timeout: 10_000 });
    const said = await until('the status bar message "Dev Tunnel Proxy: /never/: down"', async () => {
      const items = (await page.locator('.statusbar-item').allInnerTexts()).map((t) => t.trim());
      return { ok: items.includes('Dev Tunnel Proxy: /never/: down'), detail: items };
    }, 10_000);
    log(`  status bar: ${said.detail.filter((t) => t.includes('Dev Tunnel Proxy')).join(' | ')}`);
    await row.click({ button: 'right' });
    const item = page.locator('.monaco-menu .action-item', { hasText: 'Show Route Details' }).first();
    await item.waitFor({ state: 'visible', timeout: 10_000 });
    // The menu can ignore a click that comes right after it opened (seen
    // once, the menu still up with the item highlighted): click again while
    // it is still there.
    const tab = page.locator('.tabs-container .tab[aria-label*="Route /never/"]');
    await until("the tab of /never/'s Route Details", async () => {
      if (await item.isVisible()) await item.click({ timeout: 2000 }).catch(() => undefined);
      return { ok: await tab.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false) };
    }, 15_000);
  });

  // The counts of the other routes depend on what listens on the fixture's
  // ports (5993–5999): only the difference /live/ makes is checked.
  let okSummary;
  await step('status bar shows the health summary: /live/ ok, /never/ down', async () => {
    const seen = await until(`the status bar item "devproxy :${proxyPort} · 1 folder · N ok · M down" with N ≥ 1, M ≥ 1`, async () => {
      const mine = await devproxyStatus(page);
      const text = mine.find((t) => statusIs(t, `devproxy :${proxyPort} · 1 folder`));
      const sum = text && healthSummary(text);
      return { ok: !!sum && sum.ok >= 1 && sum.down >= 1, detail: { mine, sum } };
    });
    okSummary = seen.detail.sum;
    log(`  status bar: ${seen.detail.mine.join(' | ')}`);
    // Not a failure (the summary is the proxy's, the icons the tree's
    // match of it), but worth a line when they disagree.
    const icons = (await treeRows(page)).filter((r) => r.level === 2);
    const [okIcons, errorIcons] = ['pass-filled', 'error'].map((id) => icons.filter((r) => hasIcon(r, id)).length);
    if (okIcons !== okSummary.ok || errorIcons !== okSummary.down) {
      log(`  ⚠ the status bar counts ${okSummary.ok} ok · ${okSummary.down} down, the Routes tree shows ${okIcons} pass-filled and ${errorIcons} error icons (see health-ok.json)`);
    }
    const tip = await routeTooltip(page, '/live/', (t) => /Health: ok/.test(t), 'Health: ok');
    log(`  /live/'s tooltip: ${tip}`);
    await shot(page, 'health-ok.png');
    await saveHealth(proxyPort, 'health-ok.json');
  });

  await step(`stopping /live/'s upstream turns its icon to error (within ${secs(HEALTH_MS)})`, async () => {
    await stopUpstream(upstream);
    const stopped = Date.now();
    const seen = await until('/live/ with the error icon', async () => {
      const rows = await healthRows();
      neverGreen(rows);
      return { ok: hasIcon(rows.live, 'error'), detail: showRows(rows) };
    }, HEALTH_MS);
    log(`  /live/ down after ${secs(Date.now() - stopped)}: ${seen.detail.live}`);
    const sum = await until(`the status bar's summary with one ok fewer and one down more than ${fmt(okSummary)}`, async () => {
      const mine = await devproxyStatus(page);
      const text = mine.find((t) => statusIs(t, `devproxy :${proxyPort} · 1 folder`));
      const s = text && healthSummary(text);
      return { ok: !!s && s.ok === okSummary.ok - 1 && s.down === okSummary.down + 1, detail: { mine, s } };
    }, HEALTH_MS);
    log(`  status bar: ${sum.detail.mine.join(' | ')}`);
    const tip = await routeTooltip(page, '/live/', (t) => t.includes('connection refused'), 'connection refused');
    log(`  /live/'s tooltip: ${tip}`);
    await shot(page, 'health-error.png');
    await saveHealth(proxyPort, 'health-error.json');
  });

  await step(`starting it again on 127.0.0.1:${livePort} turns the icon back to ok (within ${secs(HEALTH_MS)})`, async () => {
    upstream = await startUpstream(livePort);
    const started = Date.now();
    const seen = await until('/live/ with the pass-filled icon', async () => {
      const rows = await healthRows();
      neverGreen(rows);
      return { ok: hasIcon(rows.live, 'pass-filled'), detail: showRows(rows) };
    }, HEALTH_MS);
    log(`  /live/ ok after ${secs(Date.now() - started)}: ${seen.detail.live}`);
    await until(`the status bar's summary back to ${fmt(okSummary)}`, async () => {
      const mine = await devproxyStatus(page);
      const text = mine.find((t) => statusIs(t, `devproxy :${proxyPort} · 1 folder`));
      const s = text && healthSummary(text);
      return { ok: !!s && s.ok === okSummary.ok && s.down === okSummary.down, detail: { mine, s } };
    }, HEALTH_MS);
    await stopUpstream(upstream);
  });
}

// m. The editor a power user expects (issue 14, the client side): a route
// file of its own, apps/runner.conf, whose /runner/ proxies to an upstream
// of this test that echoes the request it got.
//   - Open in Browser on /runner/ opens a page whose URL ends in the
//     route's path: code-server maps the proxy's origin with asExternalUri
//     (to its /proxy/PORT/), and the path is appended to the mapped URI;
//   - Explain a Request… shows the Explain webview: the location as a
//     file:line link, the trace, what the upstream receives (its URL);
//     the link opens apps/runner.conf at the line (explain-view.png);
//   - Send Request on /runner/ (the route's context menu) opens the request
//     runner with the route's path; Send gets 200 through the proxy, the
//     time and the location (X-Devproxy-Location: apps/runner.conf:2 …),
//     and the history lists it (request-runner.png);
//   - Filter Routes… "runner" leaves only apps/runner.conf, the view's
//     description says the filter; Clear Filter brings every file back;
//   - a broken route file starts expanded on its errors;
//   - F2 on a $variable renames it and its uses; the lens follows the
//     quick fix that adds a missing ';' (the server's side of issue 14);
//   - a click on the status bar item offers the actions (Restart Server,
//     Open Dashboard, Show Output, …); Open in Browser is not on the
//     inactive /api's context menu.
async function powerUser({ page, context, ws }) {
  const seenByUpstream = [];
  const upstream = await new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      seenByUpstream.push({ method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`runner upstream: ${req.method} ${req.url}\n`);
    });
    server.once('error', (e) => reject(new Failure(`cannot listen: ${e.message}`)));
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
  const upPort = upstream.address().port;
  const file = 'apps/runner.conf';
  fs.writeFileSync(path.join(ws, file), `# Written by the end-to-end test's editor step.\nlocation /runner/ {\n    proxy_pass http://127.0.0.1:${upPort};\n}\n`);
  const runnerLine = 2;
  log(`  ${file}: /runner/ → 127.0.0.1:${upPort} (this test's echoing server)`);
  const runnerRow = () => page.locator(`${SIDEBAR} .customview-tree .monaco-list-row[aria-label^="/runner/, health"]`).first();
  try {
    await step(`${file}'s /runner/ shows in the Routes tree`, async () => {
      await showRoutesView(page);
      await until('/runner/ under apps/runner.conf', async () => {
        const byFile = routesByFile(await treeRows(page));
        return { ok: !!findRoute(byFile, file, '/runner/'), detail: Object.keys(byFile) };
      });
    });

    await step('Open in Browser on /runner/ opens a URL ending in the route\'s path (code-server maps the origin)', async () => {
      // Once its first check is in: until then each health push re-renders
      // the row, and VS Code runs an inline action clicked on a row being
      // re-rendered without its node (the command logs "no http(s) URL in
      // undefined"); a click that opened nothing is tried again, and said.
      await until('/runner/ checked (health ok)', async () => {
        const r = findRoute(routesByFile(await treeRows(page)), file, '/runner/');
        return { ok: !!r && r.icon.split(' ').includes('codicon-pass-filled'), detail: r && showRoute(r) };
      }, 15_000);
      let tries = 0;
      const dialog = page.locator('.monaco-dialog-box');
      const seenPopup = await until('a new page from Open in Browser', async () => {
        tries++;
        const opened = context.waitForEvent('page', { timeout: 7000 });
        const row = runnerRow();
        await page.mouse.move(800, 60);
        await row.hover({ timeout: 10_000 });
        await row.locator('.action-label[aria-label="Open in Browser"]').click({ timeout: 10_000 });
        // VS Code may ask before opening an external site; localhost is trusted, but answer it if asked.
        const popup = await Promise.race([
          opened,
          dialog.waitFor({ state: 'visible', timeout: 7000 }).then(async () => {
            log(`  dialog: ${(await dialog.innerText()).replace(/\s+/g, ' ').trim()}`);
            await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Open$/ }).first().click();
            return opened;
          }),
        ]).catch(() => undefined);
        return { ok: !!popup, popup, detail: `${tries} clicks` };
      }, 30_000);
      if (tries > 1) log(`  ⚠ ${tries} clicks on Open in Browser before a page opened`);
      const popup = seenPopup.popup;
      const url = popup.url() === 'about:blank' ? await until('the new page navigating away from about:blank', async () => ({ ok: popup.url() !== 'about:blank', detail: popup.url() }), 15_000).then(() => popup.url()) : popup.url();
      log(`  opened ${url}`);
      const u = new URL(url);
      if (!u.pathname.endsWith('/runner/')) fail(`the opened URL should end in the route's path /runner/: ${url}`);
      await popup.waitForLoadState('domcontentloaded', { timeout: 15_000 }).catch(() => undefined);
      const body = await popup.locator('body').innerText({ timeout: 5000 }).catch((e) => `(unread: ${e.message})`);
      log(`  the page says: ${body.trim().slice(0, 120)}`);
      await popup.close();
    });

    await step('Explain a Request… shows the decision, a file:line link and what the upstream receives (explain-view.png)', async () => {
      await commandWithInput(page, 'Explain a Request', '/runner/items?x=1');
      const frame = await webviewFrame(page, '#trace', 'the Explain page');
      const seen = await until('the Explain page naming apps/runner.conf and the upstream URL', async () => {
        const location = (await frame.locator('#location').innerText().catch(() => '')).trim();
        const upstreamUrl = (await frame.locator('#upstream-url').innerText().catch(() => '')).trim();
        const steps = await frame.locator('#trace li').allInnerTexts().catch(() => []);
        return { ok: location.includes(`${file}:${runnerLine}`) && upstreamUrl.includes(`127.0.0.1:${upPort}/runner/items?x=1`), detail: { location, upstreamUrl, steps } };
      }, 15_000);
      log(`  handled by: ${seen.detail.location}`);
      log(`  upstream receives: ${seen.detail.upstreamUrl}`);
      for (const s of seen.detail.steps) log(`  step: ${s}`);
      await shot(page, 'explain-view.png');
      await frame.locator('#location a.loc').first().click({ timeout: 10_000 });
      await page.locator('.tabs-container .tab.active[aria-label*="runner.conf"]').waitFor({ state: 'visible', timeout: 15_000 });
      await until(`the cursor on line ${runnerLine} of ${file}`, async () => {
        const status = await page.locator('.statusbar-item[id="status.editor.selection"]').innerText().catch(() => '');
        return { ok: status.includes(`Ln ${runnerLine},`), detail: status };
      }, 10_000);
      log(`  the link opened ${file} at line ${runnerLine}`);
    });

    await step('Send Request on /runner/ gets 200 through the proxy, with the time and the location (request-runner.png)', async () => {
      await showRoutesView(page);
      // A hover left open by an earlier step can swallow the right-click: move away and try again.
      const item = page.locator('.monaco-menu .action-item', { hasText: 'Send Request' }).first();
      await until("/runner/'s context menu with Send Request", async () => {
        await page.mouse.move(800, 60);
        await page.keyboard.press('Escape');
        await runnerRow().click({ button: 'right', timeout: 5000 });
        return { ok: await item.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false) };
      }, 20_000);
      await item.click();
      const frame = await webviewFrame(page, '#send', 'the request runner');
      await until('the runner\'s form with the route\'s path', async () => {
        const p = await frame.locator('#path').inputValue().catch(() => '');
        return { ok: p === '/runner/', detail: p };
      }, 10_000);
      await frame.locator('#path').fill('/runner/ping?from=e2e');
      await frame.locator('#headers').fill('X-E2e: runner');
      const before = seenByUpstream.length;
      await frame.locator('#send').click();
      const seen = await until(`the response: status 200, a time and the location ${file}:${runnerLine}`, async () => {
        const read = async (sel) => (await frame.locator(sel).innerText().catch(() => '')).trim();
        const r = { status: await read('#status'), time: await read('#time'), location: await read('#location'), error: await read('#error'), body: await read('#response-body'), history: await frame.locator('#history li').allInnerTexts().catch(() => []) };
        // The proxy names the location that answered (X-Devproxy-Location: apps/runner.conf:2 /runner/).
        return { ok: r.status.startsWith('200') && /ms$/.test(r.time) && r.location.includes(`${file}:${runnerLine}`) && r.history.length > 0, detail: r };
      }, 15_000);
      log(`  ${seen.detail.status} in ${seen.detail.time}; answered by ${seen.detail.location}; body: ${seen.detail.body.slice(0, 80)}`);
      log(`  history: ${seen.detail.history.join(' | ')}`);
      if (!seen.detail.history[0].includes('GET /runner/ping?from=e2e')) fail(`the history should start with the request sent: ${seen.detail.history.join(' | ')}`);
      const got = seenByUpstream.slice(before).find((r) => r.url === '/runner/ping?from=e2e');
      if (!got) fail(`the upstream should have received GET /runner/ping?from=e2e: ${fmt(seenByUpstream.slice(before))}`);
      if (got.headers['x-e2e'] !== 'runner') fail(`the upstream should have received the form's header X-E2e: ${fmt(got.headers)}`);
      log(`  the upstream got ${got.method} ${got.url} with X-E2e: ${got.headers['x-e2e']}`);
      await shot(page, 'request-runner.png');
      // The location's file:line is a link to the line.
      await frame.locator('#location-link').click({ timeout: 10_000 });
      await page.locator('.tabs-container .tab.active[aria-label*="runner.conf"]').first().waitFor({ state: 'visible', timeout: 15_000 });
      await until(`the cursor on line ${runnerLine} of ${file}`, async () => {
        const status = await page.locator('.statusbar-item[id="status.editor.selection"]').innerText().catch(() => '');
        return { ok: status.includes(`Ln ${runnerLine},`), detail: status };
      }, 10_000);
      log(`  the location's link opened ${file} at line ${runnerLine}`);
    });

    await step('Filter Routes… "runner" narrows the tree and says so; Clear Filter restores it', async () => {
      await showRoutesView(page);
      const files = async () => (await treeRows(page)).filter((r) => r.level === 1).map((r) => r.label);
      const all = await files();
      // A stable order: by folder, then file name (never by age: b.conf is newer than a.conf).
      const split = (f) => [f.slice(0, f.lastIndexOf('/') + 1), f.slice(f.lastIndexOf('/') + 1)];
      const ordered = [...all].sort((x, y) => {
        const [fx, nx] = split(x);
        const [fy, ny] = split(y);
        return fx < fy ? -1 : fx > fy ? 1 : nx < ny ? -1 : nx > ny ? 1 : 0;
      });
      if (all.join() !== ordered.join()) fail(`the Routes tree should list the files by folder, then name: ${all.join(', ')}`);
      await commandWithInput(page, 'Filter Routes', 'runner');
      const narrowed = await until('only apps/runner.conf in the tree, and the view saying Filter “runner”', async () => {
        const f = await files();
        const header = (await page.locator(SIDEBAR).innerText().catch(() => '')).replace(/\s+/g, ' ');
        return { ok: f.length === 1 && f[0] === file && /Filter “runner”: 1 of \d+ routes/.test(header), detail: { files: f, header: header.slice(0, 200) } };
      }, 10_000);
      log(`  before: ${all.join(', ')}; filtered: ${narrowed.detail.files.join(', ')}; the view: ${narrowed.detail.header}`);
      await shot(page, 'routes-filter.png');
      await runCommand(page, 'Dev Tunnel Proxy: Clear Filter');
      const back = await until(`the ${all.length} files back`, async () => {
        const f = await files();
        const header = (await page.locator(SIDEBAR).innerText().catch(() => '')).replace(/\s+/g, ' ');
        return { ok: f.length === all.length && !/Filter “runner”/.test(header), detail: f };
      }, 10_000);
      log(`  cleared: ${back.detail.join(', ')}`);
    });

    // A file that does not load starts expanded on its errors (the client's
    // diagnostics), each a row of its own; the file goes again afterwards.
    await step('a broken route file shows its errors as its children; a file of 21 routes starts collapsed', async () => {
      const broken = 'apps/broken.conf';
      fs.writeFileSync(path.join(ws, broken), '# Written by the end-to-end test: it does not parse.\nlocation /broken/ {\n    proxy_pass http://127.0.0.1:5990/;\n');
      try {
        await showRoutesView(page);
        const seen = await until(`${broken} expanded, with an error row under it`, async () => {
          const rows = await treeRows(page);
          const at = rows.findIndex((r) => r.level === 1 && r.label === broken);
          const children = [];
          for (let i = at + 1; at >= 0 && i < rows.length && rows[i].level === 2; i++) children.push(rows[i]);
          const ok = at >= 0 && rows[at].expanded === 'true' && children.length > 0 && children.every((c) => c.icon.split(' ').includes('codicon-error') && /^line \d+$/.test(c.description));
          return { ok, detail: { file: rows[at], children } };
        }, 20_000);
        log(`  ${broken} (${seen.detail.file.description}): ${seen.detail.children.map((c) => `${c.label} [${c.description}]`).join(' | ')}`);
        await shot(page, 'routes-broken-file.png');
      } finally {
        fs.rmSync(path.join(ws, broken), { force: true });
      }
      // A file of more than 20 routes starts collapsed.
      const big = 'apps/big.conf';
      fs.writeFileSync(path.join(ws, big), Array.from({ length: 21 }, (_, i) => `location /big${i}/ {\n    proxy_pass http://127.0.0.1:5989;\n}\n`).join(''));
      try {
        const seenBig = await until(`${big} with 21 routes, collapsed`, async () => {
          const row = (await treeRows(page)).find((r) => r.level === 1 && r.label === big);
          return { ok: !!row && row.description.startsWith('21 routes') && row.expanded === 'false', detail: row };
        }, 20_000);
        log(`  ${big}: ${seenBig.detail.description}, expanded=${seenBig.detail.expanded}`);
      } finally {
        fs.rmSync(path.join(ws, big), { force: true });
      }
      await until(`${broken} gone from the Routes tree`, async () => {
        const rows = await treeRows(page);
        return { ok: !rows.some((r) => r.label === broken), detail: rows.filter((r) => r.level === 1).map((r) => r.label) };
      }, 20_000);
    });

    // F2 on a $variable (the server's textDocument/rename, issue 14):
    // VS Code's rename box takes the name without the '$', and the set and
    // every use in the file change.
    await step('F2 on a variable renames the variable and its uses', async () => {
      const vars = 'apps/vars.conf';
      fs.writeFileSync(path.join(ws, vars), '# Written by the end-to-end test: a variable to rename.\nlocation /vars/ {\n    set $backend 127.0.0.1:5992;\n    proxy_pass http://$backend;\n}\n');
      await openFile(page, vars);
      await page.locator('.monaco-editor .view-lines', { hasText: 'set $backend' }).first().waitFor({ state: 'visible', timeout: 15_000 });
      await until(`the language mode "Dev Tunnel Proxy routes" for ${vars}`, async () => {
        const mode = await page.locator('.statusbar-item[id="status.editor.mode"]').innerText().catch(() => '');
        return { ok: mode.trim() === 'Dev Tunnel Proxy routes', detail: mode };
      }, 15_000);
      const renameBox = page.locator('.rename-box input, .rename-box .rename-input').first();
      await until('the rename box on "backend" of line 3', async () => {
        await page.keyboard.press('Escape');
        await goToLine(page, '3:11');
        await page.keyboard.press('F2');
        await renameBox.waitFor({ state: 'visible', timeout: 5000 });
        const value = await renameBox.inputValue().catch(() => (renameBox.innerText ? renameBox.innerText() : ''));
        return { ok: value === 'backend', detail: value };
      }, 30_000);
      await renameBox.fill('api_upstream');
      await page.keyboard.press('Enter');
      const seen = await until(`${vars} with $api_upstream in the set and the use, no $backend`, async () => {
        const text = (await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
        const ok = text.includes('set $api_upstream 127.0.0.1:5992;') && text.includes('proxy_pass http://$api_upstream;') && !text.includes('$backend');
        return { ok, detail: text };
      }, 15_000);
      log(`  ${seen.detail.split('\n').filter((l) => l.includes('$')).map((l) => l.trim()).join(' | ')}`);
      await page.keyboard.press('Control+S');
      await until(`${vars} saved with the new name`, async () => {
        const disk = fs.readFileSync(path.join(ws, vars), 'utf8');
        return { ok: disk.includes('set $api_upstream') && disk.includes('http://$api_upstream;'), detail: disk };
      }, 10_000);
      await shot(page, 'rename-variable.png');
    });

    // The quick fix "Add the missing ';'" makes the file load: the lens
    // above its location turns from "not loaded" to the upstream, in the
    // same editor, without reopening it.
    await step("the code lens updates after the quick fix \"Add the missing ';'\"", async () => {
      const semi = 'apps/semi.conf';
      fs.writeFileSync(path.join(ws, semi), '# Written by the end-to-end test: a missing semicolon.\nlocation /semi/ {\n    proxy_set_header X-Semi yes\n    proxy_pass http://127.0.0.1:5991/;\n}\n');
      await openFile(page, semi);
      const before = await until(`the code lens of ${semi} saying it is not loaded`, async () => {
        const lenses = await codeLenses(page);
        return { ok: lenses.some((t) => t.includes('not loaded')), detail: lenses };
      }, 20_000);
      log(`  before: ${before.detail.join(' || ')}`);
      await goToLine(page, 3);
      await page.keyboard.press('End');
      await applyQuickFix(page, "Add the missing ';'");
      const after = await until(`the code lens of ${semi} showing its upstream`, async () => {
        const active = await page.locator('.editor-group-container.active .tabs-container .tab.active').first().getAttribute('aria-label', { timeout: 2000 }).catch(() => '');
        const lenses = await codeLenses(page);
        return { ok: /semi\.conf/.test(active || '') && lenses.some((t) => t.includes('→ http://127.0.0.1:5991')) && !lenses.some((t) => t.includes('not loaded')), detail: { active, lenses } };
      }, 20_000);
      log(`  after: ${after.detail.lenses.join(' || ')}`);
      const text = await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().innerText();
      if (!text.replace(/\u00a0/g, ' ').includes('proxy_set_header X-Semi yes;')) fail(`the fix should add the ';': ${text}`);
      await shot(page, 'lens-after-quick-fix.png');
    });

    await step('the status bar item offers its actions; Open in Browser is not on an inactive route', async () => {
      const item = page.locator('.statusbar-item', { hasText: /devproxy :\d+/ }).first();
      await item.click({ timeout: 10_000 });
      const rows = await until('the quick pick of actions', async () => {
        const texts = (await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts().catch(() => [])).map((t) => t.replace(/\s+/g, ' ').trim());
        return { ok: ['Restart Server', 'Open Dashboard', 'Show Output', 'Show Who Serves the Proxy', 'Rescan All Routes', 'Switch Environment'].every((w) => texts.some((t) => t.includes(w))), detail: texts };
      }, 10_000);
      log(`  actions: ${rows.detail.join(' | ')}`);
      await page.keyboard.press('Escape');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
      await showRoutesView(page);
      const menuOf = async (ariaStart) => {
        const row = page.locator(`${SIDEBAR} .customview-tree .monaco-list-row[aria-label^="${ariaStart}"]`).first();
        await row.click({ button: 'right', timeout: 10_000 });
        await page.locator('.monaco-menu .action-item').first().waitFor({ state: 'visible', timeout: 10_000 });
        const items = (await page.locator('.monaco-menu .action-item').allInnerTexts()).map((t) => t.trim()).filter((t) => t);
        await page.keyboard.press('Escape');
        await page.locator('.monaco-menu').first().waitFor({ state: 'hidden', timeout: 10_000 });
        return items;
      };
      const served = await menuOf('/runner/, health');
      log(`  /runner/: ${served.join(' | ')}`);
      for (const want of ['Open in Browser', 'Send Request', 'Copy URL', 'Copy as curl']) if (!served.includes(want)) fail(`/runner/'s menu should have "${want}": ${served.join(' | ')}`);
      // The /api block that lost the conflict (b.conf's after the quick fix, a.conf's without it).
      const lost = (await treeRows(page)).find((r) => r.level === 2 && isInactive(r));
      if (!lost) fail('no inactive route in the Routes tree');
      const inactive = await menuOf(lost.aria);
      log(`  ${lost.label} (inactive): ${inactive.join(' | ')}`);
      if (inactive.includes('Open in Browser') || inactive.includes('Send Request')) fail(`the inactive ${lost.label} should offer neither Open in Browser nor Send Request: ${inactive.join(' | ')}`);
      if (!inactive.includes('Copy URL')) fail(`the inactive ${lost.label} still has its URL to copy: ${inactive.join(' | ')}`);
      const fileMenu = await menuOf('apps/runner.conf');
      log(`  apps/runner.conf: ${fileMenu.join(' | ')}`);
      for (const want of ['Open', 'Reveal in Explorer', 'Copy Path']) if (!fileMenu.includes(want)) fail(`the file's menu should have "${want}": ${fileMenu.join(' | ')}`);
    });
  } finally {
    await stopUpstream(upstream);
  }
}

// n. Environments (docs/route-files.md "environments"; docs/lsp.md
// devproxy.switchEnvironment and devproxy.showStatusMenu): the same route
// goes to another upstream while a profile of devproxy.json applies, as a
// person switches it: "Switch Environment" from the Command Palette, then
// from the status bar item's menu. The workspace is as it was after:
// devproxy.json, .vscode/settings.json (the switch writes
// devproxy.environment there) and no apps/env.conf.
async function environments({ page, ws, proxyPort }) {
  const dev = await startUpstream(0, 'dev');
  const staging = await startUpstream(0, 'staging');
  const [devPort, stagingPort] = [dev.address().port, staging.address().port];
  const jsonFile = path.join(ws, 'devproxy.json');
  const jsonBefore = fs.readFileSync(jsonFile, 'utf8');
  const settingsFile = path.join(ws, '.vscode', 'settings.json');
  const settingsBefore = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : undefined;
  const envFile = path.join(ws, 'apps', 'env.conf');
  const item = page.locator('.statusbar-item', { hasText: /devproxy :\d+/ }).first();
  const plain = `devproxy :${proxyPort} · 1 folder`;
  try {
    await step(`apps/env.conf's /env/ answers "dev"; devproxy.json maps its upstream to "staging"'s in a profile`, async () => {
      fs.writeFileSync(envFile, `# Written by the end-to-end test's environments step.\nlocation /env/ {\n    proxy_pass http://127.0.0.1:${devPort};\n}\n`);
      const json = { ...JSON.parse(jsonBefore), environments: { staging: { upstreams: { [`127.0.0.1:${devPort}`]: `127.0.0.1:${stagingPort}` } } } };
      fs.writeFileSync(jsonFile, JSON.stringify(json, null, 2) + '\n');
      log(`  /env/ → 127.0.0.1:${devPort} ("dev"); staging: → 127.0.0.1:${stagingPort} ("staging")`);
      await expectServed(proxyPort, '/env/', 'dev');
    });

    await step('Switch Environment (Command Palette), staging picked: the status bar says "env: staging" and /env/ answers "staging" (switch-environment.png)', async () => {
      const offered = await pickEnvironment(page, 'staging', 'the Command Palette', async () => {
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget .quick-input-box input');
        await input.waitFor({ state: 'visible', timeout: 5000 });
        await input.fill('>Switch Environment');
        await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Switch Environment' }).first().click({ timeout: 5000 });
      });
      log(`  offered: ${offered.join(' | ')}`);
      if (!offered.some((a) => a.startsWith('None'))) fail(`"None" should be offered: ${offered.join(' | ')}`);
      const start = Date.now();
      const seen = await until('the status bar item ending in "· env: staging"', async () => {
        const mine = await devproxyStatus(page);
        return { ok: mine.some((t) => t.startsWith(plain) && t.endsWith(' · env: staging')), detail: mine };
      }, 20_000);
      log(`  status bar after ${secs(Date.now() - start)}: ${seen.detail.join(' | ')}`);
      await expectServed(proxyPort, '/env/', 'staging');
      log(`  /env/ answered by staging ${secs(Date.now() - start)} after the pick`);
      await shot(page, 'switch-environment.png');
    });

    await step('the status bar item offers "Switch Environment…" (staging); None picked there: no env in the status bar, /env/ answers "dev" again', async () => {
      const offered = await pickEnvironment(page, 'None', 'the status bar item', async () => {
        await item.click({ timeout: 5000 });
        const input = page.locator('.quick-input-widget .quick-input-box input');
        const action = page.locator('.quick-input-widget .monaco-list-row[aria-label*="Switch Environment"]').first();
        await action.waitFor({ state: 'visible', timeout: 5000 });
        const actions = (await page.locator('.quick-input-widget .monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') || ''))).map((a) => a.trim());
        log(`  actions: ${actions.join(' | ')}`);
        const label = ((await action.getAttribute('aria-label')) || '').trim();
        if (!label.includes('staging')) fail(`"Switch Environment…" should name the active environment, staging: ${label}`);
        await shot(page, 'status-menu-environment.png');
        await input.fill('Switch Environment');
        await until('"Switch Environment…" focused in the actions', async () => {
          const focused = (await page.locator('.quick-input-widget .monaco-list-row.focused').first().getAttribute('aria-label', { timeout: 2000 })) || '';
          return { ok: focused.includes('Switch Environment'), detail: focused };
        }, 5000);
        await page.keyboard.press('Enter');
      });
      log(`  offered: ${offered.join(' | ')}`);
      if (!offered.some((a) => a.startsWith('staging') && a.includes('active'))) fail(`staging should be marked active: ${offered.join(' | ')}`);
      const start = Date.now();
      const seen = await until(`the status bar item "${plain}" without an env`, async () => {
        const mine = await devproxyStatus(page);
        return { ok: mine.some((t) => statusIs(t, plain)) && !mine.some((t) => t.includes('env:')), detail: mine };
      }, 20_000);
      log(`  status bar after ${secs(Date.now() - start)}: ${seen.detail.join(' | ')}`);
      await expectServed(proxyPort, '/env/', 'dev');
      log(`  /env/ answered by dev again ${secs(Date.now() - start)} after the pick`);
    });
  } finally {
    fs.writeFileSync(jsonFile, jsonBefore);
    fs.rmSync(envFile, { force: true });
    if (settingsBefore === undefined) fs.rmSync(settingsFile, { force: true });
    else fs.writeFileSync(settingsFile, settingsBefore);
    await stopUpstream(dev);
    await stopUpstream(staging);
  }
  await step('devproxy.json, .vscode/settings.json and apps/ as they were: /env/ is no longer served', async () => {
    await until('the proxy no longer serving /env/', async () => {
      const r = await httpGet(proxyPort, '/env/');
      return { ok: r.status === 404, detail: `HTTP ${r.status}: ${r.body.slice(0, 200)}` };
    });
    await expectStatus(page, plain);
  });
}

// Opens the "Switch Environment" quick pick with open (from via), picks
// name in it (typed, then Enter), and returns what it offered (each row's
// accessible name: "staging, active"). Until devproxy.json's new profile
// reached the language server the command only says that devproxy.json
// defines none, so open is tried again until the quick pick lists name.
async function pickEnvironment(page, name, via, open) {
  const widget = page.locator('.quick-input-widget');
  const title = widget.locator('.quick-input-title', { hasText: 'Switch Environment' }).first();
  const rowsOf = () => widget.locator('.monaco-list-row').evaluateAll((rows) => rows.map((r) => (r.getAttribute('aria-label') || '').trim()));
  const named = (a) => a === name || a.startsWith(`${name}, `);
  const seen = await until(`the "Switch Environment" quick pick (from ${via}) listing ${name}`, async () => {
    await page.keyboard.press('Escape');
    await open();
    await title.waitFor({ state: 'visible', timeout: 5000 });
    const rows = await rowsOf();
    return { ok: rows.some(named), rows, detail: rows };
  }, 30_000);
  await widget.locator('.quick-input-box input').fill(name);
  await until(`${name} focused in the quick pick`, async () => {
    const focused = ((await widget.locator('.monaco-list-row.focused').first().getAttribute('aria-label', { timeout: 2000 })) || '').trim();
    return { ok: named(focused), detail: focused };
  }, 5000);
  await page.keyboard.press('Enter');
  await widget.waitFor({ state: 'hidden', timeout: 10_000 });
  return seen.rows;
}

// Runs a command of the Command Palette that asks for text in an input box
// titled like it, types value and presses Enter. The input box closes when
// the focus moves away (a webview that had it may take it back while the
// palette opens): then the whole sequence is tried again.
async function commandWithInput(page, title, value) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const boxTitle = page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first();
  await until(`the input box of "${title}" taking ${JSON.stringify(value)}`, async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: 5000 });
    await input.fill('>' + title);
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().click({ timeout: 5000 });
    await boxTitle.waitFor({ state: 'visible', timeout: 5000 });
    const typed = await input.fill(value, { timeout: 3000 }).then(() => true, () => false);
    if (!typed || !(await boxTitle.isVisible())) return { ok: false, detail: 'the input box closed' };
    await page.keyboard.press('Enter');
    return { ok: true };
  }, 30_000);
}

// The frame of a webview panel's page: VS Code puts a webview in an iframe
// that holds the page in another; the one with selector, visible.
async function webviewFrame(page, selector, what, timeout = 20_000) {
  const seen = await until(`${what} (a frame with ${selector})`, async () => {
    for (const f of page.frames()) {
      if (f.isDetached()) continue;
      if ((await f.locator(selector).count().catch(() => 0)) > 0 && (await f.locator(selector).first().isVisible().catch(() => false))) {
        return { ok: true, frame: f };
      }
    }
    return { ok: false, detail: `${page.frames().length} frames` };
  }, timeout);
  return seen.frame;
}

// h. Calliope (docs/calliope.md, docs/lsp.md "The extension's views"): the
// view in the panel asks the language server (devproxy/chat) and draws the
// answer as it streams (devproxy/chatDelta). The model is this test's fake
// OpenAI-compatible server (the real wire format: /v1/models, then
// /v1/chat/completions streamed as server-sent events), set in the
// workspace's devproxy.calliope.* settings; then the settings point at a
// port nobody listens on and the answer is offline. The question names
// /never/, the health step's route whose upstream is down.
async function calliope({ page, ws, userData }) {
  const pieces = ['/never/ fails because ', 'nothing listens on ', 'its upstream port. ', 'Start that app, ', 'then rescan the route.'];
  const PIECE_MS = 300; // between two pieces: long enough to see each arrive
  const model = await startFakeModel(pieces, PIECE_MS);
  const baseUrl = `http://127.0.0.1:${model.port}/v1`;
  const question = 'Why does /never/ fail?';
  log(`  fake OpenAI-compatible server on ${baseUrl} (model fake-chat, ${pieces.length} pieces ${PIECE_MS} ms apart)`);
  try {
    await step('Calliope streams the answer of a model (a fake OpenAI-compatible server)', async () => {
      await setCalliopeSettings(ws, userData, { providers: ['local'], baseUrl, model: 'fake-chat' });
      const frame = await showCalliope(page);
      const before = (await calliopeTurns(frame)).length;
      const seen = await askCalliope(page, question);
      const turns = seen.turns;
      if (turns.length !== before + 1) fail(`one more turn expected after asking (${before} before): ${fmt(turns)}`);
      const turn = turns[turns.length - 1];
      const want = norm(pieces.join(''));
      if (turn.answer !== want) fail(`the final answer should be the model's pieces, ${JSON.stringify(want)}; it is ${JSON.stringify(turn.answer)} (${fmt(turn)})`);
      if (turn.offline) fail(`the answer of a model should not be marked offline: ${fmt(turn)}`);
      // Streamed: the answer grew in steps a person could see, each a
      // beginning of the final text, before it was complete.
      const partial = seen.answers.filter((a) => a !== '' && a !== want);
      log(`  answer as it grew: ${seen.answers.map((a) => JSON.stringify(a)).join(' → ')}`);
      if (partial.length < 2) fail(`the answer should grow in at least two steps before it is complete; seen: ${fmt(seen.answers)}`);
      const stray = partial.find((a) => !want.startsWith(a));
      if (stray !== undefined) fail(`a partial answer is not a beginning of the final one: ${JSON.stringify(stray)}`);
      log(`  provider line: ${JSON.stringify(turn.provider)}; notes: ${fmt(turn.notes)}`);
      // What the model was sent: one streamed chat request with the tools
      // and a system message that grounds it in the route table.
      const chats = model.requests.filter((r) => r.method === 'POST' && r.path === '/v1/chat/completions');
      log(`  the fake saw: ${model.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
      if (chats.length !== 1) fail(`the fake should get one chat request, not ${chats.length}: ${fmt(model.requests.map((r) => `${r.method} ${r.path}`))}`);
      const body = chats[0].body;
      if (body?.stream !== true) fail(`the chat request should ask for a stream: ${fmt(body)}`);
      if (body.model !== 'fake-chat') fail(`the chat request should name the model fake-chat, not ${JSON.stringify(body.model)}`);
      const tools = (body.tools ?? []).map((t) => t.function?.name);
      if (tools.length === 0) fail(`the chat request should offer tools: ${fmt(body)}`);
      const system = (body.messages ?? []).find((m) => m.role === 'system');
      if (!system || !String(system.content).includes('/never/') || !String(system.content).includes('apps/health.conf')) {
        fail(`the chat request should have a system message naming /never/ and its file apps/health.conf: ${fmt(body.messages)}`);
      }
      const user = (body.messages ?? []).filter((m) => m.role === 'user').pop();
      if (user?.content !== question) fail(`the last user message should be the question: ${fmt(body.messages)}`);
      log(`  chat request: ${body.messages.length} messages, tools ${tools.join(', ')}; system message ${system.content.length} characters`);
      fs.writeFileSync(path.join(artifacts, 'calliope-chat-request.json'), JSON.stringify(body, null, 2));
      await shot(page, 'calliope-streamed.png');
    });

    await step('Stop ends the answer of a model that still streams, and its request', async () => {
      model.hold = true; // the fake sends one piece, then waits
      const frame = await calliopeFrame(page);
      const before = model.requests.length;
      await typeQuestion(page, 'Why does /never/ fail? Go on slowly.');
      const chat = () => model.requests.slice(before).find((x) => x.path === '/v1/chat/completions');
      await until('the fake to get the chat request and send its first piece', async () => {
        const r = chat();
        return { ok: !!r && r.sent >= 1, detail: r ? `${r.sent} pieces sent` : `requests: ${model.requests.slice(before).map((x) => x.path)}` };
      }, 20_000);
      const req = chat();
      await until('the first piece in the view', async () => {
        const t = (await calliopeTurns(frame)).pop();
        return { ok: !!t && t.answer === norm(pieces[0]), detail: t };
      }, 10_000);
      await frame.locator('#stop').click({ timeout: 10_000 });
      const seen = await until('the turn marked "Stopped." and the Stop button hidden', async () => {
        const t = (await calliopeTurns(frame)).pop();
        const stopShown = await frame.locator('#stop').isVisible();
        return { ok: !!t && /stopped/i.test(t.status) && !stopShown, detail: { turn: t, stopShown } };
      }, 10_000);
      const stopped = Date.now();
      const turn = seen.detail.turn;
      log(`  turn: ${JSON.stringify(turn.answer)} · ${turn.status}`);
      if (turn.answer !== norm(pieces[0])) fail(`the stopped turn should keep the text so far, ${JSON.stringify(norm(pieces[0]))}: ${fmt(turn)}`);
      await until("the fake's chat request closed by the client before the stream ended", async () => ({ ok: req.aborted, detail: `aborted=${req.aborted}, ended=${req.ended}, ${req.sent} pieces sent` }), 10_000);
      log(`  the model's request was closed ${secs(Date.now() - stopped)} after the turn showed stopped (${req.sent} of ${pieces.length} pieces sent)`);
      model.hold = false;
      await shot(page, 'calliope-stopped.png');
    });

    await step('with no model reachable, Calliope answers offline', async () => {
      const deadPort = await freePort();
      await setCalliopeSettings(ws, userData, { providers: ['local'], baseUrl: `http://127.0.0.1:${deadPort}/v1`, model: 'fake-chat' });
      // The page's "New conversation" button (the view title's + runs the same).
      const frame = await calliopeFrame(page);
      await frame.locator('#new').click({ timeout: 10_000 });
      await until('an empty conversation', async () => {
        const n = (await calliopeTurns(frame)).length;
        return { ok: n === 0, detail: `${n} turns` };
      }, 10_000);
      const seen = await askCalliope(page, question);
      const turn = seen.turns[seen.turns.length - 1];
      log(`  offline answer: ${turn.answer.slice(0, 300)}${turn.answer.length > 300 ? '…' : ''}`);
      log(`  badge: ${JSON.stringify(turn.badge)}; notes: ${fmt(turn.notes)}`);
      if (!turn.offline) fail(`the answer should carry the offline badge: ${fmt(turn)}`);
      if (!/offline/i.test(turn.answer)) fail(`the offline answer should say it is offline: ${JSON.stringify(turn.answer)}`);
      if (!turn.answer.includes('/never/')) fail(`the offline answer should name /never/: ${JSON.stringify(turn.answer)}`);
      if (!turn.notes.some((n) => n.includes(String(deadPort)))) fail(`a note should say that the model at port ${deadPort} did not answer: ${fmt(turn.notes)}`);
      // The panel maximized for the screenshot, so the whole answer shows; restored after.
      await page.locator('.part.panel .action-label[aria-label^="Maximize Panel Size"]').click({ timeout: 10_000 });
      await frame.locator('#log .turn').last().evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await shot(page, 'calliope-offline.png');
      await page.locator('.part.panel .action-label[aria-label^="Restore Panel Size"]').click({ timeout: 10_000 });
    });
  } finally {
    await model.stop();
  }
}

// Collapses white space, as the answers are compared: the view renders the
// Markdown, so a person reads the text, not its line breaks.
const norm = (s) => String(s).replace(/\s+/g, ' ').trim();

// Merges devproxy.calliope.<key> values into the workspace's
// .vscode/settings.json (the overrides step's file) and waits until the
// client answered the server's workspace/configuration with them (the
// verbose trace), so the next question uses them.
async function setCalliopeSettings(ws, userData, values) {
  const file = path.join(ws, '.vscode', 'settings.json');
  const settings = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  for (const [k, v] of Object.entries(values)) settings[`devproxy.calliope.${k}`] = v;
  const from = traceLogText(userData).length;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(settings, null, 2));
  const want = JSON.stringify(values.baseUrl);
  await until(`the client's answer to workspace/configuration with devproxy.calliope.baseUrl ${want} (in the trace)`, async () => {
    const text = traceLogText(userData).slice(from);
    const answers = traceMessages(text).filter((m) => m.head.includes("Sending response 'workspace/configuration"));
    return { ok: text.includes(want) && answers.length > 0, detail: `${answers.length} answers to workspace/configuration since the change` };
  }, 20_000);
}

// The frame of the Calliope view's page: VS Code puts a webview in an
// iframe (iframe.webview) that holds the page in another (#active-frame),
// so it is found among the page's frames by its #question.
async function calliopeFrame(page, timeout = 20_000) {
  const seen = await until('the Calliope page (a frame with #question)', async () => {
    for (const f of page.frames()) {
      if (f.isDetached()) continue;
      if ((await f.locator('#question').count().catch(() => 0)) > 0 && (await f.locator('#question').isVisible().catch(() => false))) {
        return { ok: true, frame: f };
      }
    }
    return { ok: false, detail: `${page.frames().length} frames: ${page.frames().map((f) => f.url().slice(0, 80)).join(', ')}` };
  }, timeout);
  return seen.frame;
}

// Opens the Calliope view with VS Code's "Focus on Calliope View" command
// (again if the first try does not show it) and returns its page's frame.
async function showCalliope(page) {
  const seen = await until('the Calliope view after "Calliope: Focus on Calliope View"', async () => {
    await page.keyboard.press('Escape');
    await runCommand(page, 'Calliope: Focus on Calliope View');
    return { ok: true, frame: await calliopeFrame(page, 10_000) };
  }, 40_000);
  return seen.frame;
}

// The turns of the Calliope page, as a person reads them.
async function calliopeTurns(frame) {
  return frame.evaluate(() =>
    [...document.querySelectorAll('#log .turn')].map((t) => {
      const text = (el) => (el ? el.innerText.replace(/\s+/g, ' ').trim() : '');
      const answer = t.querySelector('.answer');
      // "Calliope is thinking…" is a placeholder, not the answer.
      const parts = answer ? [...answer.children].filter((c) => !c.classList.contains('muted')) : [];
      return {
        question: text(t.querySelector('.question')),
        thinking: [...t.querySelectorAll('.thinking')].map(text),
        answer: parts.map(text).join(' ').replace(/\s+/g, ' ').trim(),
        status: text(t.querySelector('.status')),
        offline: !!t.querySelector('.badge.offline'),
        badge: text(t.querySelector('.badge')),
        provider: text(t.querySelector('.provider')),
        notes: [...t.querySelectorAll('.notes li')].map(text),
      };
    }),
  );
}

// Types the question in the Calliope page's input and presses Enter.
async function typeQuestion(page, question) {
  const frame = await calliopeFrame(page);
  const input = frame.locator('#question');
  await input.click({ timeout: 10_000 });
  await input.pressSequentially(question, { timeout: 20_000 });
  await input.press('Enter', { timeout: 10_000 });
  return frame;
}

// Asks question in the Calliope view and follows its answer until it is
// done (the Stop button hidden again, a provider line or the offline
// badge): {answers (each different answer text seen, in order), turns
// (the page's turns at the end)}. It reads the page every 40 ms, more often
// than the answer's pieces arrive, to see it grow.
async function askCalliope(page, question) {
  const frame = await typeQuestion(page, question);
  const answers = [];
  let asked = false;
  const seen = await until(`Calliope's answer to ${JSON.stringify(question)}`, async () => {
    for (const stopAt = Date.now() + 1000; Date.now() < stopAt; ) {
      const turns = await calliopeTurns(frame);
      const t = turns[turns.length - 1];
      const running = await frame.locator('#stop').isVisible();
      if (t && t.question === question) {
        asked = true;
        if (answers[answers.length - 1] !== t.answer) answers.push(t.answer);
        if (!running && (t.provider || t.offline || t.status)) return { ok: true, turns };
      }
      await new Promise((r) => setTimeout(r, 40));
    }
    return { ok: false, detail: asked ? { answers } : 'the question is not in the view' };
  }, 60_000);
  return { answers, turns: seen.turns };
}

// A fake OpenAI-compatible server on 127.0.0.1 (a free port), speaking the
// wire format the provider package speaks to Ollama and OpenAI: GET
// /v1/models lists fake-chat; POST /v1/chat/completions with "stream": true
// answers the pieces as chat.completion.chunk events, delayMs apart, then a
// finish_reason "stop" chunk and [DONE]. It records every request
// ({method, path, body, sent (pieces), ended, aborted}); while hold is set,
// it sends the first piece and then waits for the client to go.
async function startFakeModel(pieces, delayMs) {
  const fake = { requests: [], hold: false, port: 0, stop: null };
  const timers = new Set();
  const later = (f, ms) => {
    const t = setTimeout(() => {
      timers.delete(t);
      f();
    }, ms);
    timers.add(t);
  };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      let body;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const rec = { method: req.method, path: req.url, body, sent: 0, ended: false, aborted: false };
      fake.requests.push(rec);
      const json = (status, v) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.method === 'GET' && req.url === '/v1/models') {
        return json(200, { object: 'list', data: [{ id: 'fake-chat', object: 'model', created: 1700000000, owned_by: 'e2e' }] });
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        return json(404, { error: { message: `no ${req.method} ${req.url} here`, type: 'invalid_request_error' } });
      }
      if (body?.stream !== true) {
        return json(400, { error: { message: 'this fake only streams', type: 'invalid_request_error' } });
      }
      // The client going away before the end: the response closes unfinished.
      res.on('close', () => {
        if (!res.writableFinished) rec.aborted = true;
      });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const created = Math.floor(Date.now() / 1000);
      const chunk = (delta, finish) =>
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created, model: 'fake-chat', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      const hold = fake.hold;
      const next = (i) => {
        if (res.destroyed) return;
        if (i < pieces.length) {
          res.write(chunk({ role: 'assistant', content: pieces[i] }, null));
          rec.sent = i + 1;
          if (hold) return; // the rest never comes: the client must stop it
          return later(() => next(i + 1), delayMs);
        }
        res.write(chunk({}, 'stop'));
        res.end('data: [DONE]\n\n');
        rec.ended = true;
      };
      next(0);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Failure(`the fake model server cannot listen: ${e.message}`)));
    server.listen(0, '127.0.0.1', resolve);
  });
  fake.port = server.address().port;
  fake.stop = () =>
    new Promise((resolve) => {
      for (const t of timers) clearTimeout(t);
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return fake;
}

// i. The tunnel (docs/lsp.md "Tunnel and API keys"). The language server's
// automatic mode asks the ngrok agent's API (here this test's fake, through
// DEVPROXY_NGROK_API) about every 5 s for a tunnel to the tunnel listener;
// once the agent lists one, the server pushes devproxy/tunnelChanged and the
// tunnel's status bar item shows the public URL. Stop Tunnel sends
// devproxy/tunnelStop and the item goes.
async function tunnel({ page, ngrok, tunnelPort, userData }) {
  const TUNNEL_MS = 20_000; // the agent is polled about every 5 s
  const host = 'e2e-test.ngrok-free.app';
  const publicUrl = `https://${host}`;
  try {
    await step(`the tunnel's status bar item shows ${host} once the ngrok agent lists it (within ${secs(TUNNEL_MS)})`, async () => {
      // Off without an error (the agent lists nothing to this listener): hidden.
      const before = await tunnelItems(page);
      if (before.length > 0) log(`  ⚠ a tunnel item before the agent listed any tunnel: ${fmt(before)}`);
      const asked = ngrok.requests;
      ngrok.tunnels = [
        {
          name: 'command_line',
          uri: '/api/tunnels/command_line',
          public_url: publicUrl,
          proto: 'https',
          config: { addr: `http://localhost:${tunnelPort}`, inspect: true },
          metrics: {},
        },
      ];
      const start = Date.now();
      const seen = await until(`the status bar item "${host}" named "Tunnel up: ${publicUrl}"`, async () => {
        const items = await tunnelItems(page);
        return { ok: items.some((i) => i.aria === `Tunnel up: ${publicUrl}` && i.text.includes(host)), detail: items };
      }, TUNNEL_MS);
      log(`  after ${secs(Date.now() - start)}: ${seen.detail.map((i) => `"${i.text}" (${i.aria})`).join(' | ')}; the agent was asked ${ngrok.requests} times, ${ngrok.requests - asked} since it listed the tunnel`);
      const pushes = traceMessages(traceLogText(userData)).filter((m) => m.head.includes("Received notification 'devproxy/tunnelChanged'")).length;
      log(`  devproxy/tunnelChanged notifications in the trace: ${pushes}`);
      await shot(page, 'tunnel-status.png');
    });

    // The context key devproxy.tunnelUp and the routes' viewItem: a route
    // the proxy serves offers the tunnel, the one that lost /api/ does not.
    await step('"Open via Tunnel" is on a served route\'s context menu, not on the inactive one\'s', async () => {
      await showRoutesView(page);
      const menuOf = async (ariaStart) => {
        const row = page.locator(`${SIDEBAR} .customview-tree .monaco-list-row[aria-label^="${ariaStart}"]`).first();
        await row.click({ button: 'right', timeout: 10_000 });
        const reveal = page.locator('.monaco-menu .action-item', { hasText: 'Reveal in File' }).first();
        await reveal.waitFor({ state: 'visible', timeout: 10_000 });
        const items = (await page.locator('.monaco-menu .action-item').allInnerTexts()).map((t) => t.trim()).filter((t) => t);
        await page.keyboard.press('Escape');
        await page.locator('.monaco-menu').first().waitFor({ state: 'hidden', timeout: 10_000 });
        return items;
      };
      const served = await menuOf('/a/, health');
      log(`  /a/ (a.conf): ${served.join(' | ')}`);
      if (!served.includes('Open via Tunnel')) fail(`a.conf's /a/ should offer "Open via Tunnel" while the tunnel is up: ${served.join(' | ')}`);
      const inactive = await menuOf('/api, health');
      log(`  /api (b.conf, inactive): ${inactive.join(' | ')}`);
      if (inactive.includes('Open via Tunnel')) fail(`b.conf's inactive /api should not offer "Open via Tunnel": ${inactive.join(' | ')}`);
    });

    const key = await step('"Create API Key" shows a read-only key once, in a modal dialog with Copy', async () => {
      const input = page.locator('.quick-input-widget .quick-input-box input');
      const title = (t) => page.locator('.quick-input-widget .quick-input-title', { hasText: t }).first();
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill('>Create API Key');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Create API Key' }).first().click({ timeout: 10_000 });
      // The command's own quick pick (the role), then its input box (the name).
      await title(/^Create API Key$/).waitFor({ state: 'visible', timeout: 10_000 });
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'read-only' }).first().click({ timeout: 10_000 });
      await title('Create API Key: Name').waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill('e2e');
      await page.keyboard.press('Enter');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: 15_000 });
      const text = (await dialog.innerText()).replace(/\s+/g, ' ').trim();
      const shown = /dvp_[A-Za-z0-9]+/.exec(text)?.[0];
      // Said without the key, which this log must not hold either.
      log(`  dialog: ${shown ? text.split(shown).join('dvp_…') : text}`);
      if (!shown) fail(`the dialog should show a dvp_ key: ${text}`);
      if (!/"e2e" \(read-only\) created/.test(text) || !/will not be shown again/.test(text)) fail(`the dialog should name the key and say it will not be shown again: ${text.split(shown).join('dvp_…')}`);
      const buttons = (await dialog.locator('.dialog-buttons .monaco-button').allInnerTexts()).map((t) => t.trim());
      if (!buttons.includes('Copy')) fail(`the dialog should have a Copy button: ${buttons.join(' | ')}`);
      // Closed without copying: headless Chromium's clipboard is no part of this test.
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
      return shown;
    });

    await step('"Stop Tunnel" from the Command Palette hides the tunnel item', async () => {
      await runCommand(page, 'Stop Tunnel');
      const start = Date.now();
      await until('no tunnel item in the status bar', async () => {
        const items = await tunnelItems(page);
        return { ok: items.every((i) => i.aria === 'Tunnel off'), detail: items };
      }, 10_000);
      log(`  hidden after ${secs(Date.now() - start)}`);
      // The trace is written to its file as it goes: wait for this request in it.
      const stops = await until("devproxy/tunnelStop in the LSP trace", async () => {
        const n = traceMessages(traceLogText(userData)).filter((m) => m.head.includes("Sending request 'devproxy/tunnelStop")).length;
        return { ok: n > 0, detail: n };
      }, 10_000);
      if (stops.detail !== 1) fail(`the client should have sent devproxy/tunnelStop once, not ${stops.detail} times`);
    });

    // A tunnel the user runs: the URL is checked before it is sent.
    await step('"Start Tunnel", "Enter public URL…": a URL with a path is refused, an origin is shown', async () => {
      const manual = 'https://manual-e2e.example.com';
      const input = page.locator('.quick-input-widget .quick-input-box input');
      const title = (t) => page.locator('.quick-input-widget .quick-input-title', { hasText: t }).first();
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill('>Start Tunnel');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start Tunnel' }).first().click({ timeout: 10_000 });
      await title(/^Start Tunnel$/).waitFor({ state: 'visible', timeout: 10_000 });
      const offered = (await page.locator('.quick-input-widget .monaco-list-row .label-name').allInnerTexts()).map((t) => t.trim());
      log(`  offered: ${offered.join(' | ')}`);
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Enter public URL' }).first().click({ timeout: 10_000 });
      await title('Start Tunnel: Public URL').waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`${manual}/app/`);
      const said = await until('the input box refusing a URL with a path', async () => {
        const text = (await page.locator('.quick-input-widget').innerText()).replace(/\s+/g, ' ');
        return { ok: text.includes('without a path'), detail: text };
      }, 10_000);
      log(`  ${manual}/app/: ${/Only the scheme.*?fragment/.exec(said.detail)?.[0] ?? said.detail}`);
      await input.fill(manual);
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
      await until(`the tunnel item "manual-e2e.example.com" named "Tunnel up: ${manual}"`, async () => {
        const items = await tunnelItems(page);
        return { ok: items.some((i) => i.aria === `Tunnel up: ${manual}` && i.text.includes('manual-e2e.example.com')), detail: items };
      }, 10_000);
      const starts = traceMessages(traceLogText(userData)).filter((m) => m.head.includes("Sending request 'devproxy/tunnelStart"));
      log(`  devproxy/tunnelStart params: ${JSON.stringify(starts.at(-1)?.params)}`);
      await runCommand(page, 'Stop Tunnel');
      await until('no tunnel item in the status bar', async () => ({ ok: (await tunnelItems(page)).length === 0, detail: await tunnelItems(page) }), 10_000);
    });

    // The trace was back on after devproxy/createKey (it holds the later
    // tunnelStop), and never had the key or the request.
    await step('the API key is in no log: not in the LSP trace, the output channel or code-server\'s log', async () => {
      const trace = traceLogText(userData);
      const where = {
        'the LSP trace': trace,
        "the extension's output channel (with the server's log)": outputChannelText(userData, 'Dev Tunnel Proxy'),
        'code-server.log': fs.readFileSync(path.join(artifacts, 'code-server.log'), 'utf8'),
      };
      for (const [name, text] of Object.entries(where)) {
        if (text.includes(key)) fail(`the API key is in ${name}`);
      }
      const traced = traceMessages(trace).filter((m) => m.head.includes('devproxy/createKey')).length;
      if (traced !== 0) fail(`the LSP trace should hold no devproxy/createKey message (it is off around it), not ${traced}`);
      const said = (where["the extension's output channel (with the server's log)"].match(/^.*Created API key .*$/m) ?? [''])[0];
      log(`  output channel: ${said.trim()}`);
    });
  } finally {
    // The later steps have tunnels of their own to ignore: the agent lists none again.
    ngrok.tunnels = [];
  }
}

// The tunnel's status bar items shown ({text, aria}): the item's accessible
// name starts with "Tunnel " (tunnelModel.ts); hidden items are not in the
// status bar.
async function tunnelItems(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.statusbar-item')]
      .map((e) => ({ text: e.innerText.replace(/\s+/g, ' ').trim(), aria: e.getAttribute('aria-label') || '', shown: e.getClientRects().length > 0 }))
      .filter((i) => i.shown && /^Tunnel /.test(i.aria))
      .map(({ text, aria }) => ({ text, aria })),
  );
}

// A fake ngrok agent: GET /api/tunnels answers the agent's real JSON
// (https://ngrok.com/docs/agent/api/) with fake.tunnels, which the test
// changes; anything else is 404. Resolves once it listens on a free
// loopback port: {api (its URL, for DEVPROXY_NGROK_API), tunnels, requests}.
async function startFakeNgrok() {
  const fake = { api: '', tunnels: [], requests: 0 };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/api/tunnels') {
      fake.requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ tunnels: fake.tunnels, uri: '/api/tunnels' }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error_code: 100, status_code: 404, msg: 'Not Found', details: { path: req.url } }));
  });
  await new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Failure(`the fake ngrok agent cannot listen: ${e.message}`)));
    server.listen(0, '127.0.0.1', resolve);
  });
  // Not kept alive by it: the run ends with process.exit.
  server.unref();
  fake.api = `http://127.0.0.1:${server.address().port}`;
  return fake;
}

// j–l: a multi-root workspace in a second tab of the same code-server, on
// ports of its own (its .code-workspace sets them), and a second code-server
// window that joins its proxy.
async function multiRoot({ bin, vsixPath, context, csPort, stateDir }) {
  const [proxyPort, tunnelPort] = [await freePort(), await freePort()];
  const top = mkTemp('devproxy-e2e-multi-');
  const site = path.join(top, 'site');
  const shop = path.join(top, 'shop');
  const other = path.join(top, 'other');
  // site: fixture/ (without a resolutions file) and an override.
  fs.cpSync(path.join(here, 'fixture'), site, { recursive: true });
  fs.rmSync(path.join(site, '.devproxy'), { recursive: true, force: true });
  fs.cpSync(path.join(here, 'fixture-multi', 'site'), site, { recursive: true });
  fs.cpSync(path.join(here, 'fixture-multi', 'shop'), shop, { recursive: true });
  fs.cpSync(path.join(here, 'fixture-multi', 'other'), other, { recursive: true });
  const wsFile = path.join(top, 'multi.code-workspace');
  const listen = { 'devproxy.listen': `127.0.0.1:${proxyPort}`, 'devproxy.tunnel.listen': `127.0.0.1:${tunnelPort}` };
  fs.writeFileSync(wsFile, JSON.stringify({ folders: [{ path: 'site' }, { path: 'shop' }], settings: listen }, null, 2));
  log(`multi-root workspace ${wsFile} (site, shop); devproxy.listen 127.0.0.1:${proxyPort}`);

  // j. The multi-root workspace.
  const page = await step('open the multi-root workspace (site, shop) in a second tab', async () => {
    const p = await context.newPage();
    watchConsole(p, 'multi');
    pages.push({ name: 'multi', page: p });
    pageForFailure = p;
    await p.setViewportSize({ width: 1600, height: 1000 });
    await p.goto(`http://127.0.0.1:${csPort}/?workspace=${encodeURIComponent(wsFile)}`, { timeout: 60_000 });
    await p.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    // Now and then code-server opens the workspace with no folder in it
    // ("NO FOLDER OPENED") although its file lists two; nothing of the
    // extension runs yet then. A person reloads the page: so does the test,
    // once.
    const foldersShown = async (ms) => {
      try {
        for (const root of ['site', 'shop']) {
          await explorerRow(p, root).waitFor({ state: 'visible', timeout: ms });
        }
        return true;
      } catch {
        return false;
      }
    };
    if (!(await foldersShown(30_000))) {
      log('  the workspace opened without its folders; reloading the page once');
      await p.reload({ timeout: 60_000 });
      await p.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
      for (const root of ['site', 'shop']) {
        await explorerRow(p, root).waitFor({ state: 'visible', timeout: 60_000 });
      }
    }
    return p;
  });

  await step('Problems panel shows the /api/ conflict across folders on shop.conf', async () => {
    await openFile(page, 'apps/shop.conf');
    await showProblems(page);
    const seen = await until('a conflict problem on shop.conf naming a file of site', async () => {
      const byFile = problemsByFile(await problemRows(page));
      const ok = conflictsIn(byFile, 'shop.conf').some((m) => m.includes('site/apps/'));
      return { ok, detail: byFile };
    });
    log(`  shop.conf: ${conflictsIn(seen.detail, 'shop.conf').join(' | ')}`);
    await shot(page, '07-multi-root-problems.png');
  });

  await step(`status bar shows the proxy on 127.0.0.1:${proxyPort} serving 2 folders`, async () => {
    await expectStatus(page, `devproxy :${proxyPort} · 2 folders`);
  });

  await step('Routes tree groups the files under site and shop', async () => {
    await showRoutesView(page);
    const want = {
      site: { 'apps/a.conf': ['/a/', '/api/'], 'apps/b.conf': ['/b/', '/api'], 'services/c.conf': ['/c/'], 'overrides/site.conf': ['/ov/'] },
      shop: { 'apps/shop.conf': ['/shop/', '/api/'] },
    };
    const seen = await until('the folder, file and route nodes in the Routes tree', async () => {
      const grouped = routesByFolder(await expandedTreeRows(page));
      return { ok: treeHas(grouped, want), detail: grouped };
    });
    for (const line of showGrouped(seen.detail)) log(`  ${line}`);
    await shot(page, '08-multi-root-routes-tree.png');
  });

  await step(`the proxy on 127.0.0.1:${proxyPort} answers /shop/ and /ov/`, async () => {
    await expectServed(proxyPort, '/shop/', 'shop');
    await expectServed(proxyPort, '/ov/', 'ov');
  });

  // k. A second window (another code-server, another profile) joins the proxy.
  const second = newProfile('code-server-2', stateDir);
  const cs2Port = await freePort();
  writeSettings(second.dirs.userData, { ...baseSettings, ...listen });
  await step(`install ${rel(vsixPath)} in a second profile`, async () => {
    log(`  ${installExtension(bin, vsixPath, second.dirs, second.env, 'code-server-2')}`);
  });
  await step('start a second code-server on other/', () => startCodeServer(bin, cs2Port, other, second.dirs, second.env, 'code-server-2'));

  const page2 = await step('open other/ in a second browser context', async () => {
    const ctx = await context.browser().newContext({ viewport: { width: 1600, height: 1000 } });
    const p = await ctx.newPage();
    watchConsole(p, 'other');
    pages.push({ name: 'other', page: p });
    pageForFailure = p;
    await p.goto(`http://127.0.0.1:${cs2Port}/?folder=${encodeURIComponent(other)}`, { timeout: 60_000 });
    await p.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    await explorerRow(p, 'apps').waitFor({ state: 'visible', timeout: 60_000 });
    return p;
  });

  await step("the second window's status bar says it joined the first window's proxy", async () => {
    await expectStatus(page2, `devproxy :${proxyPort} · joined ${tildePath(site)}`);
    await shot(page2, '09-second-window-joined.png');
  });

  await step(`the proxy on 127.0.0.1:${proxyPort} answers /other/`, async () => {
    await expectServed(proxyPort, '/other/', 'other');
  });

  await step("the first window serves 3 folders and shows other's routes", async () => {
    pageForFailure = page;
    await expectStatus(page, `devproxy :${proxyPort} · 3 folders`);
    await showRoutesView(page);
    const seen = await until("other's folder with apps/other.conf in the Routes tree", async () => {
      const grouped = routesByFolder(await expandedTreeRows(page));
      return { ok: treeHas(grouped, { other: { 'apps/other.conf': ['/other/'] } }), detail: grouped };
    });
    for (const line of showGrouped(seen.detail)) log(`  ${line}`);
    await shot(page, '10-first-window-three-folders.png');
  });

  // l. A route folder deleted in the Explorer takes its routes along.
  await step("deleting site's overrides/ in the Explorer removes /ov/", async () => {
    await page.keyboard.press('Control+Shift+E');
    const row = explorerRow(page, 'overrides');
    if (!(await row.isVisible())) {
      const root = explorerRow(page, 'site');
      if ((await root.getAttribute('aria-expanded')) === 'false') await root.click();
    }
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    await row.click();
    await until('overrides selected in the Explorer', async () => {
      const selected = await row.getAttribute('aria-selected');
      return { ok: selected === 'true', detail: `aria-selected=${selected}` };
    }, 10_000);
    await page.keyboard.press('Delete');
    // "Move to Trash" where the file system has a trash, else "Delete" (permanently).
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 15_000 });
    log(`  dialog: ${(await dialog.innerText()).replace(/\s+/g, ' ').trim()}`);
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^(Move to Trash|Delete)$/ }).first().click();
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
    await until(`${rel(path.join(site, 'overrides'))} gone from disk`, async () => ({ ok: !fs.existsSync(path.join(site, 'overrides')), detail: 'still there' }), 15_000);
    await showRoutesView(page);
    const seen = await until('no overrides/site.conf under site in the Routes tree (and the rest still there)', async () => {
      const grouped = routesByFolder(await expandedTreeRows(page));
      const gone = !Object.keys(grouped.site ?? {}).some((f) => f.startsWith('overrides/'));
      return { ok: gone && treeHas(grouped, { site: { 'apps/a.conf': ['/a/'] }, shop: { 'apps/shop.conf': ['/shop/'] } }), detail: grouped };
    });
    for (const line of showGrouped(seen.detail)) log(`  ${line}`);
    await until(`the proxy on 127.0.0.1:${proxyPort} no longer answering /ov/ with "ov"`, async () => {
      const r = await httpGet(proxyPort, '/ov/');
      return { ok: !(r.status === 200 && r.body.trim() === 'ov'), detail: `HTTP ${r.status}: ${r.body.slice(0, 200)}` };
    });
    await shot(page, '11-overrides-deleted.png');
  });
}

// --- the health step's helpers ------------------------------------------------------------

// An upstream of this test on 127.0.0.1:port (0: any free port) that
// answers every request 200 body ("live"); resolves once it listens.
function startUpstream(port, body = 'live') {
  return new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${body}\n`);
    });
    server.once('error', (e) => reject(new Failure(`cannot listen on 127.0.0.1:${port}: ${e.message}`)));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

// Stops an upstream of startUpstream: no new connections, and the open
// ones (the proxy's kept-alive ones) closed, so it is down as a crashed dev
// server is.
function stopUpstream(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// Saves the proxy's health document (/health.json, what the tree shows) in
// the artifacts as name, and logs its summary.
async function saveHealth(port, name) {
  const r = await httpGet(port, '/health.json');
  fs.writeFileSync(path.join(artifacts, name), r.body);
  let summary = `HTTP ${r.status}`;
  try {
    summary = JSON.stringify(JSON.parse(r.body).summary);
  } catch {}
  log(`  ${name}: ${summary}`);
}

// The tooltip of a route of the Routes tree, as a person reads it: hovers
// its row until the hover shows text that want accepts (the route's
// Markdown tooltip renders into the workbench's hover), and returns that
// text on one line. The mouse leaves the row before each try, so each try
// opens a fresh hover; the hover stays open after, for the screenshot.
async function routeTooltip(page, label, want, what) {
  const row = page.locator(`${SIDEBAR} .customview-tree .monaco-list-row`, { hasText: label }).first();
  const hover = page.locator('.workbench-hover, .monaco-hover').filter({ hasText: /Health/ });
  let n = 0;
  const seen = await until(`the tooltip of ${label} saying ${JSON.stringify(what)}`, async () => {
    await page.mouse.move(800, 60);
    // Two moves over the row: VS Code's hover starts from a mousemove on the element.
    const x = 40 + (n++ % 3) * 10;
    await row.hover({ position: { x, y: 8 }, timeout: 5000 });
    await row.hover({ position: { x: x + 3, y: 10 }, timeout: 5000 });
    await hover.first().waitFor({ state: 'visible', timeout: 3000 });
    const text = (await hover.first().innerText()).replace(/\s+/g, ' ').trim();
    return { ok: want(text), detail: text };
  }, 20_000);
  return seen.detail;
}

// --- the multi-root and second-window helpers ------------------------------------------------------

function watchConsole(page, name) {
  const file = path.join(artifacts, `browser-console-${name}.log`);
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') fs.appendFileSync(file, `[${m.type()}] ${m.text()}\n`);
  });
  page.on('pageerror', (e) => fs.appendFileSync(file, `[pageerror] ${e.message}\n`));
}

// A row of the Explorer whose name is exactly name.
function explorerRow(page, name) {
  return page
    .locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) })
    .first();
}

// path with the home directory as ~, as the status bar shows it.
function tildePath(p) {
  const home = os.homedir();
  return p === home ? '~' : p.startsWith(home + '/') ? '~' + p.slice(home.length) : p;
}

// Waits until the devproxy status bar item reads text (and maybe the
// routes' health summary after it: statusIs).
async function expectStatus(page, text) {
  await until(`the status bar item ${JSON.stringify(text)}`, async () => {
    const mine = await devproxyStatus(page);
    return { ok: mine.some((t) => statusIs(t, text)), detail: mine };
  });
}

// GET http://127.0.0.1:port<pathname> with node:http: {status, body}.
function httpGet(port, pathname) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

// Waits until the proxy answers pathname with 200 and body.
async function expectServed(port, pathname, body) {
  const seen = await until(`the proxy on 127.0.0.1:${port} to answer ${pathname} with 200 ${JSON.stringify(body)}`, async () => {
    const r = await httpGet(port, pathname);
    return { ok: r.status === 200 && r.body.trim() === body, detail: `HTTP ${r.status}: ${r.body.slice(0, 200)}` };
  });
  log(`  GET ${pathname}: ${seen.detail}`);
}

// The Routes tree's rows after expanding every collapsed folder and file node.
async function expandedTreeRows(page) {
  const rows = await treeRows(page);
  for (const r of rows) {
    if (r.level <= 2 && r.expanded === 'false') {
      await page
        .locator(`${SIDEBAR} .customview-tree .monaco-list-row[aria-level="${r.level}"][aria-expanded="false"]`, { hasText: r.label })
        .first()
        .click();
    }
  }
  return rows;
}

// The routes of a tree grouped by folder: {"site": {"apps/a.conf": [row, …], …}, …}.
function routesByFolder(rows) {
  const out = {};
  let folder = null;
  let file = null;
  for (const r of rows) {
    if (r.level === 1) {
      folder = r.label;
      out[folder] = {};
      file = null;
    } else if (r.level === 2 && folder !== null) {
      file = r.label;
      out[folder][file] = [];
    } else if (r.level === 3 && file !== null) {
      out[folder][file].push(r);
    }
  }
  return out;
}

// Whether the grouped tree has every folder → file → route label of want.
function treeHas(grouped, want) {
  return Object.entries(want).every(([folder, files]) =>
    Object.entries(files).every(([file, labels]) => labels.every((l) => (grouped[folder]?.[file] ?? []).some((r) => r.label === l))),
  );
}

const showGrouped = (grouped) =>
  Object.entries(grouped).map(([folder, files]) => `${folder}: ${Object.entries(files).map(([f, rs]) => `${f} (${rs.map((r) => r.label).join(', ')})`).join('; ')}`);

// --- run ------------------------------------------------------------------------------------------

// The page of the current step (its screenshot is failure.png) and every
// page opened ({name, page}; each gets failure-<name>.png).
let pageForFailure = null;
const pages = [];

// Where a profile's VS Code logs go in the artifacts: vscode-logs for the
// first code-server, vscode-logs-<name> for the others.
const logsDirOf = (name) => path.join(artifacts, name === 'code-server' ? 'vscode-logs' : `vscode-logs-${name}`);

async function collectLogs() {
  // VS Code's logs: the server's, the extension host's and the output
  // channels (the extension's included) are files under <user-data>/logs.
  for (const { name, userData } of profiles) {
    const logs = path.join(userData, 'logs');
    if (fs.existsSync(logs)) fs.cpSync(logs, logsDirOf(name), { recursive: true });
  }
}

// On failure, the end of the extension's output channel ("Dev Tunnel Proxy")
// goes to stderr too, so a CI log shows what the extension said.
function printExtensionLog() {
  const found = [];
  for (const { name } of profiles) {
    const dir = logsDirOf(name);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir, { recursive: true })) {
      if (String(f).endsWith('-Dev Tunnel Proxy.log')) found.push(path.join(dir, String(f)));
    }
  }
  if (found.length === 0) {
    console.error("the extension's output channel log was not found (was the extension activated?)");
    return;
  }
  for (const f of found) {
    const lines = fs.readFileSync(f, 'utf8').trimEnd().split('\n');
    console.error(`\n--- last lines of ${f} ---\n${lines.slice(-30).join('\n')}\n---`);
  }
}

async function finish(code, err) {
  if (err) {
    const msg = err instanceof Failure ? err.message : err.stack || String(err);
    console.error(`\nFAIL: ${currentStep}\n${msg}`);
    if (pageForFailure) {
      await pageForFailure
        .screenshot({ path: path.join(artifacts, 'failure.png'), timeout: 10_000 })
        .then(() => console.error(`screenshot: ${path.join(artifacts, 'failure.png')}`))
        .catch((e) => console.error(`no failure screenshot: ${e.message.split('\n')[0]}`));
    }
    for (const { name, page } of pages) {
      const file = path.join(artifacts, `failure-${name}.png`);
      await page
        .screenshot({ path: file, timeout: 10_000 })
        .then(() => console.error(`screenshot: ${file}`))
        .catch((e) => console.error(`no screenshot of ${name}: ${e.message.split('\n')[0]}`));
    }
  }
  await stopChildren();
  try {
    await collectLogs();
    if (err) printExtensionLog();
  } catch (e) {
    console.error(`could not copy VS Code's logs: ${e.message}`);
  }
  if (!keep) for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  else log(`kept ${tempDirs.join(' ')}`);
  console.log(`artifacts: ${artifacts}`);
  console.log(code === 0 ? `e2e: passed in ${secs(Date.now() - t0)}` : `e2e: FAILED in ${secs(Date.now() - t0)}`);
  process.exit(code);
}

let finishing = false;
const once = (code, err) => {
  if (finishing) return;
  finishing = true;
  finish(code, err);
};
const overall = setTimeout(() => once(1, new Failure(`the whole run took longer than ${secs(OVERALL_MS)}`)), OVERALL_MS);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => once(1, new Failure(`stopped by ${sig}`)));
process.on('unhandledRejection', (e) => once(1, e));
process.on('uncaughtException', (e) => once(1, e));

main().then(
  () => {
    clearTimeout(overall);
    once(0);
  },
  (err) => {
    clearTimeout(overall);
    once(1, err);
  },
);
