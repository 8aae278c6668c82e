/**
 * The Driver conformance suite against the kind driver, on the kind cluster `cif` when it is running
 * (`cif cluster up`); skipped, loudly, when it is not. The cluster is reused as it is, never parked.
 */
import { ensureCluster } from '../../cluster/cluster.ts';
import { newRunId, runLabels } from '../../lib/run-context.ts';
import { kindNodes } from '../../registry/nodes.ts';
import { driverConformance } from '../testing.ts';
import { ClusterDriver } from './driver.ts';

const CLUSTER = process.env.CIF_CLUSTER ?? 'cif';
const up = (await kindNodes(CLUSTER).catch(() => [] as string[])).some((n) => n.includes('worker'));
if (!up) console.warn(`\n*** SKIP kind Driver conformance: no kind cluster "${CLUSTER}" with a worker is running ***\n`);

driverConformance(
  `the kind driver on cluster ${CLUSTER}`,
  {
    open: async () => {
      const info = await ensureCluster({ name: CLUSTER, workers: 1, log: () => {} });
      const runId = newRunId();
      return new ClusterDriver(info, { runId, labels: runLabels(runId) }, async () => {});
    },
    timeoutMs: 90_000,
  },
  !up,
);
