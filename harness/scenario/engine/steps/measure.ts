import type { PodHandle } from '../../../drivers/driver.ts';
import { bounded, OBSERVE_GRACE_MS } from '../bounded.ts';
import { evaluate, stopWhen } from '../expect.ts';
import { podPhases, pullToFallbackSeconds } from '../measurement.ts';
import { addPhases, type MeasureData } from '../stats.ts';
import { nodeName, podLabels, type StepHandler } from './context.ts';

const SAMPLE_NAMES = {
  startup: 'startup time',
  'pull-to-fallback': 'Pulling → PullFailedUsingCached interval',
  kubelet: 'kubelet pull decision (its "CachedIfFailed pull decided" log line)',
} as const;

export const handler: StepHandler<'measure'> = async (step, ctx) => {
  const { session, cell, fault } = ctx;
  const e = step.expectation ?? { outcome: 'Running' };
  const data: MeasureData = { samples: [], failures: [] };
  cell.measures.set(step.name, data);
  ctx.log(`measure ${step.name}: ${step.pods} ${step.template.policy} pods (${step.concurrency}), fault ${fault}`);
  const create = async (i: number): Promise<PodHandle | undefined> => {
    const image = step.images[i % step.images.length]!;
    const r = await session.createPod({
      namespace: cell.namespace,
      name: `${step.name}-${i + 1}`,
      node: nodeName(ctx, step.template.node),
      image: cell.ref(image),
      policy: step.template.policy,
      pullSecret: step.template.pullSecret,
      command: step.template.command,
      labels: podLabels(ctx, { 'cif.measure': step.name }),
    });
    if ('created' in r) return r.created;
    data.failures.push(`pod ${i + 1} was rejected: ${r.rejected}`);
    return undefined;
  };
  const watch = async (i: number, h: PodHandle | undefined) => {
    if (!h) return;
    const o = await bounded(session.observe(h, { timeoutMs: step.timeoutSeconds * 1000, until: stopWhen(e) }), step.timeoutSeconds * 1000 + OBSERVE_GRACE_MS, `observing ${h.name}`);
    const f = evaluate(e, o);
    data.outcome ??= o.outcome;
    let sample: number | undefined;
    if (step.sample === 'kubelet') {
      const decisions = o.node ? await session.pullDecisions(h, o.node) : [];
      sample = decisions.length ? Math.max(...decisions.map((d) => d.durationSeconds)) : undefined;
    } else sample = step.sample === 'pull-to-fallback' ? pullToFallbackSeconds(o) : o.startupSeconds;
    addPhases(data, podPhases(o));
    if (f.length) data.failures.push(`pod ${i + 1}: ${f.join('; ')}`);
    else if (sample !== undefined) data.samples.push(sample);
    else data.failures.push(`pod ${i + 1}: no ${SAMPLE_NAMES[step.sample]} observed`);
  };
  if (step.concurrency === 'all') {
    const handles = await Promise.all(Array.from({ length: step.pods }, (_, i) => create(i)));
    await Promise.all(handles.map((h, i) => watch(i, h)));
  } else {
    for (let i = 0; i < step.pods; i++) await watch(i, await create(i));
  }
};
