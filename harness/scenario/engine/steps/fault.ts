import type { StepHandler } from './context.ts';

/** Fault steps are switched once per fault group, between segments, by the runner (see runGroup). */
export const handler: StepHandler<'fault'> = async () => {};
