// "Create API Key": asks the role and a name, sends devproxy/createKey and
// shows the key once (docs/auth.md: only its hash is stored). The key must
// never reach a log: the LSP trace, which would print the answer, is off
// while the request runs and set back after, as for devproxy/setSecrets
// (calliopeSecrets.ts); messages name the key's id, never its value. Pure
// (no vscode import): extension.ts passes the running client and the UI.

import { ApiKeyRole, CreateKeyParams, CreateKeyResult, Methods } from './contract';
import { redact } from './calliopeSecrets';
import { errorText, Log } from './log';

/** The LanguageClient, as much as this needs; trace values are vscode-languageclient's Trace (0 off). */
export interface KeyClient {
  sendRequest<R>(method: string, params: CreateKeyParams): Promise<R>;
  setTrace(value: number): Promise<void>;
}

export interface RoleChoice {
  role: ApiKeyRole;
  label: string;
  description: string;
}

export const apiKeyRoleChoices: readonly RoleChoice[] = [
  { role: 'read-only', label: 'read-only', description: 'sees routes, health, reports, the dashboard and the live events' },
  { role: 'admin', label: 'admin', description: 'can also change things: install and rename routes, settings, prune reports' },
];

/** schemas/lsp-create-key-params.schema.json `name.maxLength`. */
export const maxKeyNameLength = 64;

/** Why a key's name will not do, or undefined; the name is optional. */
export function checkKeyName(name: string): string | undefined {
  if (name.trim().length > maxKeyNameLength) {
    return `At most ${maxKeyNameLength} characters`;
  }
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    return 'No control characters';
  }
  return undefined;
}

/** Whether an answer looks like devproxy/createKey's: a non-empty key and its id. */
export function isCreateKeyResult(v: unknown): v is CreateKeyResult {
  if (typeof v !== 'object' || v === null) {
    return false;
  }
  const r = v as Record<string, unknown>;
  return typeof r.key === 'string' && r.key !== '' && typeof r.id === 'string';
}

const traceOff = 0;

/** Sends devproxy/createKey with the trace off, then sets the trace back, whatever happened. */
export async function createKeyUntraced(client: KeyClient, params: CreateKeyParams, trace: number): Promise<unknown> {
  await client.setTrace(traceOff);
  try {
    return await client.sendRequest<unknown>(Methods.createKey, params);
  } finally {
    await client.setTrace(trace);
  }
}

/** The modal message that shows the key, once; `detail` holds the key alone so it reads well. */
export function keyCreatedMessage(r: CreateKeyResult): { message: string; detail: string } {
  const who = r.name ? `"${r.name}" ` : '';
  return {
    message: `API key ${who}(${r.role}) created. Copy it now: it will not be shown again.`,
    detail: r.key,
  };
}

export interface CreateApiKeyParts {
  client: () => KeyClient | undefined;
  /** The trace the client should have (from devproxy.trace.server): set back after the request. */
  trace: () => number;
  pickRole: (choices: readonly RoleChoice[]) => PromiseLike<RoleChoice | undefined>;
  /** The optional name; undefined when cancelled, "" for none. */
  promptName: () => PromiseLike<string | undefined>;
  /** Shows the key once, modal; resolves true when "Copy" was chosen. */
  showKey: (message: string, detail: string) => PromiseLike<boolean>;
  copy: (text: string) => PromiseLike<void>;
  inform: (message: string) => void;
  warn: (message: string) => void;
  log: Log;
}

/** The whole command: role, name, request, the key shown once. Resolves once the message is closed. */
export async function createApiKey(parts: CreateApiKeyParts): Promise<void> {
  if (!parts.client()) {
    parts.warn('Dev Tunnel Proxy: the language server is not running, so no API key can be created.');
    return;
  }
  const choice = await parts.pickRole(apiKeyRoleChoices);
  if (!choice) {
    return;
  }
  const typed = await parts.promptName();
  if (typed === undefined) {
    return;
  }
  const client = parts.client();
  if (!client) {
    parts.warn('Dev Tunnel Proxy: the language server stopped, so no API key was created.');
    return;
  }
  const name = typed.trim();
  const params: CreateKeyParams = name ? { role: choice.role, name } : { role: choice.role };
  let answer: unknown;
  try {
    answer = await createKeyUntraced(client, params, parts.trace());
  } catch (e) {
    // An error does not carry the key (there is none yet); said as it came.
    parts.warn(`Dev Tunnel Proxy: cannot create an API key: ${errorText(e)}`);
    return;
  }
  if (!isCreateKeyResult(answer)) {
    parts.warn('Dev Tunnel Proxy: the language server answered devproxy/createKey without a key.');
    return;
  }
  parts.log('Info', `Created API key ${answer.id} (${answer.role}${answer.name ? `, ${answer.name}` : ''}).`);
  const shown = keyCreatedMessage(answer);
  if (await parts.showKey(shown.message, shown.detail)) {
    try {
      await parts.copy(answer.key);
      parts.inform(`API key ${answer.name ? `"${answer.name}" ` : ''}copied to the clipboard.`);
    } catch (e) {
      parts.warn(`Dev Tunnel Proxy: cannot copy the key: ${redact(errorText(e), answer.key)}`);
    }
  }
}
