import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../lib/errors.ts';
import {
  KEP_RESULTS_BEGIN,
  KEP_RESULTS_COPY,
  KEP_RESULTS_END,
  KEP_README,
  expectedKepSection,
  findKepSection,
  loadKepResults,
  renderKepNoResults,
  renderKepResults,
  updateKepFromRun,
  updateKepReadme,
} from './kep.ts';
import type { RunResults } from '../contract/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = join(ROOT, KEP_README);
const KEP_YAML = join(ROOT, 'kep/kep.yaml');
const RESULTS_COPY = join(ROOT, KEP_RESULTS_COPY);

/**
 * Every heading of kubernetes/enhancements keps/NNNN-kep-template/README.md (the version with
 * "Prerequisite testing updates" and the n-3 skew wording), in the template's order, outside its comment
 * blocks. The KEP may add headings between them, never drop or reorder these.
 */
const TEMPLATE_HEADINGS: [number, string][] = [
  [2, 'Release Signoff Checklist'],
  [2, 'Summary'],
  [2, 'Motivation'],
  [3, 'Goals'],
  [3, 'Non-Goals'],
  [2, 'Proposal'],
  [3, 'User Stories (Optional)'],
  [4, 'Story 1'],
  [4, 'Story 2'],
  [3, 'Notes/Constraints/Caveats (Optional)'],
  [3, 'Risks and Mitigations'],
  [2, 'Design Details'],
  [3, 'Test Plan'],
  [5, 'Prerequisite testing updates'],
  [5, 'Unit tests'],
  [5, 'Integration tests'],
  [5, 'e2e tests'],
  [3, 'Graduation Criteria'],
  [3, 'Upgrade / Downgrade Strategy'],
  [3, 'Version Skew Strategy'],
  [2, 'Production Readiness Review Questionnaire'],
  [3, 'Feature Enablement and Rollback'],
  [6, 'How can this feature be enabled / disabled in a live cluster?'],
  [6, 'Does enabling the feature change any default behavior?'],
  [6, 'Can the feature be disabled once it has been enabled (i.e. can we roll back the enablement)?'],
  [6, 'What happens if we reenable the feature if it was previously rolled back?'],
  [6, 'Are there any tests for feature enablement/disablement?'],
  [3, 'Rollout, Upgrade and Rollback Planning'],
  [6, 'How can a rollout or rollback fail? Can it impact already running workloads?'],
  [6, 'What specific metrics should inform a rollback?'],
  [6, 'Were upgrade and rollback tested? Was the upgrade->downgrade->upgrade path tested?'],
  [6, 'Is the rollout accompanied by any deprecations and/or removals of features, APIs, fields of API types, flags, etc.?'],
  [3, 'Monitoring Requirements'],
  [6, 'How can an operator determine if the feature is in use by workloads?'],
  [6, 'How can someone using this feature know that it is working for their instance?'],
  [6, 'What are the reasonable SLOs (Service Level Objectives) for the enhancement?'],
  [6, 'What are the SLIs (Service Level Indicators) an operator can use to determine the health of the service?'],
  [6, 'Are there any missing metrics that would be useful to have to improve observability of this feature?'],
  [3, 'Dependencies'],
  [6, 'Does this feature depend on any specific services running in the cluster?'],
  [3, 'Scalability'],
  [6, 'Will enabling / using this feature result in any new API calls?'],
  [6, 'Will enabling / using this feature result in introducing new API types?'],
  [6, 'Will enabling / using this feature result in any new calls to the cloud provider?'],
  [6, 'Will enabling / using this feature result in increasing size or count of the existing API objects?'],
  [6, 'Will enabling / using this feature result in increasing time taken by any operations covered by existing SLIs/SLOs?'],
  [6, 'Will enabling / using this feature result in non-negligible increase of resource usage (CPU, RAM, disk, IO, ...) in any components?'],
  [6, 'Can enabling / using this feature result in resource exhaustion of some node resources (PIDs, sockets, inodes, etc.)?'],
  [3, 'Troubleshooting'],
  [6, 'How does this feature react if the API server and/or etcd is unavailable?'],
  [6, 'What are other known failure modes?'],
  [6, 'What steps should be taken if SLOs are not being met to determine the problem?'],
  [2, 'Implementation History'],
  [2, 'Drawbacks'],
  [2, 'Alternatives'],
  [2, 'Infrastructure Needed (Optional)'],
];

/** The keys of keps/NNNN-kep-template/kep.yaml, in order. */
const KEP_YAML_KEYS = [
  'title',
  'kep-number',
  'authors',
  'owning-sig',
  'participating-sigs',
  'status',
  'creation-date',
  'reviewers',
  'approvers',
  'see-also',
  'replaces',
  'stage',
  'latest-milestone',
  'milestone',
  'feature-gates',
  'disable-supported',
  'metrics',
];

interface Heading {
  level: number;
  text: string;
  line: number;
}

/** Blank out HTML comments and fenced code (keeping line count) so neither contributes headings. */
function stripNonContent(markdown: string): string {
  const noComments = markdown.replace(/<!--[\s\S]*?-->/g, (m) => m.replace(/[^\n]/g, ''));
  const lines = noComments.split('\n');
  let fenced = false;
  return lines
    .map((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
}

function headings(markdown: string): Heading[] {
  return stripNonContent(markdown)
    .split('\n')
    .flatMap((line, i) => {
      const m = /^(#{1,6}) (.+?)\s*$/.exec(line);
      return m ? [{ level: m[1]!.length, text: m[2]!, line: i + 1 }] : [];
    });
}

/** GitHub's heading anchors, as hack/update-toc.sh (mdtoc) writes them. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

/** The TOC mdtoc would generate: headings of levels 2–5, two spaces of indent per level below 2. */
function expectedToc(hs: Heading[]): string {
  const seen = new Map<string, number>();
  return hs
    .filter((h) => h.level >= 2 && h.level <= 5)
    .map((h) => {
      const base = slug(h.text);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      const anchor = n === 0 ? base : `${base}-${n}`;
      return `${' '.repeat((h.level - 2) * 2)}- [${h.text}](#${anchor})`;
    })
    .join('\n');
}

function fixture(): RunResults {
  return {
    kubernetes: 'v1.34.4',
    series: '3f9a1c2e7d4b5a60',
    runId: '20261127-1100-abcd',
    startedAt: '2026-11-27T11:00:00Z',
    durationSeconds: 742.4,
    host: { cores: 2, memoryGiB: 24, cgroup: 'v1', kernel: '6.1.0-test' },
    scenarios: [
      {
        id: 'fault-refused-cached-always',
        source: 'scenarios/faults.yaml:12',
        policy: 'Always',
        fault: 'refused',
        cached: true,
        expected: { outcome: 'ErrImagePull', fallbackEvent: false },
        observed: { outcome: 'ErrImagePull', fallbackEvent: false },
        pass: true,
      },
      {
        id: 'fault-refused-cached-cif',
        source: 'scenarios/faults.yaml:12',
        policy: 'CachedIfFailed',
        fault: 'refused',
        cached: true,
        expected: { outcome: 'Running', version: 'v1', fallbackEvent: true, maxStartupSeconds: 5 },
        observed: { outcome: 'Running', version: 'v1', fallbackEvent: true, startupSeconds: 1.234 },
        pass: true,
      },
      {
        id: 'fault-unauthorized-cached-cif',
        policy: 'CachedIfFailed',
        fault: 'unauthorized',
        cached: true,
        expected: { outcome: 'ErrImagePull', fallbackEvent: false },
        observed: { outcome: 'Running', version: 'v1', fallbackEvent: true, startupSeconds: 0.9 },
        pass: false,
        failures: ['outcome Running, want ErrImagePull', 'fallback event present | want absent'],
      },
    ],
    benchmarks: [
      {
        id: 'P1-refused',
        title: 'CachedIfFailed start, registry refused, vs IfNotPresent floor',
        p50: 0.12,
        p95: 0.21,
        unit: 's',
        target: 0.3,
        pass: true,
        samples: [0.1, 0.12, 0.21],
        baseline: { p50: 0.8, p95: 0.95 },
        phases: [
          { name: 'creation → Pulling', p50: 0.2, p95: 0.3, max: 0.31, samples: 3 },
          { name: 'Pulling → fallback', p50: 0.01, p95: 0.02, max: 0.02, samples: 3 },
        ],
      },
      { id: 'P4-online', p50: 1.01, p95: 1.08, unit: 'ratio', target: 1.05, pass: false },
    ],
  };
}

describe('kep/README.md', () => {
  it('has every template heading, at the template level, in the template order', async () => {
    const hs = headings(await readFile(README, 'utf8'));
    let from = 0;
    for (const [level, text] of TEMPLATE_HEADINGS) {
      const i = hs.findIndex((h, j) => j >= from && h.text === text);
      expect(i, `heading "${text}" missing or out of order (searched after line ${hs[from - 1]?.line ?? 0})`).toBeGreaterThanOrEqual(0);
      expect(hs[i]!.level, `heading "${text}" at line ${hs[i]!.line}`).toBe(level);
      from = i + 1;
    }
  });

  it('is titled KEP-<kep-number> and has one title', async () => {
    const hs = headings(await readFile(README, 'utf8'));
    const kep = parseYaml(await readFile(KEP_YAML, 'utf8')) as Record<string, unknown>;
    const titles = hs.filter((h) => h.level === 1);
    expect(titles.map((h) => h.text)).toEqual([`KEP-${String(kep['kep-number'])}: ${String(kep.title)}`]);
  });

  it('has a table of contents that matches its headings (levels 2–5, as hack/update-toc.sh writes it)', async () => {
    const text = await readFile(README, 'utf8');
    const m = /<!-- toc -->\n([\s\S]*?)\n<!-- \/toc -->/.exec(text);
    expect(m, 'the <!-- toc --> … <!-- /toc --> block').not.toBeNull();
    expect(m![1]).toBe(expectedToc(headings(text)));
  });

  it('answers every question: no leaf section is empty', async () => {
    const text = await readFile(README, 'utf8');
    const content = stripNonContent(text).split('\n');
    const hs = headings(text);
    const empty = hs.filter((h, i) => {
      const next = hs[i + 1];
      const isParent = next !== undefined && next.level > h.level;
      if (isParent) return false;
      const body = content.slice(h.line, next ? next.line - 1 : content.length).join('\n');
      return body.trim() === '';
    });
    expect(empty.map((h) => `line ${h.line}: ${h.text}`)).toEqual([]);
  });

  it('names the feature gate, the KubeletConfiguration fields, the event reason and the metric of the contract', async () => {
    const text = await readFile(README, 'utf8');
    for (const name of [
      'ImagePullPolicyCachedIfFailed',
      'imagePullFallbackTimeout',
      'imagePullFallbackCircuitBreakerWindow',
      'PullFailedUsingCached',
      'kubelet_image_pull_fallbacks_total',
      'PullCachedIfFailed PullPolicy = "CachedIfFailed"',
    ]) {
      expect(text, name).toContain(name);
    }
  });

  it('shows exactly the committed results (or says none exist) between the markers', async () => {
    const text = await readFile(README, 'utf8');
    const section = findKepSection(text, README);
    expect(section.body).toBe(await expectedKepSection(RESULTS_COPY));
    if (!existsSync(RESULTS_COPY)) expect(section.body).toBe(renderKepNoResults());
  });
});

describe('kep/kep.yaml', () => {
  it('parses and has the template fields, in the template order, with sane values', async () => {
    const kep = parseYaml(await readFile(KEP_YAML, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(kep)).toEqual(KEP_YAML_KEYS);
    expect(kep.title).toBe('CachedIfFailed image pull policy');
    expect(String(kep['kep-number'])).toMatch(/^(NNNN|[1-9]\d*)$/);
    expect(kep['owning-sig']).toBe('sig-node');
    expect(kep.status).toBe('provisional');
    expect(kep.stage).toBe('alpha');
    expect(String(kep['creation-date'])).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Number.isNaN(Date.parse(String(kep['creation-date'])))).toBe(false);
    for (const key of ['authors', 'reviewers', 'approvers', 'participating-sigs', 'see-also', 'metrics']) {
      expect(Array.isArray(kep[key]) && (kep[key] as unknown[]).length > 0, `${key} is a non-empty list`).toBe(true);
    }
    expect(kep['see-also']).toContain('/keps/sig-node/2535-ensure-secret-pulled-images');
    expect(kep['latest-milestone']).toMatch(/^v1\.\d+$/);
    const milestone = kep.milestone as Record<string, string>;
    expect(Object.keys(milestone)).toEqual(['alpha']);
    expect(milestone.alpha).toMatch(/^v1\.\d+$/);
    expect(kep['feature-gates']).toEqual([
      { name: 'ImagePullPolicyCachedIfFailed', components: ['kube-apiserver', 'kubelet'] },
    ]);
    expect(kep['disable-supported']).toBe(true);
    expect(kep.metrics).toEqual(['kubelet_image_pull_fallbacks_total']);
  });

  it('has a prod-readiness file for its number and SIG, per keps/prod-readiness/template/nnnn.yaml', async () => {
    const kep = parseYaml(await readFile(KEP_YAML, 'utf8')) as Record<string, unknown>;
    const prrPath = join(ROOT, 'kep/prod-readiness', String(kep['owning-sig']), `${String(kep['kep-number'])}.yaml`);
    const prr = parseYaml(await readFile(prrPath, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(prr)).toEqual(['kep-number', 'alpha']);
    expect(String(prr['kep-number'])).toBe(String(kep['kep-number']));
    expect(typeof (prr.alpha as Record<string, unknown>).approver).toBe('string');
  });
});

describe('renderKepResults', () => {
  it('renders run metadata, a row per scenario with pass marks, the failures, and the benchmarks', () => {
    const md = renderKepResults(fixture());
    expect(md).toContain('| Kubernetes | v1.34.4 |');
    expect(md).toContain('| Patch series | `3f9a1c2e7d4b5a60` |');
    expect(md).toContain('| Run id | `20261127-1100-abcd` |');
    expect(md).toContain('| Started | 2026-11-27T11:00:00Z |');
    expect(md).toContain('| Duration | 742 s (12 min 22 s) |');
    expect(md).toContain('| Host | 2 cores, 24 GiB, cgroup v1, kernel 6.1.0-test |');
    expect(md).toContain('3 scenarios: 2 passed, 1 failed');

    const rows = md.split('\n').filter((l) => /^\| (Always|IfNotPresent|Never|CachedIfFailed) \|/.test(l));
    expect(rows).toEqual([
      '| CachedIfFailed | refused | yes | `fault-refused-cached-cif` | Running v1 | Running v1 | yes (want yes) | 1.23 s (≤ 5.00 s) | ✅ pass |',
      '| CachedIfFailed | unauthorized | yes | `fault-unauthorized-cached-cif` | ErrImagePull | Running v1 | yes (want no) | 0.90 s | ❌ fail |',
      '| Always | refused | yes | `fault-refused-cached-always` | ErrImagePull | ErrImagePull | no (want no) | — | ✅ pass |',
    ]);
    // Failure reasons are listed, with table-breaking pipes escaped.
    expect(md).toContain(
      '- `fault-unauthorized-cached-cif`: outcome Running, want ErrImagePull; fallback event present | want absent',
    );
    expect(md).toContain('2 measured: 1 within target');
    expect(md).toContain(
      '| P1-refused: CachedIfFailed start, registry refused, vs IfNotPresent floor | 3 | 0.12 s | 0.21 s | ≤ 0.30 s | 0.80 s / 0.95 s | ✅ pass |',
    );
    expect(md).toContain('| P4-online | — | 1.01× | 1.08× | ≤ 1.05× | — | ❌ fail |');
    expect(md).toContain('- P1-refused: creation → Pulling 0.20 / 0.30 / 0.31 s; Pulling → fallback 0.01 / 0.02 / 0.02 s');
    expect(md).not.toContain('- P4-online:');
  });

  it('says so when a run recorded no scenarios or no benchmarks, and marks unknown metadata', () => {
    const r = { ...fixture(), scenarios: [], benchmarks: [] };
    delete r.runId;
    delete r.host;
    const md = renderKepResults(r);
    expect(md).toContain('_The run recorded no scenarios._');
    expect(md).toContain('_The run recorded no benchmarks._');
    expect(md).toContain('| Run id | not recorded |');
    expect(md).toContain('| Host | not recorded |');
  });

  it('escapes pipes in cells so a value cannot break the table', () => {
    const r = fixture();
    r.scenarios = [{ ...r.scenarios[0]!, observed: { outcome: 'Waiting|odd', fallbackEvent: false } }];
    const md = renderKepResults(r);
    expect(md).toContain('1 scenario: 1 passed, 0 failed');
    const row = md.split('\n').find((l) => l.startsWith('| Always |'))!;
    expect(row).toContain('Waiting\\|odd');
    expect(row.split(/(?<!\\)\|/).length).toBe(11);
  });
});

describe('renderKepNoResults', () => {
  it('states that nothing was measured and carries no figures', () => {
    const text = renderKepNoResults();
    expect(text).toMatch(/No measured results yet/);
    expect(text).not.toMatch(/\d/);
  });
});

describe('updateKepReadme', () => {
  let dir: string;
  const before = '# KEP\n\nintro text\n\n';
  const after = '\n\n## Next\n\ntrailing text\n';
  const withMarkers = (body: string) => `${before}${KEP_RESULTS_BEGIN}\n${body}\n${KEP_RESULTS_END}${after}`;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cif-kep-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rewrites only the marked section, writes the results copy, and is idempotent', async () => {
    const readme = join(dir, 'README.md');
    const copy = join(dir, 'results', 'results.json');
    await writeFile(readme, withMarkers('old body'));

    const first = await updateKepReadme(readme, fixture(), copy);
    expect(first).toEqual({ readmeChanged: true, resultsCopy: copy });
    const text = await readFile(readme, 'utf8');
    expect(text.startsWith(`${before}${KEP_RESULTS_BEGIN}\n`)).toBe(true);
    expect(text.endsWith(`${KEP_RESULTS_END}${after}`)).toBe(true);
    expect(findKepSection(text, readme).body).toBe(renderKepResults(fixture()));
    expect(JSON.parse(await readFile(copy, 'utf8'))).toEqual(fixture());
    expect(await expectedKepSection(copy)).toBe(findKepSection(text, readme).body);

    const second = await updateKepReadme(readme, fixture(), copy);
    expect(second.readmeChanged).toBe(false);
    expect(await readFile(readme, 'utf8')).toBe(text);
  });

  it('refuses results it could not render faithfully (a non-finite benchmark figure) and writes nothing', async () => {
    const readme = join(dir, 'README.md');
    const copy = join(dir, 'results.json');
    await writeFile(readme, withMarkers('old body'));
    const r = fixture();
    r.benchmarks[0]!.p95 = Number.NaN;
    await expect(updateKepReadme(readme, r, copy)).rejects.toThrow(/benchmarks\[0\]/);
    expect(existsSync(copy)).toBe(false);
    expect(await readFile(readme, 'utf8')).toBe(withMarkers('old body'));
  });

  it('writes the explicit no-results state and removes a stale results copy', async () => {
    const readme = join(dir, 'README.md');
    const copy = join(dir, 'results.json');
    await writeFile(readme, withMarkers('old body'));
    await updateKepReadme(readme, fixture(), copy);
    expect(existsSync(copy)).toBe(true);

    const res = await updateKepReadme(readme, null, copy);
    expect(res).toEqual({ readmeChanged: true, resultsCopy: null });
    expect(existsSync(copy)).toBe(false);
    const text = await readFile(readme, 'utf8');
    expect(findKepSection(text, readme).body).toBe(renderKepNoResults());
    expect(await expectedKepSection(copy)).toBe(renderKepNoResults());
    expect((await updateKepReadme(readme, null, copy)).readmeChanged).toBe(false);
  });

  it('rejects a README without markers, naming the file, and writes nothing', async () => {
    const readme = join(dir, 'README.md');
    const copy = join(dir, 'results.json');
    await writeFile(readme, `${before}${KEP_RESULTS_BEGIN}\nbody\n${after}`);
    const err = await updateKepReadme(readme, fixture(), copy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).where).toBe(readme);
    expect((err as InputError).message).toContain(KEP_RESULTS_END);
    expect(existsSync(copy)).toBe(false);
  });

  it('rejects duplicated markers, naming the file and the line of the duplicate', async () => {
    const readme = join(dir, 'README.md');
    // BEGIN on lines 5 and 8.
    await writeFile(readme, `${before}${KEP_RESULTS_BEGIN}\nx\n${KEP_RESULTS_END}\n${KEP_RESULTS_BEGIN}\ny\n${KEP_RESULTS_END}\n`);
    const err = await updateKepReadme(readme, fixture(), join(dir, 'r.json')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).where).toBe(`${readme}:8`);
    expect((err as InputError).message).toMatch(/appears 2 times \(lines 5, 8\)/);
  });

  it('rejects an END marker before the BEGIN marker', () => {
    const text = `${KEP_RESULTS_END}\n${KEP_RESULTS_BEGIN}\n`;
    expect(() => findKepSection(text, 'X.md')).toThrow(/comes before/);
  });
});

describe('loadKepResults', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cif-kep-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns null when no results are committed', async () => {
    expect(await loadKepResults(join(dir, 'missing.json'))).toBeNull();
  });

  it('names the file when the committed results are not JSON or not results', async () => {
    const bad = join(dir, 'results.json');
    await writeFile(bad, '{ not json');
    await expect(loadKepResults(bad)).rejects.toMatchObject({ name: 'InputError', where: bad });
    await writeFile(bad, JSON.stringify({ kubernetes: 'v1.34.4', scenarios: [] }));
    await expect(loadKepResults(bad)).rejects.toThrow(/series/);
  });
});

describe('updateKepFromRun', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cif-kep-root-'));
    await mkdir(join(root, 'kep'), { recursive: true });
    await writeFile(join(root, KEP_README), `# KEP\n\n${KEP_RESULTS_BEGIN}\n${renderKepNoResults()}\n${KEP_RESULTS_END}\n`);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("rewrites the repository's KEP section from a run's results.json and commits the copy", async () => {
    const run = join(root, 'reports', 'run-1', 'results.json');
    await mkdir(join(root, 'reports', 'run-1'), { recursive: true });
    await writeFile(run, JSON.stringify(fixture()));
    const res = await updateKepFromRun(root, run);
    expect(res).toEqual({ readmeChanged: true, resultsCopy: join(root, KEP_RESULTS_COPY) });
    const text = await readFile(join(root, KEP_README), 'utf8');
    expect(findKepSection(text, KEP_README).body).toBe(await expectedKepSection(join(root, KEP_RESULTS_COPY)));
    expect(findKepSection(text, KEP_README).body).toBe(renderKepResults(fixture()));
  });

  it('refuses a SIMULATED run (the contract model, not a cluster) and leaves the KEP as it was', async () => {
    const run = join(root, 'reports', 'sim', 'results.json');
    await mkdir(join(root, 'reports', 'sim'), { recursive: true });
    await writeFile(run, JSON.stringify({ ...fixture(), driver: 'simulated' }));
    await expect(updateKepFromRun(root, run)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('SIMULATED') });
    expect(findKepSection(await readFile(join(root, KEP_README), 'utf8'), KEP_README).body).toBe(renderKepNoResults());
    expect(existsSync(join(root, KEP_RESULTS_COPY))).toBe(false);
  });

  it('refuses a run without results.json and leaves the KEP as it was', async () => {
    const missing = join(root, 'reports', 'none', 'results.json');
    await expect(updateKepFromRun(root, missing)).rejects.toMatchObject({ name: 'InputError', where: missing });
    expect(findKepSection(await readFile(join(root, KEP_README), 'utf8'), KEP_README).body).toBe(renderKepNoResults());
    expect(existsSync(join(root, KEP_RESULTS_COPY))).toBe(false);
  });
});
