/** report.md: the matrix (policy × fault × cached → outcome), the other scenarios, the benchmarks, the failures. */
import { cellText, expectedText, fmtFigure, fmtTarget, matrixGrids, otherScenarios, phasesLine, runHeadline } from './summary.ts';
import type { RunResults } from '../contract/index.ts';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: RunResults): string {
  const out: string[] = [];
  out.push(`# CachedIfFailed e2e — ${r.runId ?? r.startedAt}`, '');
  if (r.driver === 'simulated') {
    out.push('> **SIMULATED RUN** — against the in-process contract model, not a Kubernetes cluster. Not evidence.', '');
  }
  out.push(
    `Kubernetes ${r.kubernetes}, patch series ${r.series}. Started ${r.startedAt}, took ${Math.round(r.durationSeconds)} s.`,
    '',
    `**${runHeadline(r)}**`,
    '',
    'Legend: `+ fallback event` = a `PullFailedUsingCached` event was recorded; ❌ = not what the contract says (reasons below).',
    '',
  );
  for (const g of matrixGrids(r)) {
    out.push(`## Matrix: ${g.title}`, '');
    out.push(`| fault | cached | ${g.policies.join(' | ')} |`, `|---|---|${g.policies.map(() => '---').join('|')}|`);
    for (const row of g.rows) {
      const cells = row.cells.map((c) => (c ? `${c.pass ? '' : '❌ '}${cell(cellText(c))}` : '–'));
      out.push(`| ${row.fault} | ${row.cached ? 'yes' : 'no'} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  const others = otherScenarios(r);
  if (others.length) {
    out.push('## Scenarios', '', '| scenario | policy | fault | cached | expected | observed | |', '|---|---|---|---|---|---|---|');
    for (const s of others) {
      out.push(`| ${cell(s.id)} | ${s.policy} | ${s.fault} | ${s.cached ? 'yes' : 'no'} | ${cell(expectedText(s))} | ${cell(cellText(s))} | ${s.pass ? '✅' : '❌'} |`);
    }
    out.push('');
  }
  if (r.benchmarks.length) {
    out.push('## Benchmarks', '', '| id | what | p50 | p95 | max | target | judged | samples | |', '|---|---|---|---|---|---|---|---|---|');
    for (const b of r.benchmarks) {
      out.push(
        `| ${b.id} | ${cell(b.title ?? '')}${b.formula ? ` (\`${b.formula}\`)` : ''} | ${fmtFigure(b, b.p50)} | ${fmtFigure(b, b.p95)} | ${fmtFigure(b, b.max)} | ${fmtTarget(b)} | ${b.judge ?? 'p95'} | ${b.samples?.length ?? 0} | ${b.pass ? '✅' : '❌'} |`,
      );
    }
    const refs = r.benchmarks.filter((b) => b.reference || b.baseline || b.phases?.length);
    if (refs.length) {
      out.push('');
      for (const b of refs) {
        if (b.phases?.length) out.push(`- ${b.id} where the time goes (p50 / p95 / max): ${phasesLine(b.phases)}`);
        if (b.baseline) out.push(`- ${b.id} baseline \`${b.baseline.label ?? 'baseline'}\`: p50 ${b.baseline.p50.toFixed(2)} s, p95 ${b.baseline.p95.toFixed(2)} s`);
        if (b.reference) out.push(`- ${b.id} reference — ${b.reference.label}: p50 ${b.reference.p50.toFixed(2)} s, p95 ${b.reference.p95.toFixed(2)} s${b.reference.outcome ? ` (${b.reference.outcome})` : ''}`);
      }
    }
    out.push('', '![latency](latency.svg)', '');
  }
  const failed = [...r.scenarios.filter((s) => !s.pass), ...r.benchmarks.filter((b) => !b.pass)];
  if (failed.length) {
    out.push('## Failures', '');
    for (const f of failed) {
      out.push(`- **${f.id}**${f.source ? ` (${f.source})` : ''}`);
      for (const why of f.failures ?? ['failed']) out.push(`  - ${why}`);
    }
    out.push('');
  }
  return out.join('\n');
}
