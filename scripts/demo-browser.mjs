#!/usr/bin/env node
// The demo in a real browser (`make test-demo`, part of `make test`):
// headless Debian Chromium, driven by the playwright-core that
// scripts/e2e-setup.sh installs outside the repo, opens the demo through
// bin/devproxy serve, as a person would after `make run`:
//   a. /web/: the page says the HMR socket is connected (a dev server's
//      Origin check refuses it when the route leaves Host at the default),
//      and the API call through the proxy answered;
//   b. /: the dashboard lists the demo's routes;
//   c. /broken/ (a route file with an error, added to the temporary copy
//      only): the HTML error page says which file would take it and why;
//   d. /devproxy/ is live: a route to an upstream this script serves shows
//      "ok"; when the upstream stops the row turns to "down" with the
//      reason, and back to "ok" when it starts again, without a reload;
//      its traffic shows; on a phone-sized screen nothing scrolls
//      sideways; keyboard focus is visible; the page logs no CSP error.
//
//   node scripts/demo-browser.mjs [--demo examples/demo]
//
// It serves a temporary copy of the demo folder with the upstreams' ports
// replaced by free ones, on a free loopback port. bin/devproxy and
// bin/demo-upstreams must be built (the Makefile does it). Screenshots
// (demo-web.png, demo-dashboard.png, demo-broken.png, dashboard-ok.png,
// dashboard-down.png, dashboard-phone.png; demo-failure.png on failure) and the logs of the proxy and the upstreams go to
// ${DEVPROXY_E2E_ARTIFACTS:-<repo>/dist/e2e-artifacts}. Every wait is
// bounded; every process it starts leads its own process group, which is
// ended on exit, failure, timeout or signal.

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CHROMIUM, Failure, fail, freePort, loadPlaywright, mkTemp, setLog, startChromium, startGroup, stopChildren as stopGroups, tempDirs } from './lib/headless.mjs';

const PLAYWRIGHT_VERSION = '1.64.1'; // keep in step with scripts/e2e-setup.sh
const OVERALL_MS = 120_000;
const WAIT_MS = 20_000;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.DEVPROXY_E2E_CACHE || path.join(os.homedir(), '.cache', 'devproxy-e2e');
const artifacts = path.resolve(process.env.DEVPROXY_E2E_ARTIFACTS || path.join(repo, 'dist', 'e2e-artifacts'));
const demoArg = process.argv.indexOf('--demo');
const demo = path.resolve(demoArg > 0 ? process.argv[demoArg + 1] : path.join(repo, 'examples', 'demo'));

const t0 = Date.now();
const log = (msg) => console.log(`demo-browser [${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
setLog(log);

// --- processes ---------------------------------------------------------------

async function stopChildren() {
  await stopGroups();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    log(`${sig}: stopping`);
    await stopChildren();
    process.exit(1);
  });
}

// until polls probe (which returns {ok, detail}) until ok, for at most ms.
async function until(what, probe, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let detail = '';
  while (Date.now() < deadline) {
    try {
      const r = await probe();
      if (r.ok) return r;
      detail = r.detail;
    } catch (err) {
      if (err instanceof Failure) throw err;
      detail = err.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  fail(`waited ${ms / 1000}s for ${what}; last: ${detail}`);
}

// --- the demo --------------------------------------------------------------------

// copyDemo copies the demo's route files to a temp dir, with the
// upstreams' ports replaced, and adds apps/broken.conf (a missing ';').
function copyDemo(webPort, apiPort) {
  const ws = mkTemp('devproxy-demo-');
  for (const entry of fs.readdirSync(demo)) {
    if (entry.endsWith('.go') || entry === 'upstreams') continue;
    fs.cpSync(path.join(demo, entry), path.join(ws, entry), { recursive: true });
  }
  const apps = path.join(ws, 'apps');
  for (const f of fs.readdirSync(apps)) {
    const p = path.join(apps, f);
    const text = fs.readFileSync(p, 'utf8').replaceAll('127.0.0.1:5173', `127.0.0.1:${webPort}`).replaceAll('127.0.0.1:5174', `127.0.0.1:${apiPort}`);
    fs.writeFileSync(p, text);
  }
  fs.writeFileSync(path.join(apps, 'broken.conf'), `location /broken/ {\n    proxy_pass http://127.0.0.1:${webPort}/\n}\n`);
  return ws;
}

// startLive serves a small app on port until stop() is called.
function startLive(port) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('live');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        stop: () => new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      }));
  });
}

// --- the run ----------------------------------------------------------------------

let page;

async function main() {
  for (const bin of ['bin/devproxy', 'bin/demo-upstreams']) {
    if (!fs.existsSync(path.join(repo, bin))) fail(`${bin} is missing: run make build and go build -o bin/demo-upstreams ./examples/demo/upstreams`);
  }
  if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: run scripts/e2e-setup.sh`);
  const pw = loadPlaywright(cache, PLAYWRIGHT_VERSION);
  fs.mkdirSync(artifacts, { recursive: true });

  const [proxyPort, tunnelPort, webPort, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const ws = copyDemo(webPort, apiPort);
  const env = { ...process.env, DEVPROXY_STATE_DIR: mkTemp('devproxy-demo-state-') };
  log(`demo copy ${ws}: proxy 127.0.0.1:${proxyPort}, web 127.0.0.1:${webPort}, api 127.0.0.1:${apiPort}`);

  const upLog = path.join(artifacts, 'demo-upstreams.log');
  const up = startGroup('demo-upstreams', path.join(repo, 'bin/demo-upstreams'), ['-web', `127.0.0.1:${webPort}`, '-api', `127.0.0.1:${apiPort}`], {
    env,
    stdio: ['ignore', fs.openSync(upLog, 'w'), fs.openSync(upLog, 'a')],
  });
  const serveLog = path.join(artifacts, 'demo-serve.log');
  const serve = startGroup(
    'devproxy serve',
    path.join(repo, 'bin/devproxy'),
    ['serve', '--root', ws, '--listen', `127.0.0.1:${proxyPort}`, '--tunnel-listen', `127.0.0.1:${tunnelPort}`],
    { env, stdio: ['ignore', fs.openSync(serveLog, 'w'), fs.openSync(serveLog, 'a')] },
  );
  const base = `http://127.0.0.1:${proxyPort}`;
  await until('the demo upstreams', async () => {
    if (up.exited) fail('bin/demo-upstreams exited; see demo-upstreams.log');
    const res = await fetch(`http://127.0.0.1:${webPort}/`, { signal: AbortSignal.timeout(2000) });
    return { ok: res.ok, detail: `HTTP ${res.status}` };
  });
  await until('devproxy serve', async () => {
    if (serve.exited) fail('devproxy serve exited; see demo-serve.log');
    const res = await fetch(`${base}/routes.json`, { signal: AbortSignal.timeout(2000) });
    return { ok: res.ok, detail: `HTTP ${res.status}` };
  });

  const profile = mkTemp('devproxy-demo-chromium-');
  ({ page } = await startChromium(pw, { profile, env: { ...process.env, HOME: profile }, windowSize: '1200,800' }));
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));

  // a. /web/: the HMR socket connects through the proxy.
  log('a. /web/');
  let res = await page.goto(`${base}/web/`, { timeout: WAIT_MS });
  if (res.status() !== 200) fail(`/web/ answered ${res.status()}`);
  try {
    await page.waitForFunction(() => /^connected/.test(document.getElementById('hmr')?.textContent || ''), null, { timeout: WAIT_MS });
  } catch {
    const hmr = await page.textContent('#hmr');
    const refused = fs.readFileSync(upLog, 'utf8').split('\n').filter((l) => l.includes('refused')).join('\n');
    fail(`/web/ says "HMR socket: ${hmr}" after ${WAIT_MS / 1000}s; the dev server's log:\n${refused || '(nothing refused)'}\nconsole:\n${consoleLines.join('\n')}`);
  }
  await page.waitForFunction(() => (document.getElementById('api')?.textContent || '').includes('ada'), null, { timeout: WAIT_MS });
  log(`   HMR socket: ${await page.textContent('#hmr')}`);
  await page.screenshot({ path: path.join(artifacts, 'demo-web.png') });

  // b. /: the dashboard, with the demo's routes.
  log('b. / (dashboard)');
  res = await page.goto(`${base}/`, { timeout: WAIT_MS });
  if (res.status() !== 200) fail(`/ answered ${res.status()}`);
  await page.waitForFunction(() => document.body.innerText.includes('/web/') && document.body.innerText.includes('/api/'), null, { timeout: WAIT_MS });
  await page.screenshot({ path: path.join(artifacts, 'demo-dashboard.png'), fullPage: true });

  // c. /broken/: an HTML error page that names the file and its error.
  log('c. /broken/');
  res = await page.goto(`${base}/broken/`, { timeout: WAIT_MS });
  const type = res.headers()['content-type'] || '';
  const text = await page.innerText('body');
  await page.screenshot({ path: path.join(artifacts, 'demo-broken.png') });
  if (res.status() !== 404 || !type.startsWith('text/html')) fail(`/broken/ answered ${res.status()} ${type}, want 404 text/html`);
  for (const words of ['apps/broken.conf', 'has errors']) {
    if (!text.includes(words)) fail(`/broken/'s page lacks ${JSON.stringify(words)}:\n${text}`);
  }
  if (!(await page.$('a[href="/"]'))) fail(`/broken/'s page has no link to /:\n${text}`);
  log(`   ${text.split('\n').find((l) => l.includes('has errors'))}`);

  // d. the dashboard follows an upstream down and up, without a reload.
  log('d. /devproxy/ (live)');
  const livePort = await freePort();
  let live = await startLive(livePort);
  fs.writeFileSync(path.join(ws, 'apps', 'live.conf'), `location /live/ {\n    proxy_pass http://127.0.0.1:${livePort};\n}\n`);
  res = await page.goto(`${base}/devproxy/`, { timeout: WAIT_MS });
  if (res.status() !== 200) fail(`/devproxy/ answered ${res.status()}`);
  await page.evaluate(() => { window.__sameDocument = true; });
  const row = () => page.evaluate(() => {
    const h = document.querySelector('tr[data-route="/live/"] .health');
    return { status: h?.dataset.status || '(no row)', text: h?.textContent || '', same: window.__sameDocument === true,
      live: document.getElementById('live')?.textContent, summary: document.getElementById('summary')?.textContent };
  });
  const waitStatus = async (want) => {
    const start = Date.now();
    const r = await until(`/live/ ${want} on the dashboard`, async () => {
      const r = await row();
      if (!r.same) fail('the dashboard reloaded; it must update in place');
      return { ok: r.status === want, detail: JSON.stringify(r), ...r };
    });
    return { ...r, ms: Date.now() - start };
  };
  let r = await waitStatus('ok');
  for (let i = 0; i < 3; i++) {
    const got = await fetch(`${base}/live/x`, { signal: AbortSignal.timeout(2000) });
    if (!got.ok) fail(`/live/x answered ${got.status}`);
  }
  await until('/live/ traffic on the dashboard', async () => {
    const t = await page.evaluate(() => document.querySelector('tr[data-route="/live/"] td[data-label="Traffic"]')?.textContent || '');
    return { ok: /\b3 req/.test(t), detail: t };
  }, 15_000);
  await page.screenshot({ path: path.join(artifacts, 'dashboard-ok.png'), fullPage: true });
  await live.stop();
  r = await waitStatus('error');
  log(`   upstream stopped: "${r.text}" after ${r.ms} ms; summary "${r.summary}"`);
  if (!r.text.includes(`connection refused on 127.0.0.1:${livePort}`)) fail(`the down row does not give the reason: ${r.text}`);
  if (!/down/.test(r.summary)) fail(`the summary does not count the route as down: ${r.summary}`);
  await page.screenshot({ path: path.join(artifacts, 'dashboard-down.png'), fullPage: true });
  live = await startLive(livePort);
  r = await waitStatus('ok');
  log(`   upstream started again: ok after ${r.ms} ms`);
  await live.stop();

  // On a phone: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 375, height: 740 });
  const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  if (widths.doc > widths.view + 1) fail(`on a 375 px screen the dashboard is ${widths.doc} px wide`);
  await page.screenshot({ path: path.join(artifacts, 'dashboard-phone.png'), fullPage: true });
  // Keyboard focus is visible.
  await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => {
    const e = document.activeElement;
    const s = e ? getComputedStyle(e) : null;
    return { tag: e?.tagName, outline: s ? `${s.outlineStyle} ${s.outlineWidth}` : '' };
  });
  if (!focus.tag || focus.tag === 'BODY' || /^none/.test(focus.outline)) fail(`keyboard focus is not visible: ${JSON.stringify(focus)}`);
  const csp = consoleLines.filter((l) => /Content Security Policy|Refused to/.test(l));
  if (csp.length) fail(`the dashboard broke its CSP:\n${csp.join('\n')}`);
}

const overall = setTimeout(async () => {
  log(`timed out after ${OVERALL_MS / 1000}s`);
  await stopChildren();
  process.exit(1);
}, OVERALL_MS);

let code = 0;
try {
  await main();
  log(`passed; screenshots in ${artifacts}`);
} catch (err) {
  code = 1;
  console.error(`demo-browser: FAILED: ${err instanceof Failure ? err.message : err.stack}`);
  if (page) await page.screenshot({ path: path.join(artifacts, 'demo-failure.png') }).catch(() => {});
}
clearTimeout(overall);
await stopChildren();
process.exit(code);
