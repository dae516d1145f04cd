// The protocol half of the LanguageClient's options: which documents are
// synced, what is synchronised, what initialize carries. Pure (a type-only
// import of vscode-languageclient), so a unit test holds the choices below;
// serverController.ts adds the channels and the lifecycle handlers.
//
// File events: the client sets up no watcher of its own (no
// synchronize.fileEvents). The server registers the globs it needs with
// client/registerCapability for workspace/didChangeWatchedFiles
// (server/lsp/initialize.go registerWatchers, docs/lsp.md "Documents"), as
// terraform-ls does; watching here too sent every event twice.
//
// Folders: every workspace folder is the server's. The client sends them
// all in initialize (workspaceFolders, vscode-languageclient's default) as
// no workspaceFolder option ties it to one, and the selector names a
// language, not a folder, so the route files of every folder are synced.

import type { LanguageClientOptions } from 'vscode-languageclient/node';
import { LanguageId } from './contract';
import { DevproxySettings } from './settings';

/** The settings section the client syncs: workspace/didChangeConfiguration, then the server pulls it. */
export const configurationSection = 'devproxy';

export type ProtocolOptions = Required<Pick<LanguageClientOptions, 'documentSelector' | 'synchronize' | 'initializationOptions' | 'diagnosticCollectionName'>>;

export function protocolOptions(settings: DevproxySettings): ProtocolOptions {
  return {
    // Only route files are the language. The server publishes diagnostics
    // for devproxy.json and .devproxy/resolutions.json by URI, and reads
    // them from disk (through the watchers it registers), so they need no
    // text sync.
    documentSelector: [{ scheme: 'file', language: LanguageId }],
    // Sends workspace/didChangeConfiguration on a change; the server then
    // pulls section devproxy with workspace/configuration.
    synchronize: { configurationSection },
    initializationOptions: settings,
    diagnosticCollectionName: 'devproxy',
  };
}
