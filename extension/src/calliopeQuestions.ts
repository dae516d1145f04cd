// The questions Calliope's commands fill in: "Diagnose Route with Calliope"
// from a route of the Routes tree or from a devproxy diagnostic, and "Ask
// Calliope" with a selection or an argument. Pure, so the sentences are
// held by tests; the glue collects the facts.

import { HealthStatus } from './contract';
import { RouteNode, RoutesModel } from './routesModel';

export interface RouteFacts {
  /** The route ("/app/"), or the location as written when it has none. */
  route: string;
  /** The display path of its file. */
  file: string;
  /** 1-based. */
  line: number;
  /** Its runtime health, when the proxy reported one. */
  status?: HealthStatus;
  /** Why it is not ok, or the diagnostic's message. */
  reason?: string;
}

/** "Why does /app/ (apps/app.conf:3) fail? Its health: error, connection refused on 127.0.0.1:5999." */
export function diagnoseQuestion(f: RouteFacts): string {
  const health = [f.status ?? 'unknown', oneLine(f.reason ?? '')].filter((s) => s !== '').join(', ');
  return `Why does ${f.route} (${f.file}:${f.line}) fail? Its health: ${health}.`;
}

/** The question of a devproxy diagnostic: the route at its line when one is known, else the location's text. */
export function diagnosticQuestion(d: { file: string; line: number; message: string; route?: string; status?: HealthStatus; reason?: string }): string {
  const reason = d.reason ? `${d.reason}; the editor says: ${oneLine(d.message)}` : oneLine(d.message);
  return diagnoseQuestion({ route: d.route ?? 'this location', file: d.file, line: d.line, status: d.status, reason });
}

/** A selection or argument as the question's draft: trimmed, bounded. */
export function askDraft(arg: unknown, selection: string | undefined): string {
  const from = typeof arg === 'string' ? arg : selection;
  const text = (from ?? '').trim();
  return text.length > 4000 ? text.slice(0, 4000) : text;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
}

/** The facts of a route of the Routes tree: its route (or the location as written), file, line and last health. */
export function routeFacts(node: RouteNode): RouteFacts {
  return {
    route: node.route ?? node.label,
    file: node.fileId,
    line: node.line,
    status: node.healthStatus,
    ...(node.health?.reason ? { reason: node.health.reason } : {}),
  };
}

/** The route of the tree whose block holds a 1-based line of a file: the last location that starts at or before it. */
export function routeAtLine(model: RoutesModel, uri: string, line: number): RouteNode | undefined {
  let best: RouteNode | undefined;
  for (const file of model.files) {
    for (const r of file.routes) {
      if (r.reveal.uri === uri && r.line <= line && (!best || r.line > best.line)) {
        best = r;
      }
    }
  }
  return best;
}
