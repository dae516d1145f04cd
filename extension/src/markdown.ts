// Calliope's answers are Markdown written by a model, so they are hostile
// input: this module turns them into a small tree of plain values (blocks
// and inlines whose only strings are text), and the webview builds DOM
// nodes from that tree with textContent, never innerHTML. Raw HTML in the
// answer stays text ("<script>" is shown, not run); a link keeps its text
// and its URL, and gets an href only when it is http(s) (safeHref), which
// the webview still opens through the extension, after the user confirms.
//
// The subset: paragraphs, ATX headings, bullet and numbered lists (one
// level), block quotes, rules, fenced code blocks with a language, inline
// code (any backtick run length), **bold**, *italic*, [text](url),
// <https://…> and bare http(s) URLs, backslash escapes. Pure (no vscode,
// no DOM), so unit tests hold it to hostile input. An unclosed fence runs
// to the end, as the answer is still streaming.

/** Inline content: text only, never markup. */
export type Inline =
  | { type: 'text'; text: string }
  | { type: 'code'; text: string }
  | { type: 'strong'; children: Inline[] }
  | { type: 'em'; children: Inline[] }
  /** href: present only for http(s) URLs (safeHref); url: as written, shown as text. */
  | { type: 'link'; children: Inline[]; url: string; href?: string };

export type Block =
  | { type: 'paragraph'; children: Inline[] }
  | { type: 'heading'; level: number; children: Inline[] }
  | { type: 'list'; ordered: boolean; start: number; items: Inline[][] }
  /** lang: safe as a class name (`language-${lang}`), or ''. */
  | { type: 'code'; lang: string; text: string }
  | { type: 'quote'; children: Block[] }
  | { type: 'rule' };

/** Answers longer than this are cut (with a note) before parsing: the parser is not meant for books. */
export const maxMarkdownLength = 200_000;

/** The URL as an href when it is an absolute http(s) URL; undefined for everything else (javascript:, data:, file:, relative). */
export function safeHref(url: string): string | undefined {
  const trimmed = url.trim();
  if (!/^https?:\/\//i.test(trimmed)) {
    return undefined;
  }
  try {
    const u = new URL(trimmed);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** A fence's info string as a class-safe language name, or ''. */
export function codeLanguage(info: string): string {
  const word = info.trim().split(/\s+/)[0] ?? '';
  return /^[A-Za-z0-9_+#.-]{1,32}$/.test(word) ? word.toLowerCase() : '';
}

const fenceOpen = /^ {0,3}(`{3,}|~{3,})(.*)$/;
/** The opening of an ATX heading; the closing #s are stripped by headingText, without a backtracking regex. */
const headingLine = /^ {0,3}(#{1,6})(?:[ \t]|$)/;
const ruleLine = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const bulletItem = /^ {0,3}[-*+][ \t]+(.*)$/;
const orderedItem = /^ {0,3}(\d{1,9})[.)][ \t]+(.*)$/;
const quoteLine = /^ {0,3}>[ \t]?(.*)$/;

function startsBlock(line: string): boolean {
  return fenceOpen.test(line) || headingLine.test(line) || ruleLine.test(line) || bulletItem.test(line) || orderedItem.test(line) || quoteLine.test(line);
}

/** Parses Markdown into blocks. */
export function parseMarkdown(source: string): Block[] {
  let text = source.replace(/\r\n?/g, '\n');
  let cut = false;
  if (text.length > maxMarkdownLength) {
    text = text.slice(0, maxMarkdownLength);
    cut = true;
  }
  const blocks = parseBlocks(text.split('\n'), 0);
  if (cut) {
    blocks.push({ type: 'paragraph', children: [{ type: 'em', children: [{ type: 'text', text: '(the rest of this answer is too long to show)' }] }] });
  }
  return blocks;
}

function parseBlocks(lines: string[], depth: number): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = fenceOpen.exec(line);
    if (fence && !(fence[1][0] === '`' && fence[2].includes('`'))) {
      const marker = fence[1];
      const body: string[] = [];
      i++;
      while (i < lines.length) {
        const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]);
        if (close && close[1][0] === marker[0] && close[1].length >= marker.length) {
          i++;
          break;
        }
        body.push(lines[i]);
        i++;
      }
      blocks.push({ type: 'code', lang: codeLanguage(fence[2]), text: body.join('\n') });
      continue;
    }
    const heading = headingLine.exec(line);
    if (heading) {
      blocks.push({ type: 'heading', level: heading[1].length, children: parseInline(headingText(line.slice(heading[0].length))) });
      i++;
      continue;
    }
    if (ruleLine.test(line)) {
      blocks.push({ type: 'rule' });
      i++;
      continue;
    }
    if (quoteLine.test(line)) {
      const inner: string[] = [];
      while (i < lines.length && quoteLine.test(lines[i])) {
        inner.push(quoteLine.exec(lines[i])![1]);
        i++;
      }
      // Quotes inside quotes are bounded, so hostile input cannot recurse without end.
      blocks.push(depth < 8 ? { type: 'quote', children: parseBlocks(inner, depth + 1) } : { type: 'paragraph', children: parseInline(inner.join('\n')) });
      continue;
    }
    const bullet = bulletItem.exec(line);
    const ordered = orderedItem.exec(line);
    if (bullet || ordered) {
      const isOrdered = !bullet;
      const pattern = isOrdered ? orderedItem : bulletItem;
      const items: string[] = [];
      const start = ordered ? Number(ordered[1]) : 1;
      while (i < lines.length) {
        const m = pattern.exec(lines[i]);
        if (m) {
          items.push(isOrdered ? m[2] : m[1]);
          i++;
          continue;
        }
        // An indented line that starts no block continues the item.
        if (items.length > 0 && /^[ \t]+\S/.test(lines[i]) && !startsBlock(lines[i])) {
          items[items.length - 1] += '\n' + lines[i].trim();
          i++;
          continue;
        }
        // A nested list item is flattened into the list.
        const nested = /^[ \t]+/.test(lines[i]) ? (bulletItem.exec(lines[i].trimStart()) ?? orderedItem.exec(lines[i].trimStart())) : null;
        if (nested) {
          items.push(nested[nested.length - 1]);
          i++;
          continue;
        }
        break;
      }
      blocks.push({ type: 'list', ordered: isOrdered, start, items: items.map(parseInline) });
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() !== '' && (para.length === 0 || !startsBlock(lines[i]))) {
      para.push(lines[i].trim());
      i++;
    }
    blocks.push({ type: 'paragraph', children: parseInline(para.join('\n')) });
  }
  return blocks;
}

/** A heading's text: trimmed, without its closing sequence of #s (one preceded by a space). */
function headingText(rest: string): string {
  let end = rest.length;
  while (end > 0 && (rest[end - 1] === ' ' || rest[end - 1] === '\t')) {
    end--;
  }
  let hashes = end;
  while (hashes > 0 && rest[hashes - 1] === '#') {
    hashes--;
  }
  if (hashes < end && (hashes === 0 || rest[hashes - 1] === ' ' || rest[hashes - 1] === '\t')) {
    end = hashes;
  }
  return rest.slice(0, end).trim();
}

/**
 * How far an inline construct (emphasis, a link's text, a code span) may
 * reach for its end. Without a bound, hostile input (thousands of
 * unmatched `*`, `[` or backticks) costs quadratic time; with it, linear.
 */
const maxSpan = 1000;
/** Likewise for a link's text, which cannot be cached as cheaply. */
const maxLinkText = 500;

const escapable = /[\\`*_{}[\]()#+\-.!<>|~"']/;

/** Parses inline Markdown: the result's strings are text only. */
export function parseInline(src: string): Inline[] {
  return inline(src, 0, false);
}

/** inLink: inside a link's text, where no other link may start. */
function inline(src: string, depth: number, inLink: boolean): Inline[] {
  const out: Inline[] = [];
  let buf = '';
  const flush = () => {
    if (buf) {
      out.push({ type: 'text', text: buf });
      buf = '';
    }
  };
  // Per marker, where the last search for its closer ended without one: a
  // later search starting before there skips what was already found to
  // hold no closer, so a run of unmatched markers costs linear time.
  const noCloserUntil = new Map<string, number>();
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\' && i + 1 < src.length && escapable.test(src[i + 1])) {
      buf += src[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      let n = 0;
      while (src[i + n] === '`') {
        n++;
      }
      const close = findBacktickRun(src, i + n, n);
      if (close < 0) {
        buf += '`'.repeat(n);
        i += n;
        continue;
      }
      let code = src.slice(i + n, close).replace(/\n/g, ' ');
      if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') {
        code = code.slice(1, -1);
      }
      flush();
      out.push({ type: 'code', text: code });
      i = close + n;
      continue;
    }
    if ((c === '*' || c === '_') && depth < 16) {
      const double = src[i + 1] === c;
      const marker = double ? c + c : c;
      // `_` only opens at a word boundary, so snake_case stays text.
      const boundary = c === '*' || i === 0 || !/[A-Za-z0-9]/.test(src[i - 1]);
      const next = src[i + marker.length];
      if (boundary && next !== undefined && !/\s/.test(next)) {
        const from = i + marker.length;
        const known = noCloserUntil.get(marker);
        const close = known !== undefined && known > from ? findClosing(src, known, marker) : findClosing(src, from, marker);
        if (close < 0) {
          noCloserUntil.set(marker, Math.min(src.length, Math.max(known ?? 0, from) + maxSpan));
        }
        if (close > i + marker.length) {
          flush();
          const children = inline(src.slice(i + marker.length, close), depth + 1, inLink);
          out.push(double ? { type: 'strong', children } : { type: 'em', children });
          i = close + marker.length;
          continue;
        }
      }
      buf += marker;
      i += marker.length;
      continue;
    }
    if (c === '[' && !inLink) {
      const link = parseLink(src, i);
      if (link) {
        flush();
        out.push({ type: 'link', children: link.text === '' ? [{ type: 'text', text: link.url }] : inline(link.text, depth + 1, true), url: link.url, ...hrefOf(link.url) });
        i = link.end;
        continue;
      }
    }
    if (c === '<' && !inLink) {
      autolink.lastIndex = i;
      const m = autolink.exec(src);
      if (m) {
        flush();
        out.push({ type: 'link', children: [{ type: 'text', text: m[1] }], url: m[1], ...hrefOf(m[1]) });
        i += m[0].length;
        continue;
      }
    }
    if ((c === 'h' || c === 'H') && !inLink && (i === 0 || !/[A-Za-z0-9]/.test(src[i - 1]))) {
      bareUrl.lastIndex = i;
      const m = bareUrl.exec(src);
      if (m) {
        const url = m[0].replace(/[.,;:!?'"]+$/, '');
        flush();
        out.push({ type: 'link', children: [{ type: 'text', text: url }], url, ...hrefOf(url) });
        i += url.length;
        continue;
      }
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

const autolink = /<(https?:\/\/[^\s<>]{1,2000})>/iy;
const bareUrl = /https?:\/\/[^\s<>()]{1,2000}/iy;
const linkTarget = /\(\s*<?([^\s()<>]{0,2000})>?(?:\s+"[^"]{0,500}")?\s*\)/y;

function hrefOf(url: string): { href?: string } {
  const href = safeHref(url);
  return href ? { href } : {};
}

/** The index of the next run of exactly n backticks from `from`, or -1. */
function findBacktickRun(src: string, from: number, n: number): number {
  let i = from;
  const limit = Math.min(src.length, from + maxSpan);
  while (i < limit) {
    if (src[i] === '`') {
      let m = 0;
      while (src[i + m] === '`') {
        m++;
      }
      if (m === n) {
        return i;
      }
      i += m;
    } else {
      i++;
    }
  }
  return -1;
}

/** The closing emphasis marker after `from`, skipping code spans; -1 when none. */
function findClosing(src: string, from: number, marker: string): number {
  let i = from;
  const limit = Math.min(src.length, from + maxSpan);
  while (i < limit) {
    if (src[i] === '\\') {
      i += 2;
      continue;
    }
    if (src[i] === '`') {
      let n = 0;
      while (src[i + n] === '`') {
        n++;
      }
      const close = findBacktickRun(src, i + n, n);
      i = close < 0 ? i + n : close + n;
      continue;
    }
    if (src.startsWith(marker, i) && !/\s/.test(src[i - 1])) {
      // For a single marker, a double one here opens or closes a nested strong.
      if (marker.length === 1 && src[i + 1] === marker) {
        i += 2;
        continue;
      }
      if (marker[0] === '_' && /[A-Za-z0-9]/.test(src[i + marker.length] ?? '')) {
        i += marker.length;
        continue;
      }
      return i;
    }
    i++;
  }
  return -1;
}

/** [text](url "title"): the text, the url and the index after it; undefined when it is no link. */
function parseLink(src: string, at: number): { text: string; url: string; end: number } | undefined {
  let depth = 0;
  let i = at;
  const limit = Math.min(src.length, at + maxLinkText);
  for (; i < limit; i++) {
    if (src[i] === '\\') {
      i++;
    } else if (src[i] === '[') {
      depth++;
    } else if (src[i] === ']') {
      depth--;
      if (depth === 0) {
        break;
      }
    }
  }
  if (i >= limit || src[i + 1] !== '(') {
    return undefined;
  }
  linkTarget.lastIndex = i + 1;
  const m = linkTarget.exec(src);
  if (!m) {
    return undefined;
  }
  return { text: src.slice(at + 1, i), url: m[1], end: i + 1 + m[0].length };
}

/** The plain text of inlines: for copying and tests. */
export function inlineText(nodes: Inline[]): string {
  return nodes.map((n) => (n.type === 'text' || n.type === 'code' ? n.text : inlineText(n.children))).join('');
}
