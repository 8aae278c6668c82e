import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NotBuiltError, InputError } from '../lib/errors.ts';
import { REPO_ROOT } from '../kube/tree.ts';
import { rerender, readResults, defaultReportsDir } from '../report/write.ts';
import { runHeadline } from '../report/summary.ts';
import { boolFlag, type Command } from './command.ts';

export const reportCommand: Command = {
  name: 'report',
  summary: 'render a run’s results.json (junit, markdown, svg, html) and the KEP results section',
  usage: ['report [RUN_DIR] [--kep]'],
  flags: [
    { flag: 'RUN_DIR', help: 'a folder under reports/ (default: reports/latest)' },
    { flag: '--kep', help: 'rewrite the marked results section of kep/README.md from the report' },
  ],
  options: { kep: { type: 'boolean' } },
  maxPositionals: 1,
  async run(args) {
    if (boolFlag(args, 'kep')) {
      // The KEP section renderer is harness/report/kep.ts (the KEP helper's); it is composed at merge time.
      throw new NotBuiltError('`cif report --kep` (harness/report/kep.ts)');
    }
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
    const files = await rerender(runDir);
    const results = await readResults(runDir);
    const sim = results.driver === 'simulated' ? ' (SIMULATED run: the contract model, not a cluster)' : '';
    process.stdout.write(`${runDir}: re-rendered ${files.join(', ')} from results.json${sim}\n${runHeadline(results)}\n`);
    return 0;
  },
};
