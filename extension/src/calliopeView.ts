// The Calliope view (docs/lsp.md, "The extension's views"): a webview view
// in the panel that talks to Calliope through devproxy/chat. The
// conversation is state the extension owns (calliopeSession.ts runs it);
// the page (calliopeWebview.ts) only draws it, and is sent it again
// whenever it says `ready` (first load, shown again, reloaded). The
// conversation is kept in the workspace's state, so it survives a reload or
// a restart of VS Code. This file is the glue: the webview, its messages,
// links, the fix preview and the app change document.

import * as crypto from 'crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { appChangeDocument, fixWorkspaceEdit, WorkspaceEditFactory } from './calliopeFixes';
import { restoreConversation } from './calliopeConversation';
import { CalliopeSession } from './calliopeSession';
import { calliopeHtml, HostMessage, makeNonce, parseWebviewMessage, WebviewMessage } from './calliopeWebview';
import { CalliopeViewId, ChatResult, Methods } from './contract';
import { errorText, Log } from './log';
import { safeHref } from './markdown';

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
  private readonly session: CalliopeSession<vscode.CancellationToken>;
  /** A question to put in the page's input once it is ready. */
  private draft: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    client: () => LanguageClient | undefined,
    private readonly log: Log,
  ) {
    this.session = new CalliopeSession(restoreConversation(context.workspaceState.get(conversationStorageKey)), {
      request: (params, token) => client()?.sendRequest<ChatResult>(Methods.chat, params, token),
      canceller: () => new vscode.CancellationTokenSource(),
      show: (view) => this.post({ type: 'state', view }),
      store: (c) => void context.workspaceState.update(conversationStorageKey, c),
      setTimer: (f, ms) => setTimeout(f, ms),
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      log,
    });
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
    this.session.delta(params);
  }

  /** devproxy/chatThinking */
  onThinking(params: unknown): void {
    this.session.thinking(params);
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
    if (this.session.busy) {
      return this.reveal(question);
    }
    await this.reveal();
    await this.session.ask(question);
  }

  newConversation(): void {
    this.session.reset();
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
          this.post({ type: 'state', view: this.session.view() });
          if (this.draft !== undefined) {
            this.sendDraft();
          }
          return;
        case 'send':
          return await this.session.ask(m.text);
        case 'stop':
          return this.session.stop();
        case 'newConversation':
          return this.session.reset();
        case 'openLink':
          return await this.openLink(m.href);
        case 'copy':
          await vscode.env.clipboard.writeText(m.text);
          vscode.window.setStatusBarMessage('Calliope: copied', 2000);
          return;
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
    const choice = await vscode.window.showWarningMessage("Open a link from Calliope's answer?", { modal: true, detail: safe }, 'Open');
    if (choice === 'Open') {
      await vscode.env.openExternal(vscode.Uri.parse(safe, true));
    }
  }

  /** The fix's edit in VS Code's refactor preview: nothing is written before the user applies it. */
  private async previewFix(turn: number, index: number): Promise<void> {
    const fix = this.session.fix(turn, index);
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
    const fix = this.session.fix(turn, index);
    if (!fix?.appChange) {
      return;
    }
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: appChangeDocument(fix, fix.appChange) });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }

  dispose(): void {
    this.session.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
