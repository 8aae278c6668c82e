/**
 * A small scenario for the interrupt drill (cleanup.drill.integration.test.ts): starts a registry, pushes, and cycles
 * through faults forever, printing what it does. The test interrupts it at random points.
 *   node --import tsx harness/registry/testdata/drill.ts <runId>
 */
import { cleanups, installSignalHandlers } from '../../lib/run-context.ts';
import { pushTestImage } from '../../images/test-images.ts';
import { startRegistry } from '../registry.ts';
import { RegistryFaults } from '../faults.ts';
import type { FaultMode } from '../../contract/index.ts';

installSignalHandlers();
const runId = process.argv[2]!;
const say = (s: string) => process.stdout.write(`${s}\n`);
// Like cli.ts: the main flow may fail once a signal's cleanup pulls things from under it; whatever happens,
// wait for the (single, shared) cleanup before exiting.
try {
  say('starting');
  const reg = await startRegistry({ runId });
  say(`registry ${reg.containerName}`);
  await pushTestImage(reg.pushTarget(), 'cif/drill', 'v1', 'v1');
  say('pushed');
  const faults = new RegistryFaults(reg, []);
  const cycle: FaultMode[] = ['http-503', 'not-found', 'stopped', 'hang', 'refused', 'slow'];
  for (let i = 0; i < 100; i++) {
    const mode = cycle[i % cycle.length]!;
    await faults.setFault(mode, { notFound: { repo: 'cif/drill', tag: 'v1' } });
    say(`fault ${mode}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await faults.clearFault();
  await reg.remove();
} catch (err) {
  process.stderr.write(`drill: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await cleanups.runAll();
}
