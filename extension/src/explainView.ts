// The page of "Explain a Request…": devproxy/explain's document
// (schemas/explain.schema.json) as a person reads it: the request, the
// decision step by step, the answer, and what the upstream receives. Pure:
// explainPanel.ts puts it in a webview.
//
// Safety: the Content-Security-Policy is default-src 'none' with one nonce'd
// style and one script file of the extension (extension/media/explain.js,
// no inline script); every string from the server or a route file is
// escaped. The script only posts {type: 'open', file, line} when a
// `file:line` link is clicked; the extension opens only files of the route
// table.

import { ExplainParams } from './contract';
import { escapeHtml, scriptPagePolicy } from './html';

/** schemas/explain.schema.json: the `devproxy explain` document. */
export interface ExplainDocument {
  path: string;
  matched: boolean;
  location: { file: string; line: number; modifier: string; spec: string } | null;
  trace: string[];
  action: 'proxy' | 'return' | 'redirect' | 'reserved' | 'none' | 'error';
  status: number;
  response_headers: Record<string, string>;
  body: string;
  upstream?: string;
  upstream_uri?: string;
  upstream_headers?: Record<string, string>;
}

/** Whether an answer of devproxy/explain has the document's shape. */
export function isExplainDocument(v: unknown): v is ExplainDocument {
  const d = v as ExplainDocument;
  return typeof v === 'object' && v !== null && typeof d.path === 'string' && typeof d.matched === 'boolean' && Array.isArray(d.trace) && typeof d.action === 'string';
}

/** A `file:line` in a trace step: a relative path ending in .conf, then a line number. */
const fileLine = /([A-Za-z0-9_.@+-][A-Za-z0-9_.@+/-]*\.conf):(\d+)/g;

/**
 * Text with every `file:line` of a known route file made a link (the
 * others stay text): escaped, with data-file and data-line for the script.
 */
export function linkFileLines(text: string, known: (file: string) => boolean): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(fileLine)) {
    const at = m.index ?? 0;
    out += escapeHtml(text.slice(last, at));
    out += known(m[1]) ? fileLink(m[1], Number(m[2]), m[0]) : escapeHtml(m[0]);
    last = at + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

function fileLink(file: string, line: number, text: string): string {
  return `<a href="#" class="loc" data-file="${escapeHtml(file)}" data-line="${line}">${escapeHtml(text)}</a>`;
}

/** The action in words, with the status. */
export function actionSentence(d: ExplainDocument): string {
  switch (d.action) {
    case 'proxy':
      return `Forwarded to ${d.upstream ?? 'the upstream'}; the upstream decides the status.`;
    case 'return':
      return `Answered by the route file with ${d.status}.`;
    case 'redirect':
      return `Redirected (${d.status}) to ${d.response_headers?.Location ?? 'its Location'}.`;
    case 'reserved':
      return `Answered by the proxy itself (${d.status}): the path is reserved.`;
    case 'none':
      return `No location matches: ${d.status || 404}.`;
    case 'error':
      return `The request or the configuration fails: ${d.status}.`;
  }
  return `${String(d.action)}: ${d.status}`;
}

function headerTable(h: Record<string, string> | undefined): string {
  const rows = Object.entries(h ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (rows.length === 0) {
    return '<p class="muted">none</p>';
  }
  return `<table class="headers">${rows.map(([n, v]) => `<tr><th>${escapeHtml(n)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

export interface ExplainPage {
  request: ExplainParams;
  doc: ExplainDocument;
  /** Whether a display path is a route file of the table (only those are links). */
  known: (file: string) => boolean;
  cspSource: string;
  nonce: string;
  /** The webview URI of extension/media/explain.js. */
  scriptUri: string;
}

/** The whole page. */
export function explainHtml(p: ExplainPage): string {
  const { doc, request } = p;
  const method = (request.method ?? 'GET').toUpperCase();
  const loc = doc.location;
  const where = loc
    ? `${fileLink(loc.file, loc.line, `${loc.file}:${loc.line}`)} <code>location ${escapeHtml([loc.modifier, loc.spec].filter((x) => x).join(' '))}</code>`
    : '<span class="muted">no location</span>';
  const steps = doc.trace.map((s) => `<li>${p.known ? linkFileLines(s, p.known) : escapeHtml(s)}</li>`).join('');
  const upstream =
    doc.action === 'proxy'
      ? `<h2>What the upstream receives</h2>
<p class="url" id="upstream-url">${escapeHtml(method)} ${escapeHtml((doc.upstream ?? '') + (doc.upstream_uri ?? ''))}</p>
${headerTable(doc.upstream_headers)}`
      : `<h2>The answer</h2>
${headerTable(doc.response_headers)}
${doc.body ? `<pre class="body">${escapeHtml(doc.body)}</pre>` : ''}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(scriptPagePolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${escapeHtml(p.nonce)}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 16px 16px; line-height: 1.5; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
code, .url, pre, table.headers td { font-family: var(--vscode-editor-font-family); }
.muted { color: var(--vscode-descriptionForeground); }
.verdict { padding: 6px 10px; border-left: 3px solid var(--vscode-textLink-foreground); background: var(--vscode-textBlockQuote-background); }
.verdict.unmatched { border-left-color: var(--vscode-editorWarning-foreground); }
ol.trace li { margin: 2px 0; }
a.loc { color: var(--vscode-textLink-foreground); cursor: pointer; }
table.headers { border-collapse: collapse; } table.headers th, table.headers td { text-align: left; padding: 2px 12px 2px 0; vertical-align: top; }
table.headers th { font-weight: normal; color: var(--vscode-descriptionForeground); }
pre.body { background: var(--vscode-textCodeBlock-background); padding: 8px; white-space: pre-wrap; }
</style>
<title>Explain ${escapeHtml(request.url)}</title>
</head>
<body>
<h1>Explain <code id="request">${escapeHtml(method)} ${escapeHtml(request.url)}</code></h1>
<p class="muted">Normalised path: <code>${escapeHtml(doc.path)}</code></p>
<p class="verdict${doc.matched ? '' : ' unmatched'}" id="verdict">${escapeHtml(actionSentence(doc))}</p>
<p>Handled by: <span id="location">${where}</span></p>
<h2>How the proxy decided</h2>
<ol class="trace" id="trace">${steps}</ol>
${upstream}
<script nonce="${escapeHtml(p.nonce)}" src="${escapeHtml(p.scriptUri)}"></script>
</body>
</html>
`;
}

/** The click of a `file:line` link: {type: 'open', file, line}, or undefined. */
export function parseOpenMessage(v: unknown): { file: string; line: number } | undefined {
  const m = v as { type?: unknown; file?: unknown; line?: unknown };
  if (typeof v !== 'object' || v === null || m.type !== 'open' || typeof m.file !== 'string' || typeof m.line !== 'number') {
    return undefined;
  }
  if (!Number.isInteger(m.line) || m.line < 1) {
    return undefined;
  }
  return { file: m.file, line: m.line };
}
