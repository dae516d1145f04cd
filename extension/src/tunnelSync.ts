// Keeps the tunnel's status bar item on the server's tunnel (docs/lsp.md,
// "Tunnel and API keys"): asks devproxy/tunnel once the server runs,
// follows devproxy/tunnelChanged, and sends devproxy/tunnelStart and
// tunnelStop for the commands. Which report wins is tunnelModel.ts's rule
// (a push always, an answer unless it is older). Pure: the requests and the
// view are injected.
//
// An older server answers devproxy/tunnel with MethodNotFound: the item
// stays hidden, and that is said once in the output channel.

import { Methods, TunnelStartParams, TunnelState } from './contract';
import { isMethodNotFound } from './healthSync';
import { errorText, Log } from './log';
import { isTunnelState, nextTunnel, TunnelEvent, tunnelUnknown } from './tunnelModel';

/** What TunnelSync needs of the status bar item. */
export interface TunnelView {
  show(state: TunnelState): void;
}

export interface TunnelSyncOptions {
  /** Sends a request; undefined when no server is running to ask. */
  request: (method: string, params: object) => Promise<unknown> | undefined;
  view: TunnelView;
  log: Log;
}

export class TunnelSync {
  private state: TunnelState = tunnelUnknown;
  /** Grows with every reset(); an answer for an older epoch is dropped. */
  private epoch = 0;
  private unsupported = false;

  constructor(private readonly options: TunnelSyncOptions) {
    options.view.show(this.state);
  }

  get current(): TunnelState {
    return this.state;
  }

  /** Whether the running server answers devproxy/tunnel (false after MethodNotFound). */
  get supported(): boolean {
    return !this.unsupported;
  }

  /** devproxy/tunnelChanged. */
  tunnelChanged(params: unknown): void {
    if (!isTunnelState(params)) {
      this.options.log('Warn', `${Methods.tunnelChanged} without a tunnel state: ${JSON.stringify(params)}`);
      return;
    }
    this.unsupported = false;
    this.apply({ type: 'pushed', state: params });
  }

  /** Asks devproxy/tunnel now (the server just started). */
  async refresh(): Promise<void> {
    const epoch = this.epoch;
    try {
      await this.ask(Methods.tunnel, {});
    } catch (e) {
      if (epoch !== this.epoch) {
        return;
      }
      if (isMethodNotFound(e)) {
        if (!this.unsupported) {
          this.options.log('Info', `The language server has no tunnel (${Methods.tunnel}: method not found); a newer devproxy does.`);
        }
        this.unsupported = true;
        return;
      }
      this.options.log('Warn', `${Methods.tunnel} failed: ${errorText(e)}`);
    }
  }

  /**
   * devproxy/tunnelStart: resolves with the state shown after the answer,
   * undefined when no server runs; rejects with the server's error (its
   * message is for people) for the command to show.
   */
  start(params: TunnelStartParams): Promise<TunnelState | undefined> {
    return this.ask(Methods.tunnelStart, params);
  }

  /** devproxy/tunnelStop, as start. */
  stop(): Promise<TunnelState | undefined> {
    return this.ask(Methods.tunnelStop, {});
  }

  /** A server stopped or a new one starts: nothing is known of its tunnel. */
  reset(): void {
    this.epoch++;
    this.unsupported = false;
    this.apply({ type: 'reset' });
  }

  private async ask(method: string, params: object): Promise<TunnelState | undefined> {
    const epoch = this.epoch;
    const pending = this.options.request(method, params);
    if (!pending) {
      return undefined;
    }
    const result = await pending;
    if (epoch !== this.epoch) {
      return undefined;
    }
    if (!isTunnelState(result)) {
      this.options.log('Warn', `${method} answered without a tunnel state: ${JSON.stringify(result)}`);
      return undefined;
    }
    this.apply({ type: 'answered', state: result });
    return this.state;
  }

  private apply(event: TunnelEvent): void {
    const next = nextTunnel(this.state, event);
    if (next === this.state) {
      return;
    }
    this.state = next;
    this.options.view.show(next);
  }
}
