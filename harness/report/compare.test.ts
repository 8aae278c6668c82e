import { describe, expect, it } from 'vitest';
import { compareResults, formatComparison } from './compare.ts';
import { fixtureResults } from './testing.ts';

describe('compareResults', () => {
  it('finds two copies of a run identical, whatever their timings', async () => {
    const a = await fixtureResults();
    const b = structuredClone(a);
    b.durationSeconds += 100;
    for (const s of b.scenarios) s.observed.startupSeconds = (s.observed.startupSeconds ?? 0) + 3;
    const r = compareResults(a, b);
    expect(r.differences).toEqual([]);
    expect(formatComparison(r)).toMatch(/^identical: \d+ cells/);
  });

  it('names every cell whose outcome, version, event or verdict moved, and cells only one run has', async () => {
    const a = await fixtureResults();
    const b = structuredClone(a);
    const s = b.scenarios[0]!;
    s.observed.outcome = 'Moved';
    s.observed.fallbackEvent = !s.observed.fallbackEvent;
    s.pass = !s.pass;
    b.benchmarks[0]!.pass = !b.benchmarks[0]!.pass;
    b.scenarios.push({ ...s, id: 'extra/cell' });
    const r = compareResults(a, b);
    expect(r.differences.map((d) => `${d.id} ${d.field}`)).toEqual([
      `scenario ${s.id} outcome`,
      `scenario ${s.id} fallbackEvent`,
      `scenario ${s.id} pass`,
      `benchmark ${b.benchmarks[0]!.id} pass`,
      'scenario extra/cell present',
    ]);
    expect(formatComparison(r)).toContain('→');
  });
});
