// The tunnel's commands (docs/lsp.md, "Client commands"): Start Tunnel (a
// quick pick of providers, or a public URL typed and checked), Stop Tunnel,
// Copy Tunnel URL and Open via Tunnel. The VS Code side only: what to show
// comes from tunnelModel.ts, the requests go through tunnelSync.ts.

import * as vscode from 'vscode';
import { Commands, DisplayName, TunnelStartParams, TunnelState } from './contract';
import { errorText, Log } from './log';
import { RouteNode } from './routesModel';
import { checkPublicUrl, tunnelRouteUrl, tunnelStartChoices, upUrl } from './tunnelModel';
import { TunnelSync } from './tunnelSync';

export interface TunnelCommandParts {
  tunnel: () => TunnelSync;
  /** Whether a language server runs to ask. */
  running: () => boolean;
  log: Log;
}

function notRunning(what: string): void {
  void vscode.window.showWarningMessage(`${DisplayName}: the language server is not running, so ${what}.`);
}

/** "Start Tunnel": how, then devproxy/tunnelStart; the status bar item shows the rest. */
export async function startTunnel(parts: TunnelCommandParts): Promise<void> {
  if (!parts.running()) {
    return notRunning('no tunnel can start');
  }
  const picked = await vscode.window.showQuickPick(
    tunnelStartChoices.map((c) => ({ label: c.label, description: c.description, choice: c })),
    { title: 'Start Tunnel', placeHolder: 'How the proxy is reached from the internet' },
  );
  if (!picked) {
    return;
  }
  const params: TunnelStartParams = { provider: picked.choice.provider };
  if (picked.choice.provider === 'manual') {
    const typed = await vscode.window.showInputBox({
      title: 'Start Tunnel: Public URL',
      prompt: 'The public URL of a tunnel you run to the tunnel listener (devproxy.tunnel.listen): the scheme and the host only.',
      placeHolder: 'https://abc.ngrok.app',
      ignoreFocusOut: true,
      validateInput: (v) => {
        const r = checkPublicUrl(v);
        return 'error' in r ? r.error : undefined;
      },
    });
    if (typed === undefined) {
      return;
    }
    const checked = checkPublicUrl(typed);
    if ('error' in checked) {
      return;
    }
    params.url = checked.url;
  }
  let state: TunnelState | undefined;
  try {
    state = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Starting the tunnel' }, () => parts.tunnel().start(params));
  } catch (e) {
    void vscode.window.showErrorMessage(`${DisplayName}: cannot start the tunnel: ${errorText(e)}`);
    return;
  }
  if (!state) {
    return;
  }
  if (state.status === 'error') {
    void vscode.window.showErrorMessage(`${DisplayName}: the tunnel failed: ${state.error || 'no reason given'}`, 'Show output').then((c) =>
      c ? vscode.commands.executeCommand(Commands.showOutput) : undefined,
    );
  } else if (state.status === 'off' && params.provider === 'auto' && !state.error) {
    // Auto keeps looking (about every 5 s): the item appears when an agent does.
    void vscode.window.showInformationMessage(
      `${DisplayName}: no ngrok agent forwards to the tunnel listener yet; the tunnel shows in the status bar as soon as one does (run ngrok http with the devproxy.tunnel.listen address).`,
    );
  } else if (state.status === 'off') {
    void vscode.window.showWarningMessage(`${DisplayName}: no tunnel started${state.error ? `: ${state.error}` : ''}.`);
  }
}

/** "Stop Tunnel": devproxy/tunnelStop. */
export async function stopTunnel(parts: TunnelCommandParts): Promise<void> {
  if (!parts.running()) {
    return notRunning('there is no tunnel to stop');
  }
  try {
    const state = await parts.tunnel().stop();
    if (state && state.status === 'off') {
      vscode.window.setStatusBarMessage(`${DisplayName}: the tunnel is stopped.`, 5000);
    }
  } catch (e) {
    void vscode.window.showErrorMessage(`${DisplayName}: cannot stop the tunnel: ${errorText(e)}`);
  }
}

/** "Copy Tunnel URL": the public URL to the clipboard. */
export async function copyTunnelUrl(parts: TunnelCommandParts): Promise<void> {
  const url = upUrl(parts.tunnel().current);
  if (!url) {
    void vscode.window.showInformationMessage(`${DisplayName}: no tunnel is up; "Start Tunnel" starts one.`);
    return;
  }
  await vscode.env.clipboard.writeText(url);
  void vscode.window.showInformationMessage(`${DisplayName}: copied ${url} to the clipboard.`);
}

/** "Open via Tunnel": the route's page at the public URL, in the browser. */
export async function openViaTunnel(parts: TunnelCommandParts, node: RouteNode | undefined): Promise<void> {
  const url = upUrl(parts.tunnel().current);
  if (!url) {
    void vscode.window.showInformationMessage(`${DisplayName}: no tunnel is up; "Start Tunnel" starts one.`);
    return;
  }
  const target = node && tunnelRouteUrl(url, node);
  if (!target) {
    parts.log('Warn', `${Commands.openViaTunnel}: no route with a path in ${JSON.stringify(node ?? null)}.`);
    return;
  }
  await vscode.env.openExternal(vscode.Uri.parse(target, true));
}
