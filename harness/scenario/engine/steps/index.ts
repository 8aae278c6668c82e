/**
 * The step handlers, keyed by step kind: the runner looks a step up here and nowhere else. A new step kind
 * is its schema entry in scenario/format and one handler file, registered on one line below.
 */
import type { Step } from '../../format/model.ts';
import type { StepHandler } from './context.ts';
import { cache } from './cache.ts';
import { deleteTag } from './delete-tag.ts';
import { expect } from './expect.ts';
import { fault } from './fault.ts';
import { measure } from './measure.ts';
import { pod } from './pod.ts';
import { push } from './push.ts';
import { uncache } from './uncache.ts';
import { wait } from './wait.ts';

export const STEP_HANDLERS: { [K in Step['kind']]: StepHandler<K> } = {
  push,
  'delete-tag': deleteTag,
  cache,
  uncache,
  fault,
  pod,
  wait,
  expect,
  measure,
};

export { failedExpect } from './expect.ts';
export type { StepContext } from './context.ts';
