// The tunnel's status bar item and the `devproxy.tunnelUp` context key:
// shows tunnelModel.ts's rendering of the newest tunnel state. The only
// glue between that pure module and VS Code.

import * as vscode from 'vscode';
import { TunnelItemName, TunnelState, TunnelUpContextKey } from './contract';
import { renderTunnel, upUrl } from './tunnelModel';
import { TunnelView } from './tunnelSync';

export class TunnelStatusItem implements TunnelView {
  private up: boolean | undefined;

  constructor(private readonly item: vscode.StatusBarItem) {
    item.name = TunnelItemName;
  }

  show(state: TunnelState): void {
    const view = renderTunnel(state);
    const up = upUrl(state) !== undefined;
    if (up !== this.up) {
      this.up = up;
      void vscode.commands.executeCommand('setContext', TunnelUpContextKey, up);
    }
    if (!view.visible) {
      this.item.hide();
      return;
    }
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip);
    tooltip.supportThemeIcons = true;
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: view.label };
    this.item.command = view.command;
    this.item.backgroundColor = view.backgroundColor ? new vscode.ThemeColor(view.backgroundColor) : undefined;
    this.item.show();
  }
}
