// One Calliope conversation as the extension runs it: the devproxy/chat
// requests, the notifications that stream into them, Stop, and the copies
// the page and the workspace state get. The state changes at once (through
// calliopeConversation.ts's reducer); the page and the store follow every
// change of a question, a result, a stop or a reset at once, and streamed
// text at most every flushMs (house style, habit 11: batch streamed text).
// Stop cancels the request's token: the LanguageClient then sends
// $/cancelRequest. Pure (no vscode import): the glue (calliopeView.ts)
// passes the client's request, a token source, the page and the store.

import { askingTurn, Conversation, ConversationAction, ConversationView, maxTurns, reduce, viewModel } from './calliopeConversation';
import { ChatDeltaParams, ChatFix, ChatParams, ChatResult, ChatThinkingParams, DisplayName, Methods } from './contract';
import { errorText, Log } from './log';
import { Block, parseMarkdown } from './markdown';

/** How often streamed text reaches the page and the store. */
export const flushMs = 50;
/** The LSP error of a method the server does not have. */
const methodNotFound = -32601;

/** A cancellation token source, as vscode's and vscode-jsonrpc's. */
export interface Canceller<T> {
  token: T;
  cancel(): void;
  dispose(): void;
}

export interface SessionParts<T> {
  /** Sends devproxy/chat with the token; undefined when no server runs. */
  request: (params: ChatParams, token: T) => Promise<ChatResult> | undefined;
  canceller: () => Canceller<T>;
  /** The page gets the view. */
  show: (view: ConversationView) => void;
  /** The workspace state gets the conversation. */
  store: (c: Conversation) => void;
  /** setTimeout and clearTimeout; fakes in tests. */
  setTimer: (f: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  log: Log;
}

export class CalliopeSession<T> {
  private running: { turn: number; canceller: Canceller<T> } | undefined;
  private timer: unknown;
  /** The answers parsed so far, by text: a flush parses only what changed (the turn that streams). */
  private parsed = new Map<string, Block[]>();
  private readonly parse = (text: string): Block[] => {
    let blocks = this.parsed.get(text);
    if (!blocks) {
      if (this.parsed.size > 2 * maxTurns) {
        this.parsed = new Map();
      }
      blocks = parseMarkdown(text);
      this.parsed.set(text, blocks);
    }
    return blocks;
  };

  constructor(
    private state: Conversation,
    private readonly parts: SessionParts<T>,
  ) {}

  get conversation(): Conversation {
    return this.state;
  }

  get busy(): boolean {
    return askingTurn(this.state) !== undefined;
  }

  /** The view as it is now: for a page that just said ready. */
  view(): ConversationView {
    return viewModel(this.state, this.parse);
  }

  /** Asks a question; resolves when it is answered, failed or stopped. */
  async ask(question: string): Promise<void> {
    const before = this.state;
    this.apply({ type: 'ask', question }, true);
    const turn = askingTurn(this.state);
    if (this.state === before || !turn) {
      return;
    }
    const canceller = this.parts.canceller();
    const params: ChatParams = { message: turn.question, ...(this.state.id ? { conversation: this.state.id } : {}) };
    const pending = this.parts.request(params, canceller.token);
    if (!pending) {
      canceller.dispose();
      this.apply({ type: 'fail', turn: turn.id, message: `the language server is not running (${DisplayName}: Restart the Language Server)` }, true);
      return;
    }
    this.running = { turn: turn.id, canceller };
    try {
      const result = await pending;
      this.apply({ type: 'result', turn: turn.id, result }, true);
    } catch (e) {
      // A stopped turn stays stopped: its request rejects with the cancellation.
      if (this.running?.turn === turn.id) {
        const code = (e as { code?: number } | null)?.code;
        const message = code === methodNotFound ? 'this language server has no Calliope; a newer devproxy does' : errorText(e);
        this.parts.log('Warn', `Calliope: ${Methods.chat} failed: ${message}`);
        this.apply({ type: 'fail', turn: turn.id, message }, true);
      }
    } finally {
      if (this.running?.turn === turn.id) {
        this.running = undefined;
      }
      canceller.dispose();
    }
  }

  /** Stop: the turn keeps its text, marked stopped; the token's cancellation sends $/cancelRequest. */
  stop(): void {
    const running = this.running;
    if (!running) {
      return;
    }
    this.running = undefined;
    this.apply({ type: 'stop', turn: running.turn }, true);
    running.canceller.cancel();
  }

  /** "New conversation": stops what runs and starts afresh. */
  reset(): void {
    this.stop();
    this.apply({ type: 'reset' }, true);
  }

  /** devproxy/chatDelta's params, checked. */
  delta(params: unknown): void {
    const p = params as Partial<ChatDeltaParams> | null;
    if (p && typeof p.conversation === 'string' && typeof p.delta === 'string') {
      this.apply({ type: 'delta', conversation: p.conversation, delta: p.delta }, false);
    }
  }

  /** devproxy/chatThinking's params, checked. */
  thinking(params: unknown): void {
    const p = params as Partial<ChatThinkingParams> | null;
    if (p && typeof p.conversation === 'string' && typeof p.text === 'string') {
      this.apply({ type: 'thinking', conversation: p.conversation, text: p.text }, false);
    }
  }

  /** The fix a page's button names. */
  fix(turn: number, index: number): ChatFix | undefined {
    return this.state.turns.find((t) => t.id === turn)?.fixes[index];
  }

  /** Sends what is pending now: before the extension stops. */
  flush(): void {
    if (this.timer !== undefined) {
      this.parts.clearTimer(this.timer);
      this.timer = undefined;
    }
    this.parts.show(viewModel(this.state, this.parse));
    this.parts.store(this.state);
  }

  dispose(): void {
    this.stop();
    this.flush();
  }

  private apply(action: ConversationAction, now: boolean): void {
    const next = reduce(this.state, action);
    if (next === this.state) {
      return;
    }
    this.state = next;
    if (now) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = this.parts.setTimer(() => {
        this.timer = undefined;
        this.flush();
      }, flushMs);
    }
  }
}
