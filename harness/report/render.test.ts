import { beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import type { RunResults } from '../contract/index.ts';
import { renderSvg } from './svg.ts';
import { fixtureResults } from './testing.ts';

let r: RunResults;
beforeAll(async () => {
  r = await fixtureResults();
});

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

describe('results.json shape (issue 6 §4)', () => {
  it('has the fields the issue names', () => {
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['kubernetes', 'series', 'startedAt', 'durationSeconds', 'scenarios', 'benchmarks']));
    for (const s of r.scenarios) {
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['id', 'policy', 'fault', 'cached', 'expected', 'observed', 'pass']));
      expect(Object.keys(s.observed)).toEqual(expect.arrayContaining(['outcome', 'fallbackEvent']));
    }
    for (const b of r.benchmarks) expect(Object.keys(b)).toEqual(expect.arrayContaining(['id', 'p50', 'p95', 'unit', 'target', 'pass']));
    expect(r.scenarios).toHaveLength(62);
    expect(r.scenarios.filter((s) => !s.pass)).toHaveLength(3);
  });
});

describe('junit.xml', () => {
  it('one testcase per expectation and benchmark; failures carry the reasons', () => {
    const x = renderJunit(r);
    expect(x.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')).toBe(true);
    expect(count(x, /<testcase /g)).toBe(r.scenarios.length + r.benchmarks.length);
    expect(count(x, /<failure /g)).toBe(3);
    expect(x).toMatch(/<testsuites name="cached-if-failed e2e fixture-run" tests="63" failures="3"/);
    expect(x).toMatch(/<testsuite name="fault-matrix" tests="60" failures="3"/);
    expect(x).toContain('behaves unlike Always: Always → ErrImagePull, this → Running');
    expect(x).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/); // every & is an entity
    expect(count(x, /<testsuite /g)).toBe(count(x, /<\/testsuite>/g));
  });
});

describe('report.md', () => {
  it('the matrix policy × fault × cached, then scenarios, benchmarks, failures', () => {
    const md = renderMarkdown(r);
    expect(md).toContain('**SIMULATED RUN**');
    expect(md).toContain(`**${r.scenarios.length + r.benchmarks.length - 3} passed, 3 failed**`);
    expect(md).toContain('| fault | cached | Always | IfNotPresent | CachedIfFailed |');
    const rows = md.split('\n').filter((l) => /^\| (stopped|refused|blackhole|dns|http-503|http-429|unauthorized|forbidden|not-found|hang) \| (yes|no) \|/.test(l));
    expect(rows).toHaveLength(20);
    expect(md).toMatch(/\| unauthorized \| yes \| ErrImagePull in 150 ms \| Running v1 in 800 ms \| ❌ Running v1 \+ fallback event in/);
    expect(md).toMatch(/\| hang \| yes \| ContainerCreating after 60 s \|/);
    expect(md).toContain('| two-nodes/on-a | CachedIfFailed | refused | yes |');
    expect(md).toMatch(/\| P2 \| .* \| 10\.00 s \| 10\.00 s \| 10\.00 s \| ≤ 11 s \| p95 \| 10 \| ✅ \|/); // the model falls back exactly at its 10 s deadline
    expect(md).toContain('Always (unpatched behaviour): time to ErrImagePull: p50 30.00 s');
    expect(md).toMatch(/## Failures\n\n- \*\*fault-matrix\/CachedIfFailed\/unauthorized\/cached\*\*/);
  });
});

describe('latency.svg', () => {
  it('is a standalone SVG with a row per benchmark and every sample', () => {
    const svg = renderSvg(r);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(count(svg, /<g class="bench"/g)).toBe(r.benchmarks.length);
    const p2 = r.benchmarks.find((b) => b.id === 'P2')!;
    expect(count(svg, /<circle /g)).toBe(p2.samples!.length + p2.reference!.samples!.length);
    expect(count(svg, /class="target"/g)).toBe(1);
    expect(count(svg, /<g /g)).toBe(count(svg, /<\/g>/g));
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});

describe('report.html', () => {
  it('is self-contained: no external scripts, styles, images or fonts', () => {
    const html = renderHtml(r);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|@import|url\(/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(count(html, /<td class="cell /g)).toBe(60);
    expect(count(html, /<td class="cell fail"/g)).toBe(3);
    expect(html).toContain('id="simulated"');
  });
});
