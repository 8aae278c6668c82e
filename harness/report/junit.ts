/** junit.xml: one testsuite per scenario, one for the benchmarks; failures carry the reasons in words. */
import { fmtFigure, fmtTarget } from './summary.ts';
import type { RunResults } from '../contract/index.ts';

export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // control characters are not allowed in XML 1.0
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

export function renderJunit(r: RunResults): string {
  const suites = new Map<string, string[]>();
  const counts = new Map<string, { tests: number; failures: number; time: number }>();
  const add = (suite: string, xml: string, failed: boolean, time: number) => {
    suites.set(suite, [...(suites.get(suite) ?? []), xml]);
    const c = counts.get(suite) ?? { tests: 0, failures: 0, time: 0 };
    c.tests++;
    if (failed) c.failures++;
    c.time += time;
    counts.set(suite, c);
  };
  for (const s of r.scenarios) {
    const suite = s.scenario ?? s.id.split('/')[0]!;
    const time = s.durationSeconds ?? 0;
    const body = s.pass
      ? ''
      : `\n      <failure message="${xmlEscape((s.failures ?? ['failed'])[0]!)}">${xmlEscape((s.failures ?? []).join('\n'))}${s.source ? xmlEscape(`\nat ${s.source}`) : ''}</failure>\n    `;
    add(suite, `    <testcase classname="${xmlEscape(suite)}" name="${xmlEscape(s.id)}" time="${time.toFixed(1)}">${body}</testcase>`, !s.pass, time);
  }
  for (const b of r.benchmarks) {
    const text = `${b.judge ?? 'p95'}: p50 ${fmtFigure(b, b.p50)}, p95 ${fmtFigure(b, b.p95)}, target ${fmtTarget(b)}`;
    const body = b.pass
      ? `<system-out>${xmlEscape(text)}</system-out>`
      : `\n      <failure message="${xmlEscape((b.failures ?? ['over target'])[0]!)}">${xmlEscape([text, ...(b.failures ?? [])].join('\n'))}</failure>\n    `;
    add('benchmarks', `    <testcase classname="benchmarks" name="${xmlEscape(b.id)}" time="0">${body}</testcase>`, !b.pass, 0);
  }
  const total = [...counts.values()].reduce((a, c) => ({ tests: a.tests + c.tests, failures: a.failures + c.failures }), { tests: 0, failures: 0 });
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="cached-if-failed e2e${r.runId ? ` ${xmlEscape(r.runId)}` : ''}" tests="${total.tests}" failures="${total.failures}" time="${r.durationSeconds.toFixed(1)}">`,
  ];
  for (const [name, cases] of suites) {
    const c = counts.get(name)!;
    out.push(`  <testsuite name="${xmlEscape(name)}" tests="${c.tests}" failures="${c.failures}" errors="0" time="${c.time.toFixed(1)}" timestamp="${xmlEscape(r.startedAt)}">`, ...cases, '  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
