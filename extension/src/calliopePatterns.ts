// "Show Calliope's Healing Patterns": devproxy/patterns' answer as a
// Markdown document. Pure (no `vscode` import), so unit tests can check it.

import { PatternStats } from './contract';

/** Escapes text for a Markdown table cell: pattern titles come from workspace files. */
function cell(s: string): string {
  return s.replace(/[\\`*_{}[\]()<>#+\-!|~&$]/g, (c) => '\\' + c).replace(/\r?\n/g, ' ');
}

/** The record of every pattern, most tried first, as a Markdown document. */
export function patternsMarkdown(stats: PatternStats[]): string {
  const rows = [...stats].sort((a, b) => b.attempts - a.attempts || a.id.localeCompare(b.id));
  const lines = [
    "# Calliope's healing patterns",
    '',
    'Each fix Calliope offers is checked first; every check is an attempt. Confidence is (successes + 1) / (attempts + 2); a pattern below 0.5 after 4 attempts is switched off.',
    '',
    '| Pattern | Title | Attempts | Successes | Confidence | State | Source |',
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const p of rows) {
    lines.push(`| ${cell(p.id)} | ${cell(p.title)} | ${p.attempts} | ${p.successes} | ${p.confidence.toFixed(2)} | ${p.disabled ? 'switched off' : 'on'} | ${cell(p.source)} |`);
  }
  if (rows.length === 0) {
    lines.push('| — | no patterns | 0 | 0 | — | — | — |');
  }
  return lines.join('\n') + '\n';
}
