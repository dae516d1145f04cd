// calliopeWebview.ts: the Calliope page's policy, its messages, and its
// script run against a small fake DOM with a hostile answer: every node it
// makes is an allowed element or text, and no string becomes markup.

import * as assert from 'assert';
import { calliopeHtml, contentSecurityPolicy, makeNonce, pageScript, parseWebviewMessage } from '../../src/calliopeWebview';
import { Conversation, emptyConversation, reduce, viewModel } from '../../src/calliopeConversation';

/** A DOM just big enough for the page's script, recording what it builds. */
class FakeNode {
  children: FakeNode[] = [];
  attributes: Record<string, string> = {};
  listeners: Record<string, ((e: unknown) => void)[]> = {};
  className = '';
  hidden = false;
  disabled = false;
  value = '';
  type = '';
  title = '';
  start = 1;
  scrollTop = 0;
  scrollHeight = 0;
  clientHeight = 0;
  private text = '';
  constructor(readonly tag: string) {}
  set textContent(v: string) {
    this.text = v;
    this.children = [];
  }
  get textContent(): string {
    return this.tag === '#text' ? this.text : this.text + this.children.map((c) => c.textContent).join('');
  }
  set innerHTML(_v: string) {
    throw new Error('innerHTML used');
  }
  appendChild(c: FakeNode) {
    this.children.push(c);
    return c;
  }
  replaceChildren(...c: FakeNode[]) {
    this.children = c;
  }
  setAttribute(k: string, v: string) {
    this.attributes[k] = v;
  }
  addEventListener(type: string, f: (e: unknown) => void) {
    (this.listeners[type] ??= []).push(f);
  }
  focus() {}
  setSelectionRange() {}
  all(): FakeNode[] {
    return [this, ...this.children.flatMap((c) => c.all())];
  }
}

function runPage(initialState?: unknown) {
  const ids = new Map(['log', 'empty', 'ask', 'question', 'send', 'stop', 'new'].map((id) => [id, new FakeNode(id)]));
  const posted: unknown[] = [];
  let state = initialState;
  const windowListeners: ((e: { data: unknown }) => void)[] = [];
  const document = {
    getElementById: (id: string) => ids.get(id),
    createElement: (tag: string) => new FakeNode(tag),
    createTextNode: (text: string) => {
      const n = new FakeNode('#text');
      n.textContent = text;
      return n;
    },
  };
  const api = { postMessage: (m: unknown) => posted.push(m), getState: () => state, setState: (s: unknown) => (state = s) };
  const window = { addEventListener: (_t: string, f: (e: { data: unknown }) => void) => windowListeners.push(f) };
  new Function('acquireVsCodeApi', 'document', 'window', pageScript)(() => api, document, window);
  return { ids, posted, state: () => state, post: (data: unknown) => windowListeners.forEach((f) => f({ data })) };
}

const allowedTags = new Set(['#text', 'section', 'div', 'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'pre', 'code', 'strong', 'em', 'blockquote', 'hr', 'span', 'button']);

describe('calliopeWebview.ts', () => {
  it('allows only its own nonce for script and style', () => {
    const csp = contentSecurityPolicy('https://x.vscode-cdn.net', 'abc123');
    assert.strictEqual(csp, "default-src 'none'; img-src https://x.vscode-cdn.net; font-src https://x.vscode-cdn.net; style-src https://x.vscode-cdn.net 'nonce-abc123'; script-src 'nonce-abc123'");
    const html = calliopeHtml('https://x.vscode-cdn.net', 'abc123');
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${csp.replace(/'/g, "'")}">`));
    assert.strictEqual((html.match(/<script nonce="abc123">/g) ?? []).length, 1);
    assert.strictEqual((html.match(/<script/g) ?? []).length, 1);
    assert.strictEqual((html.match(/<style nonce="abc123">/g) ?? []).length, 1);
    assert.ok(!/\son[a-z]+\s*=/i.test(html), 'no inline event handlers');
    assert.ok(!/style="/.test(html), 'no inline style attributes');
  });

  it('makes a 32-character alphanumeric nonce', () => {
    const n = makeNonce((k) => Uint8Array.from({ length: k }, (_, i) => i * 37));
    assert.match(n, /^[A-Za-z0-9]{32}$/);
  });

  it('never writes markup from strings: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval', () => {
    for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'setAttribute(\'on', 'srcdoc']) {
      assert.ok(!pageScript.includes(bad), bad);
    }
  });

  it('checks the messages of the page', () => {
    assert.deepStrictEqual(parseWebviewMessage({ type: 'send', text: 'hi' }), { type: 'send', text: 'hi' });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'previewFix', turn: 2, index: 0 }), { type: 'previewFix', turn: 2, index: 0 });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'copy', text: 'base: "/app/"' }), { type: 'copy', text: 'base: "/app/"' });
    for (const bad of [null, 'send', { type: 'send' }, { type: 'previewFix', turn: -1, index: 0 }, { type: 'previewFix', turn: '1', index: 0 }, { type: 'openLink', href: 1 }, { type: 'runCommand' }]) {
      assert.strictEqual(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });

  it('draws a hostile answer as text and allowed elements only, and posts ready', () => {
    let c: Conversation = emptyConversation();
    c = reduce(c, { type: 'ask', question: '<img src=x onerror=alert(1)>' });
    c = reduce(c, {
      type: 'result',
      turn: 1,
      result: {
        conversation: 'c1',
        text: '# <script>alert(1)</script>\n\n[click](javascript:alert(2)) [ok](https://example.com) <iframe srcdoc="x">\n\n```"><script>\n</code><script>alert(3)</script>\n```',
        sources: [{ file: 'docs/<b>.md', heading: '<i>h</i>' }],
        provider: '',
        offline: true,
        notes: ['<b>note</b>'],
        fixes: [{ title: '<b>fix</b>', pattern: 'p', edit: { changes: {} } }],
      },
    });
    const page = runPage();
    assert.deepStrictEqual(page.posted, [{ type: 'ready' }]);
    page.post({ type: 'state', view: viewModel(c) });
    const log = page.ids.get('log')!;
    const nodes = log.all().slice(1);
    for (const n of nodes) {
      assert.ok(allowedTags.has(n.tag), `made a <${n.tag}>`);
      assert.deepStrictEqual(Object.keys(n.attributes), [], 'sets no attributes');
    }
    const text = log.textContent;
    assert.ok(text.includes('<script>alert(1)</script>'), 'the heading shows the tag as text');
    assert.ok(text.includes('</code><script>alert(3)</script>'), 'the code block shows its text');
    assert.ok(text.includes('(javascript:alert(2))'), 'an unsafe link shows its URL as text');
    const buttons = nodes.filter((n) => n.tag === 'button');
    assert.deepStrictEqual(buttons.map((b) => b.textContent), ['ok', 'Copy', 'Preview fix: <b>fix</b>']);
    for (const b of buttons) {
      b.listeners.click[0]({});
    }
    assert.deepStrictEqual(page.posted.slice(1), [
      { type: 'openLink', href: 'https://example.com/' },
      { type: 'copy', text: '</code><script>alert(3)</script>' },
      { type: 'previewFix', turn: 1, index: 0 },
    ]);
    assert.ok(nodes.some((n) => n.className.includes('badge offline')));
    assert.strictEqual(page.ids.get('empty')!.hidden, true);
    assert.strictEqual((page.state() as { view: unknown }).view !== undefined, true, 'keeps its copy with setState');
  });

  it('sends on Enter, not on Shift+Enter, and shows Stop only while running', () => {
    const page = runPage();
    const input = page.ids.get('question')!;
    input.value = 'line one';
    const key = (shiftKey: boolean) => {
      let prevented = false;
      input.listeners.keydown[0]({ key: 'Enter', shiftKey, isComposing: false, preventDefault: () => (prevented = true) });
      return prevented;
    };
    assert.strictEqual(key(true), false);
    assert.strictEqual(page.posted.length, 1);
    assert.strictEqual(key(false), true);
    assert.deepStrictEqual(page.posted[1], { type: 'send', text: 'line one' });
    assert.strictEqual(input.value, '');
    page.post({ type: 'state', view: { turns: [], running: true } });
    assert.strictEqual(page.ids.get('stop')!.hidden, false);
    assert.strictEqual(page.ids.get('send')!.disabled, true);
    page.ids.get('stop')!.listeners.click[0]({});
    assert.deepStrictEqual(page.posted[2], { type: 'stop' });
  });

  it('redraws its saved copy at once when shown again, before the extension answers', () => {
    const page = runPage({ view: { running: false, turns: [{ id: 1, question: 'saved q', blocks: [], thinking: [], status: 'done', statusText: '', sources: [], providerText: '', offline: false, notes: [], fixes: [] }] }, draft: 'half typed' });
    assert.ok(page.ids.get('log')!.textContent.includes('saved q'));
    assert.strictEqual(page.ids.get('question')!.value, 'half typed');
  });
});
