// The request runner's panel ("Send Request"): one webview, reused, over
// requestModel.ts. The page sends the form; the extension host sends the
// request to the proxy's local listener with Node's http and answers with
// the status, headers, time and the location that answered. The history
// (the last 20 requests) is kept in the workspace state.

import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { errorText, Log } from './log';
import { addToHistory, HistoryEntry, locationTarget, parseRunnerMessage, readHistory, RequestSpec, requestRunnerHtml, sendRequest } from './requestModel';

/** The workspace state's key of the history. */
export const historyKey = 'devproxy.requestHistory';

export class RequestRunnerPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  /** The request to load once the page is ready. */
  private pending: { request: RequestSpec; title: string } | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    /** The proxy's listener (host and port), or why there is none. */
    private readonly listener: () => { host: string; port: number } | string,
    private readonly log: Log,
    /** Opens a route file (as X-Devproxy-Location names it) at a line. */
    private readonly openLocation: (file: string, line: number) => Promise<void>,
  ) {}

  private get history(): HistoryEntry[] {
    return readHistory(this.context.workspaceState.get(historyKey));
  }

  /** Opens the runner (or brings it up) with the request in its form. */
  show(request: RequestSpec, title = ''): void {
    this.pending = { request, title };
    if (this.panel) {
      this.panel.reveal();
      this.flush();
      return;
    }
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'extension', 'media');
    const panel = vscode.window.createWebviewPanel('devproxy.requestRunner', 'Send Request', vscode.ViewColumn.Active, {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [media],
      retainContextWhenHidden: true,
    });
    this.panel = panel;
    this.ready = false;
    const nonce = crypto.randomBytes(16).toString('base64');
    const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(media, 'requestRunner.js')).toString();
    panel.webview.html = requestRunnerHtml(panel.webview.cspSource, nonce, script);
    panel.webview.onDidReceiveMessage((raw) => void this.onMessage(raw));
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    });
  }

  private flush(): void {
    if (!this.panel || !this.ready) {
      return;
    }
    if (this.pending) {
      void this.panel.webview.postMessage({ type: 'request', ...this.pending });
      this.pending = undefined;
    }
    void this.panel.webview.postMessage({ type: 'history', entries: this.history });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseRunnerMessage(raw);
    const panel = this.panel;
    if (!m || !panel) {
      return;
    }
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.flush();
        return;
      case 'open':
        await this.openLocation(m.file, m.line);
        return;
      case 'load': {
        const h = this.history[m.index];
        if (h) {
          void panel.webview.postMessage({ type: 'request', request: { method: h.method, path: h.path, headers: h.headers, body: h.body }, title: '' });
        }
        return;
      }
      case 'send': {
        const listener = this.listener();
        if (typeof listener === 'string') {
          void panel.webview.postMessage({ type: 'error', message: listener });
          return;
        }
        try {
          const response = await sendRequest(m.request, listener);
          this.log('Info', `Send Request: ${m.request.method} ${m.request.path} → ${response.status} in ${response.ms} ms (${response.location}).`);
          await this.context.workspaceState.update(historyKey, addToHistory(this.history, { ...m.request, status: response.status, ms: response.ms, at: new Date().toISOString() }));
          void panel.webview.postMessage({ type: 'response', response, location: locationTarget(response.location) });
          void panel.webview.postMessage({ type: 'history', entries: this.history });
        } catch (e) {
          void panel.webview.postMessage({ type: 'error', message: `${m.request.method} ${m.request.path}: ${errorText(e)}` });
        }
        return;
      }
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
