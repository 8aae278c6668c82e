/**
 * `npm run e2e`: build (cached) → cluster up (reused when compatible) → every file in scenarios/ → reports.
 * The build and the Driver come from other homes; `e2eMain` takes them as functions so the composition is
 * one obvious place to wire, and tests can pass fakes. The scenario files are validated before the build
 * starts: a bad file costs nothing.
 */
import { clusterDriverFactory } from '../drivers/kind/driver.ts';
import type { DriverFactory } from '../drivers/driver.ts';
import { loadScenarios } from '../scenario/format/loader.ts';
import { defaultScenarioFiles, runMain, type MainOptions, type MainResult } from './main.ts';
import { buildAll } from '../images/node-pipeline.ts';

export interface E2eOptions {
  /** Build from the stock kindest/node image (a build option: the run itself is the same). */
  online?: boolean;
  /** Builds (or finds cached) binaries and the node image. Default: the build home's entry point. */
  build?: (o: { online: boolean }) => Promise<void>;
  /** Default: the cluster Driver adapter. */
  driverFactory?: () => Promise<DriverFactory>;
  main?: Partial<MainOptions>;
}

/** What `cif build` runs: patched binaries, component images, the node image (cached; a no-op takes ~20 s). */
async function defaultBuild(o: { online: boolean }): Promise<void> {
  await buildAll({ online: o.online });
}

export async function e2eMain(opts: E2eOptions = {}): Promise<MainResult> {
  const online = opts.online ?? false;
  const scenarios = await loadScenarios(await defaultScenarioFiles());
  await (opts.build ?? defaultBuild)({ online });
  const driverFactory = await (opts.driverFactory ?? clusterDriverFactory)();
  return runMain({ scenarios, driverFactory, driver: 'cluster', ...opts.main });
}
