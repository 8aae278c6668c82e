import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from '../lib/cache.ts';
import { UsageError } from '../lib/errors.ts';
import { cifClusters, ensureCluster, deleteCluster, DEFAULT_CLUSTER } from '../cluster/cluster.ts';
import { boolFlag, stringFlag, type Command } from './command.ts';

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'create or delete a kind cluster running the patched kubelet',
  usage: ['cluster up [--name NAME] [--workers N] [--gate on|off] [--keep]', 'cluster down [--name NAME | --all]'],
  flags: [
    { flag: '--name NAME', help: 'cluster name (default: cif)' },
    { flag: '--workers N', help: 'worker nodes besides the control plane (default: 1)' },
    { flag: '--gate on|off', help: 'the ImagePullPolicyCachedIfFailed feature gate (default: on when the binaries know it)' },
    { flag: '--keep', help: 'keep a cluster that failed to come up, for debugging' },
    { flag: '--all', help: 'with down: every cluster cif made (cif, and the cif-e2e-* clusters the main job parks for reuse)' },
  ],
  options: {
    name: { type: 'string' },
    workers: { type: 'string' },
    gate: { type: 'string' },
    keep: { type: 'boolean' },
    all: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args) {
    const action = args.positionals[0];
    const name = stringFlag(args, 'name') ?? DEFAULT_CLUSTER;
    if (action === 'down') {
      for (const f of ['workers', 'gate', 'keep']) {
        if (args.values[f] !== undefined) throw new UsageError(`--${f} applies to \`cluster up\` only`);
      }
      if (boolFlag(args, 'all')) {
        if (args.values.name !== undefined) throw new UsageError('--all and --name exclude each other');
        const names = await cifClusters();
        for (const n of names) {
          await deleteCluster(n);
          process.stdout.write(`deleted cluster ${n}\n`);
        }
        if (!names.length) process.stdout.write('no cif clusters\n');
        return 0;
      }
      await deleteCluster(name);
      process.stdout.write(`deleted cluster ${name}\n`);
      return 0;
    }
    if (args.values.all !== undefined) throw new UsageError('--all applies to `cluster down` only');
    if (action !== 'up') throw new UsageError(action ? `unknown action ${JSON.stringify(action)}` : 'missing action', { hint: 'cif cluster up | cif cluster down' });
    const workers = parseWorkers(stringFlag(args, 'workers'));
    const gate = parseGate(stringFlag(args, 'gate'));
    const t0 = Date.now();
    const info = await ensureCluster({ name, workers, ...(gate === undefined ? {} : { gate }), keep: boolFlag(args, 'keep') });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    process.stdout.write(
      [
        `cluster     ${info.name} (${info.reused ? 'reused' : 'created'} in ${secs}s; config ${info.configHash})`,
        `kubernetes  ${info.kubeVersion}; gate ${info.gate ? 'on' : 'off'}`,
        `kubeconfig  ${info.kubeconfigPath}`,
        `nodes       ${info.nodes.map((n) => `${n.containerName} (${n.role})`).join(', ')}`,
        `network     docker network "${info.network}"`,
        `use         export KUBECONFIG=${info.kubeconfigPath}   # kubectl: ${kubectlHint()}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};

function kubectlHint(): string {
  const p = join(cacheRoot(), 'builds', 'latest.json');
  try {
    return (JSON.parse(readFileSync(p, 'utf8')) as { tools: { kubectl: string } }).tools.kubectl;
  } catch {
    return 'kubectl';
  }
}

export function parseWorkers(v: string | undefined): number {
  if (v === undefined) return 1;
  if (!/^\d+$/.test(v) || Number(v) > 10) throw new UsageError(`--workers ${JSON.stringify(v)}: expected an integer 0..10`);
  return Number(v);
}

export function parseGate(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new UsageError(`--gate ${JSON.stringify(v)}: expected on or off`);
}
