import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../lib/errors.ts';
import { buildAll } from '../images/node-pipeline.ts';
import { boolFlag, stringFlag, type Command } from './command.ts';

export const buildCommand: Command = {
  name: 'build',
  summary: 'build the patched Kubernetes binaries, the component images and the kind node image (cached)',
  usage: ['build [--online] [--patches DIR]'],
  flags: [
    { flag: '--online', help: 'start from the stock kindest/node image (needs a reachable registry)' },
    { flag: '--patches DIR', help: 'build with the series in DIR instead of patches/ (e.g. a series under review)' },
  ],
  options: { online: { type: 'boolean' }, patches: { type: 'string' } },
  maxPositionals: 0,
  async run(args) {
    const t0 = Date.now();
    const seriesDir = stringFlag(args, 'patches');
    if (seriesDir !== undefined && !existsSync(seriesDir)) throw new UsageError(`--patches ${seriesDir}: no such directory`);
    const ctx = await buildAll({ online: boolFlag(args, 'online'), ...(seriesDir === undefined ? {} : { seriesDir: resolve(seriesDir) }) });
    const r = ctx.record!;
    process.stdout.write(
      [
        `node image  ${r.nodeImage}`,
        `kubernetes  ${r.kubeVersion} (series ${r.seriesHash}, ${r.seriesLength} patches)`,
        `gate        ${r.capabilities.gate ? 'ImagePullPolicyCachedIfFailed supported' : 'not in these binaries (clusters run with it off)'}`,
        `kubelet     fallback config fields ${r.capabilities.fallbackConfig ? 'supported' : 'absent'}`,
        `images      ${r.images.length} imported into the node`,
        `took        ${((Date.now() - t0) / 1000).toFixed(1)}s (${Object.entries(ctx.timings).map(([k, v]) => `${k} ${v.toFixed(1)}s`).join(', ')})`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
