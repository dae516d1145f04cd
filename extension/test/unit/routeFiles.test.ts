import * as assert from 'assert';
import { LanguageId } from '../../src/contract';
import { canonicalFileUri, needsRouteFileLanguage, RouteFileSet } from '../../src/routeFiles';

describe('routeFiles.canonicalFileUri', () => {
  it('spells VS Code’s and the server’s URIs of one file the same', () => {
    const pairs: [string, string][] = [
      // VS Code escapes brackets and the drive colon; Go does not.
      ['file:///home/me/p%5Bx%5D/services/c.conf', 'file:///home/me/p[x]/services/c.conf'],
      ['file:///c%3A/work/services/c.conf', 'file:///C:/work/services/c.conf'],
      ['file:///home/me/my%20project/a.conf', 'file:///home/me/my%20project/a.conf'],
      ['file:///home/me/caf%C3%A9/a.conf', 'file:///home/me/café/a.conf'],
      // Go's URL of a Windows path without a leading slash.
      ['file:///c%3A/work/a.conf', 'file:C:/work/a.conf'],
      ['file://SERVER/share/a.conf', 'file://server/share/a.conf'],
    ];
    for (const [a, b] of pairs) {
      assert.strictEqual(canonicalFileUri(a), canonicalFileUri(b), `${a} and ${b}`);
    }
  });

  it('keeps different files apart', () => {
    assert.notStrictEqual(canonicalFileUri('file:///home/me/a.conf'), canonicalFileUri('file:///home/me/A.conf'));
    assert.notStrictEqual(canonicalFileUri('file:///home/me/a%2520b.conf'), canonicalFileUri('file:///home/me/a%20b.conf'));
  });

  it('leaves other schemes and undecodable URIs alone', () => {
    assert.strictEqual(canonicalFileUri('untitled:Untitled-1'), 'untitled:Untitled-1');
    assert.strictEqual(canonicalFileUri('file:///bad%E0%A4%A.conf'), 'file:///bad%E0%A4%A.conf');
  });
});

describe('routeFiles.needsRouteFileLanguage', () => {
  const files = new RouteFileSet([
    { uri: 'file:///w/apps/a.conf' },
    { uri: 'file:///w/services/c.conf' },
    { uri: 'file:///w/ops%20team/o.conf' },
  ]);

  it('adopts a route file the server reads that has another language', () => {
    assert.strictEqual(needsRouteFileLanguage({ uri: 'file:///w/services/c.conf', languageId: 'properties' }, files), true);
    assert.strictEqual(needsRouteFileLanguage({ uri: 'file:///w/ops%20team/o.conf', languageId: 'plaintext' }, files), true);
  });

  it('leaves a document that has the language, or that the server does not read', () => {
    assert.strictEqual(needsRouteFileLanguage({ uri: 'file:///w/apps/a.conf', languageId: LanguageId }, files), false);
    assert.strictEqual(needsRouteFileLanguage({ uri: 'file:///w/other/x.conf', languageId: 'plaintext' }, files), false);
    assert.strictEqual(needsRouteFileLanguage({ uri: 'file:///w/services/c.conf', languageId: 'plaintext' }, new RouteFileSet()), false);
  });
});
