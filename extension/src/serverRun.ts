// What the extension knows about the language server it started, from the
// moment the user (or activation) starts it until it is stopped: the
// restart budget, and the facts that explain a failure (a spawn error, an
// initialize error, the exit code, the last close decision). Pure; the
// LanguageClient's errorHandler and initializationFailedHandler and the
// process's exit event feed it, and the controller asks it what to do and
// what to tell the user.
//
// One run spans the automatic restarts the budget allows: each new process
// forgets the previous one's facts (processStarting), but not the budget.
// Only a start by the user resets the budget (habit 9).

import { CloseDecision, ExitInfo, RestartPolicy, RestartPolicyOptions, ServerFailure } from './restartPolicy';

/** What to do with the connection after a broken message. */
export type ErrorDecision = 'continue' | 'shutdown';

/** Broken messages tolerated on one connection before it is shut down. */
export const maxMessageErrors = 3;

/** The LanguageClient's closed() answer: whether to restart, and the line for the log. */
export type CloseOutcome = CloseDecision & { message: string };

export class ServerRun {
  readonly policy: RestartPolicy;
  /** The binary, for messages. */
  private command = 'devproxy';
  private notFound: string | undefined;
  private spawnError: string | undefined;
  private initError: string | undefined;
  private lastExit: ExitInfo | undefined;
  private lastDecision: CloseDecision | undefined;
  private reported = false;

  constructor(options: RestartPolicyOptions = {}) {
    this.policy = new RestartPolicy(options);
  }

  /** A start asked for by the user (or activation): a fresh budget, nothing known yet. */
  reset(): void {
    this.policy.reset();
    this.command = 'devproxy';
    this.notFound = undefined;
    this.reported = false;
    this.forgetProcess();
  }

  /** No binary to start: the message says where it looked and what to set. */
  binaryNotFound(message: string): void {
    this.notFound = message;
  }

  /** A process of `command` is being spawned (the first, or a restart). */
  processStarting(command: string): void {
    this.command = command;
    this.policy.serverStarting();
    this.forgetProcess();
  }

  private forgetProcess(): void {
    this.spawnError = undefined;
    this.initError = undefined;
    this.lastExit = undefined;
    this.lastDecision = undefined;
  }

  spawnFailed(error: string): void {
    this.spawnError = error;
  }

  exited(exit: ExitInfo): void {
    this.lastExit = exit;
  }

  /** The server answered initialize: a later exit is a crash, not a start failure. */
  initialized(): void {
    this.policy.serverInitialized();
  }

  /** For the LanguageClient's initializationFailedHandler: never retry. */
  initializationFailed(error: string): boolean {
    this.initError = error;
    return this.policy.initializationFailed();
  }

  /** The client could not start the server (start() rejected); keeps the first error seen. */
  startFailed(error: string): void {
    this.initError ??= error;
  }

  /** For the errorHandler's error(): a broken message now and then is survivable; a stream is not. */
  errorDecision(count: number | undefined): ErrorDecision {
    // Without a count (a write to a server that already exited), carry on:
    // closed() decides what happens to a server that is gone.
    return count === undefined || count <= maxMessageErrors ? 'continue' : 'shutdown';
  }

  /** For the errorHandler's closed(): the connection closed without us asking. */
  closed(): CloseOutcome {
    const d = this.policy.closed();
    this.lastDecision = d;
    if (d.restart) {
      const minutes = Math.round(this.policy.windowMs / 60000);
      return { ...d, message: `The language server stopped; restarting it (${d.attempt} of ${this.policy.maxRestarts} within ${minutes} minutes).` };
    }
    const message =
      d.reason === 'initialization'
        ? 'The language server stopped while starting; it will not be restarted.'
        : `The language server stopped ${d.crashes} times in a short while; it will not be restarted.`;
    return { ...d, message };
  }

  /** Whether the last close was answered with a restart (so a stop is not a failure). */
  get restarting(): boolean {
    return this.lastDecision?.restart === true;
  }

  /** Why the server is not running, from what we saw. */
  failure(): ServerFailure {
    const command = this.command;
    if (this.notFound !== undefined) {
      return { kind: 'not-found', message: this.notFound };
    }
    if (this.spawnError !== undefined) {
      return { kind: 'spawn', command, error: this.spawnError };
    }
    const d = this.lastDecision;
    if (d && !d.restart && d.reason === 'budget') {
      return { kind: 'budget', command, crashes: d.crashes, windowMs: this.policy.windowMs, exit: this.lastExit };
    }
    if ((d && !d.restart && d.reason === 'initialization') || this.initError !== undefined) {
      return { kind: 'initialization', command, exit: this.lastExit, error: this.initError };
    }
    return { kind: 'crashed', command, exit: this.lastExit };
  }

  /**
   * Whether the failure would read better with the exit code, which has not
   * arrived yet (it can come just after the pipe closed).
   */
  waitsForExit(): boolean {
    const kind = this.failure().kind;
    return kind !== 'not-found' && kind !== 'spawn' && this.lastExit === undefined;
  }

  /** True once per run: the one message about a failure is shown once. */
  claimFailureReport(): boolean {
    if (this.reported) {
      return false;
    }
    this.reported = true;
    return true;
  }
}
