// The extension's log lines, as the LanguageClient writes its own to the
// same output channel: "[Level - time] message". Pure; the glue passes a Log
// bound to the one output channel to every module that reports something.

export type LogLevel = 'Info' | 'Warn' | 'Error';

/** Writes one line to the "Dev Tunnel Proxy" output channel. */
export type Log = (level: LogLevel, message: string) => void;

export function logLine(level: LogLevel, message: string, at: Date = new Date()): string {
  return `[${level.padEnd(5)} - ${at.toLocaleTimeString()}] ${message}`;
}

/** The message of a thrown value, for logs and messages. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
