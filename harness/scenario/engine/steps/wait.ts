import { formatSeconds } from '../../format/duration.ts';
import type { StepHandler } from './context.ts';

export const handler: StepHandler<'wait'> = async (step, { clock, log }) => {
  log(`wait ${formatSeconds(step.seconds)}`);
  await clock.sleep(step.seconds * 1000);
};
