// The OpenAI key for Calliope: stored in VS Code's SecretStorage (key
// devproxy.openaiApiKey), never in settings, and handed to the language
// server with the devproxy/setSecrets notification: when the user sets or
// clears it, and once after every server start. The key never reaches a
// log: messages name the action, never the value, and the LSP trace (which
// would print a notification's params) is off while the notification is
// written, then set back. Pure (no vscode import): the glue passes
// context.secrets, showInputBox and the running client.

import { Methods, OpenAIKeySecret, SetSecretsParams } from './contract';
import { errorText, Log } from './log';

/** vscode.SecretStorage, as much as this needs. */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** The LanguageClient, as much as this needs; trace values are vscode-languageclient's Trace (0 off). */
export interface SecretClient {
  sendNotification(method: string, params: SetSecretsParams): Promise<void>;
  setTrace(value: number): Promise<void>;
}

export interface CalliopeSecretsParts {
  secrets: SecretStore;
  /** The running client, if any. */
  client: () => SecretClient | undefined;
  /** The trace the client should have (from devproxy.trace.server): set back after sending. */
  trace: () => number;
  /** Asks for the key (an input box with password: true); undefined when cancelled. */
  promptKey: () => PromiseLike<string | undefined>;
  /** Tells the user what happened (never with the key). */
  inform: (message: string) => void;
  log: Log;
}

const traceOff = 0;

/** Writes devproxy/setSecrets with the trace off, then sets the trace back, whatever happened. */
export async function sendSecretsUntraced(client: SecretClient, params: SetSecretsParams, trace: number): Promise<void> {
  await client.setTrace(traceOff);
  try {
    await client.sendNotification(Methods.setSecrets, params);
  } finally {
    await client.setTrace(trace);
  }
}

export class CalliopeSecrets {
  constructor(private readonly parts: CalliopeSecretsParts) {}

  /** "Set OpenAI API Key": asks, stores, sends. */
  async setKey(): Promise<void> {
    const typed = await this.parts.promptKey();
    const key = typed?.trim();
    if (!key) {
      return;
    }
    await this.parts.secrets.store(OpenAIKeySecret, key);
    const sent = await this.send(key);
    this.parts.inform(sent ? 'Calliope will use OpenAI with the key you stored.' : 'The OpenAI key is stored; Calliope gets it when the language server starts.');
  }

  /** "Clear OpenAI API Key": deletes it, and tells the server to forget it. */
  async clearKey(): Promise<void> {
    await this.parts.secrets.delete(OpenAIKeySecret);
    await this.send('');
    this.parts.inform('The OpenAI key is cleared; Calliope uses a local model, OPENAI_API_KEY, or answers offline.');
  }

  /** After a server start: sends the stored key, if there is one. */
  async serverStarted(): Promise<void> {
    let key: string | undefined;
    try {
      key = await this.parts.secrets.get(OpenAIKeySecret);
    } catch (e) {
      this.parts.log('Warn', `Calliope: cannot read the stored OpenAI key: ${errorText(e)}`);
      return;
    }
    if (key) {
      await this.send(key);
    }
  }

  /** Sends the key (or "" to forget it); false when no server runs or it failed. */
  private async send(openaiApiKey: string): Promise<boolean> {
    const client = this.parts.client();
    if (!client) {
      return false;
    }
    try {
      await sendSecretsUntraced(client, { openaiApiKey }, this.parts.trace());
      this.parts.log('Info', openaiApiKey ? 'Calliope: sent the stored OpenAI key to the language server.' : 'Calliope: told the language server to forget the OpenAI key.');
      return true;
    } catch (e) {
      // The error of a failed send does not carry the params; say what failed, not with what.
      this.parts.log('Warn', `Calliope: cannot send ${Methods.setSecrets}: ${redact(errorText(e), openaiApiKey)}`);
      return false;
    }
  }
}

/** s with every occurrence of secret replaced, in case an error echoes it. */
export function redact(s: string, secret: string): string {
  return secret ? s.split(secret).join('[redacted]') : s;
}
