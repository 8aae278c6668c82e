import { boolFlag, type Command } from './command.ts';
import { e2eMain } from '../app/e2e.ts';

export const e2eCommand: Command = {
  name: 'e2e',
  summary: 'the main job: build (cached), cluster up (reused), the default scenario matrix and benchmarks, reports',
  usage: ['e2e [--online]'],
  flags: [{ flag: '--online', help: 'use stock kind images from a reachable registry' }],
  options: { online: { type: 'boolean' } },
  maxPositionals: 0,
  async run(args) {
    return (await e2eMain({ online: boolFlag(args, 'online') })).exitCode;
  },
};
