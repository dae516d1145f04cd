// The `devproxy.*` settings (docs/lsp.md, "Settings") as one plain object.
// Pure: serverController.ts passes a getter over
// vscode.workspace.getConfiguration('devproxy').

export type TraceLevel = 'off' | 'messages' | 'verbose';

/** The settings, nested the way `workspace/configuration` (section devproxy) returns them. */
export interface DevproxySettings {
  apps: string[];
  overrides: string[];
  listen: string;
  tunnel: { listen: string };
  /** The profile of devproxy.json's `environments` the server applies; "" for none. */
  environment: string;
  proxy: { enabled: boolean };
  server: { path: string };
  trace: { server: TraceLevel };
  /** Calliope's models and the workspace documents it reads. */
  calliope: { providers: string[]; baseUrl: string; model: string; docs: string[] };
}

export const settingDefaults: DevproxySettings = {
  apps: ['apps/*.conf'],
  overrides: ['overrides/*.conf'],
  listen: '127.0.0.1:8080',
  tunnel: { listen: '127.0.0.1:8081' },
  environment: '',
  proxy: { enabled: true },
  server: { path: '' },
  trace: { server: 'off' },
  calliope: { providers: ['local', 'openai'], baseUrl: '', model: '', docs: ['README.md', 'docs/**/*.md'] },
};

/** Every key under `devproxy.`, in the order of docs/lsp.md. */
export const settingKeys = [
  'apps',
  'overrides',
  'listen',
  'tunnel.listen',
  'environment',
  'proxy.enabled',
  'calliope.providers',
  'calliope.baseUrl',
  'calliope.model',
  'calliope.docs',
  'server.path',
  'trace.server',
] as const;

export type SettingKey = (typeof settingKeys)[number];

function stringList(v: unknown, fallback: string[]): string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? [...v] : [...fallback];
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

/**
 * Reads the settings through `get` (a key under `devproxy.`, such as
 * "tunnel.listen"). A value of the wrong type (hand-edited settings.json)
 * falls back to the default rather than reaching the server.
 */
export function readSettings(get: (key: SettingKey) => unknown): DevproxySettings {
  const d = settingDefaults;
  const enabled = get('proxy.enabled');
  const trace = get('trace.server');
  return {
    apps: stringList(get('apps'), d.apps),
    overrides: stringList(get('overrides'), d.overrides),
    listen: str(get('listen'), d.listen),
    tunnel: { listen: str(get('tunnel.listen'), d.tunnel.listen) },
    environment: str(get('environment'), d.environment),
    proxy: { enabled: typeof enabled === 'boolean' ? enabled : d.proxy.enabled },
    server: { path: str(get('server.path'), d.server.path) },
    trace: { server: trace === 'messages' || trace === 'verbose' ? trace : 'off' },
    calliope: {
      providers: stringList(get('calliope.providers'), d.calliope.providers).filter((p) => p === 'local' || p === 'openai'),
      baseUrl: str(get('calliope.baseUrl'), d.calliope.baseUrl),
      model: str(get('calliope.model'), d.calliope.model),
      docs: stringList(get('calliope.docs'), d.calliope.docs),
    },
  };
}
