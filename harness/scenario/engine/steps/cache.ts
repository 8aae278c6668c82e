import { bounded, CALL_BOUND_MS } from '../bounded.ts';
import { stopWhen } from '../expect.ts';
import { dnsLabel } from '../schedule.ts';
import { nodeName, podLabels, type StepContext, type StepHandler, type StepOf } from './context.ts';

export const handler: StepHandler<'cache'> = async (step, ctx) => {
  if (step.via === 'runtime') await bounded(ctx.session.cacheOnNode(nodeName(ctx, step.node), ctx.cell.ref(step.image)), CALL_BOUND_MS, 'cache');
  else await cacheViaKubelet(step, ctx);
  ctx.cell.markCached(step.node, step.image, true);
};

/** Caches an image the way KEP-2535 records it: a short-lived Always pod (with the pull secret) pulls it. */
async function cacheViaKubelet(step: StepOf<'cache'>, ctx: StepContext): Promise<void> {
  const { session, cell } = ctx;
  const r = await session.createPod({
    namespace: cell.namespace,
    name: dnsLabel(`cache-${step.image.name}-${step.image.tag}`),
    node: nodeName(ctx, step.node),
    image: cell.ref(step.image),
    policy: 'Always',
    pullSecret: step.pullSecret,
    command: 'serve',
    labels: podLabels(ctx),
  });
  if (!('created' in r)) throw new Error(`the caching pod was rejected: ${r.rejected}`);
  const o = await session.observe(r.created, { timeoutMs: 120_000, until: stopWhen({ outcome: 'Running' }) });
  if (o.outcome !== 'Running') throw new Error(`the caching pod did not run: ${o.outcome}${o.message ? ` (${o.message})` : ''}`);
  await session.deletePod(r.created);
}
