import type { Observation, ScenarioResult } from '../../../contract/index.ts';
import { bounded, OBSERVE_GRACE_MS } from '../bounded.ts';
import { resultId, type CellState } from '../cell.ts';
import { evaluate, stopWhen } from '../expect.ts';
import { expectationResult } from '../results.ts';
import { round } from '../stats.ts';
import type { StepHandler, StepOf } from './context.ts';

export const handler: StepHandler<'expect'> = async (step, { session, cell, fault, clock, log }) => {
  if (cell.broken) return [failedExpect(cell, step, cell.broken, fault)];
  const pod = cell.pods.get(step.pod)!;
  const e = step.expectation;
  const t0 = clock.now();
  let observed: Observation;
  if (pod.rejected !== undefined) observed = { outcome: 'Rejected', message: pod.rejected, fallbackEvent: false };
  else {
    const timeoutMs = (e.timeoutSeconds ?? 120) * 1000;
    observed = await bounded(session.observe(pod.handle!, { timeoutMs, until: stopWhen(e) }), timeoutMs + OBSERVE_GRACE_MS, `observing ${step.pod}`);
    // read at the source only where a bound needs it: one look at the node's kubelet log per such pod
    if (e.maxDecisionSeconds !== undefined && observed.node) {
      observed = { ...observed, pullDecisions: await session.pullDecisions(pod.handle!, observed.node) };
    }
  }
  const podStep = cell.cell.steps.find((s): s is StepOf<'pod'> => s.kind === 'pod' && s.name === step.pod);
  // a pod that ran has its image on the node now, whatever put it there
  if (observed.outcome === 'Running' && podStep) cell.markCached(pod.node, podStep.image, true);
  const result = expectationResult({
    ...identity(cell, step),
    policy: pod.policy,
    fault: pod.fault,
    cached: pod.cached,
    observed,
    failures: evaluate(e, observed),
    durationSeconds: round((clock.now() - t0) / 1000, 1),
  });
  log(`${result.pass ? 'pass' : 'FAIL'} ${result.id}${result.failures?.length ? `: ${result.failures[0]}` : ''}`);
  return [result];
};

/** An expectation that could not be judged (the cell broke, or observing failed), as a failed result. */
export function failedExpect(cell: CellState, step: StepOf<'expect'>, reason: string, fault: ScenarioResult['fault']): ScenarioResult {
  const pod = cell.pods.get(step.pod);
  return expectationResult({
    ...identity(cell, step),
    policy: pod?.policy ?? cell.cell.vars?.policy ?? 'Always',
    fault: pod?.fault ?? cell.cell.vars?.fault ?? fault,
    cached: pod?.cached ?? cell.cell.vars?.cached ?? false,
    failures: [reason],
  });
}

function identity(cell: CellState, step: StepOf<'expect'>) {
  return {
    id: resultId(cell.scenario, cell.cell, step.pod),
    scenario: cell.scenario,
    matrix: cell.cell.vars !== undefined,
    source: step.rule ? `${step.where} (rule ${step.rule})` : step.where,
    expected: step.expectation,
  };
}
