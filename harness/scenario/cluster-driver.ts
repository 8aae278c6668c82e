/**
 * The real Driver: an adapter over harness/cluster (ensureCluster), harness/registry (registry, fault modes),
 * harness/images/test-images (v1/v2 images), harness/cluster/node-images (crictl pull / rmi) and
 * harness/observe/pods (create, watch, events). Those pieces are built on other branches; the adapter is
 * composed where they meet (see driver.ts for the contract it implements). Until then `cif run` / `cif e2e`
 * say so and exit 2, after validating the scenario files.
 */
import { NotBuiltError } from '../lib/errors.ts';
import type { DriverFactory } from './driver.ts';

export async function clusterDriverFactory(): Promise<DriverFactory> {
  throw new NotBuiltError('the cluster Driver (harness/scenario/cluster-driver.ts: adapter over cluster, registry, test images, observe)');
}
