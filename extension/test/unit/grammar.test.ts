// The TextMate grammar of route files, tokenized by the same engine VS Code
// uses (vscode-textmate with the Oniguruma WebAssembly build).

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as oniguruma from 'vscode-oniguruma';
import * as vsctm from 'vscode-textmate';

const repo = path.resolve(__dirname, '..', '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
const contributed = manifest.contributes.grammars[0] as { language: string; scopeName: string; path: string };
const grammarPath = path.join(repo, contributed.path);

interface Token {
  text: string;
  scopes: string[];
}

let grammar: vsctm.IGrammar;

/** Tokenizes lines, carrying the rule stack from line to line as VS Code does. */
function tokenize(src: string): Token[][] {
  let stack = vsctm.INITIAL;
  return src.split('\n').map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

/** The scopes of the token that is exactly `text` on line `line` (0-based). */
function scopesOf(lines: Token[][], line: number, text: string, nth = 0): string[] {
  const hits = lines[line].filter((t) => t.text === text);
  assert.ok(hits.length > nth, `line ${line} has a token ${JSON.stringify(text)}; tokens: ${JSON.stringify(lines[line].map((t) => t.text))}`);
  return hits[nth].scopes;
}

function hasScope(scopes: string[], prefix: string): boolean {
  return scopes.some((s) => s === prefix || s.startsWith(prefix + '.'));
}

describe('TextMate grammar', () => {
  before(async () => {
    const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new vsctm.Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
        createOnigString: (s: string) => new oniguruma.OnigString(s),
      }),
      loadGrammar: async (scopeName: string) =>
        scopeName === contributed.scopeName ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath) : null,
    });
    const g = await registry.loadGrammar(contributed.scopeName);
    assert.ok(g, 'the grammar loads');
    grammar = g;
  });

  it('parses as JSON and its scopeName matches package.json', () => {
    const raw = JSON.parse(fs.readFileSync(grammarPath, 'utf8'));
    assert.strictEqual(raw.scopeName, 'source.devproxy-routes');
    assert.strictEqual(contributed.scopeName, raw.scopeName);
    assert.strictEqual(contributed.language, 'devproxy-routes');
  });

  it('scopes comments, but not a # inside a word', () => {
    const t = tokenize('# the API\nproxy_pass http://a/#frag; # trailing');
    assert.ok(hasScope(scopesOf(t, 0, ' the API'), 'comment.line.number-sign'));
    assert.ok(!t[1].some((x) => x.text.includes('#frag') && hasScope(x.scopes, 'comment')));
    assert.ok(hasScope(scopesOf(t, 1, ' trailing'), 'comment.line.number-sign'));
  });

  it('scopes location, its modifier and its spec', () => {
    const t = tokenize(['location ^~ /web/ {', 'location ~* \\.(js|css)$ {', 'location @fallback {', 'location /api/ {', 'location =/exact {'].join('\n'));
    assert.ok(hasScope(scopesOf(t, 0, 'location'), 'keyword.control.location'));
    assert.ok(hasScope(scopesOf(t, 0, '^~'), 'keyword.operator.modifier'));
    assert.ok(hasScope(scopesOf(t, 0, '/web/'), 'entity.name.function.route'));
    assert.ok(hasScope(scopesOf(t, 0, '{'), 'punctuation.section.block.begin'));
    assert.ok(hasScope(scopesOf(t, 1, '~*'), 'keyword.operator.modifier'));
    assert.ok(hasScope(scopesOf(t, 1, '\\.(js|css)$'), 'string.regexp'));
    assert.ok(hasScope(scopesOf(t, 2, '@fallback'), 'entity.name.section.named-location'));
    assert.ok(hasScope(scopesOf(t, 3, '/api/'), 'entity.name.function.route'));
    assert.ok(hasScope(scopesOf(t, 4, '='), 'keyword.operator.modifier'));
    assert.ok(hasScope(scopesOf(t, 4, '/exact'), 'entity.name.function.route'));
  });

  it('scopes directives, numbers, flags and punctuation, on one line and over several', () => {
    const t = tokenize(['location = /web { return 301 /web/; }', '    rewrite ^/api/(.*)$ /$1 break;', '    proxy_buffering off;', '    my_directive a', '        b;'].join('\n'));
    assert.ok(hasScope(scopesOf(t, 0, 'return'), 'support.function.directive'));
    assert.ok(hasScope(scopesOf(t, 0, '301'), 'constant.numeric'));
    assert.ok(hasScope(scopesOf(t, 0, ';'), 'punctuation.terminator.statement'));
    assert.ok(hasScope(scopesOf(t, 0, '}'), 'punctuation.section.block.end'));
    assert.ok(hasScope(scopesOf(t, 1, 'rewrite'), 'support.function.directive'));
    assert.ok(hasScope(scopesOf(t, 1, 'break'), 'keyword.control.flag'), 'break as an argument is a flag');
    assert.ok(!hasScope(scopesOf(t, 1, 'break'), 'support.function.directive'));
    assert.ok(hasScope(scopesOf(t, 2, 'off'), 'constant.language'));
    assert.ok(hasScope(scopesOf(t, 3, 'my_directive'), 'entity.name.function.directive'));
    assert.ok(hasScope(scopesOf(t, 4, ';'), 'punctuation.terminator.statement'), 'the statement runs to the ; on the next line');
    assert.ok(!t[4].some((x) => x.text.trim() === 'b' && hasScope(x.scopes, 'entity.name.function')), 'b is an argument, not a directive');
  });

  it('scopes $variables, ${var}, $1 and strings with escapes', () => {
    const t = tokenize(['set $api 127.0.0.1:5174;', 'proxy_pass http://${api}/x/$1;', 'proxy_set_header X-Note "say \\"hi\\" to $host";', "add_header X-Q 'it''s';"].join('\n'));
    assert.ok(hasScope(scopesOf(t, 0, 'api'), 'variable.other.readwrite'));
    assert.ok(hasScope(scopesOf(t, 0, '$'), 'punctuation.definition.variable'));
    assert.ok(!t[0].some((x) => x.text.includes('127.0.0.1') && hasScope(x.scopes, 'constant.numeric')), 'an address is not a number');
    assert.ok(hasScope(scopesOf(t, 1, 'api'), 'variable.other.readwrite'));
    assert.ok(hasScope(scopesOf(t, 1, '${'), 'punctuation.definition.variable'));
    assert.ok(hasScope(scopesOf(t, 1, '1'), 'variable.language.capture'));
    assert.ok(hasScope(scopesOf(t, 2, '\\"'), 'constant.character.escape'));
    assert.ok(hasScope(scopesOf(t, 2, '\\"'), 'string.quoted.double'));
    assert.ok(hasScope(scopesOf(t, 2, 'host'), 'variable.other.readwrite'));
    assert.ok(hasScope(scopesOf(t, 3, 'it'), 'string.quoted.single'));
  });
});
