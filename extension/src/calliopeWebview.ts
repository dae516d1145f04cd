// The Calliope view's page: its HTML, style and script, and the messages
// between it and the extension. The page is a view of state the extension
// owns (calliopeConversation.ts; house style, habit 11): it says `ready`,
// then draws every `state` it is sent; it keeps its own copy with
// vscode.setState so it redraws at once when it is shown again.
//
// Safety: the Content-Security-Policy allows nothing but this page's one
// nonce'd script and style (default-src 'none'), and the script builds
// every node with createElement and textContent from the text-only tree of
// markdown.ts: no innerHTML, no inline event handlers. A link is a button
// that asks the extension to open its http(s) URL, which asks the user
// first. The script is kept as text here (it runs in the webview, not in
// Node), so it ships inside the extension's one bundle.
//
// What tests (and the e2e) find on the page: #question (the textarea),
// #send, #stop (shown only while an answer runs), #new, #log with one
// section.turn per turn holding .question, .thinking lines, .answer,
// .status (stopped, failed), .badge.offline or .provider, .notes,
// .sources and .fixes buttons ("Preview fix: …", "Show app change: …").
//
// Pure (no vscode import): unit tests hold the policy and the messages.

/** Messages from the page to the extension. */
export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'newConversation' }
  | { type: 'openLink'; href: string }
  /** A code block's Copy button: the extension writes the text to the clipboard. */
  | { type: 'copy'; text: string }
  | { type: 'previewFix'; turn: number; index: number }
  | { type: 'showAppChange'; turn: number; index: number };

/** A message from the page, checked: the page runs model output, so its messages are input too. */
export function parseWebviewMessage(raw: unknown): WebviewMessage | undefined {
  if (!raw || typeof raw !== 'object') {
    return undefined;
  }
  const m = raw as Record<string, unknown>;
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  switch (m.type) {
    case 'ready':
    case 'stop':
    case 'newConversation':
      return { type: m.type };
    case 'send':
      return typeof m.text === 'string' ? { type: 'send', text: m.text } : undefined;
    case 'openLink':
      return typeof m.href === 'string' ? { type: 'openLink', href: m.href } : undefined;
    case 'copy':
      return typeof m.text === 'string' ? { type: 'copy', text: m.text } : undefined;
    case 'previewFix':
    case 'showAppChange':
      return count(m.turn) && count(m.index) ? { type: m.type, turn: m.turn, index: m.index } : undefined;
    default:
      return undefined;
  }
}

/** A nonce for the page's script and style: 32 characters of [A-Za-z0-9]. */
export function makeNonce(random: (n: number) => Uint8Array): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(random(32), (b) => chars[b % chars.length]).join('');
}

/** The page's Content-Security-Policy. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [`default-src 'none'`, `img-src ${cspSource}`, `font-src ${cspSource}`, `style-src ${cspSource} 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`].join('; ');
}

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The page. Only the nonce and the policy are interpolated; nothing from the server or the model is. */
export function calliopeHtml(cspSource: string, nonce: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Calliope</title>
<style nonce="${attr(nonce)}">${pageStyle}</style>
</head>
<body>
<main id="log" aria-live="polite" aria-label="Conversation with Calliope"></main>
<p id="empty" class="empty">Ask Calliope why a route fails, how to serve an app under a path prefix, or what a directive does. It answers from your route table, the proxy's health and the docs, with a model when one is configured (Ollama, or OpenAI with a key), and offline otherwise.</p>
<form id="ask">
<textarea id="question" rows="3" placeholder="Ask Calliope… (Enter sends, Shift+Enter starts a new line)" aria-label="Question for Calliope"></textarea>
<div class="actions">
<button type="submit" id="send">Send</button>
<button type="button" id="stop" class="secondary" hidden>Stop</button>
<button type="button" id="new" class="secondary" title="Start a new conversation">New conversation</button>
</div>
</form>
<script nonce="${attr(nonce)}">${pageScript}</script>
</body>
</html>`;
}

export const pageStyle = `
body { padding: 0 8px; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); display: flex; flex-direction: column; height: 100vh; box-sizing: border-box; margin: 0; }
#log { flex: 1; overflow-y: auto; padding-top: 6px; }
.empty { color: var(--vscode-descriptionForeground); }
.turn { border-bottom: 1px solid var(--vscode-panel-border, transparent); padding: 6px 0 10px; }
.question { white-space: pre-wrap; font-weight: 600; margin: 4px 0; padding: 4px 8px; border-left: 2px solid var(--vscode-focusBorder); background: var(--vscode-input-background); }
.thinking { color: var(--vscode-descriptionForeground); font-style: italic; margin: 2px 0; }
.answer p, .answer li { line-height: 1.45; }
.answer h1, .answer h2, .answer h3, .answer h4, .answer h5, .answer h6 { font-size: 1.05em; margin: 10px 0 4px; }
.answer pre { background: var(--vscode-textCodeBlock-background); padding: 6px 8px; overflow-x: auto; border-radius: 3px; }
.answer code { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
.answer :not(pre) > code { background: var(--vscode-textCodeBlock-background); padding: 0 3px; border-radius: 3px; }
.answer blockquote { margin: 4px 0; padding-left: 8px; border-left: 3px solid var(--vscode-textBlockQuote-border); color: var(--vscode-textBlockQuote-foreground, inherit); }
.link { background: none; border: none; padding: 0; color: var(--vscode-textLink-foreground); cursor: pointer; font: inherit; text-decoration: underline; }
.link:hover { color: var(--vscode-textLink-activeForeground); }
.url, .muted { color: var(--vscode-descriptionForeground); }
.status { color: var(--vscode-descriptionForeground); font-style: italic; }
.status.failed { color: var(--vscode-errorForeground); font-style: normal; }
.badge { display: inline-block; margin: 4px 0; padding: 1px 6px; border-radius: 3px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
.provider { color: var(--vscode-descriptionForeground); margin: 4px 0; }
.notes { color: var(--vscode-editorWarning-foreground, var(--vscode-descriptionForeground)); margin: 4px 0; padding-left: 18px; }
.sources { margin: 4px 0; color: var(--vscode-descriptionForeground); }
.sources ul { margin: 2px 0; padding-left: 18px; }
.code-block { position: relative; }
.code-block .copy { position: absolute; top: 4px; right: 4px; padding: 0 6px; font-size: 0.9em; opacity: 0.8; }
.fixes { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
form { padding: 6px 0 8px; border-top: 1px solid var(--vscode-panel-border, transparent); }
textarea { width: 100%; box-sizing: border-box; resize: vertical; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); font-family: inherit; font-size: inherit; padding: 4px 6px; }
textarea:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.actions { display: flex; gap: 6px; margin-top: 4px; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); padding: 3px 10px; cursor: pointer; font-family: inherit; }
button:hover { background: var(--vscode-button-hoverBackground); }
button:disabled { opacity: 0.5; cursor: default; }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button.secondary:hover { background: var(--vscode-button-secondaryHoverBackground); }
button.link { color: var(--vscode-textLink-foreground); background: none; border: none; padding: 0; }
[hidden] { display: none !important; }
`;

/**
 * The page's script. Plain ES2020 for the webview; no backticks or
 * template substitutions inside, as it lives in a template literal.
 */
export const pageScript = `
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const log = document.getElementById('log');
  const empty = document.getElementById('empty');
  const form = document.getElementById('ask');
  const input = document.getElementById('question');
  const send = document.getElementById('send');
  const stop = document.getElementById('stop');
  const fresh = document.getElementById('new');
  const saved = vscode.getState() || {};
  let view = saved.view || { turns: [], running: false };
  input.value = typeof saved.draft === 'string' ? saved.draft : '';

  function save() {
    vscode.setState({ view: view, draft: input.value });
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function textOf(nodes) {
    return nodes.map(function (n) { return n.type === 'text' || n.type === 'code' ? n.text : textOf(n.children || []); }).join('');
  }

  function inlines(parent, nodes) {
    for (const n of nodes || []) {
      if (n.type === 'text') {
        parent.appendChild(document.createTextNode(String(n.text)));
      } else if (n.type === 'code') {
        parent.appendChild(el('code', '', String(n.text)));
      } else if (n.type === 'strong' || n.type === 'em') {
        const e = el(n.type === 'strong' ? 'strong' : 'em');
        inlines(e, n.children);
        parent.appendChild(e);
      } else if (n.type === 'link') {
        let label;
        if (typeof n.href === 'string') {
          label = el('button', 'link');
          label.type = 'button';
          label.title = 'Open ' + n.href;
          const href = n.href;
          label.addEventListener('click', function () { vscode.postMessage({ type: 'openLink', href: href }); });
        } else {
          label = el('span', 'link-text');
        }
        inlines(label, n.children);
        parent.appendChild(label);
        if (textOf(n.children || []) !== n.url) {
          parent.appendChild(el('span', 'url', ' (' + String(n.url) + ')'));
        }
      }
    }
  }

  function blocks(parent, list) {
    for (const b of list || []) {
      if (b.type === 'paragraph') {
        const p = el('p');
        inlines(p, b.children);
        parent.appendChild(p);
      } else if (b.type === 'heading') {
        const level = Math.min(6, Math.max(1, Number(b.level) || 1));
        const h = el('h' + level);
        inlines(h, b.children);
        parent.appendChild(h);
      } else if (b.type === 'list') {
        const l = el(b.ordered ? 'ol' : 'ul');
        if (b.ordered && Number(b.start) > 1) { l.start = Number(b.start); }
        for (const item of b.items || []) {
          const li = el('li');
          inlines(li, item);
          l.appendChild(li);
        }
        parent.appendChild(l);
      } else if (b.type === 'code') {
        const box = el('div', 'code-block');
        const copy = el('button', 'copy secondary', 'Copy');
        copy.type = 'button';
        copy.title = 'Copy the code';
        const source = String(b.text);
        copy.addEventListener('click', function () { vscode.postMessage({ type: 'copy', text: source }); });
        const pre = el('pre');
        const code = el('code', /^[a-z0-9_+#.-]+$/.test(b.lang || '') ? 'language-' + b.lang : '', source);
        pre.appendChild(code);
        box.appendChild(copy);
        box.appendChild(pre);
        parent.appendChild(box);
      } else if (b.type === 'quote') {
        const q = el('blockquote');
        blocks(q, b.children);
        parent.appendChild(q);
      } else if (b.type === 'rule') {
        parent.appendChild(el('hr'));
      }
    }
  }

  function turnNode(t) {
    const s = el('section', 'turn');
    s.appendChild(el('div', 'question', t.question));
    for (const line of t.thinking || []) {
      s.appendChild(el('div', 'thinking', line));
    }
    const answer = el('div', 'answer');
    blocks(answer, t.blocks);
    if (t.status === 'asking' && (!t.blocks || t.blocks.length === 0) && (!t.thinking || t.thinking.length === 0)) {
      answer.appendChild(el('p', 'muted', 'Calliope is thinking…'));
    }
    s.appendChild(answer);
    if (t.statusText) {
      s.appendChild(el('div', 'status ' + t.status, t.statusText));
    }
    if (t.offline) {
      s.appendChild(el('div', 'badge offline', t.providerText));
    } else if (t.providerText) {
      s.appendChild(el('div', 'provider', t.providerText));
    }
    if (t.notes && t.notes.length) {
      const ul = el('ul', 'notes');
      for (const n of t.notes) { ul.appendChild(el('li', '', n)); }
      s.appendChild(ul);
    }
    if (t.sources && t.sources.length) {
      const box = el('div', 'sources', 'Sources');
      const ul = el('ul');
      for (const src of t.sources) { ul.appendChild(el('li', '', src.heading ? src.file + ' — ' + src.heading : src.file)); }
      box.appendChild(ul);
      s.appendChild(box);
    }
    if (t.fixes && t.fixes.length) {
      const box = el('div', 'fixes');
      for (const f of t.fixes) {
        if (f.edit) {
          const b = el('button', '', 'Preview fix: ' + f.title);
          b.type = 'button';
          b.title = 'Opens the edit in the refactor preview; nothing is written before you apply it. Pattern: ' + f.pattern;
          b.addEventListener('click', function () { vscode.postMessage({ type: 'previewFix', turn: t.id, index: f.index }); });
          box.appendChild(b);
        }
        if (f.appChange) {
          const b = el('button', 'secondary', 'Show app change: ' + f.title);
          b.type = 'button';
          b.title = 'The change to make in your app. Pattern: ' + f.pattern;
          b.addEventListener('click', function () { vscode.postMessage({ type: 'showAppChange', turn: t.id, index: f.index }); });
          box.appendChild(b);
        }
      }
      s.appendChild(box);
    }
    return s;
  }

  function render() {
    const pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const nodes = (view.turns || []).map(turnNode);
    log.replaceChildren.apply(log, nodes);
    empty.hidden = nodes.length > 0;
    send.disabled = !!view.running;
    stop.hidden = !view.running;
    if (pinned) { log.scrollTop = log.scrollHeight; }
  }

  function submit() {
    const text = input.value.trim();
    if (!text || view.running) { return; }
    vscode.postMessage({ type: 'send', text: text });
    input.value = '';
    save();
  }

  form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', save);
  stop.addEventListener('click', function () { vscode.postMessage({ type: 'stop' }); });
  fresh.addEventListener('click', function () { vscode.postMessage({ type: 'newConversation' }); });

  window.addEventListener('message', function (e) {
    const m = e.data;
    if (!m || typeof m !== 'object') { return; }
    if (m.type === 'state' && m.view) {
      view = m.view;
      render();
      save();
    } else if (m.type === 'draft' && typeof m.text === 'string') {
      input.value = m.text;
      save();
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    } else if (m.type === 'focus') {
      input.focus();
    }
  });

  render();
  vscode.postMessage({ type: 'ready' });
})();
`;

/** Messages from the extension to the page. */
export type HostMessage = { type: 'state'; view: unknown } | { type: 'draft'; text: string } | { type: 'focus' };
