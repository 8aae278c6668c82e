import { NotBuiltError } from '../lib/errors.ts';
import type { Command } from './command.ts';

export const patchCommand: Command = {
  name: 'patch',
  summary: 'check, apply or unit-test the CachedIfFailed patch series on a pinned Kubernetes tree',
  usage: ['patch check [--kube-src DIR]', 'patch apply [--kube-src DIR]', 'patch test [--kube-src DIR]'],
  flags: [{ flag: '--kube-src DIR', help: 'use this upstream git checkout instead of materializing the pinned tree' }],
  options: { 'kube-src': { type: 'string' } },
  maxPositionals: 1,
  async run() {
    throw new NotBuiltError('`cif patch`');
  },
};
