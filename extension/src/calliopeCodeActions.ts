// "Diagnose with Calliope" on the devproxy server's diagnostics in route
// files: a code action beside the server's own quick fixes, which runs
// devproxy.calliope.diagnoseRoute with where the diagnostic is and what it
// says. The server's diagnostics carry source "devproxy" (server/lsp).

import * as vscode from 'vscode';
import { Commands } from './contract';

/** The argument of devproxy.calliope.diagnoseRoute from a diagnostic. */
export interface DiagnosticArg {
  kind: 'diagnostic';
  uri: string;
  /** 0-based, as in the diagnostic's range. */
  line: number;
  message: string;
}

export function isDiagnosticArg(arg: unknown): arg is DiagnosticArg {
  const a = arg as Partial<DiagnosticArg> | null;
  return !!a && a.kind === 'diagnostic' && typeof a.uri === 'string' && typeof a.line === 'number' && typeof a.message === 'string';
}

export class CalliopeCodeActions implements vscode.CodeActionProvider {
  static readonly kind = vscode.CodeActionKind.QuickFix.append('calliope');
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [CalliopeCodeActions.kind] };

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    // One action for the first devproxy diagnostic here: several would all ask about the same block.
    const d = context.diagnostics.find((x) => x.source === 'devproxy');
    if (!d) {
      return [];
    }
    const action = new vscode.CodeAction('Diagnose with Calliope', CalliopeCodeActions.kind);
    const arg: DiagnosticArg = { kind: 'diagnostic', uri: document.uri.toString(), line: d.range.start.line, message: d.message };
    action.command = { command: Commands.calliopeDiagnoseRoute, title: 'Diagnose with Calliope', arguments: [arg] };
    action.diagnostics = [d];
    return [action];
  }
}
