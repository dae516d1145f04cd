// When the language server goes away, whether to start it again, and what to
// tell the user when we do not. Pure (the clock is injected); serverRun.ts
// keeps one per run and answers the LanguageClient's errorHandler and
// initializationFailedHandler with it.
//
// Two rules (house style, habit 9):
//  - a bounded budget: at most maxRestarts restarts within windowMs, so a
//    server that crashes on every start does not loop forever;
//  - no restart after a failure during initialisation: a binary that cannot
//    even answer `initialize` (wrong binary, no `lsp` subcommand, bad flags)
//    fails the same way every time, and retrying only hides the first error.

import { Commands, DisplayName } from './contract';
import { ServerPathSetting } from './serverPath';

export interface RestartPolicyOptions {
  /** Restarts allowed within windowMs. */
  maxRestarts?: number;
  windowMs?: number;
  now?: () => number;
}

export type CloseDecision =
  | { restart: true; attempt: number }
  | { restart: false; reason: 'initialization' | 'budget'; crashes: number };

export const defaultMaxRestarts = 4;
export const defaultWindowMs = 3 * 60 * 1000;

export class RestartPolicy {
  readonly maxRestarts: number;
  readonly windowMs: number;
  private readonly now: () => number;
  /** When the recent restarts happened, oldest first, all within windowMs. */
  private restarts: number[] = [];
  private initialized = false;
  private initFailed = false;

  constructor(options: RestartPolicyOptions = {}) {
    this.maxRestarts = options.maxRestarts ?? defaultMaxRestarts;
    this.windowMs = options.windowMs ?? defaultWindowMs;
    this.now = options.now ?? Date.now;
  }

  /** A server process is being started (first start or a restart). */
  serverStarting(): void {
    this.initialized = false;
    this.initFailed = false;
  }

  /** The server answered `initialize`: later exits are crashes, not start failures. */
  serverInitialized(): void {
    this.initialized = true;
  }

  /** The `initialize` request failed: never restart this server. */
  initializationFailed(): boolean {
    this.initFailed = true;
    this.initialized = false;
    return false; // the LanguageClient's initializationFailedHandler: do not retry
  }

  /** The connection closed without us asking: restart or not. */
  closed(): CloseDecision {
    if (!this.initialized || this.initFailed) {
      return { restart: false, reason: 'initialization', crashes: this.restarts.length + 1 };
    }
    const now = this.now();
    this.restarts = this.restarts.filter((t) => now - t < this.windowMs);
    if (this.restarts.length >= this.maxRestarts) {
      return { restart: false, reason: 'budget', crashes: this.restarts.length + 1 };
    }
    this.restarts.push(now);
    // The next process has to initialise again before a crash counts as one.
    this.initialized = false;
    return { restart: true, attempt: this.restarts.length };
  }

  /** The user restarted the server by hand: a fresh budget. */
  reset(): void {
    this.restarts = [];
    this.initialized = false;
    this.initFailed = false;
  }
}

/** Why the server is not running, for the one message the user sees. */
export type ServerFailure =
  | { kind: 'not-found'; message: string }
  | { kind: 'spawn'; command: string; error: string }
  | { kind: 'initialization'; command: string; exit?: ExitInfo; error?: string }
  | { kind: 'budget'; command: string; crashes: number; windowMs: number; exit?: ExitInfo }
  | { kind: 'crashed'; command: string; exit?: ExitInfo };

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export type FailureAction = 'Show output' | 'Open settings' | 'Restart';

export interface FailureMessage {
  text: string;
  actions: FailureAction[];
}

/** What each button does, for serverController.ts. */
export const failureActionCommands: Record<FailureAction, string> = {
  'Show output': Commands.showOutput,
  'Open settings': 'workbench.action.openSettings',
  Restart: Commands.restartServer,
};

function describeExit(exit: ExitInfo | undefined): string {
  if (!exit) {
    return '';
  }
  if (exit.signal) {
    return ` (killed by ${exit.signal})`;
  }
  if (exit.code !== null) {
    return ` (exit code ${exit.code})`;
  }
  return '';
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60000);
  return m === 1 ? '1 minute' : `${m} minutes`;
}

/**
 * The one actionable message for a server that cannot run: what happened,
 * where to look, and the setting to change.
 */
export function failureMessage(f: ServerFailure): FailureMessage {
  switch (f.kind) {
    case 'not-found':
      return { text: `${DisplayName}: ${f.message}`, actions: ['Open settings', 'Show output'] };
    case 'spawn':
      return {
        text: `${DisplayName}: cannot run the language server ${f.command}: ${f.error}. Check ${ServerPathSetting}.`,
        actions: ['Open settings', 'Show output'],
      };
    case 'initialization': {
      const why = f.error && !f.exit ? `: ${f.error}` : describeExit(f.exit);
      return {
        text:
          `${DisplayName}: the language server (${f.command} lsp) stopped while starting${why}. ` +
          `Its output says why; if it is an older devproxy without the lsp command, set ${ServerPathSetting} to a newer one.`,
        actions: ['Show output', 'Open settings'],
      };
    }
    case 'budget':
      return {
        text:
          `${DisplayName}: the language server (${f.command} lsp) stopped ${f.crashes} times in ${minutes(f.windowMs)}${describeExit(f.exit)} ` +
          `and will not be restarted. Its output says why.`,
        actions: ['Show output', 'Restart'],
      };
    case 'crashed':
      return {
        text: `${DisplayName}: the language server (${f.command} lsp) stopped${describeExit(f.exit)}. Its output says why.`,
        actions: ['Show output', 'Restart'],
      };
  }
}
