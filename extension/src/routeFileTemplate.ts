// "Create a Route File": what the user may type, and the file it makes.
// Pure; createRouteFile.ts asks the questions and writes the file.
//
// The file is one prefix location that strips the prefix (proxy_pass with a
// URI, as docs/route-files.md describes): /shop/cart reaches the upstream
// as /cart. WebSocket upgrades (a dev server's hot reload) pass through
// without the Upgrade and Connection lines nginx needs, so the file leaves
// them out; proxy_http_version would only earn a hint.

/** The default upstream: a dev server on this machine. */
export const defaultUpstream = 'http://127.0.0.1:3000';

const namePattern = /^[A-Za-z0-9_-]+$/;

/** Why name cannot name an app (and its file apps/<name>.conf), or undefined when it can. */
export function validateAppName(name: string): string | undefined {
  if (name === '') {
    return 'Type a name for the app, such as shop.';
  }
  if (!namePattern.test(name)) {
    return 'Letters, digits, - and _ only: the name is also the file name, apps/<name>.conf.';
  }
  return undefined;
}

/** The prefix offered for an app: /<name>/. */
export function defaultPrefix(name: string): string {
  return `/${name}/`;
}

/**
 * Why prefix cannot be the app's location, or undefined when it can: it
 * starts and ends with /, and holds nothing the route-file syntax would
 * read as something else (spaces, braces, ;, #, quotes, $ or \).
 */
export function validatePrefix(prefix: string): string | undefined {
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) {
    return 'The prefix starts and ends with /, such as /shop/.';
  }
  if (/[\s{};#"'$\\]/.test(prefix)) {
    return 'No spaces, braces, ;, #, quotes, $ or \\ in the prefix.';
  }
  if (prefix.includes('//')) {
    return 'No empty segment (//) in the prefix.';
  }
  return undefined;
}

/** Why upstream cannot be proxied to, or undefined when it can: an http(s) URL with a host, without a query or fragment. */
export function validateUpstream(upstream: string): string | undefined {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    return `An http or https URL, such as ${defaultUpstream}.`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `An http or https URL, such as ${defaultUpstream}.`;
  }
  if (url.hostname === '' || url.username !== '' || url.password !== '') {
    return 'A host (and port) without a user name, such as 127.0.0.1:3000.';
  }
  if (url.search !== '' || url.hash !== '' || upstream.includes('?') || upstream.includes('#')) {
    return 'No query or fragment in the upstream.';
  }
  if (/[\s{};"'$\\]/.test(upstream)) {
    return 'No spaces, braces, ;, quotes, $ or \\ in the upstream.';
  }
  return undefined;
}

export interface RouteFileSpec {
  name: string;
  prefix: string;
  upstream: string;
}

/** The file's path in its folder: apps/<name>.conf. */
export function routeFilePath(name: string): string {
  return `apps/${name}.conf`;
}

/**
 * The text of the route file. The upstream gets exactly one trailing /, so
 * the prefix is stripped: <prefix>x reaches <upstream>/x.
 */
export function routeFileText(spec: RouteFileSpec): string {
  const upstream = spec.upstream.replace(/\/+$/, '');
  return [
    `# ${spec.name}: served at ${spec.prefix} through devproxy`,
    `location ${spec.prefix} {`,
    `    proxy_pass ${upstream}/;`,
    '}',
    '',
  ].join('\n');
}
