// The status bar item: holds the state of statusBar.ts's state machine and
// shows its rendering. The only glue between that pure module and VS Code.

import * as os from 'os';
import * as vscode from 'vscode';
import { becameIdle, initialStatus, nextStatus, renderStatus, StatusEvent, StatusState } from './statusBar';

export class ServerStatusItem {
  private state: StatusState = initialStatus;
  private readonly home = os.homedir();
  private environment = '';

  /**
   * onIdle: the window just became idle (no route files), once per change
   * into idle; onState: every new state (the Routes view says when the
   * server stopped).
   */
  constructor(
    private readonly item: vscode.StatusBarItem,
    private readonly onIdle: () => void = () => undefined,
    private readonly onState: (state: StatusState) => void = () => undefined,
  ) {
    this.show();
  }

  /** The newest state: the proxy's folders and owner for "Show Who Serves the Proxy". */
  get current(): StatusState {
    return this.state;
  }

  apply(event: StatusEvent): void {
    const before = this.state;
    this.state = nextStatus(before, event);
    this.show();
    this.onState(this.state);
    if (becameIdle(before, this.state)) {
      this.onIdle();
    }
  }

  /** The devproxy.environment setting, shown in the text while it is set. */
  setEnvironment(environment: string): void {
    this.environment = environment;
    this.show();
  }

  private show(): void {
    const view = renderStatus(this.state, this.home, this.environment);
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip);
    tooltip.supportThemeIcons = true;
    this.item.tooltip = tooltip;
    this.item.command = view.command;
    this.item.backgroundColor = view.backgroundColor ? new vscode.ThemeColor(view.backgroundColor) : undefined;
    this.item.show();
  }
}
