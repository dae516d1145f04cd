import * as assert from 'assert';
import { Commands, ProxyFolder, ProxyStates, ProxyStatus, RouteFileInfo } from '../../src/contract';
import { becameIdle, dashboardUrl, initialStatus, isProxyStatus, nextStatus, renderStatus, shorten, statusActions, StatusEvent, StatusState } from '../../src/statusBar';

function run(...events: StatusEvent[]): StatusState {
  return events.reduce(nextStatus, initialStatus);
}

const status = (over: Partial<ProxyStatus>): StatusEvent => ({
  type: 'proxyStatus',
  status: { state: 'running', address: '127.0.0.1:8080', url: 'http://127.0.0.1:8080', message: '', folders: [], ...over },
});

const home = '/home/me';
const folder = (label: string, mine: boolean, pid = 4242, kind: ProxyFolder['kind'] = 'vscode'): ProxyFolder => ({ root: `${home}/src/${label}`, label, mine, pid, kind });
const shop = folder('shop', false, 100);
const blog = folder('blog', true, 4242);
const docs = folder('docs', false, 77, 'serve');

/** This window owns the port and serves its folder and two others. */
const owner = status({
  state: 'running',
  role: 'owner',
  folders: [blog, shop, docs],
  owner: { pid: 4242, kind: 'vscode', name: 'blog', root: blog.root },
});

/** This window joined the devproxy of the window on ~/src/shop. */
const member = status({
  state: 'joined',
  role: 'member',
  folders: [shop, blog],
  owner: { pid: 100, kind: 'vscode', name: 'shop — Visual Studio Code', root: shop.root },
});

const idle = status({ state: 'idle', address: '127.0.0.1:8080', url: '', message: 'This window has no route files and no devproxy.json: it starts no proxy.' });

const file = (path: string, over: Partial<RouteFileInfo> = {}): RouteFileInfo => ({ path, uri: `file:///w/${path}`, kind: 'app', ok: true, stale: false, ...over });

describe('statusBar state machine', () => {
  it('starts in starting, and stays there until the proxy reports', () => {
    assert.strictEqual(run().kind, 'starting');
    assert.strictEqual(run({ type: 'serverStarting' }, { type: 'serverRunning' }).kind, 'starting');
  });

  it('follows devproxy/status through every proxy state', () => {
    for (const s of ProxyStates) {
      const st = run({ type: 'serverRunning' }, status({ state: s }));
      assert.strictEqual(st.kind, s);
      assert.strictEqual(st.address, '127.0.0.1:8080');
    }
  });

  it('keeps the folders and the owner of the status', () => {
    const st = run(member);
    assert.deepStrictEqual(st.folders, [shop, blog]);
    assert.strictEqual(st.owner?.pid, 100);
  });

  it('takes a status without folders or owner (an older server) as none', () => {
    const old = { state: 'running', address: '127.0.0.1:8080', url: 'http://127.0.0.1:8080', message: '' } as unknown as ProxyStatus;
    const st = run({ type: 'proxyStatus', status: old });
    assert.deepStrictEqual(st.folders, []);
    assert.strictEqual(st.owner, undefined);
  });

  it('shows an unknown state from a newer server (or other-devproxy from an older one) as an error', () => {
    for (const state of ['sleeping', 'other-devproxy']) {
      const st = run(status({ state: state as ProxyStatus['state'], message: 'zzz' }));
      assert.strictEqual(st.kind, 'error');
      assert.strictEqual(st.message, 'zzz');
    }
  });

  it('stops, ignores a late status, and starts again', () => {
    const stopped = run(status({}), { type: 'serverStopped', failure: 'exit code 2' });
    assert.deepStrictEqual(stopped, { kind: 'stopped', address: '127.0.0.1:8080', message: 'exit code 2', failed: true, pushed: false, folders: [], staleFiles: [] });
    assert.strictEqual(nextStatus(stopped, status({})).kind, 'stopped');
    assert.strictEqual(nextStatus(stopped, { type: 'serverStarting' }).kind, 'starting');
    assert.strictEqual(run(status({}), { type: 'serverStopped' }).failed, false);
  });

  // devproxy/routes answers carry the proxy's state too; until the server
  // pushed devproxy/status they fill the status bar, after it they may be
  // older than the push and are ignored.
  const table = (over: Partial<ProxyStatus>): StatusEvent => {
    const e = status(over) as { status: ProxyStatus };
    return { type: 'tableProxyStatus', status: e.status };
  };

  it("takes the table's copy of the proxy state until devproxy/status arrives", () => {
    assert.strictEqual(run({ type: 'serverRunning' }, table({ state: 'port-in-use' })).kind, 'port-in-use');
    assert.strictEqual(run(table({ state: 'disabled' }), table({ state: 'running' })).kind, 'running');
    assert.strictEqual(run(status({ state: 'running' }), table({ state: 'port-in-use' })).kind, 'running');
    assert.strictEqual(run(status({}), { type: 'serverStopped' }, table({})).kind, 'stopped');
  });

  it('listens to the copies again after a new server starts', () => {
    const st = run(status({ state: 'running' }), { type: 'serverStarting' }, table({ state: 'disabled' }));
    assert.strictEqual(st.kind, 'disabled');
  });

  it("learns the stale files from every table, keeps them across statuses and forgets them with the server", () => {
    const files: StatusEvent = { type: 'routeFiles', files: [file('apps/a.conf'), file('apps/b.conf', { ok: false, stale: true, staleSince: '2024-05-02T14:02:11Z' })] };
    assert.deepStrictEqual(run(owner, files).staleFiles, ['apps/b.conf']);
    assert.deepStrictEqual(run(files, owner).staleFiles, ['apps/b.conf'], 'a status keeps them');
    assert.deepStrictEqual(run(owner, files, { type: 'routeFiles', files: [file('apps/b.conf')] }).staleFiles, []);
    assert.deepStrictEqual(run(owner, files, { type: 'serverStarting' }).staleFiles, []);
    assert.deepStrictEqual(run(owner, files, { type: 'serverStopped' }).staleFiles, []);
  });

  it('says when the window became idle, once per change into idle', () => {
    const before = run(owner);
    const after = nextStatus(before, idle);
    assert.ok(becameIdle(before, after));
    assert.ok(!becameIdle(after, nextStatus(after, idle)), 'a second idle status is no news');
    assert.ok(!becameIdle(before, nextStatus(before, member)));
  });

  it('keeps the health summary across statuses and tables, and forgets it with the server', () => {
    const health: StatusEvent = { type: 'health', summary: { total: 4, ok: 3, warning: 0, error: 1, unknown: 0 } };
    assert.strictEqual(run(owner, health).health?.error, 1);
    assert.strictEqual(run(health, owner).health?.ok, 3, 'a status keeps it');
    assert.strictEqual(run(owner, health, { type: 'routeFiles', files: [] }).health?.ok, 3);
    assert.strictEqual(run(owner, health, { type: 'serverStarting' }).health, undefined);
    assert.strictEqual(run(owner, health, { type: 'serverStopped' }).health, undefined);
    assert.strictEqual(run(owner, { type: 'serverStopped' }, health).health, undefined, 'a late summary is no news');
  });

  it('recognises a ProxyStatus by its state', () => {
    assert.strictEqual(isProxyStatus({ state: 'running', address: '' }), true);
    assert.strictEqual(isProxyStatus({ address: '127.0.0.1:8080' }), false);
    assert.strictEqual(isProxyStatus(null), false);
    assert.strictEqual(isProxyStatus('running'), false);
  });
});

describe('statusBar rendering', () => {
  it('shows the port and the number of folders while this window owns the port; a click opens the actions', () => {
    const v = renderStatus(run(owner), home);
    assert.strictEqual(v.text, '$(radio-tower) devproxy :8080 · 3 folders');
    assert.strictEqual(v.command, Commands.showStatusMenu);
    assert.strictEqual(v.backgroundColor, undefined);
    assert.match(v.tooltip, /this window serves the proxy on http:\/\/127\.0\.0\.1:8080/);
    assert.strictEqual(renderStatus(run(status({ folders: [blog] })), home).text, '$(radio-tower) devproxy :8080 · 1 folder');
    assert.strictEqual(renderStatus(run(status({})), home).text, '$(radio-tower) devproxy :8080', 'no folders: no count');
    assert.strictEqual(renderStatus(run(status({ address: '192.168.1.5:8080', folders: [blog] })), home).text, '$(radio-tower) devproxy 192.168.1.5:8080 · 1 folder');
  });

  it('lists the folders in the tooltip as Markdown, with this window and the owner named', () => {
    const owned = renderStatus(run(owner), home).tooltip;
    assert.ok(owned.includes('- blog — \\~/src/blog (this window)\n- shop — \\~/src/shop (another VS Code window)\n- docs — \\~/src/docs (devproxy serve)'), owned);
    const joined = renderStatus(run(member), home).tooltip;
    assert.match(joined, /the VS Code window “shop — Visual Studio Code” \(pid 100\) in \\~\/src\/shop holds 127\.0\.0\.1:8080; this window joined it/);
    assert.ok(joined.includes('- shop — \\~/src/shop (another VS Code window)\n- blog — \\~/src/blog (this window)'), joined);
    assert.match(joined, /Click for the actions: Show Who Serves the Proxy, Open Dashboard, Rescan All Routes, Switch Environment…, Restart Server, Show Output\.$/);
  });

  it('adds the health summary to the text and the tooltip: "3 ok · 1 down", with the warnings when any', () => {
    const health = (ok: number, error: number, warning = 0, unknown = 0): StatusEvent => ({ type: 'health', summary: { total: ok + error + warning + unknown, ok, warning, error, unknown } });
    assert.strictEqual(renderStatus(run(owner, health(3, 1, 0, 2)), home).text, '$(radio-tower) devproxy :8080 · 3 folders · 3 ok · 1 down');
    assert.strictEqual(renderStatus(run(owner, health(3, 1, 1)), home).text, '$(radio-tower) devproxy :8080 · 3 folders · 3 ok · 1 down · 1 warning');
    assert.strictEqual(renderStatus(run(member, health(2, 0)), home).text, '$(radio-tower) devproxy :8080 · joined ~/src/shop · 2 ok');
    const v = renderStatus(run(owner, health(3, 1, 1, 2)), home);
    assert.match(v.tooltip, /Route health: 3 ok, 1 down, 1 warning, 2 unknown \(of 7\)\./);
    assert.strictEqual(v.command, Commands.showStatusMenu);
    assert.strictEqual(v.backgroundColor, undefined, 'a route down is not the proxy failing');
    // Nothing probed yet: no summary.
    assert.strictEqual(renderStatus(run(owner, health(0, 0, 0, 3)), home).text, '$(radio-tower) devproxy :8080 · 3 folders');
    // No proxy here: no summary, whatever arrives.
    assert.strictEqual(renderStatus(run(idle, health(3, 1)), home).text, '$(new-file) devproxy: no route files');
  });

  it("shows a joined window with the owner's folder, home as ~", () => {
    const v = renderStatus(run(member), home);
    assert.strictEqual(v.text, '$(radio-tower) devproxy :8080 · joined ~/src/shop');
    assert.strictEqual(v.command, Commands.showStatusMenu);
    assert.strictEqual(v.backgroundColor, undefined);
    const serve = status({ state: 'joined', role: 'member', folders: [docs, blog], owner: { pid: 77, kind: 'serve', name: 'devproxy serve', root: '/srv/docs' } });
    const s = renderStatus(run(serve), home);
    assert.strictEqual(s.text, '$(radio-tower) devproxy :8080 · joined /srv/docs');
    assert.match(s.tooltip, /devproxy serve \(pid 77\) in \/srv\/docs holds/);
    const noOwner = renderStatus(run(status({ state: 'joined', folders: [shop] })), home);
    assert.strictEqual(noOwner.text, '$(radio-tower) devproxy :8080 · joined ~/src/shop', 'without owner, the first folder is the owner’s');
  });

  it('says "no route files" when idle; a click offers to create one first', () => {
    const v = renderStatus(run(idle), home);
    assert.strictEqual(v.text, '$(new-file) devproxy: no route files');
    assert.strictEqual(v.command, Commands.showStatusMenu);
    assert.strictEqual(v.backgroundColor, undefined);
    assert.match(v.tooltip, /no route files and no devproxy\.json/);
    assert.match(v.tooltip, /Click for the actions: Create a Route File, Restart Server, Show Output\.$/);
  });

  it('turns the warning colour on while a route file is stale, and names it in the tooltip', () => {
    const files: StatusEvent = { type: 'routeFiles', files: [file('shop/apps/shop.conf', { folder: 'shop', ok: false, stale: true, staleSince: '2024-05-02T14:02:11Z' })] };
    for (const s of [owner, member]) {
      const v = renderStatus(run(s, files), home);
      assert.strictEqual(v.backgroundColor, 'statusBarItem.warningBackground');
      assert.match(v.tooltip, /Stale: the proxy serves the last good version of shop\/apps\/shop\.conf; it no longer parses/);
      assert.strictEqual(v.text, renderStatus(run(s), home).text, 'the text stays');
    }
  });

  it('escapes Markdown in what the server sends', () => {
    const v = renderStatus(run(status({ state: 'joined', folders: [{ ...shop, label: 'my_shop', root: '/w/[x]' }], message: 'see *this*' })), home);
    assert.ok(v.tooltip.includes('my\\_shop — /w/\\[x\\]'), v.tooltip);
    assert.ok(v.tooltip.includes('see \\*this\\*'), v.tooltip);
  });

  it('shows a warning icon and the message when the port is held', () => {
    const message = '127.0.0.1:8080 is in use by another program; change devproxy.listen, or listen in devproxy.json';
    const v = renderStatus(run(status({ state: 'port-in-use', message })));
    assert.ok(v.text.startsWith('$(warning) devproxy: 127.0.0.1:8080 is in use'), v.text);
    assert.ok(v.text.length < 80, 'the status bar gets a short text');
    assert.ok(v.tooltip.includes(message), 'the tooltip has the whole message');
    assert.strictEqual(v.backgroundColor, 'statusBarItem.warningBackground');
    assert.strictEqual(v.command, Commands.showStatusMenu);
  });

  it('renders every state with a codicon', () => {
    const states: StatusState[] = [
      run(),
      run(owner),
      run(member),
      run(idle),
      run(status({ state: 'starting' })),
      run(status({ state: 'port-in-use', message: 'in use' })),
      run(status({ state: 'disabled' })),
      run(status({ state: 'error', message: 'listen tcp: bad address' })),
      run({ type: 'serverStopped' }),
      run({ type: 'serverStopped', failure: 'no binary' }),
    ];
    const texts = states.map((s) => renderStatus(s, home).text);
    for (const t of texts) {
      assert.match(t, /^\$\([a-z-~]+\) devproxy/);
    }
    // The server starting and the proxy starting look the same.
    assert.strictEqual(new Set(texts).size, texts.length - 1, 'each state looks different');
    assert.strictEqual(renderStatus(states[7]).backgroundColor, 'statusBarItem.errorBackground');
    assert.strictEqual(renderStatus(states[9]).backgroundColor, 'statusBarItem.errorBackground');
    assert.match(renderStatus(states[6]).tooltip, /devproxy\.proxy\.enabled/);
    for (const s of states) {
      assert.strictEqual(renderStatus(s).command, Commands.showStatusMenu, 'every click opens the actions');
    }
  });

  it('shortens long messages on one line', () => {
    assert.strictEqual(shorten('a  b\nc'), 'a b c');
    const s = shorten('x'.repeat(100), 20);
    assert.strictEqual(s.length, 20);
    assert.ok(s.endsWith('…'));
  });
});

describe('statusBar actions (a click on the item)', () => {
  const commands = (s: StatusState) => statusActions(s).map((a) => a.command);

  it('offers who serves, the dashboard, rescan, the environments, restart and output while a proxy runs or is joined', () => {
    for (const s of [run(owner), run(member)]) {
      assert.deepStrictEqual(commands(s), [Commands.showProxyOwner, Commands.openDashboard, Commands.rescanAll, Commands.switchEnvironment, Commands.restartServer, Commands.showOutput]);
    }
    const dash = statusActions(run(owner)).find((a) => a.command === Commands.openDashboard);
    assert.strictEqual(dash?.description, 'http://127.0.0.1:8080/devproxy/');
    assert.ok(statusActions(run(owner)).every((a) => /^\$\([a-z-]+\) /.test(a.label)), 'each with a codicon');
  });

  it('offers to create a route file first when idle, and no dashboard without a proxy', () => {
    assert.deepStrictEqual(commands(run(idle)), [Commands.createRouteFile, Commands.restartServer, Commands.showOutput]);
    assert.deepStrictEqual(commands(run(status({ state: 'disabled' }))), [Commands.switchEnvironment, Commands.restartServer, Commands.showOutput]);
  });

  it('offers "Switch Environment…" while the language server runs, with the active environment as its description', () => {
    const env = (s: StatusState, environment?: string) => statusActions(s, environment).find((a) => a.command === Commands.switchEnvironment);
    for (const s of [run(), run(owner), run(member), run(status({ state: 'disabled' })), run(status({ state: 'error', message: 'x' }))]) {
      assert.deepStrictEqual(env(s), { label: '$(server-environment) Switch Environment…', description: 'none', command: Commands.switchEnvironment }, s.kind);
      assert.strictEqual(env(s, 'staging')?.description, 'staging', s.kind);
    }
    assert.strictEqual(env(run({ type: 'serverStopped' }), 'staging'), undefined, 'not while the server is stopped');
    assert.strictEqual(env(run(idle)), undefined, 'idle: no devproxy.json, so no environments');
    assert.strictEqual(env(run(idle), 'staging')?.description, 'staging', 'idle with one set: offered, to leave it');
    assert.match(renderStatus(run(owner), home, 'staging').tooltip, /Click for the actions: .*Switch Environment…/);
  });

  it('puts the output first when the proxy or the server failed', () => {
    for (const s of [run(status({ state: 'error', message: 'x' })), run(status({ state: 'port-in-use', message: 'x' }))]) {
      assert.deepStrictEqual(commands(s), [Commands.showOutput, Commands.switchEnvironment, Commands.restartServer]);
    }
    assert.deepStrictEqual(commands(run({ type: 'serverStopped', failure: 'no binary' })), [Commands.showOutput, Commands.restartServer]);
    assert.deepStrictEqual(commands(run({ type: 'serverStopped' })), [Commands.restartServer, Commands.showOutput]);
  });

  it("finds the dashboard on the proxy's listener, loopback for a wildcard address", () => {
    assert.strictEqual(dashboardUrl('127.0.0.1:8080'), 'http://127.0.0.1:8080/devproxy/');
    assert.strictEqual(dashboardUrl(':9000'), 'http://127.0.0.1:9000/devproxy/');
    assert.strictEqual(dashboardUrl('0.0.0.0:9000'), 'http://127.0.0.1:9000/devproxy/');
    assert.strictEqual(dashboardUrl('[::]:9000'), 'http://[::1]:9000/devproxy/');
    assert.strictEqual(dashboardUrl(''), undefined);
  });
});
