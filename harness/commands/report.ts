import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../lib/errors.ts';
import { REPO_ROOT } from '../kube/tree.ts';
import { rerender, readResults, defaultReportsDir } from '../report/write.ts';
import { runHeadline } from '../report/summary.ts';
import { compareResults, formatComparison } from '../report/compare.ts';
import { KEP_README, updateKepFromRun } from '../report/kep.ts';
import { boolFlag, type Command } from './command.ts';

export const reportCommand: Command = {
  name: 'report',
  summary: 'render a run’s results.json (junit, markdown, svg, html) and the KEP results section',
  usage: ['report [RUN_DIR] [--kep]', 'report --compare A B'],
  flags: [
    { flag: 'RUN_DIR', help: 'a folder under reports/ (default: reports/latest)' },
    { flag: '--kep', help: 'rewrite the marked results section of kep/README.md from the report' },
    { flag: '--compare A B', help: 'compare two runs (folders or results.json) cell by cell; exit 1 on any difference' },
  ],
  options: { kep: { type: 'boolean' }, compare: { type: 'boolean' } },
  maxPositionals: 2,
  async run(args) {
    if (boolFlag(args, 'compare')) return compareRuns(args.positionals);
    if (args.positionals.length > 1) throw new InputError('report takes one RUN_DIR (two only with --compare)', { hint: 'cif report [RUN_DIR]' });
    const given = args.positionals[0];
    const dir = given ? resolve(given) : resolve(defaultReportsDir(REPO_ROOT), 'latest');
    let runDir: string;
    try {
      runDir = await realpath(dir);
    } catch {
      throw new InputError(given ? `no run folder at ${given}` : 'reports/latest does not exist: no complete run yet', {
        hint: given ? 'pass a folder under reports/' : 'run `cif run` or `npm run e2e` first',
      });
    }
    const results = await readResults(runDir);
    if (boolFlag(args, 'kep')) {
      const r = await updateKepFromRun(REPO_ROOT, join(runDir, 'results.json'));
      process.stdout.write(
        `${KEP_README}: results section ${r.readmeChanged ? 'rewritten' : 'already up to date'} from ${runDir}\n${runHeadline(results)}\n`,
      );
      return 0;
    }
    const files = await rerender(runDir);
    const sim = results.driver === 'simulated' ? ' (SIMULATED run: the contract model, not a cluster)' : '';
    process.stdout.write(`${runDir}: re-rendered ${files.join(', ')} from results.json${sim}\n${runHeadline(results)}\n`);
    return 0;
  },
};

async function compareRuns(paths: string[]): Promise<0 | 1> {
  if (paths.length !== 2) throw new InputError('--compare needs two runs: A and B', { hint: 'cif report --compare reports/<a> reports/<b>' });
  const [a, b] = await Promise.all(paths.map((p) => readResults(p.endsWith('.json') ? dirname(resolve(p)) : resolve(p), p.endsWith('.json') ? basename(p) : undefined)));
  const r = compareResults(a!, b!);
  process.stdout.write(`${formatComparison(r)}\n`);
  return r.differences.length ? 1 : 0;
}
