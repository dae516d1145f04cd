// The fixes under a Calliope answer (docs/calliope.md, "Wire": Fix). An
// `edit` is an LSP WorkspaceEdit of route files (`changes`: file URI → text
// edits, 0-based lines, UTF-16 characters); the glue turns it into a
// vscode.WorkspaceEdit that VS Code shows in its refactor preview before
// anything is written. An `appChange` is a change to make in the app's own
// config: it opens as an untitled Markdown document. Pure: the conversion
// is checked here (every URI, every range, every newText, or nothing), and
// builds the WorkspaceEdit through a small factory the tests fake.

import { AppChange, ChatFix, Range } from './contract';

/** One replacement of a fix's edit, checked. */
export interface FixReplacement {
  uri: string;
  range: Range;
  newText: string;
}

/** What builds the editor's WorkspaceEdit: vscode's in the glue, a recorder in tests. */
export interface WorkspaceEditFactory<E> {
  create(): E;
  replace(edit: E, uri: string, range: Range, newText: string, label: string): void;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function positionOf(v: unknown): { line: number; character: number } | undefined {
  if (!v || typeof v !== 'object') {
    return undefined;
  }
  const p = v as Record<string, unknown>;
  return isCount(p.line) && isCount(p.character) ? { line: p.line, character: p.character } : undefined;
}

function rangeOf(v: unknown): Range | undefined {
  if (!v || typeof v !== 'object') {
    return undefined;
  }
  const r = v as Record<string, unknown>;
  const start = positionOf(r.start);
  const end = positionOf(r.end);
  if (!start || !end) {
    return undefined;
  }
  if (end.line < start.line || (end.line === start.line && end.character < start.character)) {
    return undefined;
  }
  return { start, end };
}

/** The URI schemes an edit may touch: route files are files (or unsaved buffers of them). */
const editableSchemes = /^(file|untitled|vscode-remote|vscode-userdata):/i;

/**
 * The replacements of a fix's edit, in the order the server sent them, or
 * an error naming what is wrong: a fix is applied whole or not at all.
 */
export function fixReplacements(fix: ChatFix): { replacements: FixReplacement[] } | { error: string } {
  const changes = (fix.edit as { changes?: unknown } | undefined)?.changes;
  if (!changes || typeof changes !== 'object' || Array.isArray(changes)) {
    return { error: `the fix "${fix.title}" has no edit` };
  }
  const replacements: FixReplacement[] = [];
  for (const [uri, edits] of Object.entries(changes as Record<string, unknown>)) {
    if (!editableSchemes.test(uri)) {
      return { error: `the fix "${fix.title}" edits ${uri}, which is not a file` };
    }
    if (!Array.isArray(edits)) {
      return { error: `the fix "${fix.title}" has no list of edits for ${uri}` };
    }
    for (const e of edits as unknown[]) {
      const x = (e ?? {}) as Record<string, unknown>;
      const range = rangeOf(x.range);
      if (!range || typeof x.newText !== 'string') {
        return { error: `the fix "${fix.title}" has a malformed edit of ${uri}: ${JSON.stringify(e)}` };
      }
      replacements.push({ uri, range, newText: x.newText });
    }
  }
  if (replacements.length === 0) {
    return { error: `the fix "${fix.title}" changes nothing` };
  }
  return { replacements };
}

/** The fix's edit as the editor's WorkspaceEdit, each replacement labelled with the fix's title; or the error. */
export function fixWorkspaceEdit<E>(fix: ChatFix, factory: WorkspaceEditFactory<E>): { edit: E; files: string[] } | { error: string } {
  const r = fixReplacements(fix);
  if ('error' in r) {
    return r;
  }
  const edit = factory.create();
  for (const rep of r.replacements) {
    factory.replace(edit, rep.uri, rep.range, rep.newText, fix.title);
  }
  return { edit, files: [...new Set(r.replacements.map((x) => x.uri))] };
}

/** The longest run of backticks in s. */
function longestBacktickRun(s: string): number {
  return Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
}

/** The Markdown document "Show app change" opens: the file, what to do, the snippet in a fence it cannot close. */
export function appChangeDocument(fix: ChatFix, change: AppChange): string {
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(change.snippet) + 1));
  const lang = /\.(m?[jt]sx?|cjs|json|ya?ml|toml)$/i.exec(change.file)?.[1]?.toLowerCase() ?? '';
  return [
    `# ${fix.title}`,
    '',
    `In \`${change.file}\` (your app's code; Calliope does not change it):`,
    '',
    change.description,
    '',
    `${fence}${lang.replace(/^m/, '')}`,
    change.snippet,
    fence,
    '',
    `Proposed by the healing pattern \`${fix.pattern}\`.`,
    '',
  ].join('\n');
}
