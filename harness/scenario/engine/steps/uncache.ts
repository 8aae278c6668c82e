import { bounded, CALL_BOUND_MS } from '../bounded.ts';
import { nodeName, type StepHandler } from './context.ts';

export const handler: StepHandler<'uncache'> = async (step, ctx) => {
  await bounded(ctx.session.uncacheOnNode(nodeName(ctx, step.node), ctx.cell.ref(step.image)), CALL_BOUND_MS, 'uncache');
  ctx.cell.markCached(step.node, step.image, false);
};
