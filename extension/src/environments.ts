// "Switch Environment": the choices from devproxy/environments and the
// value of devproxy.environment each one sets. Pure (no vscode import):
// extension.ts shows the choices and writes the setting.

import { EnvironmentsResult } from './contract';

export interface EnvironmentChoice {
  label: string;
  description: string;
  /** The value devproxy.environment gets: "" for none. */
  name: string;
}

/** Whether an answer looks like devproxy/environments'. */
export function isEnvironmentsResult(v: unknown): v is EnvironmentsResult {
  if (typeof v !== 'object' || v === null) {
    return false;
  }
  const r = v as Record<string, unknown>;
  return typeof r.active === 'string' && Array.isArray(r.names) && r.names.every((n) => typeof n === 'string');
}

/**
 * "None" first, then the profiles in the server's order; the active one is
 * marked, and an active name devproxy.json does not define is listed too,
 * so that it can be seen and left.
 */
export function environmentChoices(r: EnvironmentsResult): EnvironmentChoice[] {
  const mark = (name: string, other: string) => (name === r.active ? 'active' : other);
  const choices: EnvironmentChoice[] = [{ label: 'None', description: mark('', 'the upstreams as the route files write them'), name: '' }];
  for (const name of r.names) {
    choices.push({ label: name, description: mark(name, ''), name });
  }
  if (r.active !== '' && !r.names.includes(r.active)) {
    choices.push({ label: r.active, description: 'active, but devproxy.json does not define it', name: r.active });
  }
  return choices;
}
