import * as assert from 'assert';
import { defaultPrefix, defaultUpstream, routeFilePath, routeFileText, validateAppName, validatePrefix, validateUpstream } from '../../src/routeFileTemplate';

describe('routeFileTemplate', () => {
  it('writes one prefix location that strips the prefix', () => {
    assert.strictEqual(
      routeFileText({ name: 'shop', prefix: '/shop/', upstream: 'http://127.0.0.1:3000' }),
      ['# shop: served at /shop/ through devproxy', 'location /shop/ {', '    proxy_pass http://127.0.0.1:3000/;', '}', ''].join('\n'),
    );
  });

  it('gives the upstream exactly one trailing slash, and keeps its path', () => {
    assert.match(routeFileText({ name: 'a', prefix: '/a/', upstream: 'http://127.0.0.1:3000/' }), /proxy_pass http:\/\/127\.0\.0\.1:3000\/;/);
    assert.match(routeFileText({ name: 'a', prefix: '/a/', upstream: 'http://127.0.0.1:3000//' }), /proxy_pass http:\/\/127\.0\.0\.1:3000\/;/);
    assert.match(routeFileText({ name: 'a', prefix: '/a/', upstream: 'https://dev.local:8443/app' }), /proxy_pass https:\/\/dev\.local:8443\/app\/;/);
  });

  it('puts the file in apps/ and offers /<name>/ and a local dev server', () => {
    assert.strictEqual(routeFilePath('shop'), 'apps/shop.conf');
    assert.strictEqual(defaultPrefix('shop'), '/shop/');
    assert.strictEqual(defaultUpstream, 'http://127.0.0.1:3000');
    assert.strictEqual(validatePrefix(defaultPrefix('my-app_2')), undefined);
    assert.strictEqual(validateUpstream(defaultUpstream), undefined);
  });

  it('takes names of letters, digits, - and _ only', () => {
    for (const ok of ['shop', 'my-app', 'app_2', 'A1']) {
      assert.strictEqual(validateAppName(ok), undefined, ok);
    }
    for (const bad of ['', 'my app', '../x', 'a/b', 'a.conf', 'café', '.hidden']) {
      assert.ok(validateAppName(bad), `"${bad}" is refused`);
    }
  });

  it('takes prefixes that start and end with / and hold nothing the syntax reads', () => {
    for (const ok of ['/', '/shop/', '/api/v1/', '/~me/', '/a-b_c.d/']) {
      assert.strictEqual(validatePrefix(ok), undefined, ok);
    }
    for (const bad of ['', 'shop/', '/shop', '/a b/', '/a{/', '/a;/', '/a#/', '/$x/', '/"a"/', '/a//b/', '/a\\b/']) {
      assert.ok(validatePrefix(bad), `"${bad}" is refused`);
    }
  });

  it('takes http and https URLs with a host, without a query, a fragment or a user', () => {
    for (const ok of ['http://127.0.0.1:3000', 'http://localhost:5173/', 'https://dev.local:8443/app', 'http://[::1]:3000']) {
      assert.strictEqual(validateUpstream(ok), undefined, ok);
    }
    for (const bad of ['', '127.0.0.1:3000', 'ftp://x', 'file:///etc', 'http://a:3000/?x=1', 'http://a:3000/#x', 'http://u:p@a:3000', 'http://a:3000/$x', 'http://a:3000/{x}']) {
      assert.ok(validateUpstream(bad), `"${bad}" is refused`);
    }
  });
});
