/**
 * The interrupt drill on the kind cluster (cleanup.drill.integration.test.ts): the registry rig with every node wired, a
 * run namespace, a pod, and a cycle through faults that change nodes (iptables, /etc/hosts, a stopped
 * registry). The test interrupts it at random points and checks nothing is left anywhere.
 *   node --import tsx harness/registry/testdata/drill-kind.ts <runId> [cluster]
 */
import { cleanups, installSignalHandlers } from '../../lib/run-context.ts';
import { pushTestImage } from '../../images/test-images.ts';
import { startRegistryRig } from '../rig.ts';
import { kubeConfigFromNode } from '../../observe/kubeconfig.ts';
import { createRunNamespace, runPod } from '../../observe/pods.ts';
import type { FaultMode } from '../../contract/index.ts';

installSignalHandlers();
const runId = process.argv[2]!;
const cluster = process.argv[3] ?? 'cif';
const say = (s: string) => process.stdout.write(`${new Date().toISOString()} ${s}\n`);
try {
  say('starting');
  const rig = await startRegistryRig({ runId, cluster });
  say(`rig ${rig.registry.containerName} ${rig.registry.nodeAddress}`);
  const kc = await kubeConfigFromNode(`${cluster}-control-plane`);
  const ns = await createRunNamespace(kc, runId);
  say(`namespace ${ns}`);
  await pushTestImage(rig.registry.pushTarget(), 'cif/drill', 'v1', 'v1');
  const worker = rig.nodes.find((n) => n.includes('worker')) ?? rig.nodes[0]!;
  const pod = await runPod(kc, { runId, namespace: ns, name: 'drill', image: rig.registry.ref('cif/drill', 'v1'), policy: 'Always', nodeName: worker }, { eventSettleMs: 0 });
  say(`pod ${pod.outcome}`);
  const cycle: FaultMode[] = ['blackhole', 'dns', 'http-503', 'stopped', 'hang', 'not-found'];
  for (let i = 0; i < 60; i++) {
    const mode = cycle[i % cycle.length]!;
    await rig.faults.setFault(mode, { notFound: { repo: 'cif/drill', tag: 'v1' }, noSettle: true });
    say(`fault ${mode}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  await rig.stop();
} catch (err) {
  say(`drill: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await cleanups.runAll();
}
