import { bounded, CALL_BOUND_MS } from '../bounded.ts';
import type { StepHandler } from './context.ts';

export const handler: StepHandler<'delete-tag'> = async (step, { session, cell }) => {
  await bounded(session.deleteTag(cell.ref(step.image)), CALL_BOUND_MS, 'delete-tag');
};
