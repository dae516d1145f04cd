import * as assert from 'assert';
import * as http from 'http';
import { AddressInfo } from 'net';
import {
  addToHistory,
  checkRequest,
  curlCommand,
  HistoryEntry,
  historySize,
  listenerOf,
  locationTarget,
  parseHeaderLines,
  parseRunnerMessage,
  pathOfUrl,
  readHistory,
  requestRunnerHtml,
  sendRequest,
} from '../../src/requestModel';

describe('requestModel: the form', () => {
  it('reads header lines "Name: value", skipping blank lines, and names the line that is not one', () => {
    assert.deepStrictEqual(parseHeaderLines('Accept: text/html\n\nX-A:  b: c  \r\n'), { headers: [['Accept', 'text/html'], ['X-A', 'b: c']] });
    assert.deepStrictEqual(parseHeaderLines('Accept text/html'), { error: 'Header line 1 is not "Name: value": Accept text/html' });
    assert.ok('error' in parseHeaderLines('ok: 1\nbad name: 2'));
  });

  it('checks the method and the path before sending', () => {
    const spec = { method: 'GET', path: '/api/?x=1', headers: '', body: '' };
    assert.strictEqual(checkRequest(spec), undefined);
    assert.match(checkRequest({ ...spec, method: 'G ET' })!, /not an HTTP method/);
    assert.match(checkRequest({ ...spec, path: 'api' })!, /starts with \//);
    assert.match(checkRequest({ ...spec, path: '/a b' })!, /no spaces/);
    assert.match(checkRequest({ ...spec, headers: 'nope' })!, /Header line 1/);
  });

  it("finds the proxy's listener in ProxyStatus.address, loopback for a wildcard", () => {
    assert.deepStrictEqual(listenerOf('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepStrictEqual(listenerOf(':8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepStrictEqual(listenerOf('0.0.0.0:9'), { host: '127.0.0.1', port: 9 });
    assert.deepStrictEqual(listenerOf('[::1]:8080'), { host: '::1', port: 8080 });
    assert.strictEqual(listenerOf(''), undefined);
  });

  it('reads the file and line of X-Devproxy-Location', () => {
    assert.deepStrictEqual(locationTarget('apps/web.conf:3 ^~ /web/'), { file: 'apps/web.conf', line: 3 });
    assert.deepStrictEqual(locationTarget('shop/apps/shop.conf:12'), { file: 'shop/apps/shop.conf', line: 12 });
    assert.strictEqual(locationTarget('—'), undefined);
    assert.strictEqual(locationTarget('apps/web.conf:0 /'), undefined);
  });

  it("takes the path and query of a route's URL", () => {
    assert.strictEqual(pathOfUrl('http://127.0.0.1:8080/api/?x=1#f'), '/api/?x=1');
    assert.strictEqual(pathOfUrl('http://127.0.0.1:8080'), '/');
    assert.strictEqual(pathOfUrl(null), '/');
  });

  it('copies a request as a curl command, quoted for the shell', () => {
    assert.strictEqual(curlCommand('http://127.0.0.1:8080/api/'), 'curl http://127.0.0.1:8080/api/');
    assert.strictEqual(curlCommand("http://h:1/a?b=1&c='x'", 'post', [['X-A', 'v w']], '{"a":1}'), `curl -X POST -H 'X-A: v w' --data-binary '{"a":1}' 'http://h:1/a?b=1&c='\\''x'\\'''`);
  });
});

describe('requestModel: the history', () => {
  const entry = (path: string, at = '2026-01-01T00:00:00Z'): HistoryEntry => ({ method: 'GET', path, headers: '', body: '', at });

  it(`keeps the newest first, the same request once, at most ${historySize}`, () => {
    let h: HistoryEntry[] = [];
    for (let i = 0; i < 25; i++) {
      h = addToHistory(h, entry(`/p${i}`));
    }
    assert.strictEqual(h.length, historySize);
    assert.strictEqual(h[0].path, '/p24');
    h = addToHistory(h, entry('/p10', 'later'));
    assert.strictEqual(h[0].at, 'later');
    assert.strictEqual(h.filter((x) => x.path === '/p10').length, 1);
  });

  it('reads a stored history, dropping what is not an entry', () => {
    assert.deepStrictEqual(readHistory(undefined), []);
    assert.deepStrictEqual(readHistory([entry('/a'), { method: 'GET' }, null, 'x']), [entry('/a')]);
  });

  it("reads only the page's own messages", () => {
    assert.deepStrictEqual(parseRunnerMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepStrictEqual(parseRunnerMessage({ type: 'load', index: 2 }), { type: 'load', index: 2 });
    assert.strictEqual(parseRunnerMessage({ type: 'load', index: -1 }), undefined);
    assert.deepStrictEqual(parseRunnerMessage({ type: 'send', request: { method: 'GET', path: '/', headers: '', body: '', extra: 1 } }), {
      type: 'send',
      request: { method: 'GET', path: '/', headers: '', body: '' },
    });
    assert.strictEqual(parseRunnerMessage({ type: 'send', request: { method: 'GET' } }), undefined);
    assert.deepStrictEqual(parseRunnerMessage({ type: 'open', file: 'apps/a.conf', line: 3 }), { type: 'open', file: 'apps/a.conf', line: 3 });
    assert.strictEqual(parseRunnerMessage({ type: 'open', file: 'apps/a.conf', line: 0 }), undefined);
    assert.strictEqual(parseRunnerMessage('send'), undefined);
  });

  it('has a strict page: no inline script, the script file by nonce, nothing else allowed', () => {
    const html = requestRunnerHtml('vscode-resource:', 'N0nce', 'vscode-resource:/media/requestRunner.js');
    assert.match(html.replace(/&#39;/g, "'"), /content="default-src 'none'; style-src 'nonce-N0nce'; script-src 'nonce-N0nce' vscode-resource:"/);
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.strictEqual(scripts.length, 1);
    assert.match(scripts[0][1], /nonce="N0nce" src="vscode-resource:\/media\/requestRunner\.js"/);
    assert.strictEqual(scripts[0][2], '', 'no inline script');
    assert.ok(!/ on[a-z]+=/.test(html), 'no inline handlers');
  });
});

describe('requestModel: sending through the proxy', () => {
  let server: http.Server;
  let port: number;
  let seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        if (req.url?.startsWith('/located')) {
          res.setHeader('X-Devproxy-Location', 'apps/a.conf:3 location /api/');
        }
        res.setHeader('Content-Type', 'text/plain');
        res.writeHead(req.url === '/missing' ? 404 : 200);
        res.end(`hello ${req.method} ${req.url}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (seen = []));

  it('sends the form with X-Devproxy-Debug: location and reads status, headers, body, time and the location', async () => {
    const r = await sendRequest({ method: 'post', path: '/located?x=1', headers: 'X-Test: yes', body: 'payload' }, { host: '127.0.0.1', port });
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.body, 'hello POST /located?x=1');
    assert.strictEqual(r.location, 'apps/a.conf:3 location /api/');
    assert.ok(r.headers.some(([n, v]) => n === 'Content-Type' && v === 'text/plain'));
    assert.ok(r.ms >= 0);
    assert.strictEqual(seen[0].headers['x-devproxy-debug'], 'location');
    assert.strictEqual(seen[0].headers['x-test'], 'yes');
    assert.strictEqual(seen[0].body, 'payload');
  });

  it('shows "—" when the proxy names no location, and any status as it came', async () => {
    const r = await sendRequest({ method: 'GET', path: '/missing', headers: '', body: '' }, { host: '127.0.0.1', port });
    assert.strictEqual(r.status, 404);
    assert.strictEqual(r.location, '—');
  });

  it('refuses a form that does not check, and says why a send failed', async () => {
    await assert.rejects(sendRequest({ method: 'GET', path: 'x', headers: '', body: '' }, { host: '127.0.0.1', port }), /starts with \//);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const free = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(sendRequest({ method: 'GET', path: '/', headers: '', body: '' }, { host: '127.0.0.1', port: free }), /ECONNREFUSED/);
  });
});
