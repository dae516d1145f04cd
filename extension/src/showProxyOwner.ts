// The command devproxy.showProxyOwner ("Show Who Serves the Proxy"): a
// QuickPick of the process that holds the port and every folder the proxy
// serves (proxyFolders.ts's ownerItems, pure), with the actions that apply:
// "Take over" for a member window sends devproxy/takeOver and shows its
// answer. This is the glue.

import * as os from 'os';
import * as vscode from 'vscode';
import { Commands, DisplayName, Methods } from './contract';
import { errorText, Log } from './log';
import { isTakeOverResult, OwnerAction, ownerItems } from './proxyFolders';
import { StatusState } from './statusBar';

export interface ShowProxyOwnerParts {
  /** The status bar's newest state: kind, address, folders, owner. */
  status: () => StatusState;
  /** The language client, when its server runs. */
  client: () => { sendRequest<R>(method: string, params: unknown): Promise<R> } | undefined;
  output: vscode.OutputChannel;
  log: Log;
}

interface ActionItem extends vscode.QuickPickItem {
  action?: OwnerAction;
}

export async function showProxyOwner(parts: ShowProxyOwnerParts): Promise<void> {
  const items: ActionItem[] = ownerItems(parts.status(), os.homedir()).map((i) =>
    i.separator ? { label: i.label, kind: vscode.QuickPickItemKind.Separator } : { label: i.label, description: i.description, detail: i.detail, action: i.action },
  );
  const pick = await vscode.window.showQuickPick(items, { title: 'Who Serves the Proxy', placeHolder: 'The process that holds the port, and every folder it serves' });
  switch (pick?.action) {
    case 'takeOver':
      return takeOver(parts);
    case 'createRouteFile':
      await vscode.commands.executeCommand(Commands.createRouteFile);
      return;
    case 'showOutput':
      parts.output.show(true);
      return;
    default:
      return;
  }
}

/** Sends devproxy/takeOver and shows the server's answer. */
async function takeOver(parts: ShowProxyOwnerParts): Promise<void> {
  const client = parts.client();
  if (!client) {
    void vscode.window.showWarningMessage(`${DisplayName}: the language server is not running, so it cannot take the port over.`);
    return;
  }
  let answer: unknown;
  try {
    answer = await client.sendRequest<unknown>(Methods.takeOver, {});
  } catch (e) {
    parts.log('Warn', `${Methods.takeOver} failed: ${errorText(e)}`);
    void vscode.window.showErrorMessage(`${DisplayName}: cannot take the port over: ${errorText(e)}`);
    return;
  }
  if (!isTakeOverResult(answer)) {
    parts.log('Warn', `${Methods.takeOver}: an answer without ok and message: ${JSON.stringify(answer)}`);
    void vscode.window.showErrorMessage(`${DisplayName}: the language server gave no answer to take the port over.`);
    return;
  }
  parts.log('Info', `${Methods.takeOver}: ${answer.ok ? 'ok' : 'refused'}: ${answer.message}`);
  const text = `${DisplayName}: ${answer.message || (answer.ok ? 'this window serves the proxy now.' : 'the owner did not let go of the port.')}`;
  if (answer.ok) {
    void vscode.window.showInformationMessage(text);
  } else {
    void vscode.window.showWarningMessage(text);
  }
}
