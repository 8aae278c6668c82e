/**
 * Integration against the kind cluster `cif` (skipped, loudly, when it isn't running): the registry on the kind
 * network, nodes wired to it, pulls through the CRI, pods observed through the API, a fault from a node.
 * Uses only stock policies, so it holds with or without the patch series.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import { run } from '../lib/exec.ts';
import { newRunId } from '../lib/run-context.ts';
import { crashCommand, pushTestImage, type PushedImage } from '../images/test-images.ts';
import { crictlPull, findImage, listNodeImages, prePull, removeRepository } from '../cluster/node-images.ts';
import { kubeConfigFromNode } from '../observe/kubeconfig.ts';
import { createPullSecret, createRunNamespace, deleteNamespace, deleteRunNamespaces, runPod, sweepDeadNamespaces } from '../observe/pods.ts';
import type { FaultMode } from '../contract/index.ts';
import { CoreV1Api } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { ownerLabels, PID_LABEL } from '../lib/owner.ts';
import { startRegistry, type RegistryHandle } from './registry.ts';
import { RegistryFaults } from './faults.ts';
import { configureNodesForRegistry, hostsEntry, kindNodes, unconfigureNodes } from './nodes.ts';
import { removeRunDocker } from './cleanup.ts';

const CLUSTER = process.env.CIF_CLUSTER ?? 'cif';
const nodes = await kindNodes(CLUSTER).catch(() => [] as string[]);
const worker = nodes.find((n) => n.includes('worker'));
if (!worker) console.warn(`\n*** SKIP kind integration tests: no kind cluster "${CLUSTER}" with a worker is running ***\n`);

describe.skipIf(!worker)(`registry and pods on kind cluster ${CLUSTER}`, () => {
  const runId = newRunId();
  let reg: RegistryHandle;
  let faults: RegistryFaults;
  let kc: KubeConfig;
  let ns: string;
  let v1: PushedImage;
  let v2: PushedImage;
  const node = worker!;

  beforeAll(async () => {
    reg = await startRegistry({ runId, network: 'kind' });
    await configureNodesForRegistry(nodes, reg);
    faults = new RegistryFaults(reg, nodes);
    kc = await kubeConfigFromNode(`${CLUSTER}-control-plane`);
    ns = await createRunNamespace(kc, runId);
    v1 = await pushTestImage(reg.pushTarget(), 'cif/kind', 'v1', 'v1');
  }, 180_000);

  afterAll(async () => {
    await faults?.clearFault().catch(() => undefined);
    if (kc) await deleteRunNamespaces(kc, runId).catch(() => undefined);
    for (const n of nodes) await removeRepository(n, `${reg?.nodeAddress}/cif/kind`).catch(() => undefined);
    if (reg) await unconfigureNodes(nodes, reg).catch(() => undefined);
    await reg?.remove();
    await removeRunDocker(runId);
  }, 180_000);

  it('nodes resolve the registry name to the proxy', async () => {
    for (const n of nodes) expect(await hostsEntry(n, reg.hostName)).toBe(reg.proxyIp);
  });

  it('a CRI pull on a node gets the pushed digest; remove empties the cache', async () => {
    await prePull(node, reg.ref('cif/kind', 'v1'));
    const img = findImage(await listNodeImages(node), reg.ref('cif/kind', 'v1'));
    expect(img?.repoDigests).toContain(`${reg.nodeAddress}/cif/kind@${v1.digest}`);
    expect(img?.id).toBe(v1.configDigest);
    expect(await removeRepository(node, `${reg.nodeAddress}/cif/kind`)).toEqual([v1.configDigest]);
    expect(findImage(await listNodeImages(node), reg.ref('cif/kind', 'v1'))).toBeUndefined();
  });

  it('refused: a CRI pull fails fast with connection refused, and works again after clearing', async () => {
    await faults.setFault('refused');
    const r = await crictlPull(node, reg.ref('cif/kind', 'v1'), { timeoutSeconds: 60 });
    await faults.clearFault();
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/connection refused/);
    expect(r.seconds).toBeLessThan(10);
    expect((await crictlPull(node, reg.ref('cif/kind', 'v1'), { timeoutSeconds: 60 })).ok).toBe(true);
  });

  it('pods: tag moved v1→v2 with v1 cached: IfNotPresent runs v1, Always runs v2', async () => {
    await pushTestImage(reg.pushTarget(), 'cif/kind', 'stable', 'v1');
    await prePull(node, reg.ref('cif/kind', 'stable'));
    v2 = await pushTestImage(reg.pushTarget(), 'cif/kind', 'stable', 'v2');
    const base = { runId, namespace: ns, image: reg.ref('cif/kind', 'stable'), nodeName: node };
    const ifp = await runPod(kc, { ...base, name: 'ifnotpresent', policy: 'IfNotPresent' }, { timeoutMs: 90_000 });
    expect(ifp).toMatchObject({ outcome: 'Running', version: 'v1', digest: v1.digest, node });
    const always = await runPod(kc, { ...base, name: 'always', policy: 'Always' }, { timeoutMs: 90_000 });
    expect(always).toMatchObject({ outcome: 'Running', version: 'v2', digest: v2.digest });
    expect(always.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Pulling', 'Pulled', 'Started']));
    expect(always.watchSeconds).toBeGreaterThan(0);
    expect(always.apiSeconds).toBeGreaterThanOrEqual(0);
  });

  it('pods: Never without a cached image → ErrImageNeverPull; Always under http-503 → ErrImagePull', async () => {
    const base = { runId, namespace: ns, image: reg.ref('cif/kind', 'absent-here'), nodeName: node };
    const never = await runPod(kc, { ...base, name: 'never', policy: 'Never' }, { timeoutMs: 60_000 });
    expect(never.outcome).toBe('ErrImageNeverPull');
    await pushTestImage(reg.pushTarget(), 'cif/kind', 'fresh', 'v3');
    await faults.setFault('http-503');
    try {
      const failed = await runPod(kc, { ...base, image: reg.ref('cif/kind', 'fresh'), name: 'always-503', policy: 'Always' }, { timeoutMs: 60_000 });
      expect(failed.outcome).toBe('ErrImagePull');
      expect(failed.message).toMatch(/503/);
      expect(failed.events.some((e) => e.reason === 'Failed' && /503/.test(e.message))).toBe(true);
      expect(failed.apiSeconds).toBeGreaterThanOrEqual(0);
      expect(failed.apiSeconds).toBeLessThan(30);
    } finally {
      await faults.clearFault();
    }
  });

  it('observe with until: a crash loop, stopped after two restarts, with its event timeline and version', async () => {
    const obs = await runPod(
      kc,
      { runId, namespace: ns, name: 'crashloop', image: reg.ref('cif/kind', 'v1'), policy: 'IfNotPresent', nodeName: node, command: crashCommand() },
      { timeoutMs: 90_000, until: (s) => s.state.restartCount >= 2 },
    );
    expect(obs.timedOut).toBe(false);
    expect(obs.state?.restartCount).toBeGreaterThanOrEqual(2);
    expect(obs.version).toBe('v1');
    const started = obs.timeline.filter((e) => e.reason === 'Started');
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(started[1]!.atSeconds).toBeGreaterThan(started[0]!.atSeconds);
  });

  it('an unknown policy is rejected by the API with its validation message', async () => {
    const r = await runPod(kc, { runId, namespace: ns, name: 'bogus', image: reg.ref('cif/kind', 'v1'), policy: 'Sometimes', nodeName: node });
    expect(r.outcome).toBe('Rejected');
    expect(r.message).toMatch(/imagePullPolicy/);
  });

  // What each fault looks like to containerd from a node (the README table, as assertions).
  const EXPECTED: [FaultMode, RegExp, number][] = [
    ['stopped', /code = Unknown .*dial tcp [\d.]+:\d+: (connect: no route to host|i\/o timeout)/, 40],
    ['refused', /code = Unknown .*dial tcp [\d.]+:\d+: connect: connection refused/, 5],
    ['dns', /code = Unknown .*lookup registry-[a-z0-9]+\.cif\.test.*no such host/, 5],
    ['http-503', /code = Unknown .*failed with status code \[manifests v1\]: 503 Service Unavailable/, 5],
    ['http-429', /code = Unknown .*failed with status code \[manifests v1\]: 429 Too Many Requests/, 5],
    ['unauthorized', /code = Unknown .*failed with status code \[manifests v1\]: 401 Unauthorized/, 5],
    ['forbidden', /code = Unknown .*failed with status code \[manifests v1\]: 403 Forbidden/, 5],
    ['not-found', /code = NotFound .*cif\/kind:v1: not found/, 5],
    ['blackhole', /code = (Unknown|DeadlineExceeded) .*dial tcp [\d.]+:\d+: i\/o timeout/, 40],
  ];
  it.each(EXPECTED)('fault %s: a CRI pull from the node fails with its error', async (mode, text, maxSeconds) => {
    await removeRepository(node, `${reg.nodeAddress}/cif/kind`);
    await faults.setFault(mode, { notFound: { repo: 'cif/kind', tag: 'v1' } });
    let r;
    try {
      r = await crictlPull(node, reg.ref('cif/kind', 'v1'), { timeoutSeconds: 60 });
    } finally {
      await faults.clearFault();
    }
    expect(r.ok).toBe(false);
    expect(r.error, `${mode} after ${r.seconds} s: ${r.error}`).toMatch(text);
    expect(r.seconds).toBeLessThan(maxSeconds);
    // and the registry is whole again
    expect((await crictlPull(node, reg.ref('cif/kind', 'v1'), { timeoutSeconds: 60 })).ok).toBe(true);
  }, 180_000);

  it('fault hang: the pull never returns on its own; flapping: a retry pulls; slow: pulls, slower', async () => {
    await removeRepository(node, `${reg.nodeAddress}/cif/kind`);
    await faults.setFault('hang');
    const hung = await crictlPull(node, reg.ref('cif/kind', 'v1'), { timeoutSeconds: 12 }).finally(() => faults.clearFault());
    expect(hung).toMatchObject({ ok: false, timedOut: true });
    expect(hung.seconds).toBeGreaterThanOrEqual(12);

    await faults.setFault('flapping');
    const first = await crictlPull(node, reg.ref('cif/kind', 'v1'), { timeoutSeconds: 60 });
    const second = await crictlPull(node, reg.ref('cif/kind', 'v1'), { timeoutSeconds: 60 });
    await faults.clearFault();
    expect(first.error).toMatch(/503 Service Unavailable/);
    expect(second.ok).toBe(true);

    // A payload no node has seen (containerd keeps layer content after rmi, and every test image shares the
    // busybox layer): 512 KiB at 128 KiB/s.
    const version = `slow-${runId.slice(-4)}`;
    await pushTestImage(reg.pushTarget(), 'cif/kind-slow', 'v1', { version, payloadBytes: 512 * 1024 });
    await faults.setFault('slow', { proxy: { bytesPerSecond: 128 * 1024 } });
    const slow = await crictlPull(node, reg.ref('cif/kind-slow', 'v1'), { timeoutSeconds: 60 }).finally(() => faults.clearFault());
    await removeRepository(node, `${reg.nodeAddress}/cif/kind-slow`);
    expect(slow.ok).toBe(true);
    expect(slow.seconds).toBeGreaterThan(3.5);
  }, 180_000);

  it('credentials: a registry with htpasswd auth — 401 without, pulls with them, pods run with imagePullSecrets', async () => {
    const auth = { username: 'cif', password: 'kind-pw-1' };
    const secured = await startRegistry({ runId, network: 'kind', auth, containerName: `cif-registry-${runId}-auth` });
    try {
      await configureNodesForRegistry(nodes, secured);
      await pushTestImage(secured.pushTarget(), 'cif/private', 'v1', 'v1');
      const anon = await crictlPull(node, secured.ref('cif/private', 'v1'), { timeoutSeconds: 60 });
      expect(anon.ok).toBe(false);
      expect(anon.error).toMatch(/401 Unauthorized|authorization|no basic auth credentials/i);
      const withCreds = await crictlPull(node, secured.ref('cif/private', 'v1'), { timeoutSeconds: 60, credentials: auth });
      expect(withCreds.ok).toBe(true);
      await removeRepository(node, `${secured.nodeAddress}/cif/private`);

      await createPullSecret(kc, ns, 'creds', secured.nodeAddress, auth);
      const base = { runId, namespace: ns, image: secured.ref('cif/private', 'v1'), nodeName: node, policy: 'Always' };
      const without = await runPod(kc, { ...base, name: 'private-anon' }, { timeoutMs: 60_000 });
      expect(without.outcome).toBe('ErrImagePull');
      const withSecret = await runPod(kc, { ...base, name: 'private-creds', imagePullSecrets: ['creds'] }, { timeoutMs: 60_000 });
      expect(withSecret).toMatchObject({ outcome: 'Running', version: 'v1' });
      console.log(`auth registry, no credentials: ${anon.error}\npod without secret: ${without.message}`);
    } finally {
      await removeRepository(node, `${secured.nodeAddress}/cif/private`).catch(() => undefined);
      await unconfigureNodes(nodes, secured).catch(() => undefined);
      await secured.remove();
    }
    // Two registries in one run have their own names: unwiring one leaves the other reachable.
    expect(secured.hostName).not.toBe(reg.hostName);
    expect(await hostsEntry(node, reg.hostName)).toBe(reg.proxyIp);
  }, 180_000);

  it('sweeps namespaces of dead runs only', async () => {
    const api = kc.makeApiClient(CoreV1Api);
    const deadPid = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
    const deadName = `cif-sweep-dead-${runId}`.slice(0, 63);
    const clean = (l: Record<string, string>) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v.replace(/[^A-Za-z0-9._-]/g, '-')]));
    await api.createNamespace({ body: { metadata: { name: deadName, labels: clean({ ...ownerLabels(runId), [PID_LABEL]: String(deadPid) }) } } });
    try {
      const swept = await sweepDeadNamespaces(kc);
      expect(swept).toContain(deadName);
      expect(swept).not.toContain(ns);
      const live = await api.readNamespace({ name: ns });
      expect(live.status?.phase).toBe('Active');
    } finally {
      await deleteNamespace(kc, deadName);
    }
  });

  it('leaves nothing labelled with the run behind once removed (checked in afterAll by removeRunDocker)', async () => {
    const out = await run('docker', ['ps', '-a', '-q', '--filter', `label=cif.run=${runId}`]);
    expect(out.stdout.split('\n').filter(Boolean)).toHaveLength(1); // just the first registry, until afterAll
  });
});
