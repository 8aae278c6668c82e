import { bounded, CALL_BOUND_MS } from '../bounded.ts';
import type { StepHandler } from './context.ts';

export const handler: StepHandler<'delete-pod'> = async (step, { session, cell }) => {
  const pod = cell.pods.get(step.pod);
  if (!pod) throw new Error(`no pod "${step.pod}" was created before this step`);
  if (pod.handle) await bounded(session.deletePod(pod.handle), CALL_BOUND_MS, `deleting ${step.pod}`);
  cell.pods.delete(step.pod);
};
