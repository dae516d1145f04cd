// The Calliope view (docs/lsp.md, "The extension's views"): a webview view
// in the panel that talks to Calliope through devproxy/chat. The
// conversation is state this class owns (calliopeConversation.ts); the page
// (calliopeWebview.ts) only draws it, and is sent it again whenever it
// says `ready` (first load, shown again, reloaded). Streamed text is
// batched: deltas change the state at once, the page and the stored copy
// follow at most every flushMs. Stop cancels the request's token, so the
// LanguageClient sends $/cancelRequest. The conversation is kept in the
// workspace's state, so it survives a reload or a restart of VS Code.

import * as crypto from 'crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { appChangeDocument, fixWorkspaceEdit, WorkspaceEditFactory } from './calliopeFixes';
import { askingTurn, Conversation, ConversationAction, reduce, restoreConversation, viewModel } from './calliopeConversation';
import { calliopeHtml, HostMessage, makeNonce, parseWebviewMessage, WebviewMessage } from './calliopeWebview';
import { CalliopeViewId, ChatDeltaParams, ChatParams, ChatResult, ChatThinkingParams, DisplayName, Methods } from './contract';
import { errorText, Log } from './log';
import { safeHref } from './markdown';

/** How often streamed text reaches the page and the stored copy. */
const flushMs = 50;
/** The LSP error of a method the server does not have. */
const methodNotFound = -32601;

export const conversationStorageKey = 'devproxy.calliope.conversation';

/** vscode's WorkspaceEdit, each replacement needing confirmation, so VS Code shows its refactor preview first. */
const vscodeEdits: WorkspaceEditFactory<vscode.WorkspaceEdit> = {
  create: () => new vscode.WorkspaceEdit(),
  replace: (edit, uri, r, newText, label) =>
    edit.replace(vscode.Uri.parse(uri, true), new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character), newText, {
      label,
      needsConfirmation: true,
    }),
};

export class CalliopeView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private state: Conversation;
  private running: { turn: number; cancel: vscode.CancellationTokenSource } | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** A question to put in the page's input once it is ready. */
  private draft: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: () => LanguageClient | undefined,
    private readonly log: Log,
  ) {
    this.state = restoreConversation(context.workspaceState.get(conversationStorageKey));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    view.webview.options = {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'extension', 'media')],
    };
    view.webview.html = calliopeHtml(view.webview.cspSource, makeNonce((n) => crypto.randomBytes(n)));
    this.disposables.push(
      view.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      // A hidden view's page is discarded; shown again, it loads afresh and says ready.
      view.onDidChangeVisibility(() => {
        if (!view.visible && this.view === view) {
          this.ready = false;
        }
      }),
      view.onDidDispose(() => {
        if (this.view === view) {
          this.view = undefined;
          this.ready = false;
        }
      }),
    );
  }

  /** devproxy/chatDelta */
  onDelta(params: unknown): void {
    const p = params as Partial<ChatDeltaParams> | null;
    if (p && typeof p.conversation === 'string' && typeof p.delta === 'string') {
      this.apply({ type: 'delta', conversation: p.conversation, delta: p.delta }, false);
    }
  }

  /** devproxy/chatThinking */
  onThinking(params: unknown): void {
    const p = params as Partial<ChatThinkingParams> | null;
    if (p && typeof p.conversation === 'string' && typeof p.text === 'string') {
      this.apply({ type: 'thinking', conversation: p.conversation, text: p.text }, false);
    }
  }

  /** Shows the view; with a draft, puts it in the input for the user to finish and send. */
  async reveal(draft?: string): Promise<void> {
    if (draft) {
      this.draft = draft;
    }
    await vscode.commands.executeCommand(`${CalliopeViewId}.focus`);
    if (this.ready) {
      this.sendDraft();
    }
  }

  /** Shows the view and asks the question now (or, while another is being answered, leaves it as the draft). */
  async askNow(question: string): Promise<void> {
    if (askingTurn(this.state)) {
      return this.reveal(question);
    }
    await this.reveal();
    await this.ask(question);
  }

  newConversation(): void {
    this.stop();
    this.apply({ type: 'reset' }, true);
  }

  private async ask(question: string): Promise<void> {
    const before = this.state;
    this.apply({ type: 'ask', question }, true);
    const turn = askingTurn(this.state);
    if (this.state === before || !turn) {
      return;
    }
    const client = this.client();
    if (!client) {
      this.apply({ type: 'fail', turn: turn.id, message: `the language server is not running (${DisplayName}: Restart the Language Server)` }, true);
      return;
    }
    const cancel = new vscode.CancellationTokenSource();
    this.running = { turn: turn.id, cancel };
    const params: ChatParams = { message: turn.question, ...(this.state.id ? { conversation: this.state.id } : {}) };
    try {
      const result = await client.sendRequest<ChatResult>(Methods.chat, params, cancel.token);
      this.apply({ type: 'result', turn: turn.id, result }, true);
    } catch (e) {
      if (!cancel.token.isCancellationRequested) {
        const code = (e as { code?: number }).code;
        const message = code === methodNotFound ? 'this language server has no Calliope; a newer devproxy does' : errorText(e);
        this.log('Warn', `Calliope: ${Methods.chat} failed: ${message}`);
        this.apply({ type: 'fail', turn: turn.id, message }, true);
      }
    } finally {
      if (this.running?.turn === turn.id) {
        this.running = undefined;
      }
      cancel.dispose();
    }
  }

  /** Stop: the turn keeps its text, marked stopped; the token sends $/cancelRequest. */
  private stop(): void {
    const running = this.running;
    if (!running) {
      return;
    }
    this.running = undefined;
    this.apply({ type: 'stop', turn: running.turn }, true);
    running.cancel.cancel();
  }

  private apply(action: ConversationAction, now: boolean): void {
    const next = reduce(this.state, action);
    if (next === this.state) {
      return;
    }
    this.state = next;
    if (now) {
      this.flush();
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), flushMs);
    }
  }

  /** The page and the stored copy catch up with the state. */
  private flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    this.post({ type: 'state', view: viewModel(this.state) });
    void this.context.workspaceState.update(conversationStorageKey, this.state);
  }

  private post(message: HostMessage): void {
    if (this.view && this.ready) {
      void this.view.webview.postMessage(message);
    }
  }

  private sendDraft(): void {
    if (this.draft !== undefined) {
      this.post({ type: 'draft', text: this.draft });
      this.draft = undefined;
    } else {
      this.post({ type: 'focus' });
    }
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m: WebviewMessage | undefined = parseWebviewMessage(raw);
    if (!m) {
      return;
    }
    try {
      switch (m.type) {
        case 'ready':
          this.ready = true;
          this.post({ type: 'state', view: viewModel(this.state) });
          if (this.draft !== undefined) {
            this.sendDraft();
          }
          return;
        case 'send':
          return await this.ask(m.text);
        case 'stop':
          return this.stop();
        case 'newConversation':
          return this.newConversation();
        case 'openLink':
          return await this.openLink(m.href);
        case 'previewFix':
          return await this.previewFix(m.turn, m.index);
        case 'showAppChange':
          return await this.showAppChange(m.turn, m.index);
      }
    } catch (e) {
      void vscode.window.showErrorMessage(`Calliope: ${errorText(e)}`);
    }
  }

  /** Links in answers are model output: only http(s), and only after the user saw the address. */
  private async openLink(href: string): Promise<void> {
    const safe = safeHref(href);
    if (!safe) {
      return;
    }
    const choice = await vscode.window.showWarningMessage('Open a link from Calliope\'s answer?', { modal: true, detail: safe }, 'Open');
    if (choice === 'Open') {
      await vscode.env.openExternal(vscode.Uri.parse(safe, true));
    }
  }

  private fixOf(turn: number, index: number) {
    return this.state.turns.find((t) => t.id === turn)?.fixes[index];
  }

  /** The fix's edit in VS Code's refactor preview: nothing is written before the user applies it. */
  private async previewFix(turn: number, index: number): Promise<void> {
    const fix = this.fixOf(turn, index);
    if (!fix?.edit) {
      return;
    }
    const built = fixWorkspaceEdit(fix, vscodeEdits);
    if ('error' in built) {
      this.log('Warn', `Calliope: ${built.error}`);
      void vscode.window.showErrorMessage(`Calliope: cannot preview: ${built.error}.`);
      return;
    }
    const applied = await vscode.workspace.applyEdit(built.edit, { isRefactoring: true });
    if (applied) {
      vscode.window.setStatusBarMessage(`Calliope: applied "${fix.title}"`, 5000);
    }
  }

  /** The change to make in the app's own config, as an untitled Markdown document beside the editor. */
  private async showAppChange(turn: number, index: number): Promise<void> {
    const fix = this.fixOf(turn, index);
    if (!fix?.appChange) {
      return;
    }
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: appChangeDocument(fix, fix.appChange) });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }

  dispose(): void {
    this.stop();
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    void this.context.workspaceState.update(conversationStorageKey, this.state);
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
