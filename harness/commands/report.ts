import { NotBuiltError } from '../lib/errors.ts';
import type { Command } from './command.ts';

export const reportCommand: Command = {
  name: 'report',
  summary: 'render a run’s results.json (junit, markdown, svg, html) and the KEP results section',
  usage: ['report [RUN_DIR] [--kep]'],
  flags: [{ flag: '--kep', help: 'rewrite the marked results section of kep/README.md from the report' }],
  options: { kep: { type: 'boolean' } },
  maxPositionals: 1,
  async run() {
    throw new NotBuiltError('`cif report`');
  },
};
