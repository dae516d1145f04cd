// calliopeFixes.ts: a fix's wire edit to the editor's WorkspaceEdit, whole
// or not at all, and the app change's document.

import * as assert from 'assert';
import { appChangeDocument, fixReplacements, fixWorkspaceEdit, WorkspaceEditFactory } from '../../src/calliopeFixes';
import { ChatFix, Range } from '../../src/contract';

/** Records what the glue would ask of vscode.WorkspaceEdit. */
const recorder: WorkspaceEditFactory<[string, Range, string, string][]> = {
  create: () => [],
  replace: (e, uri, range, newText, label) => void e.push([uri, range, newText, label]),
};

const r = (sl: number, sc: number, el: number, ec: number): Range => ({ start: { line: sl, character: sc }, end: { line: el, character: ec } });

describe('calliopeFixes.ts', () => {
  const fix: ChatFix = {
    title: 'Add the redirect /app → /app/',
    pattern: 'missing-slash',
    edit: {
      changes: {
        'file:///w/apps/app.conf': [
          { range: r(0, 0, 0, 0), newText: 'location = /app { return 308 /app/; }\n' },
          { range: r(3, 4, 3, 26), newText: 'proxy_pass http://127.0.0.1:5173;' },
        ],
        'file:///w/apps/caf%C3%A9.conf': [{ range: r(1, 2, 1, 5), newText: '' }],
      },
    },
  };

  it('builds one replacement per edit, keeping URIs, 0-based ranges and text as sent, labelled by the fix', () => {
    const out = fixWorkspaceEdit(fix, recorder);
    assert.ok('edit' in out);
    assert.deepStrictEqual(out.edit, [
      ['file:///w/apps/app.conf', r(0, 0, 0, 0), 'location = /app { return 308 /app/; }\n', fix.title],
      ['file:///w/apps/app.conf', r(3, 4, 3, 26), 'proxy_pass http://127.0.0.1:5173;', fix.title],
      ['file:///w/apps/caf%C3%A9.conf', r(1, 2, 1, 5), '', fix.title],
    ]);
    assert.deepStrictEqual(out.files, ['file:///w/apps/app.conf', 'file:///w/apps/caf%C3%A9.conf']);
  });

  it('refuses a malformed edit whole: bad ranges, missing text, a reversed range, negative or fractional positions', () => {
    const bad = (edit: unknown) => fixReplacements({ title: 't', pattern: 'p', edit: edit as ChatFix['edit'] });
    const cases: unknown[] = [
      undefined,
      {},
      { changes: [] },
      { changes: {} },
      { changes: { 'file:///a.conf': 'x' } },
      { changes: { 'file:///a.conf': [{ range: r(0, 0, 0, 1) }] } },
      { changes: { 'file:///a.conf': [{ range: r(2, 0, 1, 0), newText: '' }] } },
      { changes: { 'file:///a.conf': [{ range: r(0, 5, 0, 4), newText: '' }] } },
      { changes: { 'file:///a.conf': [{ range: r(-1, 0, 0, 0), newText: '' }] } },
      { changes: { 'file:///a.conf': [{ range: r(0, 0.5, 0, 1), newText: '' }] } },
      { changes: { 'file:///a.conf': [{ range: { start: { line: 0 } }, newText: '' }] } },
      { changes: { 'file:///a.conf': [{ range: r(0, 0, 0, 1), newText: 'ok' }], 'file:///b.conf': [null] } },
    ];
    for (const c of cases) {
      assert.ok('error' in bad(c), JSON.stringify(c));
    }
  });

  it('edits files only, never another scheme', () => {
    for (const uri of ['https://example.com/x', 'command:workbench.action.terminal.new', 'vscode://settings', 'relative/path.conf']) {
      const out = fixReplacements({ title: 't', pattern: 'p', edit: { changes: { [uri]: [{ range: r(0, 0, 0, 0), newText: 'x' }] } } });
      assert.ok('error' in out, uri);
    }
    assert.ok('replacements' in fixReplacements({ title: 't', pattern: 'p', edit: { changes: { 'untitled:Untitled-1': [{ range: r(0, 0, 0, 0), newText: 'x' }] } } }));
  });

  it('writes the app change as Markdown, the snippet in a fence it cannot close', () => {
    const doc = appChangeDocument(
      { title: 'Serve Vite under /app/', pattern: 'vite-base' },
      { file: 'vite.config.ts', description: 'Set `base` so the assets load under /app/.', snippet: "export default { base: '/app/' } // ``` inside" },
    );
    assert.match(doc, /^# Serve Vite under \/app\/\n/);
    assert.match(doc, /In `vite.config.ts`/);
    assert.match(doc, /\n````ts\nexport default \{ base: '\/app\/' \} \/\/ ``` inside\n````\n/);
    assert.match(doc, /healing pattern `vite-base`/);
  });
});
