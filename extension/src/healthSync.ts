// Keeps the Routes view and the status bar on the newest runtime health
// (docs/lsp.md, "Route health"): asks devproxy/health once the server runs,
// follows devproxy/healthChanged (a burst is coalesced: only the newest
// document is shown), and sends devproxy/rescan for the Rescan commands.
// Pure: the requests, the views and the timers are injected.
//
// An older server answers devproxy/health with MethodNotFound: health is
// then unsupported until the next server starts, every route stays
// "unknown", and that is said once in the output channel, not as an error.

import { HealthDocument, Methods, RescanParams } from './contract';
import { CoalescingDebouncer, Timers } from './debounce';
import { isHealthDocument } from './healthModel';
import { errorText, Log } from './log';

/** How long healthChanged notifications are coalesced before the views are updated. */
export const healthDebounceMs = 100;

/** JSON-RPC's MethodNotFound: a server that predates health. */
export const methodNotFound = -32601;

/** Whether an error is the server's "method not found". */
export function isMethodNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === methodNotFound;
}

/** What HealthSync needs of the views. */
export interface HealthView {
  /** Shows the document; one older than the one shown is dropped. */
  updateHealth(doc: HealthDocument): boolean;
}

export interface HealthSyncOptions {
  /** Sends a request; undefined when no server is running to ask. */
  request: (method: string, params: object) => Promise<unknown> | undefined;
  view: HealthView;
  /** Every document the view took: the status bar's summary. */
  onHealth?: (doc: HealthDocument) => void;
  log: Log;
  debounceMs?: number;
  timers?: Timers;
}

export class HealthSync {
  private readonly debouncer: CoalescingDebouncer;
  /** The newest healthChanged document not shown yet. */
  private pending: HealthDocument | undefined;
  /** Grows with every reset(); an answer for an older epoch is dropped. */
  private epoch = 0;
  private unsupported = false;
  private errorLogged = false;

  constructor(private readonly options: HealthSyncOptions) {
    this.debouncer = new CoalescingDebouncer(options.debounceMs ?? healthDebounceMs, async () => this.flush(), options.timers);
  }

  /** Whether the running server answers the health methods (false after MethodNotFound). */
  get supported(): boolean {
    return !this.unsupported;
  }

  /** devproxy/healthChanged: show the document (debounced; the newest of a burst wins). */
  healthChanged(params: unknown): void {
    if (!isHealthDocument(params)) {
      return;
    }
    this.unsupported = false; // a server that pushes health answers it too
    this.pending = params;
    this.debouncer.trigger();
  }

  /** Asks devproxy/health now (the server just started). */
  async refresh(): Promise<void> {
    if (this.unsupported) {
      return;
    }
    await this.ask(Methods.health, {});
  }

  /**
   * Sends devproxy/rescan (one route, or every route without one) and shows
   * the answer. Resolves with the document, or undefined when there is no
   * server, it cannot rescan, or the answer is not a document; rejects with
   * the server's error otherwise, for the command to report.
   */
  async rescan(route?: string): Promise<HealthDocument | undefined> {
    const params: RescanParams = route ? { route } : {};
    return this.ask(Methods.rescan, params, true);
  }

  /** A server stopped or a new one starts: forget what is in flight and whether it knew health. */
  reset(): void {
    this.epoch++;
    this.pending = undefined;
    this.unsupported = false;
    this.errorLogged = false;
  }

  private flush(): void {
    const doc = this.pending;
    this.pending = undefined;
    if (doc) {
      this.show(doc);
    }
  }

  private show(doc: HealthDocument): void {
    if (this.options.view.updateHealth(doc)) {
      this.options.onHealth?.(doc);
    }
  }

  private async ask(method: string, params: object, rethrow = false): Promise<HealthDocument | undefined> {
    const epoch = this.epoch;
    const pending = this.options.request(method, params);
    if (!pending) {
      return undefined;
    }
    let result: unknown;
    try {
      result = await pending;
    } catch (e) {
      if (epoch !== this.epoch) {
        return undefined;
      }
      if (isMethodNotFound(e)) {
        if (!this.unsupported) {
          this.options.log('Info', `The language server does not report route health (${method}: method not found); routes show as unknown. A newer devproxy does.`);
        }
        this.unsupported = true;
        return undefined;
      }
      if (rethrow) {
        throw e;
      }
      if (!this.errorLogged) {
        this.errorLogged = true;
        this.options.log('Warn', `${method} failed: ${errorText(e)} (routes show their last known health).`);
      }
      return undefined;
    }
    if (epoch !== this.epoch || !isHealthDocument(result)) {
      return undefined;
    }
    this.show(result);
    return result;
  }

  dispose(): void {
    this.debouncer.dispose();
  }
}
