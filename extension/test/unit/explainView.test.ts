import * as assert from 'assert';
import { actionSentence, ExplainDocument, explainHtml, isExplainDocument, linkFileLines, parseOpenMessage } from '../../src/explainView';

// As `devproxy explain` answers for a proxied request (schemas/explain.schema.json).
const proxied: ExplainDocument = {
  path: '/api/items',
  matched: true,
  location: { file: 'apps/a.conf', line: 6, modifier: '', spec: '/api/' },
  trace: ['prefix location /api/ (apps/a.conf:6) matches; longest so far', 'apps/b.conf:8 is inactive: apps/a.conf wins /api/', 'proxy_pass http://127.0.0.1:5999 <upstream>'],
  action: 'proxy',
  status: 200,
  response_headers: {},
  body: '',
  upstream: 'http://127.0.0.1:5999',
  upstream_uri: '/api/items?x=1',
  upstream_headers: { Host: 'localhost:8080', 'X-Forwarded-For': '127.0.0.1' },
};

const page = (doc: ExplainDocument, known = (f: string) => f.startsWith('apps/')) =>
  explainHtml({ request: { url: '/api/items?x=1' }, doc, known, cspSource: 'vscode-resource:', nonce: 'N0nce', scriptUri: 'vscode-resource:/media/explain.js' });

describe('explainView', () => {
  it('recognises the explain document', () => {
    assert.ok(isExplainDocument(proxied));
    assert.ok(!isExplainDocument({ path: '/' }));
    assert.ok(!isExplainDocument(null));
  });

  it('makes every file:line of a known route file a link, escaping the rest', () => {
    assert.strictEqual(
      linkFileLines('a <b> apps/a.conf:6 and other/x.conf:2', (f) => f === 'apps/a.conf'),
      'a &lt;b&gt; <a href="#" class="loc" data-file="apps/a.conf" data-line="6">apps/a.conf:6</a> and other/x.conf:2',
    );
  });

  it('shows the request, the verdict, the location as a link, the steps in order, and what the upstream receives', () => {
    const html = page(proxied);
    assert.match(html, /<code id="request">GET \/api\/items\?x=1<\/code>/);
    assert.match(html, /Forwarded to http:\/\/127\.0\.0\.1:5999/);
    assert.match(html, /<span id="location"><a href="#" class="loc" data-file="apps\/a\.conf" data-line="6">apps\/a\.conf:6<\/a> <code>location \/api\/<\/code>/);
    const steps = [...html.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1]);
    assert.strictEqual(steps.length, 3);
    assert.match(steps[0], /data-line="6"/);
    assert.match(steps[1], /data-file="apps\/b\.conf" data-line="8"/);
    assert.match(steps[2], /&lt;upstream&gt;/, 'escaped');
    assert.match(html, /<p class="url" id="upstream-url">GET http:\/\/127\.0\.0\.1:5999\/api\/items\?x=1<\/p>/);
    assert.match(html, /<tr><th>Host<\/th><td>localhost:8080<\/td><\/tr>/);
  });

  it('shows the answer devproxy gives when it does not proxy', () => {
    const ret: ExplainDocument = { path: '/x', matched: true, location: { file: 'apps/a.conf', line: 2, modifier: '=', spec: '/x' }, trace: ['return 418'], action: 'return', status: 418, response_headers: { 'Content-Type': 'text/plain' }, body: '<teapot>' };
    const html = page(ret);
    assert.match(actionSentence(ret), /418/);
    assert.match(html, /<pre class="body">&lt;teapot&gt;<\/pre>/);
    assert.ok(!html.includes('upstream-url'));
    const none: ExplainDocument = { path: '/nope', matched: false, location: null, trace: ['no location matches'], action: 'none', status: 404, response_headers: {}, body: '' };
    assert.match(page(none), /no location/);
  });

  it('has a strict page: no inline script, one script file by nonce', () => {
    const html = page(proxied);
    assert.match(html.replace(/&#39;/g, "'"), /content="default-src 'none'; style-src 'nonce-N0nce'; script-src 'nonce-N0nce' vscode-resource:"/);
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.strictEqual(scripts.length, 1);
    assert.strictEqual(scripts[0][2], '');
    assert.ok(!/ on[a-z]+=/.test(html));
  });

  it("reads only the links' open message", () => {
    assert.deepStrictEqual(parseOpenMessage({ type: 'open', file: 'apps/a.conf', line: 6 }), { file: 'apps/a.conf', line: 6 });
    assert.strictEqual(parseOpenMessage({ type: 'open', file: 'apps/a.conf', line: 0 }), undefined);
    assert.strictEqual(parseOpenMessage({ type: 'run', file: 'x', line: 1 }), undefined);
  });
});
