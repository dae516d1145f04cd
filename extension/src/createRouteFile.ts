// The command devproxy.createRouteFile ("Create a Route File"): asks the
// folder (when the workspace has several), the app's name, its path prefix
// and its upstream, writes apps/<name>.conf with a WorkspaceEdit (never over
// an existing file) and opens it. The questions' rules and the file's text
// are in routeFileTemplate.ts (pure, unit-tested); this is the glue.

import * as vscode from 'vscode';
import { DisplayName } from './contract';
import { errorText, Log } from './log';
import { defaultPrefix, defaultUpstream, routeFilePath, routeFileText, validateAppName, validatePrefix, validateUpstream } from './routeFileTemplate';

const title = 'Create a Route File';

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

function fileUri(folder: vscode.WorkspaceFolder, name: string): vscode.Uri {
  return vscode.Uri.joinPath(folder.uri, ...routeFilePath(name).split('/'));
}

export async function createRouteFile(log: Log): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    void vscode.window.showWarningMessage(`${DisplayName}: open a folder first; a route file lives in a workspace folder, as apps/<name>.conf.`);
    return;
  }
  const steps = folders.length > 1 ? 4 : 3;
  let step = 1;
  let folder: vscode.WorkspaceFolder | undefined = folders[0];
  if (folders.length > 1) {
    folder = await vscode.window.showWorkspaceFolderPick({ placeHolder: `${title} (${step++}/${steps}): the folder for apps/<name>.conf`, ignoreFocusOut: true });
    if (!folder) {
      return;
    }
  }
  const where = folder;
  const name = await vscode.window.showInputBox({
    title: `${title} (${step++}/${steps})`,
    prompt: "The app's name: letters, digits, - and _. The file is apps/<name>.conf.",
    placeHolder: 'shop',
    ignoreFocusOut: true,
    validateInput: async (v) => {
      const problem = validateAppName(v.trim());
      if (problem) {
        return problem;
      }
      return (await exists(fileUri(where, v.trim()))) ? `${routeFilePath(v.trim())} exists already in ${where.name}; choose another name.` : undefined;
    },
  });
  if (name === undefined) {
    return;
  }
  const app = name.trim();
  const prefix = await vscode.window.showInputBox({
    title: `${title} (${step++}/${steps})`,
    prompt: `The path prefix ${app} is served at: it starts and ends with /.`,
    value: defaultPrefix(app),
    ignoreFocusOut: true,
    validateInput: (v) => validatePrefix(v.trim()),
  });
  if (prefix === undefined) {
    return;
  }
  const upstream = await vscode.window.showInputBox({
    title: `${title} (${step++}/${steps})`,
    prompt: `The upstream: where ${app}'s dev server listens. ${prefix.trim()}x reaches it as /x.`,
    value: defaultUpstream,
    ignoreFocusOut: true,
    validateInput: (v) => validateUpstream(v.trim()),
  });
  if (upstream === undefined) {
    return;
  }

  const uri = fileUri(where, app);
  const text = routeFileText({ name: app, prefix: prefix.trim(), upstream: upstream.trim() });
  // createFile refuses an existing file (overwrite false, ignoreIfExists
  // false): applyEdit then answers false. The check before only gives the
  // clearer message.
  if (await exists(uri)) {
    void vscode.window.showWarningMessage(`${DisplayName}: ${routeFilePath(app)} exists already in ${where.name}; it was left as it is.`);
    return;
  }
  const edit = new vscode.WorkspaceEdit();
  edit.createFile(uri, { overwrite: false, ignoreIfExists: false, contents: new TextEncoder().encode(text) });
  let applied = false;
  try {
    applied = await vscode.workspace.applyEdit(edit);
  } catch (e) {
    log('Warn', `${title}: ${uri.fsPath}: ${errorText(e)}`);
  }
  if (!applied) {
    void vscode.window.showErrorMessage(`${DisplayName}: cannot create ${uri.fsPath}: it exists already, or the folder cannot be written to.`);
    return;
  }
  log('Info', `${title}: wrote ${uri.fsPath}.`);
  await vscode.window.showTextDocument(uri, { preview: false });
}
