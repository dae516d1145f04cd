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
//      With a hub that knows no tunnel (an older devproxy, played by
//      playwright on the socket), the routes still show and the tunnel
//      line stays hidden. Tunnel states pushed onto the socket show as
//      words: starting, error with its message, up with its URL as a link
//      (never a javascript: one).
//   e. through the tunnel: a second devproxy serve of the demo, with its
//      data in a folder outside the workspace, a read-only key made by
//      `devproxy keys create`, and devproxy.json's tunnel listener and
//      public URL; in front of it a fake tunnel edge (https with a
//      self-signed certificate, forwarding requests and WebSocket upgrades
//      with Host kept and X-Forwarded-For/-Proto added, as ngrok does).
//      Through the edge: / is not the dashboard but a 401 page linking to
//      the sign-in page; a wrong key is refused with a message and no
//      cookie; the key signs in (the session cookie is HttpOnly, Secure,
//      SameSite=Strict) and leads to the dashboard, which lists the
//      routes with their health, says the tunnel is up at the public URL,
//      and hears a new route over its live socket without a reload (and
//      fits a phone's width); a
//      write from the read-only session gets 403; Sign out ends the
//      session. The key is never in a URL the browser or the edge saw.
//
//   node scripts/demo-browser.mjs [--demo examples/demo]
//
// It serves a temporary copy of the demo folder with the upstreams' ports
// replaced by free ones, on a free loopback port. bin/devproxy and
// bin/demo-upstreams must be built (the Makefile does it). Screenshots
// (demo-web.png, demo-dashboard.png, demo-broken.png, dashboard-ok.png,
// dashboard-down.png, dashboard-phone.png, dashboard-tunnel-error.png,
// tunnel-signin.png,
// tunnel-dashboard.png; demo-failure.png on failure) and the logs of the
// proxies and the upstreams go to
// ${DEVPROXY_E2E_ARTIFACTS:-<repo>/dist/e2e-artifacts}. Every wait is
// bounded; every process it starts leads its own process group, which is
// ended on exit, failure, timeout or signal.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CHROMIUM, Failure, fail, freePort, loadPlaywright, mkTemp, setLog, startChromium, startGroup, stopChildren as stopGroups, tempDirs } from './lib/headless.mjs';

const PLAYWRIGHT_VERSION = '1.64.1'; // keep in step with scripts/e2e-setup.sh
const OVERALL_MS = 180_000;
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

// --- the tunnel -------------------------------------------------------------------

// makeCert has openssl make a self-signed certificate for 127.0.0.1, the
// fake edge's (a tunnel provider's is a real one), and returns its key
// and certificate (certFile: its path).
function makeCert() {
  const dir = mkTemp('devproxy-demo-edge-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert],
  { stdio: ['ignore', 'ignore', 'pipe'], timeout: WAIT_MS });
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert), certFile: cert };
}

// Hop-by-hop headers: each side of the edge has its own connection.
const HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

// startEdge serves a fake tunnel edge on 127.0.0.1:port: https outside;
// every request, WebSocket upgrades included, goes on to the tunnel
// listener at 127.0.0.1:target with its Host kept, the client's address
// appended to X-Forwarded-For and X-Forwarded-Proto: https, as ngrok
// does. seen holds every request target it was sent.
function startEdge(port, target, tls) {
  const seen = [];
  const sockets = new Set();
  const forwarded = (req, keep = []) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!HOP.includes(k) || keep.includes(k)) headers[k] = v;
    }
    const xff = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = (xff ? `${xff}, ` : '') + req.socket.remoteAddress;
    headers['x-forwarded-proto'] = 'https';
    return headers;
  };
  const server = https.createServer(tls, (req, res) => {
    seen.push(req.url);
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: forwarded(req), timeout: WAIT_MS }, (upRes) => {
      const headers = {};
      for (const [k, v] of Object.entries(upRes.headers)) if (!HOP.includes(k)) headers[k] = v;
      res.writeHead(upRes.statusCode, headers);
      upRes.pipe(res);
    });
    up.on('timeout', () => up.destroy(new Error('the tunnel listener did not answer')));
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`edge: ${err.message}`);
    });
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    seen.push(req.url);
    const up = net.connect(target, '127.0.0.1', () => {
      let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (const [k, v] of Object.entries(forwarded(req, ['connection', 'upgrade']))) {
        for (const one of [].concat(v)) text += `${k}: ${one}\r\n`;
      }
      up.write(`${text}\r\n`);
      if (head.length) up.write(head);
      socket.pipe(up);
      up.pipe(socket);
    });
    for (const s of [socket, up]) {
      sockets.add(s);
      s.on('error', () => { socket.destroy(); up.destroy(); });
      s.on('close', () => { sockets.delete(s); socket.destroy(); up.destroy(); });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        seen,
        stop: () => {
          for (const s of sockets) s.destroy();
          server.closeAllConnections();
          server.close();
        },
      }));
  });
}

// tunnelStates opens the dashboard with playwright on its socket, passing
// everything on and adding devproxy/tunnelChanged notifications: each
// state shows as words, the error with its message, and only an http(s)
// public URL becomes a link.
async function tunnelStates(browser, base) {
  log('d. /devproxy/ tunnel states');
  const context = await browser.newContext();
  const sp = await context.newPage();
  let toPage;
  await sp.routeWebSocket('**/devproxy/ws', (ws) => {
    ws.connectToServer();
    toPage = ws;
  });
  const res = await sp.goto(`${base}/devproxy/`, { timeout: WAIT_MS });
  if (res.status() !== 200) fail(`/devproxy/ answered ${res.status()}`);
  await until('the dashboard hearing the tunnel', async () => {
    const t = await sp.evaluate(() => document.body.dataset.tunnel);
    return { ok: t === 'off', detail: `data-tunnel ${t}` };
  });
  const since = new Date().toISOString();
  const states = [
    [{ provider: 'cloudflared', status: 'starting', since }, /starting/, null],
    [{ provider: 'ngrok', status: 'error', error: 'ngrok: authentication failed (ERR_NGROK_105)', since }, /error.*authentication failed \(ERR_NGROK_105\)/, null],
    [{ provider: 'manual', status: 'up', publicUrl: 'javascript:alert(1)', since }, /up/, null],
    [{ provider: 'ngrok', status: 'up', publicUrl: 'https://abc.ngrok.app', since }, /up \(ngrok\).*https:\/\/abc\.ngrok\.app/, 'https://abc.ngrok.app/'],
    [{ provider: '', status: 'off', since }, /off/, null],
  ];
  for (const [params, want, href] of states) {
    toPage.send(JSON.stringify({ jsonrpc: '2.0', method: 'devproxy/tunnelChanged', params }));
    const t = await until(`the tunnel line saying ${params.status}`, async () => {
      const t = await sp.evaluate(() => {
        const line = document.getElementById('tunnel');
        return { hidden: line.hidden, status: document.body.dataset.tunnel, text: line.textContent, href: line.querySelector('a')?.href ?? null };
      });
      return { ok: !t.hidden && t.status === params.status && want.test(t.text), detail: JSON.stringify(t), ...t };
    });
    if (t.href !== href) fail(`the tunnel line for ${JSON.stringify(params)} links to ${t.href}, want ${href}`);
    if (params.status === 'error') await sp.screenshot({ path: path.join(artifacts, 'dashboard-tunnel-error.png') });
  }
  log(`   ${states.map(([p]) => p.status).join(', ')}: shown`);
  await context.close();
}

// throughTheTunnel is phase e: the dashboard through a fake tunnel edge,
// signed in with a read-only key.
async function throughTheTunnel(browser, webPort, apiPort, env, consoleLines) {
  log('e. through the tunnel');
  const [listenPort, tunnelPort, edgePort] = [await freePort(), await freePort(), await freePort()];
  const publicUrl = `https://127.0.0.1:${edgePort}`;
  const ws = copyDemo(webPort, apiPort);
  fs.writeFileSync(path.join(ws, 'devproxy.json'), `${JSON.stringify({ tunnel: { listen: `127.0.0.1:${tunnelPort}`, publicUrl } }, null, 2)}\n`);
  const dataDir = mkTemp('devproxy-demo-data-'); // outside the workspace, as serve requires
  const bin = path.join(repo, 'bin/devproxy');
  const created = execFileSync(bin, ['keys', 'create', '--root', ws, '--data-dir', dataDir, '--role', 'read-only', '--name', 'demo-browser'],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: WAIT_MS });
  const key = created.trim().split('\n').pop().trim();
  if (!/^dvp_[A-Za-z0-9]+$/.test(key)) fail(`devproxy keys create printed no key on its last line:\n${created}`);

  // The health monitor probes each page through the public URL too: it
  // trusts the edge's certificate as it would a provider's.
  const tls = makeCert();
  const serveLog = path.join(artifacts, 'demo-serve-tunnel.log');
  const serve = startGroup('devproxy serve (tunnel)', bin, ['serve', '--root', ws, '--listen', `127.0.0.1:${listenPort}`, '--data-dir', dataDir],
    { env: { ...env, SSL_CERT_FILE: tls.certFile }, stdio: ['ignore', fs.openSync(serveLog, 'w'), fs.openSync(serveLog, 'a')] });
  await until('the tunnel listener (401 without a key)', async () => {
    if (serve.exited) fail('devproxy serve (tunnel) exited; see demo-serve-tunnel.log');
    const res = await fetch(`http://127.0.0.1:${tunnelPort}/routes.json`, { signal: AbortSignal.timeout(2000) });
    return { ok: res.status === 401, detail: `HTTP ${res.status}` };
  });
  const edge = await startEdge(edgePort, tunnelPort, tls);
  log(`   tunnel listener 127.0.0.1:${tunnelPort}, fake edge ${publicUrl}`);

  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const tp = await context.newPage();
  page = tp; // for demo-failure.png
  const urls = [];
  tp.on('request', (r) => urls.push(r.url()));
  tp.on('websocket', (w) => urls.push(w.url()));
  tp.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  const sessionCookie = async () => (await context.cookies(publicUrl)).find((c) => c.name === 'devproxy_session');

  // Without a key: not the dashboard, a page that leads to the sign-in.
  let res = await tp.goto(`${publicUrl}/`, { timeout: WAIT_MS });
  if (res.status() !== 401) fail(`${publicUrl}/ without a key answered ${res.status()}, want 401`);
  if (await tp.$('#routes-body')) fail(`${publicUrl}/ shows the dashboard without a key`);
  await Promise.all([tp.waitForURL(`${publicUrl}/devproxy/signin`, { timeout: WAIT_MS }), tp.click('a[href="/devproxy/signin"]', { timeout: WAIT_MS })]);

  // A wrong key: a message, no cookie.
  await tp.fill('#key', `dvp_${'x'.repeat(52)}`);
  await tp.click('button[type="submit"]');
  const refused = await until('the wrong key\'s refusal', async () => {
    const m = await tp.textContent('#message');
    return { ok: /not valid/.test(m), detail: m, message: m };
  });
  log(`   a wrong key: "${refused.message}"`);
  if (await sessionCookie()) fail('a wrong key got a session cookie');
  await tp.screenshot({ path: path.join(artifacts, 'tunnel-signin.png') });

  // The key: a session cookie, then the dashboard.
  await tp.fill('#key', key);
  await Promise.all([tp.waitForURL(`${publicUrl}/devproxy/`, { timeout: WAIT_MS }), tp.click('button[type="submit"]')]);
  const cookie = await sessionCookie();
  if (!cookie || !cookie.httpOnly || !cookie.secure || cookie.sameSite !== 'Strict') fail(`the session cookie is not HttpOnly, Secure and SameSite=Strict: ${JSON.stringify(cookie)}`);
  if ((await tp.evaluate(() => document.cookie)).includes('devproxy_session')) fail('a script can read the session cookie');
  await tp.evaluate(() => { window.__sameDocument = true; });

  // The routes with their health, over the live socket through the edge.
  const dash = await until('the dashboard\'s routes and health through the tunnel', async () => {
    const d = await tp.evaluate(() => ({
      live: document.getElementById('live')?.dataset.state,
      rows: [...document.querySelectorAll('#routes-body tr')].map((tr) => ({ route: tr.dataset.route, health: tr.querySelector('.health')?.dataset.status })),
      summary: document.getElementById('summary')?.textContent,
    }));
    const routes = d.rows.map((r) => r.route);
    return { ok: d.live === 'live' && routes.includes('/web/') && routes.includes('/api/') && d.rows.every((r) => r.health !== 'unknown'), detail: JSON.stringify(d), ...d };
  });
  log(`   dashboard: ${dash.rows.map((r) => `${r.route} ${r.health}`).join(', ')}; "${dash.summary}"`);

  // The tunnel line: up, with the public URL as a link.
  const tunnel = await until('the tunnel line saying up at the public URL', async () => {
    const t = await tp.evaluate(() => {
      const line = document.getElementById('tunnel');
      return { hidden: line?.hidden, status: document.getElementById('tunnel-state')?.dataset.status, text: line?.textContent, href: line?.querySelector('a')?.href };
    });
    return { ok: t.hidden === false && t.status === 'up' && t.href === new URL(publicUrl).href, detail: JSON.stringify(t), ...t };
  });
  log(`   tunnel line: "${tunnel.text}"`);

  // A route added now arrives over the socket, without a reload.
  fs.writeFileSync(path.join(ws, 'apps', 'tunnel.conf'), 'location /through-the-tunnel/ {\n    return 200 "hello";\n}\n');
  await until('the new route on the dashboard without a reload', async () => {
    const d = await tp.evaluate(() => ({ same: window.__sameDocument === true, text: document.getElementById('routes-body')?.textContent || '' }));
    if (!d.same) fail('the dashboard reloaded; it must update in place');
    return { ok: d.text.includes('/through-the-tunnel/'), detail: d.text.slice(0, 200) };
  });
  await tp.screenshot({ path: path.join(artifacts, 'tunnel-dashboard.png'), fullPage: true });
  await tp.setViewportSize({ width: 375, height: 740 });
  const widths = await tp.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  if (widths.doc > widths.view + 1) fail(`on a 375 px screen the dashboard through the tunnel is ${widths.doc} px wide`);

  // A read-only session cannot change anything.
  const write = await tp.evaluate(async () => {
    const r = await fetch('/devproxy/api/apps/install', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'from-the-tunnel', content: 'location /x/ {\n    return 200 "x";\n}\n' }) });
    return { status: r.status, body: await r.text() };
  });
  if (write.status !== 403) fail(`an install from the read-only session answered ${write.status}, want 403: ${write.body}`);
  if (fs.existsSync(path.join(ws, 'apps', 'from-the-tunnel.conf'))) fail('the read-only session installed a route file');
  log(`   install from the read-only session: ${write.status} ${JSON.parse(write.body).message}`);

  // Sign out: back to the sign-in page, the cookie gone, the dashboard closed.
  await Promise.all([tp.waitForURL(`${publicUrl}/devproxy/signin`, { timeout: WAIT_MS }), tp.click('#signout')]);
  if (await sessionCookie()) fail('the session cookie is still there after Sign out');
  res = await tp.goto(`${publicUrl}/devproxy/`, { timeout: WAIT_MS });
  if (res.status() !== 401) fail(`after Sign out ${publicUrl}/devproxy/ answered ${res.status()}, want 401`);

  const leaks = [...urls, tp.url(), ...edge.seen].filter((u) => u.includes(key) || u.includes(key.slice(4)));
  if (leaks.length) fail(`the key was in a URL: ${leaks.join(', ')}`);
  log(`   ${urls.length} requests from the page and ${edge.seen.length} at the edge; the key in none`);
  const csp = consoleLines.filter((l) => /Content Security Policy|Refused to/.test(l));
  if (csp.length) fail(`a page through the tunnel broke its CSP:\n${csp.join('\n')}`);
  await context.close();
  edge.stop();
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
  let browser;
  ({ browser, page } = await startChromium(pw, { profile, env: { ...process.env, HOME: profile }, windowSize: '1200,800' }));
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

  await olderHub(browser, base);
  await tunnelStates(browser, base);
  await throughTheTunnel(browser, webPort, apiPort, env, []);
}

// olderHub opens the dashboard with its socket to a hub that knows no
// tunnel (the socket goes through playwright, which answers the tunnel's
// subscribe and method as an older devproxy does and passes the rest
// on): the routes still show, live, and the tunnel line stays hidden.
async function olderHub(browser, base) {
  log('d. /devproxy/ with a hub that knows no tunnel');
  const context = await browser.newContext();
  const op = await context.newPage();
  const refused = new Set();
  await op.routeWebSocket('**/devproxy/ws', (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((text) => {
      let m;
      try {
        m = JSON.parse(text);
      } catch {
        server.send(text);
        return;
      }
      if (m.method === 'devproxy/tunnel') {
        refused.add(m.method);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'unknown method "devproxy/tunnel"' } }));
      } else if (m.method === 'devproxy/subscribe' && (m.params?.topics || []).includes('tunnel')) {
        refused.add('tunnel topic');
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32602, message: 'topics[0]: unknown topic "tunnel"' } }));
      } else {
        server.send(text);
      }
    });
  });
  const res = await op.goto(`${base}/devproxy/`, { timeout: WAIT_MS });
  if (res.status() !== 200) fail(`/devproxy/ answered ${res.status()}`);
  const d = await until('the dashboard with a hub that knows no tunnel', async () => {
    const d = await op.evaluate(() => ({
      live: document.getElementById('live')?.dataset.state,
      rendered: Number(document.body.dataset.rendered || 0),
      tunnel: document.body.dataset.tunnel,
      tunnelHidden: document.getElementById('tunnel')?.hidden,
    }));
    return { ok: d.live === 'live' && d.rendered > 0 && d.tunnel !== undefined, detail: JSON.stringify({ ...d, refused: [...refused] }), ...d };
  });
  if (!refused.size) fail('the dashboard never asked for the tunnel');
  if (d.tunnel !== 'unknown' || !d.tunnelHidden) fail(`the tunnel line shows with a hub that knows no tunnel: ${JSON.stringify(d)}`);
  log(`   ${[...refused].join(', ')} refused; routes live (rendered ${d.rendered}×), tunnel line hidden`);
  await context.close();
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
