// Reads what the user typed for "Explain a Request…" into the params of
// devproxy/explain. Pure.
//
// Accepted: a path with an optional query (/api/x?y=1), a full URL, and
// either one after an HTTP method ("POST /api/x").

import { ExplainParams } from './contract';

const methodPattern = /^([A-Za-z]+)\s+(\S+)$/;
const urlPattern = /^[a-z][a-z0-9+.-]*:\/\//i;

export function parseExplainInput(text: string): { params: ExplainParams } | { error: string } {
  const s = text.trim();
  if (s === '') {
    return { error: 'Type a path such as /api/x?y=1, or a URL.' };
  }
  let method: string | undefined;
  let target = s;
  const m = methodPattern.exec(s);
  if (m) {
    method = m[1].toUpperCase();
    target = m[2];
  } else if (/\s/.test(s)) {
    return { error: 'One path or URL, optionally after a method: POST /api/x' };
  }
  if (!target.startsWith('/') && !urlPattern.test(target)) {
    target = '/' + target;
  }
  return { params: method ? { url: target, method } : { url: target } };
}
