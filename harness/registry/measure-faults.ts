/**
 * Measures what each fault mode looks like to containerd: for every mode, a `crictl pull` inside a kind node
 * (through the CRI, exactly the call the kubelet makes) with the fault on — the error text and the time to
 * failure. Prints a markdown table and writes JSON.
 *
 *   npx tsx harness/registry/measure-faults.ts [--cluster cif] [--node cif-worker] [--timeout 75] [--pods] [--out file.json] [mode …]
 *
 * --pods also runs an `Always` pod (nothing cached) under each fault: what the kubelet makes of it.
 *
 * Everything it creates (registry container, node hosts entries, iptables rules) carries this run's id and is
 * removed at the end, also on SIGINT/SIGTERM.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { FAULTS, FAULT_MODES, type FaultMode } from '../contract/index.ts';
import { cleanups, installSignalHandlers, newRunId } from '../lib/run-context.ts';
import { pushTestImage } from '../images/test-images.ts';
import { crictlPull, removeRepository } from '../cluster/node-images.ts';

import { kindNodes } from './nodes.ts';
import { startRegistryRig } from './rig.ts';
import { kubeConfigFromNode } from '../observe/kubeconfig.ts';
import { createRunNamespace, deleteNamespace, deletePod, runPod } from '../observe/pods.ts';
import { sweepDeadRuns } from './cleanup.ts';

export interface FaultMeasurement {
  mode: FaultMode;
  ok: boolean;
  seconds: number;
  timedOut: boolean;
  output: string;
  /** The CRI error alone (empty when pulled). */
  error: string;
  expectedClass: string;
  /** flapping: a second pull right after the first (the retry converges). */
  retry?: { ok: boolean; seconds: number; error: string };
  /** --pods: an `Always` pod (nothing cached) under the same fault, through the kubelet. */
  pod?: { outcome: string; watchSeconds?: number; apiSeconds?: number; message?: string; timedOut: boolean };
}

export function formatMeasurements(rows: readonly FaultMeasurement[], timeoutSeconds: number): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '| mode | result | time to result | containerd says (crictl pull) | class | Always pod (kubelet) |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.ok ? 'pulled' : r.timedOut ? `no answer (stopped by us after ${timeoutSeconds} s)` : 'failed'} | ${r.seconds.toFixed(2)} s | ${esc(
          (r.ok ? r.output.split('\n').pop()!.slice(0, 90) : r.error) +
            (r.retry ? ` — retry: ${r.retry.ok ? `pulled in ${r.retry.seconds.toFixed(2)} s` : r.retry.error}` : ''),
        )} | ${r.expectedClass} | ${
          r.pod ? (r.pod.timedOut ? `no terminal state in ${timeoutSeconds} s` : `${r.pod.outcome} after ${r.pod.watchSeconds?.toFixed(2)} s`) : ''
        } |`,
    ),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      cluster: { type: 'string', default: 'cif' },
      node: { type: 'string' },
      network: { type: 'string', default: 'kind' },
      timeout: { type: 'string', default: '75' },
      out: { type: 'string' },
      pods: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  installSignalHandlers();
  const modes = (positionals.length ? positionals : FAULT_MODES) as FaultMode[];
  for (const m of modes) if (!FAULT_MODES.includes(m)) throw new Error(`unknown mode ${m}; known: ${FAULT_MODES.join(', ')}`);
  const timeoutSeconds = Number(values.timeout);
  const nodes = await kindNodes(values.cluster!);
  if (!nodes.length) throw new Error(`no kind cluster named ${values.cluster} is running`);
  const node = values.node ?? nodes.find((n) => n.includes('worker')) ?? nodes[0]!;
  const swept = await sweepDeadRuns();
  if (swept.length) process.stderr.write(`removed leftovers of dead runs: ${swept.join(', ')}\n`);

  const runId = newRunId();
  const rig = await startRegistryRig({ runId, nodes: [node], network: values.network });
  const { registry: reg, faults } = rig;
  const kc = values.pods ? await kubeConfigFromNode(`${values.cluster}-control-plane`) : undefined;
  const ns = kc ? await createRunNamespace(kc, runId) : undefined;
  await pushTestImage(reg.pushTarget(), 'cif/measure', 'v1', 'v1');
  await pushTestImage(reg.pushTarget(), 'cif/measure-slow', 'v1', { version: 'v1', payloadBytes: 512 * 1024 });
  process.stderr.write(`registry ${reg.containerName}: nodes pull ${reg.nodeAddress} (proxy ${reg.proxyIp}:${reg.port}); measuring on ${node}\n`);

  const rows: FaultMeasurement[] = [];
  for (const mode of modes) {
    const repo = mode === 'slow' ? 'cif/measure-slow' : 'cif/measure';
    await removeRepository(node, `${reg.nodeAddress}/${repo}`);
    await faults.setFault(mode, { notFound: { repo, tag: 'v1' }, proxy: mode === 'slow' ? { bytesPerSecond: 64 * 1024 } : undefined });
    const r = await crictlPull(node, reg.ref(repo, 'v1'), { timeoutSeconds });
    let retry: FaultMeasurement['retry'];
    if (mode === 'flapping') {
      const again = await crictlPull(node, reg.ref(repo, 'v1'), { timeoutSeconds });
      retry = { ok: again.ok, seconds: again.seconds, error: again.error };
    }
    let pod: FaultMeasurement['pod'];
    if (values.pods) {
      await removeRepository(node, `${reg.nodeAddress}/${repo}`);
      const o = await runPod(
        kc!,
        { runId, namespace: ns!, name: `always-${mode}`, image: reg.ref(repo, 'v1'), policy: 'Always', nodeName: node },
        { timeoutMs: timeoutSeconds * 1000, eventSettleMs: 0 },
      );
      pod = { outcome: o.outcome, watchSeconds: o.watchSeconds, apiSeconds: o.apiSeconds, message: o.message, timedOut: o.timedOut };
      await deletePod(kc!, ns!, `always-${mode}`);
      process.stderr.write(`${mode}: Always pod → ${o.outcome} after ${o.watchSeconds?.toFixed(2) ?? `>${timeoutSeconds}`} s\n`);
    }
    await faults.clearFault();
    rows.push({ mode, pod, ok: r.ok, seconds: r.seconds, timedOut: r.timedOut, output: r.output, error: r.error, expectedClass: FAULTS[mode].errorClass, retry });
    process.stderr.write(`${mode}: ${r.ok ? 'ok' : 'FAILED'} in ${r.seconds.toFixed(2)} s: ${r.error || r.output}${retry ? ` (retry ok=${retry.ok})` : ''}\n`);
  }
  await removeRepository(node, `${reg.nodeAddress}/cif/measure`);
  await removeRepository(node, `${reg.nodeAddress}/cif/measure-slow`);
  const table = formatMeasurements(rows, timeoutSeconds);
  process.stdout.write(table + '\n');
  if (values.out) await writeFile(values.out, JSON.stringify({ node, nodeAddress: reg.nodeAddress, rows }, null, 2) + '\n');
  if (kc && ns) await deleteNamespace(kc, ns);
  await rig.stop();
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    async (err: Error) => {
      process.stderr.write(`measure-faults: ${err.message}\n`);
      await cleanups.runAll();
      process.exit(1);
    },
  );
}
