import { NotBuiltError } from '../lib/errors.ts';
import type { Command } from './command.ts';

export const runCommand: Command = {
  name: 'run',
  summary: 'run scenario files (default: the policy × fault × cache matrix in scenarios/)',
  usage: ['run [SCENARIO_FILE …]'],
  options: {},
  maxPositionals: Number.POSITIVE_INFINITY,
  async run() {
    throw new NotBuiltError('`cif run`');
  },
};
