// package.json (the extension manifest) against the contract: docs/lsp.md's
// tables, schemas/devproxy.schema.json for the settings shared with
// devproxy.json, and the ids the extension code uses.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { CalliopeContainerId, CalliopeViewId, Commands, LanguageId, Methods, RoutesFilteredContextKey, RoutesViewContextKey, RoutesViewId, TunnelUpContextKey, ViewContainerId } from '../../src/contract';
import { settingDefaults, settingKeys } from '../../src/settings';

const repo = path.resolve(__dirname, '..', '..', '..');
const readJSON = (rel: string) => JSON.parse(fs.readFileSync(path.join(repo, rel), 'utf8'));
const manifest = readJSON('package.json');
const schema = readJSON('schemas/devproxy.schema.json');
const docs = fs.readFileSync(path.join(repo, 'docs/lsp.md'), 'utf8');

/** The rows of the first table under a "## title" heading of docs/lsp.md, as cells. */
function docsTable(title: string): string[][] {
  const lines = docs.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  assert.ok(start >= 0, `docs/lsp.md has a "## ${title}" section`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('## ')) {
      break;
    }
    if (!line.startsWith('|')) {
      if (rows.length > 0) {
        break;
      }
      continue;
    }
    rows.push(
      line
        .slice(1, line.trimEnd().endsWith('|') ? line.trimEnd().length - 1 : undefined)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows.slice(2); // header and separator
}

const unquote = (cell: string) => cell.replace(/^`(.*)`$/, '$1');

/** A default as the docs write it: JSON when it parses, else the bare string. */
function docsDefault(cell: string): unknown {
  const s = unquote(cell);
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** A property of devproxy.schema.json with its $ref resolved (the property's own keys win). */
function schemaProperty(dotted: string): Record<string, unknown> {
  let node: Record<string, unknown> = schema;
  for (const part of dotted.split('.')) {
    node = (node.properties as Record<string, Record<string, unknown>>)[part];
    assert.ok(node, `schemas/devproxy.schema.json has ${dotted}`);
  }
  const ref = node.$ref as string | undefined;
  if (ref) {
    const target = ref.replace(/^#\/\$defs\//, '');
    return { ...schema.$defs[target], ...node };
  }
  return node;
}

const props: Record<string, Record<string, unknown>> = manifest.contributes.configuration.properties;

describe('package.json settings', () => {
  const rows = docsTable('Settings');

  it('docs/lsp.md lists the settings', () => {
    assert.ok(rows.length >= 7, `found ${rows.length} rows`);
  });

  it('contributes exactly the settings of docs/lsp.md, with their defaults', () => {
    const documented = rows.map((r) => unquote(r[0]));
    assert.deepStrictEqual(Object.keys(props).sort(), [...documented].sort());
    for (const r of rows) {
      const key = unquote(r[0]);
      assert.deepStrictEqual(props[key].default, docsDefault(r[2]), `default of ${key}`);
      assert.ok(typeof props[key].description === 'string' && (props[key].description as string).length > 10, `${key} has a description`);
    }
  });

  it('agrees with schemas/devproxy.schema.json on the shared settings: type, default, description', () => {
    const shared = rows.filter((r) => unquote(r[1]) !== '—' && r[1] !== '' && r[1] !== '-');
    assert.deepStrictEqual(
      shared.map((r) => [unquote(r[0]), unquote(r[1])]),
      [
        ['devproxy.apps', 'apps'],
        ['devproxy.overrides', 'overrides'],
        ['devproxy.listen', 'listen'],
        ['devproxy.tunnel.listen', 'tunnel.listen'],
      ],
    );
    for (const r of shared) {
      const key = unquote(r[0]);
      const s = schemaProperty(unquote(r[1]));
      const p = props[key];
      assert.strictEqual(p.type, s.type, `type of ${key}`);
      assert.deepStrictEqual(p.default, s.default, `default of ${key}`);
      assert.strictEqual(p.description, s.description, `description of ${key}`);
      if (s.pattern !== undefined) {
        assert.strictEqual(p.pattern, s.pattern, `pattern of ${key}`);
      }
      if (s.type === 'array') {
        const items = s.items as { $ref?: string };
        const itemSchema = items.$ref ? schema.$defs[items.$ref.replace(/^#\/\$defs\//, '')] : items;
        const pItems = p.items as Record<string, unknown>;
        assert.strictEqual(pItems.type, itemSchema.type, `item type of ${key}`);
        assert.strictEqual(pItems.pattern, itemSchema.pattern, `item pattern of ${key}`);
      }
    }
  });

  it('offers off, messages and verbose for devproxy.trace.server', () => {
    assert.deepStrictEqual(props['devproxy.trace.server'].enum, ['off', 'messages', 'verbose']);
    assert.strictEqual(props['devproxy.trace.server'].type, 'string');
  });

  it('matches the keys and defaults the extension code reads (settings.ts)', () => {
    assert.deepStrictEqual(
      settingKeys.map((k) => `devproxy.${k}`).sort(),
      Object.keys(props).sort(),
    );
    for (const k of settingKeys) {
      const value = k.split('.').reduce<unknown>((o, part) => (o as Record<string, unknown>)[part], settingDefaults);
      assert.deepStrictEqual(value, props[`devproxy.${k}`].default, `settings.ts default of devproxy.${k}`);
    }
  });
});

describe('package.json commands, views and menus', () => {
  it('contributes every command of docs/lsp.md, in category "Dev Tunnel Proxy"', () => {
    const documented = docsTable('Client commands').map((r) => unquote(r[0]));
    const contributed = manifest.contributes.commands as { command: string; title: string; category: string }[];
    assert.deepStrictEqual(contributed.map((c) => c.command).sort(), [...documented].sort());
    assert.deepStrictEqual(Object.values(Commands).sort(), [...documented].sort());
    for (const c of contributed) {
      assert.strictEqual(c.category, 'Dev Tunnel Proxy');
      assert.ok(c.title.length > 0);
    }
  });

  it('has the custom messages of docs/lsp.md', () => {
    const documented = docsTable('Custom messages').map((r) => unquote(r[0]));
    assert.deepStrictEqual(Object.values(Methods).sort(), [...documented].sort());
  });

  it('has the activity-bar container and the Routes view', () => {
    const containers = manifest.contributes.viewsContainers.activitybar;
    assert.deepStrictEqual(
      containers.map((c: { id: string; title: string }) => [c.id, c.title]),
      [[ViewContainerId, 'Dev Tunnel Proxy']],
    );
    assert.ok(fs.existsSync(path.join(repo, containers[0].icon)), 'the container icon exists');
    assert.deepStrictEqual(
      manifest.contributes.views[ViewContainerId].map((v: { id: string; name: string }) => [v.id, v.name]),
      [[RoutesViewId, 'Routes']],
    );
  });

  it('offers Reveal on every route and Open in browser only on served routes with a URL', () => {
    const items = manifest.contributes.menus['view/item/context'] as { command: string; when: string }[];
    const reveal = items.filter((i) => i.command === Commands.revealRoute);
    const open = items.filter((i) => i.command === Commands.openRoute);
    assert.ok(reveal.length > 0 && open.length > 0);
    for (const i of [...reveal, ...open]) {
      assert.match(i.when, new RegExp(`view == ${RoutesViewId.replace('.', '\\.')}`));
    }
    // routesModel's context values: 'route', 'routeWithUrl' and 'routeWithUrlInactive' (a block the proxy does not serve).
    // Only on the blocks the proxy serves: an inactive block's URL opens another block's answer.
    for (const i of open) {
      assert.strictEqual(i.when, `view == ${RoutesViewId} && viewItem == routeWithUrl`);
    }
    // Reveal must match them all.
    for (const i of reveal) {
      const m = /viewItem =~ \/(.*)\//.exec(i.when);
      assert.ok(m, 'reveal matches route items by pattern');
      assert.ok(new RegExp(m![1]).test('route') && new RegExp(m![1]).test('routeWithUrl') && new RegExp(m![1]).test('routeWithUrlInactive'));
      assert.ok(!new RegExp(m![1]).test('file'));
      assert.ok(!new RegExp(m![1]).test('folder'));
    }
    const title = manifest.contributes.menus['view/title'] as { command: string; when: string }[];
    assert.ok(title.some((t) => t.command === Commands.refreshRoutes && t.when === `view == ${RoutesViewId}`));
    assert.ok(title.some((t) => t.command === Commands.createRouteFile && t.when === `view == ${RoutesViewId}`));
  });

  it('offers Rescan (inline and in the menu) and Route Details on the routes the scanner probes, and Rescan All in the title', () => {
    const items = manifest.contributes.menus['view/item/context'] as { command: string; when: string; group: string }[];
    const on = (command: string) => items.filter((i) => i.command === command);
    const probed = `view == ${RoutesViewId} && viewItem =~ /^routeWithUrl/`;
    assert.deepStrictEqual(
      on(Commands.rescanRoute).map((i) => [i.when, i.group.split('@')[0]]),
      [
        [probed, 'inline'],
        [probed, 'health'],
      ],
    );
    assert.deepStrictEqual(
      on(Commands.showRouteDetails).map((i) => i.when),
      [probed],
    );
    const title = manifest.contributes.menus['view/title'] as { command: string; when: string }[];
    assert.ok(title.some((t) => t.command === Commands.rescanAll && t.when === `view == ${RoutesViewId}`));
    const commands = manifest.contributes.commands as { command: string; title: string; icon?: string }[];
    const byId = new Map(commands.map((c) => [c.command, c]));
    assert.strictEqual(byId.get(Commands.rescanRoute)?.icon, '$(refresh)');
    assert.strictEqual(byId.get(Commands.rescanRoute)?.title, 'Rescan');
    assert.strictEqual(byId.get(Commands.openRoute)?.title, 'Open in Browser');
    assert.strictEqual(byId.get(Commands.showRouteDetails)?.title, 'Show Route Details');
    // The route commands need a tree node: not in the Command Palette.
    const palette = manifest.contributes.menus.commandPalette as { command: string; when: string }[];
    for (const id of [Commands.rescanRoute, Commands.showRouteDetails]) {
      assert.ok(palette.some((p) => p.command === id && p.when === 'false'), `${id} is hidden from the palette`);
    }
    assert.ok(!palette.some((p) => p.command === Commands.rescanAll), 'Rescan All Routes is in the palette');
  });

  it('has the Calliope webview view in a container of its own in the panel, so "Focus on Calliope View" exists and it can move', () => {
    const panel = manifest.contributes.viewsContainers.panel as { id: string; title: string; icon: string }[];
    assert.deepStrictEqual(
      panel.map((c) => [c.id, c.title]),
      [[CalliopeContainerId, 'Calliope']],
    );
    assert.ok(fs.existsSync(path.join(repo, panel[0].icon)), 'the panel container icon exists');
    assert.match(panel[0].icon, /^extension\/media\/[^/]+\.svg$/, '.vscodeignore ships extension/media/*.svg');
    const views = manifest.contributes.views[CalliopeContainerId] as { type: string; id: string; name: string }[];
    assert.deepStrictEqual(
      views.map((v) => [v.type, v.id, v.name]),
      [['webview', CalliopeViewId, 'Calliope']],
    );
    // VS Code names a view's focus command `<view id>.focus`; the extension runs it.
    assert.ok(!(manifest.contributes.commands as { command: string }[]).some((c) => c.command === `${CalliopeViewId}.focus`), 'VS Code contributes the focus command itself');
  });

  it('offers the Calliope commands where they apply', () => {
    const commands = manifest.contributes.commands as { command: string; title: string; icon?: string }[];
    const byId = new Map(commands.map((c) => [c.command, c]));
    assert.strictEqual(byId.get(Commands.calliopeAsk)?.title, 'Ask Calliope');
    assert.strictEqual(byId.get(Commands.calliopeDiagnoseRoute)?.title, 'Diagnose Route with Calliope');
    assert.strictEqual(byId.get(Commands.calliopeSetOpenAIKey)?.title, 'Set OpenAI API Key');
    assert.strictEqual(byId.get(Commands.calliopeClearOpenAIKey)?.title, 'Clear OpenAI API Key');
    const items = manifest.contributes.menus['view/item/context'] as { command: string; when: string }[];
    const diagnose = items.filter((i) => i.command === Commands.calliopeDiagnoseRoute);
    assert.strictEqual(diagnose.length, 1);
    const m = /viewItem =~ \/(.*)\//.exec(diagnose[0].when);
    assert.ok(m && new RegExp(m[1]).test('route') && new RegExp(m[1]).test('routeWithUrl') && !new RegExp(m[1]).test('file'), 'on every route, no file');
    const title = manifest.contributes.menus['view/title'] as { command: string; when: string }[];
    assert.ok(title.some((t) => t.command === Commands.calliopeNewConversation && t.when === `view == ${CalliopeViewId}`));
    // Every Calliope command works from the Command Palette (Diagnose asks for a route there).
    const palette = manifest.contributes.menus.commandPalette as { command: string; when: string }[];
    for (const id of [Commands.calliopeAsk, Commands.calliopeDiagnoseRoute, Commands.calliopeNewConversation, Commands.calliopeSetOpenAIKey, Commands.calliopeClearOpenAIKey]) {
      assert.ok(!palette.some((p) => p.command === id), `${id} is in the palette`);
    }
  });

  it('offers the tunnel and API key commands, Open via Tunnel only on served routes while the tunnel is up', () => {
    const commands = manifest.contributes.commands as { command: string; title: string }[];
    const byId = new Map(commands.map((c) => [c.command, c]));
    assert.strictEqual(byId.get(Commands.startTunnel)?.title, 'Start Tunnel');
    assert.strictEqual(byId.get(Commands.stopTunnel)?.title, 'Stop Tunnel');
    assert.strictEqual(byId.get(Commands.copyTunnelUrl)?.title, 'Copy Tunnel URL');
    assert.strictEqual(byId.get(Commands.openViaTunnel)?.title, 'Open via Tunnel');
    assert.strictEqual(byId.get(Commands.createApiKey)?.title, 'Create API Key');
    const items = manifest.contributes.menus['view/item/context'] as { command: string; when: string }[];
    const open = items.filter((i) => i.command === Commands.openViaTunnel);
    assert.deepStrictEqual(
      open.map((i) => i.when),
      [`view == ${RoutesViewId} && viewItem == routeWithUrl && ${TunnelUpContextKey}`],
    );
    // The exact match leaves out the blocks the proxy does not serve.
    assert.ok(!open[0].when.includes('=~'));
    const palette = manifest.contributes.menus.commandPalette as { command: string; when: string }[];
    assert.ok(palette.some((p) => p.command === Commands.openViaTunnel && p.when === 'false'), 'Open via Tunnel needs a route node');
    assert.ok(palette.some((p) => p.command === Commands.copyTunnelUrl && p.when === TunnelUpContextKey), 'Copy Tunnel URL while up');
    for (const id of [Commands.startTunnel, Commands.stopTunnel, Commands.createApiKey]) {
      assert.ok(!palette.some((p) => p.command === id), `${id} is in the palette`);
    }
  });

  it('offers to create a route file only when there are no routes, a restart when the server stopped, Clear Filter when nothing matches', () => {
    const welcome = manifest.contributes.viewsWelcome as { view: string; when: string; contents: string }[];
    const on = (state: string) => welcome.filter((w) => w.view === RoutesViewId && w.when === `${RoutesViewContextKey} == ${state}`);
    assert.strictEqual(welcome.length, 3, 'every message has its state: none shows while starting');
    assert.ok(on('empty')[0]?.contents.startsWith('No routes yet') && on('empty')[0].contents.includes(`(command:${Commands.createRouteFile})`));
    assert.ok(on('stopped')[0]?.contents.includes(`(command:${Commands.restartServer})`));
    assert.ok(!on('stopped')[0].contents.includes('No routes yet'));
    assert.ok(on('filtered')[0]?.contents.includes(`(command:${Commands.clearRoutesFilter})`));
  });

  it('offers the filter in the title, Clear Filter only while filtered', () => {
    const title = manifest.contributes.menus['view/title'] as { command: string; when: string }[];
    assert.ok(title.some((t) => t.command === Commands.filterRoutes && t.when === `view == ${RoutesViewId}`));
    assert.ok(title.some((t) => t.command === Commands.clearRoutesFilter && t.when === `view == ${RoutesViewId} && ${RoutesFilteredContextKey}`));
    const commands = manifest.contributes.commands as { command: string; title: string }[];
    assert.strictEqual(commands.find((c) => c.command === Commands.filterRoutes)?.title, 'Filter Routes…');
    assert.strictEqual(commands.find((c) => c.command === Commands.clearRoutesFilter)?.title, 'Clear Filter');
  });

  it('offers Open, Reveal in Explorer and Copy Path on files; Copy URL, Copy as curl and Send Request on routes', () => {
    const items = manifest.contributes.menus['view/item/context'] as { command: string; when: string }[];
    const viewItemsOf = (command: string) => {
      const found = items.filter((i) => i.command === command);
      assert.strictEqual(found.length, 1, command);
      const when = found[0].when;
      assert.ok(when.startsWith(`view == ${RoutesViewId} && `), when);
      const m = /viewItem =~ \/(.*)\//.exec(when);
      const eq = /viewItem == (\w+)/.exec(when);
      return ['file', 'fileWithErrors', 'folder', 'problem', 'route', 'routeWithUrl', 'routeWithUrlInactive'].filter((v) => (m ? new RegExp(m[1]).test(v) : eq![1] === v));
    };
    for (const id of [Commands.openRouteFile, Commands.revealRouteFileInExplorer, Commands.copyRouteFilePath]) {
      assert.deepStrictEqual(viewItemsOf(id), ['file', 'fileWithErrors'], id);
    }
    for (const id of [Commands.copyRouteUrl, Commands.copyRouteAsCurl]) {
      assert.deepStrictEqual(viewItemsOf(id), ['routeWithUrl', 'routeWithUrlInactive'], id);
    }
    assert.deepStrictEqual(viewItemsOf(Commands.sendRequest), ['routeWithUrl']);
    const palette = manifest.contributes.menus.commandPalette as { command: string; when: string }[];
    for (const id of [Commands.openRouteFile, Commands.revealRouteFileInExplorer, Commands.copyRouteFilePath, Commands.copyRouteUrl, Commands.copyRouteAsCurl]) {
      assert.ok(palette.some((p) => p.command === id && p.when === 'false'), `${id} needs a node`);
    }
    for (const id of [Commands.sendRequest, Commands.filterRoutes, Commands.showStatusMenu, Commands.openDashboard]) {
      assert.ok(!palette.some((p) => p.command === id), `${id} is in the palette`);
    }
  });
});

describe('package.json language, grammar, activation and build', () => {
  it('declares the route-file language for apps/*.conf and overrides/*.conf', () => {
    const [lang] = manifest.contributes.languages;
    assert.strictEqual(lang.id, LanguageId);
    assert.deepStrictEqual(lang.filenamePatterns, ['**/apps/*.conf', '**/overrides/*.conf']);
    const conf = JSON.parse(fs.readFileSync(path.join(repo, lang.configuration), 'utf8'));
    assert.strictEqual(conf.comments.lineComment, '#');
    assert.deepStrictEqual(conf.brackets, [['{', '}']]);
  });

  it('activates on route files, devproxy.json, the language and the view', () => {
    assert.deepStrictEqual(manifest.activationEvents, [
      'workspaceContains:apps/*.conf',
      'workspaceContains:overrides/*.conf',
      'workspaceContains:devproxy.json',
      `onLanguage:${LanguageId}`,
      `onView:${RoutesViewId}`,
      `onView:${CalliopeViewId}`,
    ]);
  });

  it('has the identity, engine and entry point the packaging expects', () => {
    assert.strictEqual(manifest.name, 'devtunnelproxy');
    assert.strictEqual(manifest.publisher, 'devtunnelproxy');
    assert.strictEqual(manifest.displayName, 'Dev Tunnel Proxy');
    assert.strictEqual(manifest.engines.vscode, '^1.90.0');
    assert.strictEqual(manifest.main, './extension/out/extension.js');
    assert.match(manifest.dependencies['vscode-languageclient'], /^9\./);
    for (const [name, version] of Object.entries<string>(manifest.devDependencies)) {
      assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is pinned to an exact version`);
    }
    // vsce refuses @types/vscode newer than the engine.
    assert.match(manifest.devDependencies['@types/vscode'], /^1\.90\./);
  });
});
