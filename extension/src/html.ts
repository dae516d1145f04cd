// HTML for the extension's webviews that run a script of their own
// (Explain, Send Request): escaping, and their Content Security Policy.

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The policy of a page whose styles and scripts carry nonce: nothing else loads. */
export function scriptPagePolicy(cspSource: string, nonce: string): string {
  return [`default-src 'none'`, `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}' ${cspSource}`].join('; ');
}
