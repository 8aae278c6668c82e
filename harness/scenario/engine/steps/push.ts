import { bounded, CALL_BOUND_MS } from '../bounded.ts';
import type { StepHandler } from './context.ts';

export const handler: StepHandler<'push'> = async (step, { session, cell }) => {
  await bounded(session.pushImage(cell.ref(step.image), step.version, { private: step.private }), CALL_BOUND_MS, 'push');
};
