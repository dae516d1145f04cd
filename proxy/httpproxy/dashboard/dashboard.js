// The dashboard's live part. The proxy renders the page with the route
// table; this script connects to /devproxy/ws (JSON-RPC 2.0, docs/lsp.md's
// methods), subscribes to the routes, health and metrics events and
// redraws the page from them, so that it never needs a reload. The tunnel's
// state (topic tunnel, devproxy/tunnel) is asked for apart: a hub that
// does not know it refuses both, and the tunnel line stays hidden. Everything
// shown is set as text (textContent), never as HTML: route files and
// upstreams are not trusted.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const state = { routes: null, health: null, traffic: null, tunnel: null };
  let ws = null;
  let nextId = 1;
  let retry = 500;
  const pending = new Map();

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c !== undefined && c !== null) e.append(c);
    }
    return e;
  }

  function setLive(text, on) {
    const live = $('live');
    if (!live) return;
    live.textContent = text;
    live.dataset.state = on ? 'live' : 'off';
  }

  function call(method, params) {
    return new Promise((resolve, reject) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        reject(new Error('not connected'));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: params || {} }));
    });
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    ws = new WebSocket(scheme + location.host + '/devproxy/ws');
    ws.onopen = async () => {
      retry = 500;
      setLive('live', true);
      try {
        await call('devproxy/subscribe', { topics: ['routes', 'health', 'metrics'] });
        state.routes = await call('devproxy/routes');
        state.health = await call('devproxy/health');
        try {
          state.traffic = await call('devproxy/traffic', { minutes: 30 });
        } catch (e) {
          state.traffic = null; // a proxy without analytics
        }
        render();
      } catch (e) {
        setLive('error: ' + e.message, false);
      }
      await followTunnel();
    };
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (m.id !== undefined && m.id !== null && pending.has(m.id)) {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p.reject(new Error(m.error.message));
        else p.resolve(m.result);
        return;
      }
      switch (m.method) {
        case 'devproxy/routesChanged':
          state.routes = m.params;
          break;
        case 'devproxy/healthChanged':
          state.health = m.params;
          break;
        case 'devproxy/trafficChanged':
          state.traffic = m.params;
          break;
        case 'devproxy/tunnelChanged':
          state.tunnel = m.params;
          renderTunnel();
          return;
        default:
          return;
      }
      render();
    };
    ws.onclose = () => {
      for (const p of pending.values()) p.reject(new Error('disconnected'));
      pending.clear();
      setLive('reconnecting…', false);
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  // followTunnel subscribes to the tunnel topic and reads its state. An
  // older hub refuses the unknown topic or method: the line stays hidden.
  async function followTunnel() {
    try {
      await call('devproxy/subscribe', { topics: ['tunnel'] });
      state.tunnel = await call('devproxy/tunnel');
    } catch (e) {
      state.tunnel = null;
    }
    renderTunnel();
  }

  const tunnelWords = { off: '○ off', starting: '◌ starting…', up: '● up', error: '✕ error' };

  // webLink is u when it is an http(s) URL (a link to click), else null.
  function webLink(u) {
    try {
      const url = new URL(u);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function renderTunnel() {
    const line = $('tunnel');
    if (!line) return;
    const t = state.tunnel;
    // body's data-tunnel says the state has been heard (tests wait on it).
    if (!t || typeof t !== 'object' || !tunnelWords[t.status]) {
      line.hidden = true;
      document.body.dataset.tunnel = 'unknown';
      return;
    }
    document.body.dataset.tunnel = t.status;
    const badge = $('tunnel-state');
    badge.dataset.status = t.status;
    badge.textContent = tunnelWords[t.status] + (t.provider ? ' (' + t.provider + ')' : '');
    const detail = [];
    const href = t.publicUrl ? webLink(t.publicUrl) : null;
    if (t.status === 'up' && href) detail.push(el('a', { href, rel: 'noreferrer' }, t.publicUrl));
    else if (t.publicUrl) detail.push(el('code', {}, t.publicUrl));
    if (t.status === 'error' && t.error) detail.push(el('span', { class: 'reason' }, t.error));
    const since = new Date(t.since);
    line.title = t.since && !isNaN(since) ? 'since ' + since.toLocaleString() : '';
    $('tunnel-detail').replaceChildren(...detail);
    line.hidden = false;
  }

  // Sign out (only on a page opened through the tunnel with a session):
  // the proxy ends the session and clears its cookie.
  function signOutButton() {
    const b = $('signout');
    if (!b) return;
    b.addEventListener('click', async () => {
      const message = $('signout-message');
      b.disabled = true;
      message.textContent = 'Signing out…';
      try {
        const res = await fetch('/devproxy/api/session', {
          method: 'DELETE',
          headers: { 'Content-Type': 'application/json' },
          credentials: 'same-origin',
        });
        if (res.ok) {
          location.assign('/devproxy/signin');
          return;
        }
        const body = await res.json().catch(() => ({}));
        message.textContent = 'Sign-out failed: ' + (body.message || 'HTTP ' + res.status);
      } catch (e) {
        message.textContent = 'Sign-out failed: ' + e.message;
      }
      b.disabled = false;
    });
  }

  const icons = { ok: '✓', warning: '▲', error: '✕', unknown: '?' };
  const words = { ok: 'ok', warning: 'warning', error: 'down', unknown: 'unknown' };

  function routeKey(r) {
    return r.file + ':' + r.line;
  }

  function identity(r) {
    return r.route || r.spec;
  }

  function label(r) {
    return (r.modifier ? r.modifier + ' ' : '') + r.spec;
  }

  function healthOf() {
    const byKey = new Map();
    for (const h of (state.health && state.health.routes) || []) byKey.set(h.file + ':' + h.line, h);
    return byKey;
  }

  function sparkline(points) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 120 24');
    svg.setAttribute('aria-hidden', 'true');
    const max = Math.max(1, ...points.map((p) => p.requests));
    const step = points.length > 1 ? 120 / (points.length - 1) : 120;
    const line = (get, cls) => {
      const pl = document.createElementNS(ns, 'polyline');
      pl.setAttribute('points', points.map((p, i) => (i * step).toFixed(1) + ',' + (23 - (get(p) / max) * 22).toFixed(1)).join(' '));
      if (cls) pl.setAttribute('class', cls);
      svg.append(pl);
    };
    line((p) => p.requests);
    if (points.some((p) => p.errors > 0)) line((p) => p.errors, 'err');
    return svg;
  }

  function trafficCell(r) {
    const t = state.traffic && state.traffic.routes ? state.traffic.routes[identity(r)] : null;
    if (!t || !t.length) return el('span', { class: 'muted' }, 'no requests');
    const total = t.reduce((n, p) => n + p.requests, 0);
    const errors = t.reduce((n, p) => n + p.errors, 0);
    const text = total + ' req' + (errors ? ' · ' + errors + ' failed' : '');
    const cell = el('span', {}, sparkline(t), el('span', { class: 'muted' }, text));
    cell.setAttribute('title', text + ' in the last ' + Math.round((t.length * (state.traffic.resolutionSeconds || 60)) / 60) + ' minutes');
    return cell;
  }

  function healthCell(h) {
    const status = h ? h.status : 'unknown';
    const cell = el('span', { class: 'health', 'data-status': status }, icons[status] + ' ' + words[status]);
    if (h && h.reason) cell.append(el('span', { class: 'reason' }, h.reason));
    return cell;
  }

  function rescanButton(r) {
    const b = el('button', { type: 'button', 'aria-label': 'Rescan ' + label(r) }, 'Rescan');
    b.addEventListener('click', async () => {
      b.disabled = true;
      b.textContent = 'Scanning…';
      try {
        state.health = await call('devproxy/rescan', { route: identity(r) });
        render();
      } catch (e) {
        b.textContent = 'Failed: ' + e.message;
        return;
      }
      b.disabled = false;
      b.textContent = 'Rescan';
    });
    return b;
  }

  function render() {
    if (!state.routes) return;
    const doc = state.routes;
    const health = healthOf();
    const active = doc.routes.filter((r) => r.active);
    active.sort((a, b) => (a.spec < b.spec ? -1 : a.spec > b.spec ? 1 : 0));
    const body = $('routes-body');
    const rows = active.map((r) => {
      const h = health.get(routeKey(r));
      const linkable = (r.modifier === '' || r.modifier === '^~' || r.modifier === '=') && r.spec.startsWith('/');
      const where = el('code', {}, r.file + ':' + r.line);
      const conflict = r.conflict ? (doc.conflicts || []).find((c) => c.route === r.conflict) : null;
      return el('tr', { 'data-key': routeKey(r), 'data-route': identity(r) },
        el('td', { 'data-label': 'Health' }, healthCell(h)),
        el('td', { 'data-label': 'Location' }, linkable ? el('a', { href: r.spec }, label(r)) : el('code', {}, label(r))),
        el('td', { 'data-label': 'Upstream' }, el('code', {}, r.upstream || '(answers itself)')),
        el('td', { 'data-label': 'Latency' }, h && h.status !== 'unknown' ? h.latencyMs.toFixed(1) + ' ms' : '–'),
        el('td', { 'data-label': 'Traffic' }, trafficCell(r)),
        el('td', { 'data-label': 'Route file' }, where, conflict ? el('span', { class: 'muted' }, ' wins ' + conflict.route + ' (' + conflict.reason + ')') : null),
        el('td', {}, rescanButton(r)));
    });
    body.replaceChildren(...rows);

    const sum = state.health ? state.health.summary : null;
    if (sum) {
      const parts = [];
      if (sum.ok) parts.push(sum.ok + ' ok');
      if (sum.error) parts.push(sum.error + ' down');
      if (sum.warning) parts.push(sum.warning + ' warning' + (sum.warning > 1 ? 's' : ''));
      const unknown = sum.unknown - doc.routes.filter((r) => !r.active).length;
      if (unknown > 0) parts.push(unknown + ' not checked yet');
      $('summary').textContent = parts.join(' · ') || 'no routes';
    }

    const conflicts = $('conflicts');
    conflicts.replaceChildren(...(doc.conflicts || []).map((c) =>
      el('li', {}, el('code', {}, c.route), ': ', el('code', {}, c.winner), ' wins (' + c.reason + '); claimed by ' + c.files.join(', '))));
    conflicts.parentElement.hidden = !(doc.conflicts || []).length;

    const problems = (doc.problems || []).filter((p) => p.severity === 'error' || p.code === 'stale');
    const broken = $('broken');
    broken.replaceChildren(...problems.map((p) =>
      el('li', {}, el('code', {}, p.file + ':' + p.line), ' ' + p.message)));
    broken.parentElement.hidden = !problems.length;

    const inactive = doc.routes.filter((r) => !r.active);
    $('inactive').replaceChildren(...inactive.map((r) =>
      el('li', {}, el('code', {}, label(r)), ' in ', el('code', {}, r.file + ':' + r.line), ': ' + (r.inactiveReason || ''))));
    $('inactive').parentElement.hidden = !inactive.length;
    $('counts').textContent = active.length + ' active routes from ' + doc.files.length + ' route files';
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  }

  signOutButton();
  if ('WebSocket' in window) connect();
})();
