// The status bar item: holds the state of statusBar.ts's state machine and
// shows its rendering. The only glue between that pure module and VS Code.

import * as vscode from 'vscode';
import { initialStatus, nextStatus, renderStatus, StatusEvent, StatusState } from './statusBar';

export class ServerStatusItem {
  private state: StatusState = initialStatus;

  constructor(private readonly item: vscode.StatusBarItem) {
    this.show();
  }

  apply(event: StatusEvent): void {
    this.state = nextStatus(this.state, event);
    this.show();
  }

  private show(): void {
    const view = renderStatus(this.state);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.command;
    this.item.backgroundColor = view.backgroundColor ? new vscode.ThemeColor(view.backgroundColor) : undefined;
    this.item.show();
  }
}
