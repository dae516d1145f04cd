// calliopeQuestions.ts: the questions the Calliope commands fill in.

import * as assert from 'assert';
import { askDraft, diagnoseQuestion, diagnosticQuestion } from '../../src/calliopeQuestions';

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
