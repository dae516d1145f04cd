import * as assert from 'assert';
import { Commands, TunnelState, TunnelStatuses } from '../../src/contract';
import { checkPublicUrl, isTunnelState, nextTunnel, renderTunnel, tunnelHost, tunnelRouteUrl, tunnelStartChoices, tunnelUnknown, upUrl } from '../../src/tunnelModel';

const up: TunnelState = { provider: 'ngrok', publicUrl: 'https://abc.ngrok.app', status: 'up', since: '2026-11-29T15:20:00.5Z' };
const starting: TunnelState = { provider: 'ngrok', status: 'starting', since: '2026-11-29T15:19:59Z' };
const off: TunnelState = { provider: '', status: 'off', since: '2026-11-29T15:21:00Z' };

describe('tunnelModel.nextTunnel', () => {
  it('takes every push, even one older than what is shown (a new owner of the port)', () => {
    let s = nextTunnel(tunnelUnknown, { type: 'pushed', state: up });
    assert.deepStrictEqual(s, up);
    s = nextTunnel(s, { type: 'pushed', state: starting });
    assert.strictEqual(s.status, 'starting');
  });

  it('drops an answer older than what is shown: "starting" answered after "up" was pushed', () => {
    const shown = nextTunnel(tunnelUnknown, { type: 'pushed', state: up });
    assert.strictEqual(nextTunnel(shown, { type: 'answered', state: starting }), shown);
    // Not older: taken (the same instant, or newer).
    assert.strictEqual(nextTunnel(shown, { type: 'answered', state: { ...up, publicUrl: 'https://def.ngrok.app' } }).publicUrl, 'https://def.ngrok.app');
    assert.deepStrictEqual(nextTunnel(shown, { type: 'answered', state: off }), off);
  });

  it('takes any answer when nothing is known, and forgets everything on reset', () => {
    assert.deepStrictEqual(nextTunnel(tunnelUnknown, { type: 'answered', state: starting }), starting);
    assert.strictEqual(nextTunnel(up, { type: 'reset' }), tunnelUnknown);
    // An answer without a readable since is not held back either.
    assert.strictEqual(nextTunnel(up, { type: 'answered', state: { ...off, since: 'soon' } }).status, 'off');
  });

  it('shows an unknown status from a newer server as an error, and drops empty fields', () => {
    const s = nextTunnel(tunnelUnknown, { type: 'pushed', state: { provider: 'ngrok', status: 'paused', since: up.since } as unknown as TunnelState });
    assert.strictEqual(s.status, 'error');
    assert.match(s.error!, /paused/);
    assert.deepStrictEqual(nextTunnel(tunnelUnknown, { type: 'pushed', state: { ...off, publicUrl: '', error: '' } }), off);
  });

  it('recognises a TunnelState', () => {
    assert.ok(isTunnelState(up));
    assert.ok(isTunnelState({ status: 'off' }));
    assert.ok(!isTunnelState(null));
    assert.ok(!isTunnelState({ state: 'up' }));
    assert.ok(!isTunnelState({ status: 'up', publicUrl: 3 }));
  });
});

describe('tunnelModel.renderTunnel', () => {
  it('is hidden while off without an error, and before anything is known', () => {
    assert.strictEqual(renderTunnel(off).visible, false);
    assert.strictEqual(renderTunnel(tunnelUnknown).visible, false);
  });

  it('shows the host while up; a click copies the URL; the accessible name has the whole URL', () => {
    const v = renderTunnel(up);
    assert.strictEqual(v.visible, true);
    assert.strictEqual(v.text, '$(globe) abc.ngrok.app');
    assert.strictEqual(v.command, Commands.copyTunnelUrl);
    assert.strictEqual(v.label, 'Tunnel up: https://abc.ngrok.app');
    assert.match(v.tooltip, /https:\/\/abc\.ngrok\.app/);
    assert.match(v.tooltip, /Click to copy/);
    assert.match(v.tooltip, /\(ngrok\)/);
    assert.strictEqual(v.backgroundColor, undefined);
  });

  it('spins while starting, with what it waits for in the tooltip', () => {
    const v = renderTunnel(starting);
    assert.strictEqual(v.text, '$(sync~spin) tunnel…');
    assert.strictEqual(v.visible, true);
    assert.strictEqual(v.backgroundColor, undefined);
    const waiting = renderTunnel({ ...starting, error: 'the ngrok agent at http://127.0.0.1:4040 has no tunnel to 127.0.0.1:8081 yet' });
    assert.strictEqual(waiting.text, '$(sync~spin) tunnel…', 'not a failure');
    assert.match(waiting.tooltip, /has no tunnel to 127\.0\.0\.1:8081 yet/);
  });

  it('warns with the error in the tooltip (escaped) when it failed; a click starts a tunnel', () => {
    const v = renderTunnel({ provider: 'cloudflared', status: 'error', error: 'cloudflared: *not* found', since: off.since });
    assert.strictEqual(v.text, '$(warning) tunnel');
    assert.strictEqual(v.command, Commands.startTunnel);
    assert.strictEqual(v.backgroundColor, 'statusBarItem.warningBackground');
    assert.match(v.tooltip, /cloudflared: \\\*not\\\* found/);
    assert.match(v.label, /Tunnel failed: cloudflared: \*not\* found/);
    // Off after a failure shows it too.
    assert.strictEqual(renderTunnel({ ...off, error: 'no ngrok agent' }).text, '$(warning) tunnel');
  });

  it('renders every status with a codicon, or hides it', () => {
    for (const status of TunnelStatuses) {
      const v = renderTunnel({ provider: 'ngrok', status, publicUrl: status === 'up' ? up.publicUrl : undefined, since: up.since });
      assert.ok(!v.visible || /^\$\([a-z~-]+\) /.test(v.text), `${status}: ${v.text}`);
    }
  });

  it('does not call a tunnel up without a public URL', () => {
    assert.strictEqual(upUrl({ ...up, publicUrl: undefined }), undefined);
    assert.strictEqual(upUrl(up), 'https://abc.ngrok.app');
    assert.strictEqual(upUrl({ ...up, status: 'starting' }), undefined);
  });

  it('shortens a URL to its host, with a port that is not the default', () => {
    assert.strictEqual(tunnelHost('https://abc.ngrok.app/'), 'abc.ngrok.app');
    assert.strictEqual(tunnelHost('http://tunnel.example.com:8443'), 'tunnel.example.com:8443');
    assert.strictEqual(tunnelHost('not a url'), 'not a url');
  });
});

describe('tunnelModel.checkPublicUrl', () => {
  it('takes an http(s) scheme and host, with a port, and gives the origin', () => {
    assert.deepStrictEqual(checkPublicUrl('https://abc.ngrok.app'), { url: 'https://abc.ngrok.app' });
    assert.deepStrictEqual(checkPublicUrl('  https://abc.ngrok.app/  '), { url: 'https://abc.ngrok.app' });
    assert.deepStrictEqual(checkPublicUrl('http://tunnel.example.com:8443'), { url: 'http://tunnel.example.com:8443' });
    assert.deepStrictEqual(checkPublicUrl('HTTPS://ABC.Example.COM'), { url: 'https://abc.example.com' });
  });

  it('refuses anything else, saying why', () => {
    const refused: [string, RegExp][] = [
      ['', /Enter the public URL/],
      ['abc.ngrok.app', /Not a URL/],
      ['ftp://abc.ngrok.app', /https:\/\/ or http:\/\/, not ftp:/],
      ['javascript:alert(1)', /not javascript:/],
      ['https://abc.ngrok.app/app/', /without a path/],
      ['https://abc.ngrok.app?x=1', /without a path, query or fragment/],
      ['https://abc.ngrok.app/#', /fragment/],
      ['https://me:pw@abc.ngrok.app', /No user name or password/],
      ['https://', /Not a URL/],
    ];
    for (const [input, why] of refused) {
      const r = checkPublicUrl(input);
      assert.ok('error' in r, `${input} is refused`);
      assert.match(r.error, why, input);
    }
  });
});

describe('tunnelModel.tunnelRouteUrl', () => {
  it("joins the public URL and the route's path with one slash", () => {
    const route = { url: 'http://127.0.0.1:8080/app/', route: '/app/' };
    assert.strictEqual(tunnelRouteUrl('https://abc.ngrok.app', route), 'https://abc.ngrok.app/app/');
    assert.strictEqual(tunnelRouteUrl('https://abc.ngrok.app/', route), 'https://abc.ngrok.app/app/');
    assert.strictEqual(tunnelRouteUrl('https://abc.ngrok.app//', route), 'https://abc.ngrok.app/app/');
  });

  it("keeps the local URL's path as written, with its query, and not its origin", () => {
    assert.strictEqual(tunnelRouteUrl('https://abc.ngrok.app', { url: 'http://127.0.0.1:8080/api/x?y=1', route: '/api/' }), 'https://abc.ngrok.app/api/x?y=1');
    assert.strictEqual(tunnelRouteUrl('https://abc.ngrok.app', { url: 'http://127.0.0.1:8080/', route: '/' }), 'https://abc.ngrok.app/');
    assert.strictEqual(tunnelRouteUrl('https://abc.ngrok.app', { url: 'http://127.0.0.1:8080/caf%C3%A9/', route: '/café/' }), 'https://abc.ngrok.app/caf%C3%A9/');
  });

  it('falls back to the route, and gives nothing without a path', () => {
    assert.strictEqual(tunnelRouteUrl('https://abc.ngrok.app', { url: null, route: '/web/' }), 'https://abc.ngrok.app/web/');
    assert.strictEqual(tunnelRouteUrl('https://abc.ngrok.app', { url: null, route: null }), undefined);
    assert.strictEqual(tunnelRouteUrl('', { url: 'http://127.0.0.1:8080/app/', route: '/app/' }), undefined);
  });
});

describe('tunnelModel.tunnelStartChoices', () => {
  it('offers auto, ngrok, cloudflared and a typed URL, in that order', () => {
    assert.deepStrictEqual(
      tunnelStartChoices.map((c) => c.provider),
      ['auto', 'ngrok', 'cloudflared', 'manual'],
    );
    assert.strictEqual(tunnelStartChoices[0].label, 'Auto');
    assert.match(tunnelStartChoices[0].description, /running ngrok agent/);
    assert.strictEqual(tunnelStartChoices[3].label, 'Enter public URL…');
  });
});
