// calliopeQuestions.ts: the questions the Calliope commands fill in.

import * as assert from 'assert';
import { askDraft, diagnoseQuestion, diagnosticQuestion, routeAtLine, routeFacts } from '../../src/calliopeQuestions';
import { buildRoutesModel } from '../../src/routesModel';

describe('calliopeQuestions.ts', () => {
  it('asks why a route fails, with its file, line and health', () => {
    assert.strictEqual(
      diagnoseQuestion({ route: '/app/', file: 'apps/app.conf', line: 3, status: 'error', reason: 'connection refused on 127.0.0.1:5999' }),
      'Why does /app/ (apps/app.conf:3) fail? Its health: error, connection refused on 127.0.0.1:5999.',
    );
    assert.strictEqual(diagnoseQuestion({ route: '/app/', file: 'apps/app.conf', line: 3 }), 'Why does /app/ (apps/app.conf:3) fail? Its health: unknown.');
    assert.strictEqual(
      diagnoseQuestion({ route: '/a/', file: 'shop/apps/a.conf', line: 1, status: 'warning', reason: 'assets 404:\n  /a/main.js.' }),
      'Why does /a/ (shop/apps/a.conf:1) fail? Its health: warning, assets 404: /a/main.js.',
    );
  });

  it('asks about a diagnostic with its message', () => {
    assert.strictEqual(
      diagnosticQuestion({ file: 'apps/b.conf', line: 7, message: 'apps/a.conf wins /api/ (newest)', route: '/api/' }),
      'Why does /api/ (apps/b.conf:7) fail? Its health: unknown, apps/a.conf wins /api/ (newest).',
    );
    assert.strictEqual(
      diagnosticQuestion({ file: 'apps/b.conf', line: 2, message: 'unanchored regex' }),
      'Why does this location (apps/b.conf:2) fail? Its health: unknown, unanchored regex.',
    );
  });

  it('drafts a question from an argument, else the selection', () => {
    assert.strictEqual(askDraft('  How do I serve Vite under /app/?  ', 'ignored'), 'How do I serve Vite under /app/?');
    assert.strictEqual(askDraft(undefined, 'location /api/ {'), 'location /api/ {');
    assert.strictEqual(askDraft({ not: 'a string' }, undefined), '');
    assert.strictEqual(askDraft('x'.repeat(5000), undefined).length, 4000);
  });
});

describe('calliopeQuestions.ts and the Routes tree', () => {
  const uri = 'file:///w/apps/app.conf';
  const range = (line: number) => ({ start: { line, character: 0 }, end: { line, character: 20 } });
  const route = (id: string, spec: string, line: number) => ({
    id,
    route: spec,
    file: 'apps/app.conf',
    uri,
    line,
    range: range(line - 1),
    modifier: '' as const,
    spec,
    label: spec,
    active: true,
    inactiveCode: null,
    inactiveReason: null,
    conflict: null,
    upstream: 'http://127.0.0.1:5999',
    url: `http://127.0.0.1:8080${spec}`,
    health: null,
  });
  const model = buildRoutesModel({
    version: 1,
    root: '/w',
    folders: [{ label: 'w', root: '/w' }],
    files: [{ path: 'apps/app.conf', uri, kind: 'app', ok: true, stale: false }],
    routes: [route('apps/app.conf#/app/', '/app/', 1), route('apps/app.conf#/api/', '/api/', 6)],
    conflicts: [],
    proxy: { state: 'running', address: '127.0.0.1:8080', url: 'http://127.0.0.1:8080', message: '', folders: [] },
  });

  it('finds the block a diagnostic line is in', () => {
    assert.strictEqual(routeAtLine(model, uri, 1)?.route, '/app/');
    assert.strictEqual(routeAtLine(model, uri, 4)?.route, '/app/');
    assert.strictEqual(routeAtLine(model, uri, 9)?.route, '/api/');
    assert.strictEqual(routeAtLine(model, 'file:///w/apps/other.conf', 9), undefined);
  });

  it('fills the question from a route of the tree', () => {
    const node = routeAtLine(model, uri, 6)!;
    assert.strictEqual(diagnoseQuestion(routeFacts(node)), 'Why does /api/ (apps/app.conf:6) fail? Its health: unknown.');
  });
});
