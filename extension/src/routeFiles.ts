// Which open documents should get the route-file language. The manifest
// gives it to apps/*.conf and overrides/*.conf by name; route files in other
// folders (devproxy.json's apps and overrides, or the devproxy.apps and
// devproxy.overrides settings) get it because the server says they are route
// files: RoutesResult.files lists every file it reads. The server decides
// (one truth, house style habit 15); the extension does not re-match globs,
// so devproxy.json winning over the settings, ignored dot files and the like
// need no second implementation here. Pure; routeFileLanguage.ts is the glue.

import { LanguageId } from './contract';

/**
 * One spelling per file URI, so that VS Code's and the server's compare
 * equal: they escape different characters (VS Code writes `%5B` and
 * `c%3A`, Go `[` and `C:`), so the path is compared decoded, with the
 * authority and a Windows drive letter in lower case. Anything that is not
 * a file URI, or does not decode, is kept as it is.
 */
export function canonicalFileUri(uri: string): string {
  const m = /^file:(?:\/\/([^/?#]*))?([^?#]*)$/i.exec(uri);
  if (!m) {
    return uri;
  }
  let path: string;
  try {
    path = decodeURIComponent(m[2]);
  } catch {
    return uri;
  }
  if (/^[A-Za-z]:/.test(path)) {
    path = '/' + path; // file:C:/x, without the slashes
  }
  path = path.replace(/^\/([A-Za-z]):/, (_, drive: string) => `/${drive.toLowerCase()}:`);
  return `file://${(m[1] ?? '').toLowerCase()}${path}`;
}

/** The route files of the newest table, by canonical URI. */
export class RouteFileSet {
  private readonly uris: Set<string>;

  constructor(files: readonly { uri: string }[] = []) {
    this.uris = new Set(files.map((f) => canonicalFileUri(f.uri)));
  }

  has(uri: string): boolean {
    return this.uris.has(canonicalFileUri(uri));
  }

  get size(): number {
    return this.uris.size;
  }
}

/** What adoption needs to know of a document. */
export interface DocumentInfo {
  uri: string;
  languageId: string;
}

/** Whether doc is a route file the server reads that does not have the route-file language yet. */
export function needsRouteFileLanguage(doc: DocumentInfo, files: RouteFileSet): boolean {
  return doc.languageId !== LanguageId && files.has(doc.uri);
}
