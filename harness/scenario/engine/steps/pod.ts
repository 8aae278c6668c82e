import { nodeName, podLabels, type StepHandler } from './context.ts';

export const handler: StepHandler<'pod'> = async (step, ctx) => {
  const { cell } = ctx;
  const cached = cell.isCached(step.node, step.image);
  const r = await ctx.session.createPod({
    namespace: cell.namespace,
    name: step.name,
    node: nodeName(ctx, step.node),
    image: cell.ref(step.image),
    policy: step.policy,
    pullSecret: step.pullSecret,
    command: step.command,
    labels: podLabels(ctx, cell.cell.key ? { 'cif.cell': cell.cell.key } : {}),
  });
  cell.pods.set(step.name, {
    ...('created' in r ? { handle: r.created } : { rejected: r.rejected }),
    policy: step.policy,
    fault: ctx.fault,
    cached,
    node: step.node,
    where: step.where,
  });
};
