// Gives route files the route-file language when their name does not
// (routeFiles.ts decides which), so that they get the grammar, diagnostics
// as you type and the quick fixes: every open document when a new table
// arrives, and every document opened later.

import * as vscode from 'vscode';
import { LanguageId, RouteFileInfo } from './contract';
import { errorText, Log } from './log';
import { needsRouteFileLanguage, RouteFileSet } from './routeFiles';

export class RouteFileLanguage implements vscode.Disposable {
  private files = new RouteFileSet();
  private readonly opened: vscode.Disposable;

  constructor(private readonly log: Log) {
    this.opened = vscode.workspace.onDidOpenTextDocument((doc) => void this.adopt(doc));
  }

  /** The route files of the newest table (RoutesResult.files). */
  setRouteFiles(files: readonly RouteFileInfo[]): void {
    this.files = new RouteFileSet(files);
    for (const doc of vscode.workspace.textDocuments) {
      void this.adopt(doc);
    }
  }

  private async adopt(doc: vscode.TextDocument): Promise<void> {
    if (!needsRouteFileLanguage({ uri: doc.uri.toString(), languageId: doc.languageId }, this.files)) {
      return;
    }
    try {
      await vscode.languages.setTextDocumentLanguage(doc, LanguageId);
    } catch (e) {
      this.log('Warn', `Cannot set the route-file language on ${doc.uri.fsPath}: ${errorText(e)}`);
    }
  }

  dispose(): void {
    this.opened.dispose();
  }
}
