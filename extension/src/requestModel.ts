// The request runner's logic ("Send Request", like REST Client): the form's
// text read into a request, a request sent through the proxy's local
// listener with Node's http (from the extension host, never the webview's
// fetch, which a remote window could not point at the proxy), the history
// kept per workspace, and "Copy as curl". No vscode import: unit-tested with
// a node:http server standing in for the proxy. requestRunner.ts is the glue.

import * as http from 'http';
import { escapeHtml, scriptPagePolicy } from './html';

/** What the form holds: method, path (and query), header lines `Name: value`, body. */
export interface RequestSpec {
  method: string;
  path: string;
  /** One header a line, `Name: value`; blank lines are ignored. */
  headers: string;
  body: string;
}

/** The request header that asks the proxy which location answered. */
export const debugHeader = 'X-Devproxy-Debug';
/** The response header that names it (`apps/a.conf:3 location /api/`); absent from a proxy that does not know it. */
export const locationHeader = 'X-Devproxy-Location';

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The header lines read into pairs, in order, or the first line that is not `Name: value`. */
export function parseHeaderLines(text: string): { headers: [string, string][] } | { error: string } {
  const headers: [string, string][] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') {
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!token.test(name)) {
      return { error: `Header line ${i + 1} is not "Name: value": ${line.trim()}` };
    }
    const value = line.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) {
      return { error: `Header ${name} has a control character.` };
    }
    headers.push([name, value]);
  }
  return { headers };
}

/** Why the form cannot be sent, or undefined. */
export function checkRequest(spec: RequestSpec): string | undefined {
  if (!token.test(spec.method.trim())) {
    return `"${spec.method.trim()}" is not an HTTP method.`;
  }
  if (!spec.path.startsWith('/') || /\s/.test(spec.path)) {
    return 'The path starts with / and has no spaces: /api/items?x=1';
  }
  const h = parseHeaderLines(spec.headers);
  return 'error' in h ? h.error : undefined;
}

/** host:port of the proxy's listener (ProxyStatus.address) split for http.request; undefined without one. */
export function listenerOf(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(address.trim());
  if (!m) {
    return undefined;
  }
  let host = m[1] ?? m[2] ?? '';
  // A proxy listening on every address is reached on loopback.
  if (host === '' || host === '0.0.0.0') {
    host = '127.0.0.1';
  } else if (host === '::') {
    host = '::1';
  }
  return { host, port: Number(m[3]) };
}

/** What came back, for the page: status, headers in order, the body (cut), the time and the location that answered. */
export interface ResponseView {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
  /** The body was longer than maxBody and is cut. */
  truncated: boolean;
  /** From sending to the last byte, in milliseconds. */
  ms: number;
  /** X-Devproxy-Location, or '—' when the proxy did not send it. */
  location: string;
}

/** The most of a body the page shows. */
export const maxBody = 256 * 1024;

/**
 * Sends the request to the proxy's listener and reads the whole answer.
 * Adds X-Devproxy-Debug: location unless the form sets it; a Host header
 * of the form is kept (the proxy routes on the path, the upstream may care).
 */
export function sendRequest(spec: RequestSpec, listener: { host: string; port: number }, timeoutMs = 30_000): Promise<ResponseView> {
  const problem = checkRequest(spec);
  if (problem) {
    return Promise.reject(new Error(problem));
  }
  const parsed = parseHeaderLines(spec.headers) as { headers: [string, string][] };
  const headers: [string, string][] = [...parsed.headers];
  if (!headers.some(([n]) => n.toLowerCase() === debugHeader.toLowerCase())) {
    headers.push([debugHeader, 'location']);
  }
  const body = spec.body === '' ? undefined : Buffer.from(spec.body, 'utf8');
  if (body && !headers.some(([n]) => n.toLowerCase() === 'content-length')) {
    headers.push(['Content-Length', String(body.length)]);
  }
  // An object, not the raw list: with a list Node sends no Host of its own.
  const headerObject: Record<string, string | string[]> = {};
  for (const [n, v] of headers) {
    const had = headerObject[n];
    headerObject[n] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: listener.host, port: listener.port, method: spec.method.trim().toUpperCase(), path: spec.path, headers: headerObject, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on('data', (c: Buffer) => {
          if (size < maxBody) {
            chunks.push(c);
          } else {
            truncated = true;
          }
          size += c.length;
        });
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          const all = Buffer.concat(chunks);
          const raw = res.rawHeaders;
          const pairs: [string, string][] = [];
          for (let i = 0; i + 1 < raw.length; i += 2) {
            pairs.push([raw[i], raw[i + 1]]);
          }
          const loc = pairs.find(([n]) => n.toLowerCase() === locationHeader.toLowerCase());
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: pairs,
            body: all.subarray(0, maxBody).toString('utf8'),
            truncated: truncated || all.length > maxBody,
            ms: Math.round(ms * 10) / 10,
            location: loc?.[1] || '—',
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One request of the history, with what came back (status and time) when it was sent. */
export interface HistoryEntry extends RequestSpec {
  status?: number;
  ms?: number;
  /** When it was sent (ISO 8601). */
  at: string;
}

/** The history keeps this many requests. */
export const historySize = 20;

/** The history with the entry first; the same request sent again moves up, never twice. */
export function addToHistory(history: readonly HistoryEntry[], entry: HistoryEntry, max = historySize): HistoryEntry[] {
  const same = (h: RequestSpec) => h.method === entry.method && h.path === entry.path && h.headers === entry.headers && h.body === entry.body;
  return [entry, ...history.filter((h) => !same(h))].slice(0, max);
}

/** The stored history, dropping what is not an entry (an older or damaged workspace state). */
export function readHistory(v: unknown): HistoryEntry[] {
  if (!Array.isArray(v)) {
    return [];
  }
  return v
    .filter(
      (h): h is HistoryEntry =>
        typeof h === 'object' &&
        h !== null &&
        typeof h.method === 'string' &&
        typeof h.path === 'string' &&
        typeof h.headers === 'string' &&
        typeof h.body === 'string' &&
        typeof h.at === 'string',
    )
    .slice(0, historySize);
}

/** A string quoted for a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** "Copy as curl": the request as a curl command line. */
export function curlCommand(url: string, method = 'GET', headers: [string, string][] = [], body = ''): string {
  const parts = ['curl'];
  if (method.toUpperCase() !== 'GET') {
    parts.push('-X', shellQuote(method.toUpperCase()));
  }
  for (const [n, v] of headers) {
    parts.push('-H', shellQuote(`${n}: ${v}`));
  }
  if (body !== '') {
    parts.push('--data-binary', shellQuote(body));
  }
  parts.push(shellQuote(url));
  return parts.join(' ');
}

/** The path and query of a route's URL (`http://127.0.0.1:8080/api/?x=1` → `/api/?x=1`), '/' when none. */
export function pathOfUrl(url: string | null | undefined): string {
  const m = url ? /^https?:\/\/[^/?#\s]+([^#\s]*)/i.exec(url) : null;
  const p = m?.[1] ?? '';
  return p === '' ? '/' : p.startsWith('/') ? p : `/${p}`;
}

/** A message of the runner's page; anything else is ignored. */
export type RunnerMessage =
  | { type: 'ready' }
  | { type: 'send'; request: RequestSpec }
  | { type: 'load'; index: number }
  /** A click on the location that answered (`apps/a.conf:3 /api/`): open the file at the line. */
  | { type: 'open'; file: string; line: number };

/** The file and line of an X-Devproxy-Location value (`apps/a.conf:3 /api/`), or undefined. */
export function locationTarget(value: string): { file: string; line: number } | undefined {
  const m = /^([^\s:]+\.conf):(\d+)(?:\s|$)/.exec(value.trim());
  return m && Number(m[2]) >= 1 ? { file: m[1], line: Number(m[2]) } : undefined;
}

export function parseRunnerMessage(v: unknown): RunnerMessage | undefined {
  if (typeof v !== 'object' || v === null) {
    return undefined;
  }
  const m = v as { type?: unknown; request?: Partial<RequestSpec>; index?: unknown };
  if (m.type === 'ready') {
    return { type: 'ready' };
  }
  const o = v as { file?: unknown; line?: unknown };
  if (m.type === 'open' && typeof o.file === 'string' && typeof o.line === 'number' && Number.isInteger(o.line) && o.line >= 1) {
    return { type: 'open', file: o.file, line: o.line };
  }
  if (m.type === 'load' && typeof m.index === 'number' && Number.isInteger(m.index) && m.index >= 0) {
    return { type: 'load', index: m.index };
  }
  const r = m.request;
  if (m.type === 'send' && r && typeof r.method === 'string' && typeof r.path === 'string' && typeof r.headers === 'string' && typeof r.body === 'string') {
    return { type: 'send', request: { method: r.method, path: r.path, headers: r.headers, body: r.body } };
  }
  return undefined;
}

/**
 * The runner's page: the form, the response and the history, filled by
 * extension/media/requestRunner.js from messages. Only the nonce, the
 * policy and the script's URI are interpolated.
 */
export function requestRunnerHtml(cspSource: string, nonce: string, scriptUri: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(scriptPagePolicy(cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${escapeHtml(nonce)}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 16px 16px; }
.row { display: flex; gap: 6px; margin: 8px 0; }
input, textarea, button { font-family: var(--vscode-editor-font-family); color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); padding: 4px 6px; }
#method { width: 7em; } #path { flex: 1; }
textarea { width: 100%; box-sizing: border-box; min-height: 5em; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); cursor: pointer; padding: 4px 14px; }
label { display: block; margin-top: 8px; color: var(--vscode-descriptionForeground); }
.muted { color: var(--vscode-descriptionForeground); }
.good { color: var(--vscode-testing-iconPassed); } .warn { color: var(--vscode-editorWarning-foreground); } .bad { color: var(--vscode-errorForeground); }
#summary span { margin-right: 18px; } #status { font-weight: bold; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 1px 12px 1px 0; font-family: var(--vscode-editor-font-family); vertical-align: top; }
th { font-weight: normal; color: var(--vscode-descriptionForeground); }
pre { background: var(--vscode-textCodeBlock-background); padding: 8px; white-space: pre-wrap; max-height: 40vh; overflow: auto; }
#error { color: var(--vscode-errorForeground); }
#history a { color: var(--vscode-textLink-foreground); font-family: var(--vscode-editor-font-family); }
</style>
<title>Send Request</title>
</head>
<body>
<h1>Send Request <span id="title" class="muted"></span></h1>
<div class="row"><input id="method" aria-label="Method" value="GET" spellcheck="false"><input id="path" aria-label="Path" value="/" spellcheck="false"><button id="send" title="Send (Ctrl+Enter)">Send</button></div>
<label for="headers">Headers, one a line: Name: value</label>
<textarea id="headers" spellcheck="false"></textarea>
<label for="body">Body</label>
<textarea id="body" spellcheck="false"></textarea>
<p id="state" class="muted"></p>
<p id="error" hidden></p>
<section id="response" hidden>
<h2>Response</h2>
<p id="summary"><span id="status"></span><span>Time: <span id="time"></span></span><span>Answered by: <code id="location"></code></span></p>
<table id="response-headers"></table>
<pre id="response-body"></pre>
</section>
<h2>History</h2>
<p id="history-empty" class="muted">Nothing sent yet in this workspace.</p>
<ol id="history"></ol>
<script nonce="${escapeHtml(nonce)}" src="${escapeHtml(scriptUri)}"></script>
</body>
</html>
`;
}
