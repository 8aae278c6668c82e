/**
 * Interrupt drill: a child runs a small scenario (testdata/drill.ts); we SIGINT it at random points, 10 times,
 * and check nothing labelled with its run is left. Then a SIGKILL (no cleanup runs at all): the leftover is
 * there, and the next run's sweep removes it — without touching this process's own live objects.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../lib/exec.ts';
import { newRunId } from '../lib/run-context.ts';
import { sweepDeadRuns } from './cleanup.ts';
import { hashInputs } from '../lib/cache.ts';
import { kindNodes } from './nodes.ts';
import { kubeConfigFromNode } from '../observe/kubeconfig.ts';
import { CoreV1Api } from '@kubernetes/client-node';

const dockerUp = (await run('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 })).exitCode === 0;
if (!dockerUp) console.warn('\n*** SKIP interrupt drill: no docker engine answers ***\n');

const DRILL = fileURLToPath(new URL('./testdata/drill.ts', import.meta.url));
const DRILL_KIND = fileURLToPath(new URL('./testdata/drill-kind.ts', import.meta.url));
const CLUSTER = process.env.CIF_CLUSTER ?? 'cif';
const kindNodeNames = dockerUp ? await kindNodes(CLUSTER).catch(() => [] as string[]) : [];
if (dockerUp && !kindNodeNames.length) console.warn(`\n*** SKIP interrupt drill on kind: no kind cluster "${CLUSTER}" is running ***\n`);

function startDrill(runId: string, script = DRILL, extra: string[] = []) {
  // Output to a file, not a pipe: a process that exits from a signal handler may not flush its pipes.
  const file = join(tmpdir(), `cif-drill-${runId}.log`);
  const fd = openSync(file, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', script, runId, ...extra], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
  const output = () => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return { child, exited, output, done: () => rmSync(file, { force: true }) };
}

async function leftovers(runId: string): Promise<string[]> {
  const c = await run('docker', ['ps', '-a', '--filter', `label=cif.run=${runId}`, '--format', '{{.Names}}']);
  const n = await run('docker', ['network', 'ls', '--filter', `label=cif.run=${runId}`, '--format', '{{.Name}}']);
  return [...c.stdout.split('\n'), ...n.stdout.split('\n')].filter(Boolean);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!dockerUp)('interrupt drill', () => {
  it('10 SIGINTs at random points leave nothing behind', async () => {
    const points: string[] = [];
    for (let i = 0; i < 10; i++) {
      const runId = newRunId();
      const d = startDrill(runId);
      // tsx needs ~1-2 s to start; 0.5-7 s covers start-up, the registry start, the push and the fault cycle.
      const at = 500 + Math.floor(Math.random() * 6_500);
      await sleep(at);
      const lastLine = d.output().trim().split('\n').pop() ?? '(nothing yet)';
      d.child.kill('SIGINT');
      const code = await Promise.race([d.exited, sleep(90_000).then(() => 'hung' as const)]);
      if (code === 'hung') d.child.kill('SIGKILL');
      points.push(`${at} ms (${lastLine}) → exit ${code}`);
      expect(code, d.output()).not.toBe('hung');
      const left = await leftovers(runId);
      const state = left.length ? (await run('docker', ['inspect', '-f', '{{.Created}} {{.State.Status}}', ...left], { reject: false })).stdout : '';
      expect(left, `after SIGINT at ${at} ms, exit ${code}, at ${new Date().toISOString()} left: ${state}\n${d.output()}`).toEqual([]);
      d.done();
    }
    console.log(`interrupt points:\n  ${points.join('\n  ')}`);
  }, 600_000);

  it('after a SIGKILL the next sweep removes the leftovers', async () => {
    const runId = newRunId();
    const d = startDrill(runId);
    for (let i = 0; i < 300 && !d.output().includes('pushed'); i++) await sleep(100);
    expect(d.output()).toContain('pushed');
    d.child.kill('SIGKILL');
    await d.exited;
    expect(await leftovers(runId)).toHaveLength(1);
    const removed = await sweepDeadRuns();
    expect(removed).toContain(`container cif-registry-${runId}`);
    expect(await leftovers(runId)).toEqual([]);
  }, 120_000);

  it.skipIf(!kindNodeNames.length)('on kind: 10 SIGINTs at random points leave no container, namespace, rule, hosts line or hosts.toml', async () => {
    const kc = await kubeConfigFromNode(`${CLUSTER}-control-plane`);
    const api = kc.makeApiClient(CoreV1Api);
    const points: string[] = [];
    for (let i = 0; i < 10; i++) {
      const runId = newRunId();
      const d = startDrill(runId, DRILL_KIND, [CLUSTER]);
      // 1-16 s: tsx start, rig start, namespace, pod, and the fault cycle (iptables, hosts, stop/start …).
      const at = 1_000 + Math.floor(Math.random() * 15_000);
      await sleep(at);
      const lastLine = d.output().trim().split('\n').pop() ?? '(nothing yet)';
      d.child.kill('SIGINT');
      const code = await Promise.race([d.exited, sleep(120_000).then(() => 'hung' as const)]);
      if (code === 'hung') d.child.kill('SIGKILL');
      points.push(`${at} ms (${lastLine.replace(/^\S+ /, '')}) → exit ${code}`);
      const ctx = `after SIGINT at ${at} ms, exit ${code}:\n${d.output()}`;
      expect(code, ctx).not.toBe('hung');
      expect(await leftovers(runId), ctx).toEqual([]);
      const nsLeft = (await api.listNamespace({ labelSelector: `cif.run=${runId}` })).items.filter((n) => n.status?.phase !== 'Terminating');
      expect(nsLeft.map((n) => n.metadata?.name), ctx).toEqual([]);
      const suffix = hashInputs(`cif-registry-${runId}`, 8);
      for (const node of kindNodeNames) {
        const rules = (await run('docker', ['exec', node, 'iptables', '-S', 'OUTPUT'])).stdout;
        expect(rules, ctx).not.toContain(`cif-blackhole-${runId}`);
        const hosts = (await run('docker', ['exec', node, 'cat', '/etc/hosts'])).stdout;
        expect(hosts, ctx).not.toContain(`registry-${suffix}.cif.test`);
        const certs = (await run('docker', ['exec', node, 'ls', '/etc/containerd/certs.d'])).stdout;
        expect(certs, ctx).not.toContain(`registry-${suffix}.cif.test`);
      }
      d.done();
    }
    console.log(`kind interrupt points:\n  ${points.join('\n  ')}`);
  }, 900_000);
});
