// The Calliope view's state, owned by the extension (house style, habit
// 11): a conversation of turns, changed only by the actions below, so the
// order rules can be tested without VS Code:
//
//   ask       a question starts a turn (one at a time);
//   delta     appends the answer's text, in the order the notifications came;
//   thinking  adds a muted line ("probing /myapp/ …");
//   result    the devproxy/chat result replaces the streamed text (it is
//             authoritative) and brings sources, provider, notes and fixes;
//   stop      Stop was pressed: the text so far stays, marked stopped, and
//             later deltas of that turn are ignored;
//   fail      the request failed: the error shows under the question;
//   reset     "New conversation".
//
// Notifications carry the server's conversation id, not the turn: a delta
// applies to the turn that is asking, when its conversation is this one
// (or not known yet, on the first turn) and not one left by a reset.
// viewModel renders what the webview shows: Markdown parsed by markdown.ts
// into a text-only tree. Pure (no vscode import).

import { ChatFix, ChatResult, ChatSource } from './contract';
import { Block, parseMarkdown } from './markdown';

export type TurnStatus = 'asking' | 'done' | 'stopped' | 'failed';

export interface Turn {
  /** Local, increasing: the host's requests name their turn by it. */
  id: number;
  question: string;
  /** Markdown source: the deltas so far, then the result's text. */
  answer: string;
  thinking: string[];
  status: TurnStatus;
  /** Why the request failed (status failed). */
  error?: string;
  sources: ChatSource[];
  provider: string;
  offline: boolean;
  notes: string[];
  fixes: ChatFix[];
}

export interface Conversation {
  /** The server's id, from the first delta or result; sent back with every later question. */
  id?: string;
  turns: Turn[];
  nextTurn: number;
  /** Conversations left by "New conversation": their late notifications are ignored. */
  retired: string[];
}

export type ConversationAction =
  | { type: 'ask'; question: string }
  | { type: 'delta'; conversation: string; delta: string }
  | { type: 'thinking'; conversation: string; text: string }
  | { type: 'result'; turn: number; result: ChatResult }
  | { type: 'stop'; turn: number }
  | { type: 'fail'; turn: number; message: string }
  | { type: 'reset' };

/** Turns kept (and persisted): the oldest go first. */
export const maxTurns = 50;
/** Thinking lines kept per turn. */
export const maxThinking = 50;

export function emptyConversation(): Conversation {
  return { turns: [], nextTurn: 1, retired: [] };
}

/** The turn that is asking, if any. */
export function askingTurn(c: Conversation): Turn | undefined {
  const last = c.turns[c.turns.length - 1];
  return last?.status === 'asking' ? last : undefined;
}

function withTurn(c: Conversation, id: number, change: (t: Turn) => Turn | undefined): Conversation {
  const i = c.turns.findIndex((t) => t.id === id);
  if (i < 0) {
    return c;
  }
  const next = change(c.turns[i]);
  if (!next) {
    return c;
  }
  const turns = c.turns.slice();
  turns[i] = next;
  return { ...c, turns };
}

/** The asking turn when a notification of `conversation` belongs to it; adopts the id on the first turn. */
function streamTarget(c: Conversation, conversation: string): { c: Conversation; turn: Turn } | undefined {
  const turn = askingTurn(c);
  if (!turn || c.retired.includes(conversation)) {
    return undefined;
  }
  if (c.id === undefined) {
    return { c: { ...c, id: conversation }, turn };
  }
  return c.id === conversation ? { c, turn } : undefined;
}

export function reduce(c: Conversation, action: ConversationAction): Conversation {
  switch (action.type) {
    case 'ask': {
      const question = action.question.trim();
      if (!question || askingTurn(c)) {
        return c;
      }
      const turn: Turn = { id: c.nextTurn, question, answer: '', thinking: [], status: 'asking', sources: [], provider: '', offline: false, notes: [], fixes: [] };
      return { ...c, turns: [...c.turns, turn].slice(-maxTurns), nextTurn: c.nextTurn + 1 };
    }
    case 'delta': {
      const target = streamTarget(c, action.conversation);
      return target ? withTurn(target.c, target.turn.id, (t) => ({ ...t, answer: t.answer + action.delta })) : c;
    }
    case 'thinking': {
      const target = streamTarget(c, action.conversation);
      return target ? withTurn(target.c, target.turn.id, (t) => ({ ...t, thinking: [...t.thinking, action.text].slice(-maxThinking) })) : c;
    }
    case 'result': {
      const r = action.result;
      const next = withTurn(c, action.turn, (t) =>
        t.status !== 'asking'
          ? undefined
          : {
              ...t,
              answer: r.text ?? t.answer,
              status: 'done',
              sources: r.sources ?? [],
              provider: r.provider ?? '',
              offline: r.offline === true,
              notes: r.notes ?? [],
              fixes: r.fixes ?? [],
            },
      );
      return next !== c && r.conversation && !c.retired.includes(r.conversation) ? { ...next, id: r.conversation } : next;
    }
    case 'stop':
      return withTurn(c, action.turn, (t) => (t.status === 'asking' ? { ...t, status: 'stopped' } : undefined));
    case 'fail':
      return withTurn(c, action.turn, (t) => (t.status === 'asking' ? { ...t, status: 'failed', error: action.message } : undefined));
    case 'reset': {
      const retired = c.id ? [...c.retired, c.id].slice(-20) : c.retired;
      return { ...emptyConversation(), nextTurn: c.nextTurn, retired };
    }
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const stringsOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter(isString) : []);

/**
 * A conversation read back from storage (workspaceState or the webview's
 * state): anything malformed is dropped, and a turn that was asking when
 * the window closed is stopped, as its request died with it.
 */
export function restoreConversation(raw: unknown): Conversation {
  if (!raw || typeof raw !== 'object') {
    return emptyConversation();
  }
  const o = raw as Record<string, unknown>;
  const turns: Turn[] = [];
  for (const t of Array.isArray(o.turns) ? o.turns : []) {
    if (!t || typeof t !== 'object') {
      continue;
    }
    const x = t as Record<string, unknown>;
    if (typeof x.id !== 'number' || !isString(x.question) || !isString(x.answer)) {
      continue;
    }
    const status: TurnStatus = x.status === 'done' || x.status === 'failed' || x.status === 'stopped' ? x.status : 'stopped';
    turns.push({
      id: x.id,
      question: x.question,
      answer: x.answer,
      thinking: stringsOf(x.thinking),
      status,
      ...(isString(x.error) ? { error: x.error } : {}),
      sources: Array.isArray(x.sources) ? (x.sources as unknown[]).filter((s): s is ChatSource => !!s && typeof s === 'object' && isString((s as ChatSource).file) && isString((s as ChatSource).heading)) : [],
      provider: isString(x.provider) ? x.provider : '',
      offline: x.offline === true,
      notes: stringsOf(x.notes),
      fixes: Array.isArray(x.fixes) ? (x.fixes as unknown[]).filter((f): f is ChatFix => !!f && typeof f === 'object' && isString((f as ChatFix).title)) : [],
    });
  }
  const nextTurn = Math.max(typeof o.nextTurn === 'number' ? o.nextTurn : 1, ...turns.map((t) => t.id + 1));
  return { ...(isString(o.id) && o.id ? { id: o.id } : {}), turns: turns.slice(-maxTurns), nextTurn, retired: stringsOf(o.retired) };
}

/** What the webview shows of a turn: text and text-only trees, no markup. */
export interface TurnView {
  id: number;
  question: string;
  blocks: Block[];
  thinking: string[];
  status: TurnStatus;
  /** For people, under the answer: "Stopped.", the error, or "" while asking or done. */
  statusText: string;
  sources: ChatSource[];
  /** "Answered by ollama", or the offline sentence. */
  providerText: string;
  offline: boolean;
  notes: string[];
  fixes: { index: number; title: string; pattern: string; edit: boolean; appChange: boolean }[];
}

export interface ConversationView {
  turns: TurnView[];
  /** A question is being answered: Send is off, Stop is on. */
  running: boolean;
}

export const offlineText = 'Offline: no model answered; this answer comes from the route engine and the docs';

/** viewModel's Markdown parser: parseMarkdown, or a memo of it (calliopeSession.ts keeps one, so a flush re-parses only the turn that streams). */
export type MarkdownParser = (text: string) => Block[];

export function viewModel(c: Conversation, parse: MarkdownParser = parseMarkdown): ConversationView {
  return {
    running: askingTurn(c) !== undefined,
    turns: c.turns.map((t) => ({
      id: t.id,
      question: t.question,
      blocks: parse(t.answer),
      thinking: t.thinking,
      status: t.status,
      statusText: t.status === 'stopped' ? 'Stopped.' : t.status === 'failed' ? `Calliope could not answer: ${t.error ?? 'unknown error'}` : '',
      sources: t.sources,
      providerText: t.status !== 'done' ? '' : t.offline ? offlineText : t.provider ? `Answered by ${t.provider}` : '',
      offline: t.status === 'done' && t.offline,
      notes: t.notes,
      fixes: t.fixes.map((f, index) => ({ index, title: f.title, pattern: f.pattern ?? '', edit: !!f.edit, appChange: !!f.appChange })),
    })),
  };
}
