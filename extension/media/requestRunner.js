// The script of the request runner (requestRunner.ts): the form sends
// {type: 'send', request} to the extension, which sends the request with
// Node's http and answers {type: 'response'} or {type: 'error'}; the
// history comes as {type: 'history'} and a click on an entry loads it
// ({type: 'load', index}, answered with {type: 'request'}). Everything the
// extension sends is put in the page as text, never as HTML.
(function () {
  const vscode = acquireVsCodeApi();
  const $ = (id) => document.getElementById(id);
  const form = { method: $('method'), path: $('path'), headers: $('headers'), body: $('body') };
  const send = () => {
    $('send').disabled = true;
    $('state').textContent = 'Sending…';
    vscode.postMessage({
      type: 'send',
      request: { method: form.method.value, path: form.path.value, headers: form.headers.value, body: form.body.value },
    });
  };
  $('send').addEventListener('click', send);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send();
  });
  const text = (tag, value, cls) => {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  };
  window.addEventListener('message', (e) => {
    const m = e.data;
    if (!m || typeof m !== 'object') return;
    if (m.type === 'request') {
      form.method.value = m.request.method;
      form.path.value = m.request.path;
      form.headers.value = m.request.headers;
      form.body.value = m.request.body;
      $('title').textContent = m.title || '';
    } else if (m.type === 'response') {
      const r = m.response;
      $('send').disabled = false;
      $('state').textContent = '';
      $('response').hidden = false;
      $('error').hidden = true;
      $('status').textContent = `${r.status} ${r.statusText}`;
      $('status').className = r.status >= 500 ? 'bad' : r.status >= 400 ? 'warn' : 'good';
      $('time').textContent = `${r.ms} ms`;
      // The location that answered, "apps/a.conf:3 /api/": its file:line opens the file there.
      const loc = $('location');
      loc.replaceChildren();
      const t = m.location; // {file, line}, read by the extension (requestModel.ts locationTarget)
      const prefix = t ? `${t.file}:${t.line}` : '';
      if (t && r.location.startsWith(prefix)) {
        const a = text('a', prefix);
        a.href = '#';
        a.id = 'location-link';
        a.addEventListener('click', (e) => {
          e.preventDefault();
          vscode.postMessage({ type: 'open', file: t.file, line: t.line });
        });
        loc.append(a, document.createTextNode(r.location.slice(prefix.length)));
      } else {
        loc.textContent = r.location;
      }
      const table = $('response-headers');
      table.replaceChildren();
      for (const [n, v] of r.headers) {
        const tr = document.createElement('tr');
        tr.append(text('th', n), text('td', v));
        table.append(tr);
      }
      $('response-body').textContent = r.body + (r.truncated ? '\n… (cut)' : '');
    } else if (m.type === 'error') {
      $('send').disabled = false;
      $('state').textContent = '';
      $('error').hidden = false;
      $('error').textContent = m.message;
    } else if (m.type === 'history') {
      const list = $('history');
      list.replaceChildren();
      m.entries.forEach((h, i) => {
        const li = document.createElement('li');
        const a = text('a', `${h.method} ${h.path}`);
        a.href = '#';
        a.addEventListener('click', (e) => {
          e.preventDefault();
          vscode.postMessage({ type: 'load', index: i });
        });
        li.append(a);
        if (h.status !== undefined) li.append(text('span', ` ${h.status} · ${h.ms} ms`, 'muted'));
        list.append(li);
      });
      $('history-empty').hidden = m.entries.length > 0;
    }
  });
  vscode.postMessage({ type: 'ready' });
})();
