/**
 * The KEP's results section: rendered from a run's results.json and written between two markers in
 * kep/README.md, so the KEP never shows a number that no run measured.
 *
 * Two states, both explicit:
 *  - measured: the section is `renderKepResults(results)` and the results it was rendered from are
 *    committed beside the KEP (kep/results/results.json), so a reviewer (and a test) can re-derive it;
 *  - not measured yet: the section is `renderKepNoResults()` and no results file exists.
 * `updateKepReadme` moves between them and rewrites nothing outside the markers.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../lib/errors.ts';
import { FAULT_MODES, measuredResultsSchema, parseResults, type BenchmarkResult, type Policy, type RunResults, type ScenarioResult } from '../contract/index.ts';
import { phasesLine } from './summary.ts';

export const KEP_RESULTS_BEGIN = '<!-- BEGIN cif-results -->';
export const KEP_RESULTS_END = '<!-- END cif-results -->';

/** Where the KEP lives and where the results it shows are committed, relative to the repository root. */
export const KEP_README = 'kep/README.md';
export const KEP_RESULTS_COPY = 'kep/results/results.json';

/** The section's text while no run has been recorded. Says so plainly; carries no figures. */
export function renderKepNoResults(): string {
  return [
    '**No measured results yet.** No end-to-end run has been recorded for this KEP, so this section',
    'shows no matrix and no benchmark figures. `cif report --kep` fills it from a complete run',
    '(`reports/<run-id>/results.json`) and commits that file as `kep/results/results.json`.',
  ].join('\n');
}

const POLICY_ORDER: Policy[] = ['CachedIfFailed', 'Always', 'IfNotPresent', 'Never'];

/** Markdown for the measured state: run metadata, the policy × fault × cached matrix, the benchmarks. */
export function renderKepResults(results: RunResults): string {
  const passed = results.scenarios.filter((s) => s.pass).length;
  const failed = results.scenarios.length - passed;
  const benchPassed = results.benchmarks.filter((b) => b.pass).length;
  const out: string[] = [];

  out.push('**Run.**');
  out.push('');
  out.push('| | |');
  out.push('|---|---|');
  out.push(`| Kubernetes | ${cell(results.kubernetes)} |`);
  out.push(`| Patch series | \`${cell(results.series)}\` |`);
  out.push(`| Run id | ${results.runId ? `\`${cell(results.runId)}\`` : 'not recorded'} |`);
  out.push(`| Started | ${cell(results.startedAt)} |`);
  out.push(`| Duration | ${formatDuration(results.durationSeconds)} |`);
  out.push(`| Host | ${results.host ? formatHost(results.host) : 'not recorded'} |`);
  out.push('');

  out.push(
    `**Matrix** — ${plural(results.scenarios.length, 'scenario')}: ${passed} passed, ${failed} failed. ` +
      'Fault is the registry fault mode while the pod starts; Cached is whether an image for the ' +
      'reference was present on the node; Event is the `PullFailedUsingCached` event.',
  );
  out.push('');
  if (results.scenarios.length === 0) {
    out.push('_The run recorded no scenarios._');
  } else {
    out.push('| Policy | Fault | Cached | Scenario | Expected | Observed | Event | Startup | Result |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    for (const s of sortScenarios(results.scenarios)) out.push(scenarioRow(s));
    const failures = results.scenarios.filter((s) => !s.pass);
    if (failures.length > 0) {
      out.push('');
      out.push('Failed expectations:');
      out.push('');
      for (const s of failures) {
        const why = s.failures && s.failures.length > 0 ? s.failures.join('; ') : 'no reason recorded';
        out.push(`- \`${cell(s.id)}\`${s.source ? ` (${cell(s.source)})` : ''}: ${oneLine(why)}`);
      }
    }
  }
  out.push('');

  out.push(`**Benchmarks** — ${results.benchmarks.length} measured: ${benchPassed} within target.`);
  out.push('');
  if (results.benchmarks.length === 0) {
    out.push('_The run recorded no benchmarks._');
  } else {
    out.push('| Benchmark | Samples | p50 | p95 | Target | Baseline p50 / p95 | Result |');
    out.push('|---|---|---|---|---|---|---|');
    for (const b of results.benchmarks) out.push(benchmarkRow(b));
    const phased = results.benchmarks.filter((b) => b.phases?.length);
    if (phased.length) {
      out.push('', 'Where the time goes, pod by pod, from the pods\' events (p50 / p95 / max):', '');
      for (const b of phased) out.push(`- ${cell(b.id)}: ${phasesLine(b.phases!)}`);
    }
  }
  return out.join('\n');
}

/** What the section must contain given the committed results file: rendered results, or the no-results text. */
export async function expectedKepSection(resultsCopyPath: string): Promise<string> {
  const results = await loadKepResults(resultsCopyPath);
  return results ? renderKepResults(results) : renderKepNoResults();
}

/** The committed results, or null when none exist. A file that exists but doesn't parse is an error. */
export async function loadKepResults(resultsCopyPath: string): Promise<RunResults | null> {
  if (!existsSync(resultsCopyPath)) return null;
  const text = await readFile(resultsCopyPath, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InputError(`not valid JSON: ${(err as Error).message}`, {
      where: resultsCopyPath,
      hint: 'regenerate it with `cif report --kep` from a complete run',
    });
  }
  checkShape(parsed, resultsCopyPath);
  return parsed;
}

/** The located marked section of a README. Lines are 1-based. */
export interface KepSection {
  body: string;
  beginLine: number;
  endLine: number;
}

/** Find the one marked section; errors name the file and line of a missing, duplicated or misordered marker. */
export function findKepSection(readme: string, readmePath: string): KepSection {
  const lines = readme.split('\n');
  const at = (marker: string) =>
    lines.flatMap((line, i) => (line.trim() === marker ? [i + 1] : []));
  const begins = at(KEP_RESULTS_BEGIN);
  const ends = at(KEP_RESULTS_END);
  const hint = `keep exactly one \`${KEP_RESULTS_BEGIN}\` line followed by one \`${KEP_RESULTS_END}\` line`;
  for (const [marker, found] of [
    [KEP_RESULTS_BEGIN, begins],
    [KEP_RESULTS_END, ends],
  ] as const) {
    if (found.length === 0) throw new InputError(`marker \`${marker}\` is missing`, { where: readmePath, hint });
    if (found.length > 1) {
      throw new InputError(`marker \`${marker}\` appears ${found.length} times (lines ${found.join(', ')})`, {
        where: `${readmePath}:${found[1]}`,
        hint,
      });
    }
  }
  const beginLine = begins[0]!;
  const endLine = ends[0]!;
  if (endLine < beginLine) {
    throw new InputError(`marker \`${KEP_RESULTS_END}\` (line ${endLine}) comes before \`${KEP_RESULTS_BEGIN}\``, {
      where: `${readmePath}:${endLine}`,
      hint,
    });
  }
  const body = lines.slice(beginLine, endLine - 1).join('\n').trim();
  return { body, beginLine, endLine };
}

/** Replace the marked section's body, leaving every other byte of the README as it was. */
export function replaceKepSection(readme: string, readmePath: string, body: string): string {
  const { beginLine, endLine } = findKepSection(readme, readmePath);
  const lines = readme.split('\n');
  const next = [...lines.slice(0, beginLine), '', body.trim(), '', ...lines.slice(endLine - 1)];
  return next.join('\n');
}

export interface UpdateKepResult {
  /** Whether kep/README.md changed. */
  readmeChanged: boolean;
  /** The results file written, or null when the no-results state was written (and any old file removed). */
  resultsCopy: string | null;
}

/**
 * Rewrite the marked results section of the KEP README from `results` and commit-ready copy those
 * results to `resultsCopyPath`. `results === null` writes the explicit no-results state and removes the
 * copy, so the README and the copy never disagree. Idempotent: a second call changes nothing.
 */
export async function updateKepReadme(
  readmePath: string,
  results: RunResults | null,
  resultsCopyPath: string,
): Promise<UpdateKepResult> {
  const before = await readFile(readmePath, 'utf8');
  // Render from exactly what is committed (the JSON round trip drops undefined fields and turns NaN into
  // null), so the section always equals renderKepResults(<the committed file>).
  const copyText = results ? `${JSON.stringify(results, null, 2)}\n` : null;
  const stored: unknown = copyText ? JSON.parse(copyText) : null;
  if (stored !== null) checkShape(stored, `${resultsCopyPath} (results to write)`);
  const body = stored ? renderKepResults(stored as RunResults) : renderKepNoResults();
  const after = replaceKepSection(before, readmePath, body);

  if (copyText) {
    await mkdir(dirname(resultsCopyPath), { recursive: true });
    await writeAtomic(resultsCopyPath, copyText);
  } else {
    await rm(resultsCopyPath, { force: true });
  }
  if (after !== before) await writeAtomic(readmePath, after);
  return { readmeChanged: after !== before, resultsCopy: results ? resultsCopyPath : null };
}

/**
 * What `cif report --kep` calls: read a run's results.json (e.g. reports/latest/results.json) and rewrite the
 * KEP section under `repoRoot` from it, committing the copy as kep/results/results.json.
 */
export async function updateKepFromRun(repoRoot: string, runResultsPath: string): Promise<UpdateKepResult> {
  const results = await loadKepResults(runResultsPath);
  if (!results) {
    throw new InputError('no results.json here', {
      where: runResultsPath,
      hint: 'run `npm run e2e` (or `cif run`) to completion first; the KEP shows only measured results',
    });
  }
  // The KEP shows only what a real cluster measured, never the contract model's simulated figures.
  if (results.driver === 'simulated') {
    throw new InputError('a SIMULATED run cannot feed the KEP', {
      where: runResultsPath,
      hint: 'run `npm run e2e` against a cluster and use that run',
    });
  }
  return updateKepReadme(join(repoRoot, KEP_README), results, join(repoRoot, KEP_RESULTS_COPY));
}

// ── rendering helpers ────────────────────────────────────────────────────────────────────────────

function sortScenarios(scenarios: ScenarioResult[]): ScenarioResult[] {
  const rank = (p: Policy) => {
    const i = POLICY_ORDER.indexOf(p);
    return i < 0 ? POLICY_ORDER.length : i;
  };
  const faultRank = (f: string) => {
    const i = (FAULT_MODES as readonly string[]).indexOf(f);
    return i < 0 ? FAULT_MODES.length : i;
  };
  // Stable sort: scenarios with the same key keep the runner's order.
  return [...scenarios].sort(
    (a, b) =>
      rank(a.policy) - rank(b.policy) ||
      faultRank(a.fault) - faultRank(b.fault) ||
      Number(b.cached) - Number(a.cached),
  );
}

function scenarioRow(s: ScenarioResult): string {
  const expected = outcomeText(s.expected.outcome, s.expected.version);
  const observed = outcomeText(s.observed.outcome, s.observed.version);
  const event =
    s.expected.fallbackEvent === undefined
      ? yesNo(s.observed.fallbackEvent)
      : `${yesNo(s.observed.fallbackEvent)} (want ${yesNo(s.expected.fallbackEvent)})`;
  const startup = s.observed.startupSeconds === undefined ? '—' : `${fixed(s.observed.startupSeconds)} s`;
  const bound = s.expected.maxStartupSeconds === undefined ? '' : ` (≤ ${fixed(s.expected.maxStartupSeconds)} s)`;
  return `| ${s.policy} | ${s.fault} | ${s.cached ? 'yes' : 'no'} | \`${cell(s.id)}\` | ${expected} | ${observed} | ${event} | ${startup}${bound} | ${mark(s.pass)} |`;
}

function benchmarkRow(b: BenchmarkResult): string {
  const title = b.title ? `${cell(b.id)}: ${cell(b.title)}` : cell(b.id);
  const samples = b.samples ? String(b.samples.length) : '—';
  const baseline = b.baseline ? `${value(b.baseline.p50, b.unit)} / ${value(b.baseline.p95, b.unit)}` : '—';
  return `| ${title} | ${samples} | ${value(b.p50, b.unit)} | ${value(b.p95, b.unit)} | ≤ ${value(b.target, b.unit)} | ${baseline} | ${mark(b.pass)} |`;
}

function outcomeText(outcome: string, version?: string): string {
  return cell(version ? `${outcome} ${version}` : outcome);
}

function value(n: number, unit: BenchmarkResult['unit']): string {
  return unit === 'ratio' ? `${n.toFixed(2)}×` : `${fixed(n)} s`;
}

function fixed(n: number): string {
  return n.toFixed(2);
}

function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m > 0 ? `${s} s (${m} min ${s % 60} s)` : `${s} s`;
}

function formatHost(h: NonNullable<RunResults['host']>): string {
  return cell(`${h.cores} cores, ${h.memoryGiB} GiB, cgroup ${h.cgroup}, kernel ${h.kernel}`);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function mark(pass: boolean): string {
  return pass ? '✅ pass' : '❌ fail';
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

/** Make text safe inside a markdown table cell. */
function cell(text: string): string {
  return oneLine(text).replace(/\|/g, '\\|');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

// ── I/O helpers ──────────────────────────────────────────────────────────────────────────────────

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * The KEP section renders every figure, so its results must be measured ones too. The section is rendered
 * from the file's own JSON (nulls stay nulls), so this checks and does not convert.
 */
function checkShape(value: unknown, where: string): asserts value is RunResults {
  const parsed = parseResults(value, measuredResultsSchema);
  if (parsed.ok) return;
  throw new InputError(`not a results.json: ${parsed.problems}`, {
    where,
    hint: 'use a results.json written by `cif run` / `npm run e2e` (schema in harness/contract/results.ts)',
  });
}
