// Keeps the Routes view on the server's newest route table (docs/lsp.md,
// "Custom messages"): devproxy/routesChanged says a table with a higher
// version exists, a burst of them is coalesced (debounce.ts) into one
// devproxy/routes request, and the answer goes to the view and to whoever
// else follows the table (language adoption, the status bar's fallback).
// Pure: the request, the view and the timers are injected.
//
// A new server starts its versions again, so reset() forgets the table
// shown and drops answers still on their way from the previous server.

import { Methods, RoutesResult } from './contract';
import { CoalescingDebouncer, Timers } from './debounce';
import { errorText, Log } from './log';

/** How long routesChanged notifications are coalesced before asking devproxy/routes. */
export const routesDebounceMs = 100;

/** What RouteSync needs of the Routes view (routesTree.ts). */
export interface RoutesView {
  readonly current: { readonly version: number };
  /** Shows the table; an answer older than the one shown is dropped. */
  update(result: RoutesResult): boolean;
  clear(): void;
}

export interface RouteSyncOptions {
  /** Sends devproxy/routes; undefined when no server is running to ask. */
  request: () => Promise<unknown> | undefined;
  view: RoutesView;
  /** Every answer the view took (not older than the one shown). */
  onTable?: (result: RoutesResult) => void;
  log: Log;
  debounceMs?: number;
  timers?: Timers;
}

/** Whether an answer of devproxy/routes has the shape the view needs. */
export function isRoutesResult(v: unknown): v is RoutesResult {
  return typeof v === 'object' && v !== null && Array.isArray((v as { routes?: unknown }).routes);
}

/** The version of a devproxy/routesChanged notification, or undefined when it has none. */
export function changedVersion(params: unknown): number | undefined {
  const v = typeof params === 'object' && params !== null ? (params as { version?: unknown }).version : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export class RouteSync {
  private readonly debouncer: CoalescingDebouncer;
  /** Grows with every reset(); an answer for an older epoch is dropped. */
  private epoch = 0;
  private errorLogged = false;

  constructor(private readonly options: RouteSyncOptions) {
    this.debouncer = new CoalescingDebouncer(options.debounceMs ?? routesDebounceMs, () => this.fetch(), options.timers);
  }

  /** devproxy/routesChanged: ask again (debounced) when the table is newer than the one shown. */
  routesChanged(params: unknown): void {
    const version = changedVersion(params);
    if (version !== undefined && version > this.options.view.current.version) {
      this.debouncer.trigger();
    }
  }

  /** Asks now (the server just started, or the user pressed Refresh). */
  refresh(): Promise<void> {
    return this.debouncer.now();
  }

  /** A server stopped or a new one starts: empty the view and forget what is in flight. */
  reset(): void {
    this.epoch++;
    this.errorLogged = false;
    this.options.view.clear();
  }

  private async fetch(): Promise<void> {
    const epoch = this.epoch;
    const pending = this.options.request();
    if (!pending) {
      return;
    }
    let result: unknown;
    try {
      result = await pending;
    } catch (e) {
      if (epoch === this.epoch && !this.errorLogged) {
        this.errorLogged = true;
        this.options.log('Warn', `${Methods.routes} failed: ${errorText(e)} (the Routes view stays empty).`);
      }
      return;
    }
    if (epoch !== this.epoch || !isRoutesResult(result)) {
      return;
    }
    if (this.options.view.update(result)) {
      this.options.onTable?.(result);
    }
  }

  dispose(): void {
    this.debouncer.dispose();
  }
}
