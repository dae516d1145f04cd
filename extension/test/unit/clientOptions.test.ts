import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { protocolOptions } from '../../src/clientOptions';
import { LanguageId } from '../../src/contract';
import { settingDefaults } from '../../src/settings';

describe('clientOptions.protocolOptions', () => {
  const opts = protocolOptions(settingDefaults);

  // The server registers its watchers (client/registerCapability for
  // workspace/didChangeWatchedFiles); a client watcher as well would send
  // every file event twice (docs/lsp.md, "Documents").
  it('synchronises the devproxy settings and no file events', () => {
    assert.deepStrictEqual(opts.synchronize, { configurationSection: 'devproxy' });
  });

  it('syncs the text of route files only, and passes the settings to initialize', () => {
    assert.deepStrictEqual(opts.documentSelector, [{ scheme: 'file', language: LanguageId }]);
    assert.deepStrictEqual(opts.initializationOptions, settingDefaults);
    assert.strictEqual(opts.diagnosticCollectionName, 'devproxy');
  });

  // A multi-root workspace: vscode-languageclient sends every workspace
  // folder in initialize (workspaceFolders) unless the options name one
  // (workspaceFolder), and a selector with a pattern would sync the route
  // files of one folder only.
  it('serves every workspace folder: no workspaceFolder, no pattern in the selector', () => {
    assert.ok(!('workspaceFolder' in opts), 'the client is not tied to one folder');
    for (const sel of opts.documentSelector) {
      assert.ok(typeof sel === 'object' && !('pattern' in sel), `${JSON.stringify(sel)} names no folder`);
    }
  });

  it('no module of the extension makes a file watcher', () => {
    const src = path.resolve(__dirname, '../../src');
    for (const f of fs.readdirSync(src).filter((f) => f.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(src, f), 'utf8');
      assert.ok(!/createFileSystemWatcher|fileEvents\s*:/.test(text), `${f} creates a file watcher; the server registers the ones it needs`);
    }
  });
});
