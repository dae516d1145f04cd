// markdown.ts: Calliope's answers are model output, so hostile input. The
// tree it returns holds text only; the tests below feed it what a model (or
// a route file quoted by one) could write and check nothing becomes markup.

import * as assert from 'assert';
import { Block, Inline, inlineText, parseInline, parseMarkdown, safeHref } from '../../src/markdown';

/** Every string in the tree, with the key it sits under. */
function strings(node: unknown, key = ''): [string, string][] {
  if (typeof node === 'string') {
    return [[key, node]];
  }
  if (Array.isArray(node)) {
    return node.flatMap((n) => strings(n, key));
  }
  if (node && typeof node === 'object') {
    return Object.entries(node).flatMap(([k, v]) => strings(v, k));
  }
  return [];
}

describe('markdown.ts', () => {
  it('parses paragraphs, headings, lists, quotes, rules and code blocks', () => {
    const blocks = parseMarkdown('# Title\n\nSome *text* and **bold**.\nSame paragraph.\n\n- one\n- two\n\n3. three\n4. four\n\n> quoted\n\n---\n\n```nginx\nlocation /app/ {\n}\n```\n');
    assert.deepStrictEqual(
      blocks.map((b) => b.type),
      ['heading', 'paragraph', 'list', 'list', 'quote', 'rule', 'code'],
    );
    assert.deepStrictEqual(blocks[0], { type: 'heading', level: 1, children: [{ type: 'text', text: 'Title' }] });
    assert.deepStrictEqual((blocks[1] as { children: Inline[] }).children, [
      { type: 'text', text: 'Some ' },
      { type: 'em', children: [{ type: 'text', text: 'text' }] },
      { type: 'text', text: ' and ' },
      { type: 'strong', children: [{ type: 'text', text: 'bold' }] },
      { type: 'text', text: '.\nSame paragraph.' },
    ]);
    const bullets = blocks[2] as Extract<Block, { type: 'list' }>;
    assert.strictEqual(bullets.ordered, false);
    assert.deepStrictEqual(bullets.items.map(inlineText), ['one', 'two']);
    const numbered = blocks[3] as Extract<Block, { type: 'list' }>;
    assert.deepStrictEqual([numbered.ordered, numbered.start, numbered.items.map(inlineText)], [true, 3, ['three', 'four']]);
    assert.deepStrictEqual(blocks[6], { type: 'code', lang: 'nginx', text: 'location /app/ {\n}' });
  });

  it('keeps raw HTML as text: <script>, <img onerror>, <iframe>', () => {
    const hostile = '<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n<iframe src="javascript:alert(3)"></iframe>';
    const blocks = parseMarkdown(hostile);
    assert.deepStrictEqual(
      blocks.map((b) => (b.type === 'paragraph' ? inlineText(b.children) : b.type)),
      ['<script>alert(1)</script>', '<img src=x onerror="alert(2)">', '<iframe src="javascript:alert(3)"></iframe>'],
    );
    for (const b of blocks) {
      assert.strictEqual(b.type, 'paragraph');
      for (const n of (b as { children: Inline[] }).children) {
        assert.strictEqual(n.type, 'text');
      }
    }
  });

  it('gives a link an href only for http(s): javascript:, data:, vbscript:, file: and relative links stay text', () => {
    const links = parseInline('[a](javascript:alert(1)) [b](JAVASCRIPT:alert(1)) [c](data:text/html,<b>x</b>) [d](vbscript:x) [e](file:///etc/passwd) [f](/relative) [g](https://example.com/x?y=1) [h](http://127.0.0.1:8080/app/)').filter(
      (n): n is Extract<Inline, { type: 'link' }> => n.type === 'link',
    );
    const byText = new Map(links.map((l) => [inlineText(l.children), l.href]));
    for (const t of ['a', 'b', 'd', 'e', 'f']) {
      assert.strictEqual(byText.get(t), undefined, `${t} has no href`);
    }
    assert.strictEqual(byText.get('g'), 'https://example.com/x?y=1');
    assert.strictEqual(byText.get('h'), 'http://127.0.0.1:8080/app/');
    // data: with a comma and <b> does not parse as a link at all: it stays text, and no href anywhere.
    const all = strings(parseMarkdown('[c](data:text/html,<b>x</b>) [j](  javascript:void(0)  )'));
    assert.ok(!all.some(([k]) => k === 'href'));
  });

  it('safeHref accepts only absolute http(s) URLs', () => {
    assert.strictEqual(safeHref('https://openai.com'), 'https://openai.com/');
    assert.strictEqual(safeHref(' http://localhost:8080/app/ '), 'http://localhost:8080/app/');
    for (const bad of ['javascript:alert(1)', 'java\nscript:alert(1)', '//evil.example', 'data:,x', 'https//x', 'ftp://x', '']) {
      assert.strictEqual(safeHref(bad), undefined, bad);
    }
  });

  it('handles nested and unbalanced backticks', () => {
    assert.deepStrictEqual(parseInline('``code with ` inside``'), [{ type: 'code', text: 'code with ` inside' }]);
    assert.deepStrictEqual(parseInline('`` `a` ``'), [{ type: 'code', text: '`a`' }]);
    assert.deepStrictEqual(parseInline('an ` alone'), [{ type: 'text', text: 'an ` alone' }]);
    assert.deepStrictEqual(parseInline('`<script>`'), [{ type: 'code', text: '<script>' }]);
    // Emphasis markers inside code are code.
    assert.deepStrictEqual(parseInline('`**not bold**`'), [{ type: 'code', text: '**not bold**' }]);
  });

  it('keeps a fence with more backticks open across a shorter one, and runs an unclosed fence to the end', () => {
    const blocks = parseMarkdown('````md\n```js\nx\n```\n````\nafter');
    assert.deepStrictEqual(blocks[0], { type: 'code', lang: 'md', text: '```js\nx\n```' });
    assert.deepStrictEqual(blocks[1], { type: 'paragraph', children: [{ type: 'text', text: 'after' }] });
    assert.deepStrictEqual(parseMarkdown('```js\nlet a = 1;\n'), [{ type: 'code', lang: 'js', text: 'let a = 1;\n' }].map((b) => ({ ...b, text: 'let a = 1;\n' })));
  });

  it('makes the language of a fence safe for a class name', () => {
    assert.strictEqual((parseMarkdown('```" onmouseover="x\na\n```')[0] as { lang: string }).lang, '');
    assert.strictEqual((parseMarkdown('```TypeScript title="x"\na\n```')[0] as { lang: string }).lang, 'typescript');
    assert.strictEqual((parseMarkdown('```<img>\na\n```')[0] as { lang: string }).lang, '');
  });

  it('leaves snake_case and lone markers alone, honours escapes', () => {
    assert.deepStrictEqual(parseInline('proxy_set_header and 2 * 3 * 4'), [{ type: 'text', text: 'proxy_set_header and 2 * 3 * 4' }]);
    assert.deepStrictEqual(parseInline('\\*not em\\* \\<b>'), [{ type: 'text', text: '*not em* <b>' }]);
  });

  it('turns autolinks and bare URLs into links, without trailing punctuation', () => {
    const nodes = parseInline('See <https://a.example/x> or http://127.0.0.1:8080/app/.');
    assert.deepStrictEqual(
      nodes.filter((n) => n.type === 'link').map((n) => (n as { href?: string }).href),
      ['https://a.example/x', 'http://127.0.0.1:8080/app/'],
    );
    assert.strictEqual(inlineText(nodes), 'See https://a.example/x or http://127.0.0.1:8080/app/.');
  });

  it('never nests links and bounds deep nesting', () => {
    const nodes = parseInline('[[inner](https://a.example)](https://b.example)');
    const link = nodes.find((n) => n.type === 'link') as Extract<Inline, { type: 'link' }>;
    assert.ok(link);
    assert.ok(!link.children.some((c) => c.type === 'link'));
    const deep = '>'.repeat(500) + ' x';
    assert.doesNotThrow(() => parseMarkdown(deep));
    assert.doesNotThrow(() => parseInline('*'.repeat(5000) + 'x' + '*'.repeat(5000)));
  });

  it('strips a heading\'s closing hashes only after a space', () => {
    assert.deepStrictEqual(parseMarkdown('## Title ##  '), [{ type: 'heading', level: 2, children: [{ type: 'text', text: 'Title' }] }]);
    assert.deepStrictEqual(parseMarkdown('# C#'), [{ type: 'heading', level: 1, children: [{ type: 'text', text: 'C#' }] }]);
    assert.deepStrictEqual(parseMarkdown('#hashtag'), [{ type: 'paragraph', children: [{ type: 'text', text: '#hashtag' }] }]);
  });

  // Long runs of one delimiter, and the same character repeated, are what
  // make naive parsers (and backtracking regexes) quadratic. Each input is
  // parsed at n and at 4n characters: linear work takes about 4 times as
  // long, quadratic 16 times. A ratio of two runs in the same process,
  // not a wall-clock bound, so a busy machine does not fail it.
  it('parses pathological input in about linear time', function () {
    this.timeout(60_000);
    const time = (src: string) => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        const start = process.hrtime.bigint();
        parseMarkdown(src);
        best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
      }
      return best;
    };
    const cases: [string, (n: number) => string][] = [
      ['spaces in a heading', (n) => '# a' + ' '.repeat(n) + 'x'],
      ['hashes in a heading', (n) => '# ' + ' #'.repeat(n / 2) + 'x'],
      ['unmatched *', (n) => '*a '.repeat(n / 3)],
      ['unmatched **', (n) => '**a '.repeat(n / 4)],
      ['unmatched _', (n) => '_a '.repeat(n / 3)],
      ['unmatched [', (n) => '['.repeat(n) + ']('],
      ['unmatched ``', (n) => '``a`'.repeat(n / 4)],
      ['bare URLs', (n) => 'http://a '.repeat(n / 9)],
      ['autolinks', (n) => '<http://a'.repeat(n / 9)],
    ];
    const n = 48_000;
    for (const [name, make] of cases) {
      // A pause of the other process on a 2-core machine can land in
      // either run: measure again, up to three times. Quadratic work
      // (16 times) fails every time.
      let small = 0;
      let large = 0;
      for (let attempt = 0; attempt < 3; attempt++) {
        small = time(make(n));
        large = time(make(4 * n));
        if (large < 10 * small + 20) {
          break;
        }
      }
      assert.ok(large < 10 * small + 20, `${name}: ${small.toFixed(1)} ms for ${n} characters, ${large.toFixed(1)} ms for ${4 * n}`);
    }
  });

  it('keeps only text in every string of a hostile answer', () => {
    const hostile = '# <h1 onclick=x>\n\n**<b>bold</b>** _<i>it</i>_ [<img src=x onerror=alert(1)>](javascript:alert(1))\n\n- <li>x</li>\n\n```html\n<script>alert(1)</script>\n```';
    for (const [key, value] of strings(parseMarkdown(hostile))) {
      assert.ok(['type', 'text', 'url', 'lang'].includes(key), `unexpected key ${key}=${value}`);
    }
  });
});
