/**
 * The step handlers: `steps/<kind>.ts` exports `handler` for the step kind of that name, and the runner
 * looks it up by the kind alone, so a new step kind is its entry in scenario/format/schema.ts and one file
 * here. `steps.test.ts` checks every kind has its handler.
 */
import type { Step } from '../../format/model.ts';
import type { StepHandler } from './context.ts';

const loaded = new Map<string, Promise<StepHandler<Step['kind']>>>();

export function handlerFor<K extends Step['kind']>(kind: K): Promise<StepHandler<K>> {
  let h = loaded.get(kind);
  if (!h) {
    h = import(`./${kind}.ts`).then((m: { handler?: StepHandler<K> }) => {
      if (typeof m.handler !== 'function') throw new Error(`steps/${kind}.ts exports no handler`);
      return m.handler as StepHandler<Step['kind']>;
    });
    loaded.set(kind, h);
  }
  return h as Promise<StepHandler<K>>;
}

export { failedExpect } from './expect.ts';
export type { StepContext } from './context.ts';
