import { UsageError } from '../lib/errors.ts';
import { note } from '../lib/progress.ts';
import { baseTree, checkSeries, loadSeries, seriesPackages, testSeries } from '../kube/series.ts';
import { patchedTree } from '../kube/tree.ts';
import { stringFlag, type Command } from './command.ts';

const ACTIONS = ['check', 'apply', 'test'] as const;
type Action = (typeof ACTIONS)[number];

/** Timestamped progress lines on stderr, so stdout carries only the results. */
function progress(started: number): (line: string) => void {
  return (line) => note(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}`);
}

export const patchCommand: Command = {
  name: 'patch',
  summary: 'check, apply or unit-test the CachedIfFailed patch series on a pinned Kubernetes tree',
  usage: ['patch check [--kube-src DIR]', 'patch apply [--kube-src DIR]', 'patch test [--kube-src DIR]'],
  flags: [{ flag: '--kube-src DIR', help: 'use this upstream git checkout instead of materializing the pinned tree' }],
  options: { 'kube-src': { type: 'string' } },
  maxPositionals: 1,
  async run(args) {
    const action = (args.positionals[0] ?? '') as Action;
    if (!ACTIONS.includes(action)) {
      throw new UsageError(args.positionals[0] ? `unknown action "${args.positionals[0]}"` : 'missing action', {
        hint: `one of: ${ACTIONS.join(', ')}`,
      });
    }
    const started = Date.now();
    const log = progress(started);
    const kubeSrc = stringFlag(args, 'kube-src');
    const opts = { ...(kubeSrc ? { kubeSrc } : {}), log };

    if (action === 'check' || action === 'apply') {
      const series = await loadSeries();
      const base = await baseTree(opts);
      log(`base: ${base.dir} at ${base.version}${base.external ? ' (--kube-src)' : ''}`);
      await checkSeries(base, series, log);
      process.stdout.write(`${series.patches.length} patches apply cleanly to ${base.version}\n`);
      if (action === 'check') return 0;
      const tree = await patchedTree(base, series, log);
      const packages = await seriesPackages(series, tree.dir);
      process.stdout.write(`patched tree: ${tree.dir}\n`);
      process.stdout.write(`Go packages touched (${packages.length}):\n${packages.map((p) => `  ${p}`).join('\n')}\n`);
      return 0;
    }

    const { tree, packages, summary } = await testSeries({ ...opts, progress: log });
    const wall = (Date.now() - started) / 1000;
    process.stdout.write(
      `\n${summary.passed} passed, ${summary.failed} failed` +
        `${summary.skipped ? `, ${summary.skipped} skipped` : ''}` +
        ` in ${packages.length} packages (go test ${summary.wallSeconds.toFixed(0)}s, total ${wall.toFixed(0)}s)\n`,
    );
    const failedPkgs = summary.packages.filter((p) => p.status === 'fail' || p.buildFailed);
    for (const p of failedPkgs) {
      process.stdout.write(`\n--- ${p.pkg}${p.failedTests.length ? `: ${p.failedTests.join(', ')}` : ''}\n`);
      if (p.failureOutput.length) process.stdout.write(`${p.failureOutput.join('\n')}\n`);
    }
    if (summary.failedPackages.length) {
      process.stdout.write(`\nfailed packages: ${summary.failedPackages.join(', ')}\n`);
      process.stdout.write(`reproduce: cd ${tree.dir} && go test <package>\n`);
      return 1;
    }
    return summary.failed > 0 ? 1 : 0;
  },
};
