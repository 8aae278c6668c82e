import { NotBuiltError } from '../lib/errors.ts';
import type { Command } from './command.ts';

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'create or delete a kind cluster running the patched kubelet',
  usage: ['cluster up [--name NAME] [--workers N] [--gate on|off] [--keep]', 'cluster down [--name NAME]'],
  flags: [
    { flag: '--name NAME', help: 'cluster name (default: cif)' },
    { flag: '--workers N', help: 'worker nodes besides the control plane (default: 1)' },
    { flag: '--gate on|off', help: 'the ImagePullPolicyCachedIfFailed feature gate (default: on)' },
    { flag: '--keep', help: 'keep a cluster that failed to come up, for debugging' },
  ],
  options: {
    name: { type: 'string' },
    workers: { type: 'string' },
    gate: { type: 'string' },
    keep: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run() {
    throw new NotBuiltError('`cif cluster`');
  },
};
