// The panel of "Explain a Request…": one webview, reused, showing
// explainView.ts's page for the newest answer of devproxy/explain. A click
// on a `file:line` link posts {type: 'open'}; only files of the route table
// are opened, at the line.

import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { ExplainParams } from './contract';
import { ExplainDocument, explainHtml, parseOpenMessage } from './explainView';
import { RoutesTreeProvider } from './routesTree';

export class ExplainPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly tree: RoutesTreeProvider,
  ) {}

  /** The URI of a route file by the path explain names (relative to the workspace root), if the table has it. */
  private uriOf(file: string): string | undefined {
    const files = this.tree.current.files;
    return (files.find((f) => f.path === file) ?? files.find((f) => f.path.endsWith('/' + file)))?.uri;
  }

  show(request: ExplainParams, doc: ExplainDocument): void {
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'extension', 'media');
    if (!this.panel) {
      const panel = vscode.window.createWebviewPanel('devproxy.explain', 'Explain', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, {
        enableScripts: true,
        enableCommandUris: false,
        localResourceRoots: [media],
      });
      panel.webview.onDidReceiveMessage((raw) => void this.open(raw));
      panel.onDidDispose(() => (this.panel = undefined));
      this.panel = panel;
    } else {
      this.panel.reveal(undefined, false);
    }
    const webview = this.panel.webview;
    this.panel.title = `Explain ${(request.method ?? 'GET').toUpperCase()} ${request.url}`;
    webview.html = explainHtml({
      request,
      doc,
      known: (file) => this.uriOf(file) !== undefined,
      cspSource: webview.cspSource,
      nonce: crypto.randomBytes(16).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'explain.js')).toString(),
    });
  }

  private async open(raw: unknown): Promise<void> {
    const m = parseOpenMessage(raw);
    if (m) {
      await this.openAt(m.file, m.line);
    }
  }

  /** Opens a route file of the table, named as explain and X-Devproxy-Location name it, at a line; nothing else. */
  async openAt(file: string, line: number): Promise<void> {
    const uri = this.uriOf(file);
    if (!uri) {
      return;
    }
    const at = new vscode.Position(line - 1, 0);
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.parse(uri, true), { selection: new vscode.Range(at, at), viewColumn: vscode.ViewColumn.One });
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
