/**
 * Integration: the node image and cluster against a real docker engine. Needs what it says and skips loudly
 * otherwise: a docker engine, and a node image from `cif build` (this test never starts a 20-minute build).
 * It reuses the `cif` cluster when one with the same config runs (else creates it, ~1-2 min).
 *
 * What it proves:
 *  - every node is Ready and reports the kubelet version the build stamped;
 *  - containerd 1.6 inside a node pulls from a plain-HTTP registry on the kind network with our hosts.toml,
 *    and does NOT with a hosts.toml holding only `server = "http://…"` (the failure this project hit);
 *  - a pod from that registry reaches Running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../lib/exec.ts';
import { newRunId, runLabels } from '../lib/run-context.ts';
import { buildRecordPath, readBuildRecord, type BuildRecord } from '../images/node.ts';
import { clusterNodes, deleteCluster, ensureCluster, KIND_NETWORK, parkCluster, type ClusterInfo } from './cluster.ts';
import { hostsTomlPath, writeHostsToml } from '../registry/nodes.ts';

const dockerUp = (await run('docker', ['info'], { reject: false, timeout: 15_000 }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
let build: BuildRecord | undefined;
if (dockerUp && existsSync(buildRecordPath())) build = await readBuildRecord().catch(() => undefined);
const why = !dockerUp ? 'no docker engine answers' : !build ? `no node image (run \`cif build\`; ${buildRecordPath()} missing or stale)` : '';
if (why) process.stderr.write(`\n*** SKIP harness/cluster/cluster.integration.test.ts: ${why} ***\n\n`);

const runId = newRunId();
const labels = Object.entries(runLabels(runId)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const registry = `cif-itest-registry-${runId.slice(-4)}`;
const image = `${registry}:5000/itest/busybox:v1`;
// pod names unique per run: other runs may share the cif cluster
const POD = { registry: `itest-registry-${runId.slice(-4)}`, server: `itest-server-${runId.slice(-4)}`, client: `itest-client-${runId.slice(-4)}` };

describe.skipIf(Boolean(why))('kind cluster on our node image (integration)', () => {
  let info: ClusterInfo;
  let kubectl: string;
  let ctxDir: string;
  const k = (...args: string[]) => run(kubectl, ['--kubeconfig', info.kubeconfigPath, ...args], { timeout: 60_000 });

  beforeAll(async () => {
    info = await ensureCluster({ name: 'cif', workers: 1 });
    kubectl = build!.tools.kubectl;
    // A registry on the kind network: Debian's docker-registry in an image on our slim rootfs.
    ctxDir = await mkdtemp(join(tmpdir(), 'cif-itest-'));
    await copyFile('/usr/bin/docker-registry', join(ctxDir, 'docker-registry'));
    await writeFile(join(ctxDir, 'config.yml'), 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n');
    const slim = (await run('docker', ['images', '--filter', 'reference=cif/rootfs-slim', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n')[0]!;
    await writeFile(join(ctxDir, 'Dockerfile'), `FROM ${slim}\nCOPY docker-registry /usr/bin/\nCOPY config.yml /etc/registry.yml\nENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/registry.yml"]\n`);
    await run('docker', ['build', '-q', ...labels, '-t', `cif-itest/registry:${runId}`, ctxDir], { env: { DOCKER_BUILDKIT: '0' } });
    await run('docker', ['run', '-d', '--name', registry, ...labels, '--network', KIND_NETWORK, '-p', '127.0.0.1::5000', `cif-itest/registry:${runId}`]);
    const port = (await run('docker', ['port', registry, '5000/tcp'])).stdout.split('\n')[0]!.split(':').pop()!;
    // The workload image: Debian's static busybox, FROM scratch (its wget crashes without NSS files: use nc), pushed through the published port (docker trusts localhost).
    const img = join(ctxDir, 'img');
    await mkdir(img);
    await copyFile('/bin/busybox', join(img, 'busybox'));
    await writeFile(join(img, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\nCMD ["sleep", "3600"]\n');
    const local = `127.0.0.1:${port}/itest/busybox:v1`;
    await run('docker', ['build', '-q', ...labels, '-t', local, img], { env: { DOCKER_BUILDKIT: '0' } });
    let pushed = false;
    for (let i = 0; i < 20 && !pushed; i++) {
      pushed = (await run('docker', ['push', local], { reject: false, timeout: 60_000 })).exitCode === 0;
      if (!pushed) await new Promise((r) => setTimeout(r, 500));
    }
    expect(pushed).toBe(true);
    await run('docker', ['rmi', local], { reject: false });
  }, 600_000);

  afterAll(async () => {
    if (info) {
      for (const p of Object.values(POD)) {
        await k('delete', 'pod', p, '--ignore-not-found', '--wait=false').catch(() => undefined);
      }
      for (const n of info.nodes) {
        await run('docker', ['exec', n.containerName, 'rm', '-rf', hostsTomlPath(`${registry}:5000`).replace(/\/hosts\.toml$/, '')], { reject: false });
        await run('docker', ['exec', n.containerName, 'crictl', 'rmi', image], { reject: false });
      }
    }
    await run('docker', ['rm', '-f', registry], { reject: false });
    await run('docker', ['rmi', `cif-itest/registry:${runId}`], { reject: false });
    if (ctxDir) await rm(ctxDir, { recursive: true, force: true });
  }, 120_000);

  it('every node is Ready and runs the kubelet we built', async () => {
    const out = (await k('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}')).stdout;
    const rows = out.trim().split('\n').map((l) => l.split(' '));
    expect(rows).toHaveLength(info.nodes.length);
    for (const [, version, ready] of rows) {
      expect(version).toBe(build!.kubeVersion);
      expect(ready).toBe('True');
    }
  });

  it('containerd pulls from a plain-HTTP registry with our hosts.toml, not with a server-only one', async () => {
    const node = info.nodes.find((n) => n.role === 'worker') ?? info.nodes[0]!;
    const path = hostsTomlPath(`${registry}:5000`);
    // containerd 1.6 rejects this file and falls back to HTTPS: the pull must fail.
    await run('docker', ['exec', '-i', node.containerName, 'sh', '-c', `mkdir -p $(dirname '${path}') && cat > '${path}'`], {
      input: `server = "http://${registry}:5000"\n`,
    });
    const bad = await run('docker', ['exec', node.containerName, 'crictl', 'pull', image], { reject: false, timeout: 60_000 });
    expect(bad.exitCode).not.toBe(0);
    // …and it failed for the reason under test: containerd spoke HTTPS to a plain-HTTP server
    expect(bad.stderr).toMatch(/http: server gave HTTP response to HTTPS client|tls|https/i);
    await writeHostsToml([node.containerName], `${registry}:5000`);
    const good = await run('docker', ['exec', node.containerName, 'crictl', 'pull', image], { reject: false, timeout: 60_000 });
    expect(good.stderr + good.stdout).toMatch(/Image is up to date/);
    expect(good.exitCode).toBe(0);
    await run('docker', ['exec', node.containerName, 'crictl', 'rmi', image], { reject: false });
  });

  it('a pod from the local registry reaches Running', async () => {
    await writeHostsToml(info.nodes.map((n) => n.containerName), `${registry}:5000`);
    await k('run', POD.registry, `--image=${image}`, '--image-pull-policy=Always', '--restart=Never', '--labels', `cif.run=${runId}`);
    await k('wait', '--for=jsonpath={.status.phase}=Running', `pod/${POD.registry}`, '--timeout=90s');
  }, 120_000);

  it('pods on different nodes reach each other, and cluster DNS works from a worker', async () => {
    const cp = info.nodes.find((n) => n.role === 'control-plane')!;
    const worker = info.nodes.find((n) => n.role === 'worker');
    if (!worker) return expect.fail('needs a worker node (cluster up --workers 1)');
    await writeHostsToml(info.nodes.map((n) => n.containerName), `${registry}:5000`);
    const pod = (name: string, node: string, args: string[]) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { 'cif.run': runId } },
        spec: {
          nodeName: node,
          restartPolicy: 'Never',
          tolerations: [{ operator: 'Exists' }],
          containers: [{ name: 'c', image, args }],
        },
      });
    await run(kubectl, ['--kubeconfig', info.kubeconfigPath, 'apply', '-f', '-'], {
      input: pod(POD.server, cp.name, ['sh', '-c', 'mkdir -p /www && echo cif-ok > /www/index.html && httpd -f -p 8080 -h /www']),
    });
    await run(kubectl, ['--kubeconfig', info.kubeconfigPath, 'wait', '--for=condition=Ready', `pod/${POD.server}`, '--timeout=90s'], { timeout: 100_000 });
    const ip = (await k('get', 'pod', POD.server, '-o', 'jsonpath={.status.podIP}')).stdout.trim();
    await run(kubectl, ['--kubeconfig', info.kubeconfigPath, 'apply', '-f', '-'], {
      input: pod(POD.client, worker.name, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${ip} 8080 && nslookup kubernetes.default.svc.cluster.local`]),
    });
    let phase = '';
    for (let i = 0; i < 60 && !['Succeeded', 'Failed'].includes(phase); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      phase = (await k('get', 'pod', POD.client, '-o', 'jsonpath={.status.phase}')).stdout.trim();
    }
    const logs = (await k('logs', POD.client)).stdout;
    expect(logs).toContain('cif-ok');
    expect(logs).toMatch(/10\.96\.0\.1/);
    expect(phase).toBe('Succeeded');
  }, 180_000);
});

const policyPod = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'cif-policy-check' },
  spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10.1', imagePullPolicy: 'CachedIfFailed' }] },
});
const REJECTED = /Unsupported value: "CachedIfFailed"/;
const paused = async (name: string) => {
  const ids = (await run('docker', ['ps', '-aq', '--filter', `label=io.x-k8s.kind.cluster=${name}`])).stdout.split('\n').filter(Boolean);
  return (await run('docker', ['inspect', '--format', '{{.State.Paused}}', ...ids])).stdout.split('\n').filter(Boolean);
};

describe.skipIf(Boolean(why))('the ImagePullPolicyCachedIfFailed gate (integration)', () => {
  const dryRun = (kubeconfig: string) =>
    run(build!.tools.kubectl, ['--kubeconfig', kubeconfig, 'apply', '--dry-run=server', '-f', '-'], { input: policyPod, reject: false, timeout: 60_000 });

  it('the cif cluster accepts a CachedIfFailed pod with the gate on (rejects it on binaries without the gate)', async () => {
    const info = await ensureCluster({ name: 'cif', workers: 1, log: () => {} });
    const r = await dryRun(info.kubeconfigPath);
    if (build!.capabilities.gate) {
      expect(info.gate).toBe(true);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
    } else {
      expect(r.stderr).toMatch(REJECTED);
    }
  }, 300_000);

  it.runIf(build?.capabilities.gate)('a gate-off cluster rejects it with the validation message; parked, it is reused and answers again', async () => {
    const name = `cif-gateoff-${runId.slice(-4)}`;
    try {
      const info = await ensureCluster({ name, workers: 0, gate: false, log: () => {} });
      expect(info.gate).toBe(false);
      const r = await dryRun(info.kubeconfigPath);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(REJECTED);

      // parked (frozen) it is reused, not recreated, and answers again once its node reports Ready
      expect(await parkCluster(name)).toBe(1);
      expect(await paused(name)).toEqual(['true']);
      const again = await ensureCluster({ name, workers: 0, gate: false, log: () => {} });
      expect(again.reused).toBe(true);
      expect(await paused(name)).toEqual(['false']);
      expect((await dryRun(again.kubeconfigPath)).stderr).toMatch(REJECTED);

      // and a parked cluster deletes cleanly
      await parkCluster(name);
      await deleteCluster(name);
      expect(await clusterNodes(name)).toEqual([]);
    } finally {
      await deleteCluster(name).catch(() => undefined);
    }
  }, 300_000);
});

describe.skipIf(Boolean(why))('a cluster that fails to come up (integration)', () => {
  it('exports kind logs and deletes the cluster unless --keep', async () => {
    // the node base image has no /kind/version: kind fails at "Writing configuration", within seconds
    const base = (await run('docker', ['images', 'cif/node-base', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n')[0]!;
    const name = `cif-fail-${runId.slice(-4)}`;
    const logsDir = await mkdtemp(join(tmpdir(), 'cif-kindlogs-'));
    try {
      const err = await ensureCluster({ name, workers: 0, build: { ...build!, nodeImage: base }, logsDir, log: () => {} }).then(
        () => undefined,
        (e: Error & { hint?: string }) => e,
      );
      expect(err?.message).toMatch(/did not come up/);
      expect(err?.hint).toContain(logsDir);
      expect(existsSync(join(logsDir, `${name}-control-plane`))).toBe(true);
      expect(await clusterNodes(name)).toEqual([]);
    } finally {
      await deleteCluster(name).catch(() => undefined);
      await rm(logsDir, { recursive: true, force: true });
    }
  }, 180_000);
});
