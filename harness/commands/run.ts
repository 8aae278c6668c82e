import { shutdownSignal } from '../lib/run-context.ts';
import { boolFlag, type Command } from './command.ts';
import { clusterDriverFactory } from '../drivers/kind/driver.ts';
import { FakeClock, fakeDriverFactory } from '../drivers/model/driver.ts';
import { defaultScenarioFiles, runMain } from '../app/main.ts';
import { loadScenarios } from '../scenario/format/loader.ts';

export const runCommand: Command = {
  name: 'run',
  summary: 'run scenario files (default: the policy × fault × cache matrix, the scenarios and P1–P4 in scenarios/)',
  usage: ['run [SCENARIO_FILE …] [--simulate] [--check]'],
  flags: [
    { flag: '--check', help: 'only load and validate the files (file:line:col errors, exit 2), run nothing' },
    { flag: '--simulate', help: 'run against the in-process contract model instead of a cluster (reports marked SIMULATED)' },
  ],
  options: { simulate: { type: 'boolean' }, check: { type: 'boolean' } },
  maxPositionals: Number.POSITIVE_INFINITY,
  async run(args) {
    const files = args.positionals.length ? args.positionals : await defaultScenarioFiles();
    // Validate everything before anything starts: a malformed file is exit 2 with file:line:col.
    const scenarios = await loadScenarios(files);
    if (boolFlag(args, 'check')) {
      const cells = scenarios.reduce((n, s) => n + s.cells.length, 0);
      process.stdout.write(`${scenarios.length} scenario file(s) valid: ${cells} cells, ${scenarios.reduce((n, s) => n + s.benchmarks.length, 0)} benchmarks\n`);
      return 0;
    }
    if (boolFlag(args, 'simulate')) {
      const clock = new FakeClock(Date.now());
      // one registry per session, like the cluster driver: no breaker state crosses sessions
      const { factory } = fakeDriverFactory({ clock, registryPerSession: true });
      return (await runMain({ scenarios, driverFactory: factory, driver: 'simulated', clock })).exitCode;
    }
    const driverFactory = await clusterDriverFactory();
    return (await runMain({ scenarios, driverFactory, driver: 'cluster', signal: shutdownSignal })).exitCode;
  },
};
