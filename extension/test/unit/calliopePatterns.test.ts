import * as assert from 'assert';
import { patternsMarkdown } from '../../src/calliopePatterns';

describe('calliopePatterns', () => {
  it('lists every pattern, most tried first, with its record and state', () => {
    const md = patternsMarkdown([
      { id: 'hmr-refused', title: 'HMR refused', attempts: 1, successes: 1, confidence: 0.667, disabled: false, source: 'builtin' },
      { id: 'slash-pitfall', title: 'Slash pitfall', attempts: 5, successes: 0, confidence: 1 / 7, disabled: true, source: 'builtin' },
    ]);
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Pattern'));
    assert.strictEqual(rows.length, 2);
    assert.match(rows[0], /^\| slash\\-pitfall \| Slash pitfall \| 5 \| 0 \| 0\.14 \| switched off \| builtin \|$/);
    assert.match(rows[1], /^\| hmr\\-refused \| HMR refused \| 1 \| 1 \| 0\.67 \| on \| builtin \|$/);
  });

  it('escapes titles from workspace files so they cannot break the table or add links', () => {
    const md = patternsMarkdown([{ id: 'x', title: 'a | b [link](javascript:x)\nnext', attempts: 0, successes: 0, confidence: 0.5, disabled: false, source: '.devproxy/patterns/x.json' }]);
    const row = md.split('\n').find((l) => l.startsWith('| x'))!;
    assert.strictEqual(row.split(' | ').length, 7, row);
    assert.ok(!row.includes('](javascript'), row);
  });
});
