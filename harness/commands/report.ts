import { realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../lib/errors.ts';
import { REPO_ROOT } from '../kube/tree.ts';
import { rerender, readResults, defaultReportsDir } from '../report/write.ts';
import { runHeadline } from '../report/summary.ts';
import { KEP_README, updateKepFromRun } from '../report/kep.ts';
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
