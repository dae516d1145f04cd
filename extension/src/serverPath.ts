// Finds the `devproxy` binary the extension starts as its language server.
// Pure: the file system and the environment are injected, so the lookup
// order is tested without touching the machine.
//
// Order: the devproxy.server.path setting, then the binary bundled in the
// extension (bin/devproxy, bin/devproxy.exe on Windows; the platform-specific
// .vsix carries it), then `devproxy` on PATH. A setting that is set but wrong
// is an error, not a reason to fall back: the user asked for that binary.

import * as nodePath from 'path';

export const ServerPathSetting = 'devproxy.server.path';

/** What the resolver needs to know about a path. */
export interface FileProbe {
  /** undefined when nothing is there (or it cannot be read). */
  stat(path: string): { isFile: boolean; mode: number } | undefined;
}

export interface ServerPathInput {
  /** The devproxy.server.path setting; empty means "not set". */
  setting: string;
  /** The extension's folder (ExtensionContext.extensionPath). */
  extensionPath: string;
  platform: string;
  env: Record<string, string | undefined>;
  /** Relative settings are resolved against it (and ${workspaceFolder}). */
  workspaceFolder?: string;
  /** For a leading ~ in the setting. */
  homeDir?: string;
  fs: FileProbe;
}

export type ServerSource = 'setting' | 'bundled' | 'path';

export type ServerPathResult =
  | {
      ok: true;
      path: string;
      source: ServerSource;
      /**
       * The bundled binary lost its executable bit (some unzip paths drop
       * it); the caller should chmod it before spawning.
       */
      needsExecBit: boolean;
    }
  | { ok: false; message: string };

const executableBits = 0o111;

/** Describes where a binary came from, for logs and messages. */
export function describeSource(source: ServerSource): string {
  switch (source) {
    case 'setting':
      return `from the ${ServerPathSetting} setting`;
    case 'bundled':
      return 'bundled with the extension';
    case 'path':
      return 'found on PATH';
  }
}

export function resolveServerPath(input: ServerPathInput): ServerPathResult {
  const win = input.platform === 'win32';
  const p = win ? nodePath.win32 : nodePath.posix;
  const exe = win ? 'devproxy.exe' : 'devproxy';

  const setting = input.setting.trim();
  if (setting !== '') {
    return fromSetting(setting, input, p);
  }

  const bundled = p.join(input.extensionPath, 'bin', exe);
  const st = input.fs.stat(bundled);
  if (st?.isFile) {
    return { ok: true, path: bundled, source: 'bundled', needsExecBit: !win && (st.mode & executableBits) === 0 };
  }

  const onPath = searchPath('devproxy', input, p);
  if (onPath) {
    return { ok: true, path: onPath, source: 'path', needsExecBit: false };
  }
  return {
    ok: false,
    message:
      `Cannot find the devproxy binary: it is not bundled with this extension (no ${bundled}) ` +
      `and there is no devproxy on PATH. Set ${ServerPathSetting} to the binary ` +
      `(make build writes bin/devproxy), or install the .vsix built for this platform.`,
  };
}

function fromSetting(setting: string, input: ServerPathInput, p: typeof nodePath.posix): ServerPathResult {
  const win = input.platform === 'win32';
  let value = setting;
  if (input.workspaceFolder !== undefined) {
    value = value.replace(/\$\{workspaceFolder\}/g, input.workspaceFolder);
  }
  if (input.homeDir !== undefined && (value === '~' || value.startsWith('~/') || (win && value.startsWith('~\\')))) {
    value = p.join(input.homeDir, value.slice(1));
  }

  // A bare command name ("devproxy", "devproxy-dev") is looked up on PATH,
  // the way a shell would.
  const bare = !value.includes('/') && !(win && value.includes('\\'));
  if (bare) {
    const found = searchPath(value, input, p);
    if (found) {
      return { ok: true, path: found, source: 'setting', needsExecBit: false };
    }
    return {
      ok: false,
      message: `${ServerPathSetting} is "${setting}", but there is no ${value} on PATH. Set ${ServerPathSetting} to the full path of the devproxy binary, or leave it empty to use the one bundled with the extension.`,
    };
  }

  let full = value;
  if (!p.isAbsolute(full)) {
    if (input.workspaceFolder === undefined) {
      return {
        ok: false,
        message: `${ServerPathSetting} is the relative path "${setting}" and no folder is open to resolve it against. Set ${ServerPathSetting} to an absolute path.`,
      };
    }
    full = p.resolve(input.workspaceFolder, full);
  }
  const st = input.fs.stat(full);
  if (!st) {
    return {
      ok: false,
      message: `${ServerPathSetting} is "${setting}", but ${full} does not exist. Fix ${ServerPathSetting}, or leave it empty to use the devproxy bundled with the extension.`,
    };
  }
  if (!st.isFile) {
    return { ok: false, message: `${ServerPathSetting} is "${setting}", but ${full} is not a file. Set ${ServerPathSetting} to the devproxy binary itself.` };
  }
  if (!win && (st.mode & executableBits) === 0) {
    return { ok: false, message: `${ServerPathSetting} is "${setting}", but ${full} is not executable (chmod +x it), or fix ${ServerPathSetting}.` };
  }
  return { ok: true, path: full, source: 'setting', needsExecBit: false };
}

/** The value of an environment variable; Windows names are case-insensitive. */
function envValue(env: Record<string, string | undefined>, name: string, win: boolean): string | undefined {
  if (!win) {
    return env[name];
  }
  const key = Object.keys(env).find((k) => k.toUpperCase() === name.toUpperCase());
  return key === undefined ? undefined : env[key];
}

/**
 * Looks a command up on PATH. On Windows only the .exe is tried: spawning a
 * .bat or .cmd needs a shell, and devproxy is a Go binary anyway.
 */
function searchPath(command: string, input: ServerPathInput, p: typeof nodePath.posix): string | undefined {
  const win = input.platform === 'win32';
  const pathVar = envValue(input.env, 'PATH', win) ?? '';
  const dirs = pathVar.split(win ? ';' : ':').filter((d) => d !== '');
  const name = win && !/\.exe$/i.test(command) ? command + '.exe' : command;
  for (const dir of dirs) {
    const candidate = p.join(dir, name);
    const st = input.fs.stat(candidate);
    if (st?.isFile && (win || (st.mode & executableBits) !== 0)) {
      return candidate;
    }
  }
  return undefined;
}
