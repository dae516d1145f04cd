import * as assert from 'assert';
import { ProxyFolder } from '../../src/contract';
import { escapeMarkdown, folderCount, folderLine, isTakeOverResult, OwnerFacts, ownerItems, ownerName, shortAddress, tildePath } from '../../src/proxyFolders';

const home = '/home/me';
const shop: ProxyFolder = { root: '/home/me/src/shop', label: 'shop', mine: false, pid: 100, kind: 'vscode' };
const blog: ProxyFolder = { root: '/home/me/src/blog', label: 'blog', mine: true, pid: 4242, kind: 'vscode' };
const docs: ProxyFolder = { root: '/srv/docs', label: 'docs', mine: false, pid: 77, kind: 'serve' };

describe('proxyFolders', () => {
  it('writes the home directory as ~, and only a whole directory', () => {
    assert.strictEqual(tildePath('/home/me/src/shop', home), '~/src/shop');
    assert.strictEqual(tildePath('/home/me', home), '~');
    assert.strictEqual(tildePath('/home/me/src', '/home/me/'), '~/src');
    assert.strictEqual(tildePath('/home/meg/src', home), '/home/meg/src');
    assert.strictEqual(tildePath('/srv/docs', home), '/srv/docs');
    assert.strictEqual(tildePath('C:\\Users\\me\\src\\shop', 'C:\\Users\\me'), '~\\src\\shop');
    assert.strictEqual(tildePath('/home/me/src', ''), '/home/me/src');
  });

  it('shortens a loopback address to its port', () => {
    assert.strictEqual(shortAddress('127.0.0.1:8080'), ':8080');
    assert.strictEqual(shortAddress('localhost:8080'), ':8080');
    assert.strictEqual(shortAddress('[::1]:8080'), ':8080');
    assert.strictEqual(shortAddress(':8080'), ':8080');
    assert.strictEqual(shortAddress('0.0.0.0:8080'), '0.0.0.0:8080');
    assert.strictEqual(shortAddress('192.168.1.5:9000'), '192.168.1.5:9000');
    assert.strictEqual(shortAddress('nonsense'), 'nonsense');
  });

  it('counts folders, names owners and folders', () => {
    assert.strictEqual(folderCount(1), '1 folder');
    assert.strictEqual(folderCount(3), '3 folders');
    assert.strictEqual(ownerName({ pid: 100, kind: 'vscode', name: 'shop', root: shop.root }), 'the VS Code window “shop” (pid 100)');
    assert.strictEqual(ownerName({ pid: 100, kind: 'vscode', name: '', root: shop.root }), 'a VS Code window (pid 100)');
    assert.strictEqual(ownerName({ pid: 77, kind: 'serve', name: 'devproxy serve', root: docs.root }), 'devproxy serve (pid 77)');
    assert.strictEqual(folderLine(blog, home), 'blog — ~/src/blog (this window)');
    assert.strictEqual(folderLine(shop, home), 'shop — ~/src/shop (another VS Code window)');
    assert.strictEqual(folderLine(docs, home), 'docs — /srv/docs (devproxy serve)');
  });

  it('escapes Markdown', () => {
    assert.strictEqual(escapeMarkdown('a_b *c* [d](e) `f` <g> #h ~/i'), 'a\\_b \\*c\\* \\[d\\](e) \\`f\\` \\<g\\> \\#h \\~/i');
    assert.strictEqual(escapeMarkdown('C:\\x'), 'C:\\\\x');
  });

  it('recognises a devproxy/takeOver answer', () => {
    assert.ok(isTakeOverResult({ ok: true, message: 'this window serves the proxy now' }));
    assert.ok(isTakeOverResult({ ok: false, message: '' }));
    assert.ok(!isTakeOverResult({ ok: 'yes', message: '' }));
    assert.ok(!isTakeOverResult({ ok: true }));
    assert.ok(!isTakeOverResult(null));
  });
});

describe('proxyFolders.ownerItems', () => {
  const facts = (over: Partial<OwnerFacts>): OwnerFacts => ({ kind: 'running', address: '127.0.0.1:8080', message: '', folders: [], ...over });
  const actions = (f: OwnerFacts) => ownerItems(f, home).filter((i) => i.action).map((i) => i.action);
  const labels = (f: OwnerFacts) => ownerItems(f, home).map((i) => (i.separator ? `— ${i.label}` : i.label));

  it('lists the owner and every folder; a member can take over', () => {
    const member = facts({ kind: 'joined', folders: [shop, blog], owner: { pid: 100, kind: 'vscode', name: 'shop', root: shop.root } });
    assert.deepStrictEqual(labels(member), [
      '— Port 127.0.0.1:8080',
      '$(radio-tower) The VS Code window “shop” (pid 100) serves the proxy',
      '— Folders it serves (2)',
      '$(root-folder) shop',
      '$(root-folder-opened) blog',
      '— Actions',
      '$(arrow-swap) Take over',
      '$(output) Show the output',
    ]);
    const items = ownerItems(member, home);
    assert.strictEqual(items[1].description, '~/src/shop');
    assert.deepStrictEqual(
      items.filter((i) => i.label.includes('folder')).map((i) => [i.description, i.detail]),
      [
        ['~/src/shop', 'Another VS Code window, pid 100'],
        ['~/src/blog', 'This window, pid 4242'],
      ],
    );
    assert.deepStrictEqual(actions(member), ['takeOver', 'showOutput']);
  });

  it('offers no take-over to the owner, and a route file to an idle window', () => {
    const owner = facts({ kind: 'running', folders: [blog, shop], owner: { pid: 4242, kind: 'vscode', name: 'blog', root: blog.root } });
    assert.strictEqual(labels(owner)[1], '$(radio-tower) This window serves the proxy');
    assert.deepStrictEqual(actions(owner), ['showOutput']);
    const idle = facts({ kind: 'idle', message: 'No route files here.' });
    assert.deepStrictEqual(actions(idle), ['createRouteFile', 'showOutput']);
    assert.strictEqual(ownerItems(idle, home)[1].detail, 'No route files here.');
    assert.deepStrictEqual(actions(facts({ kind: 'port-in-use' })), ['showOutput']);
    assert.match(labels(facts({ kind: 'stopped', address: '' }))[1], /not running/);
  });
});
