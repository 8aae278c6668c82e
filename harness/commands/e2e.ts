import { NotBuiltError } from '../lib/errors.ts';
import type { Command } from './command.ts';

export const e2eCommand: Command = {
  name: 'e2e',
  summary: 'the main job: build (cached), cluster up (reused), the default scenario matrix, reports',
  usage: ['e2e [--online]'],
  flags: [{ flag: '--online', help: 'use stock kind images from a reachable registry' }],
  options: { online: { type: 'boolean' } },
  maxPositionals: 0,
  async run() {
    throw new NotBuiltError('`cif e2e`');
  },
};
