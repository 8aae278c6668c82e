import { NotBuiltError } from '../lib/errors.ts';
import type { Command } from './command.ts';

export const buildCommand: Command = {
  name: 'build',
  summary: 'build the patched Kubernetes binaries, the component images and the kind node image (cached)',
  usage: ['build [--online]'],
  flags: [{ flag: '--online', help: 'start from the stock kindest/node image (needs a reachable registry)' }],
  options: { online: { type: 'boolean' } },
  maxPositionals: 0,
  async run() {
    throw new NotBuiltError('`cif build`');
  },
};
