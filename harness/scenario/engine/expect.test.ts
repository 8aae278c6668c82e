import { describe, expect, it } from 'vitest';
import type { Expectation, Observation } from '../../contract/index.ts';
import { evaluate, restartPullPhases, stopWhen } from './expect.ts';
import { addPhases, percentile, computeBenchmark } from './stats.ts';
import { phasesLine } from '../../report/summary.ts';
import { evalDuration, durationSyntaxError } from '../format/duration.ts';

const obs = (o: Partial<Observation>): Observation => ({ outcome: 'Running', fallbackEvent: false, ...o });

describe('evaluate', () => {
  const fallback: Expectation = { outcome: 'Running', version: 'v1', fallbackEvent: true, maxStartupSeconds: 15 };

  it('passes a matching observation', () => {
    expect(evaluate(fallback, obs({ version: 'v1', fallbackEvent: true, startupSeconds: 10.8 }))).toEqual([]);
  });

  it('says what differs, in words', () => {
    const f = evaluate(fallback, obs({ outcome: 'ErrImagePull', startupSeconds: 0.15, message: 'dial tcp: connection refused' }));
    expect(f[0]).toBe('expected Running, observed ErrImagePull after 150 ms: dial tcp: connection refused');
    expect(f).toContain('expected version v1, observed none (the container printed no version)');
    expect(f.some((x) => x.startsWith('expected a PullFailedUsingCached event; none was recorded'))).toBe(true);
    expect(evaluate(fallback, obs({ version: 'v1', fallbackEvent: true, startupSeconds: 31 }))).toEqual(['started after 31 s, over the bound of 15 s']);
    expect(evaluate({ outcome: 'ErrImagePull', fallbackEvent: false }, obs({ outcome: 'ErrImagePull', fallbackEvent: true, events: [{ reason: 'PullFailedUsingCached', message: 'used v1', count: 1 }] }))).toEqual([
      'expected no PullFailedUsingCached event; got one: "used v1"',
    ]);
  });

  it('a transient outcome that never settled is judged after the timeout, with how long we waited', () => {
    const e: Expectation = { outcome: 'ContainerCreating', fallbackEvent: false };
    expect(evaluate(e, obs({ outcome: 'ContainerCreating', timedOut: true, waitedSeconds: 60 }))).toEqual([]);
    expect(evaluate({ outcome: 'Running' }, obs({ outcome: 'ContainerCreating', timedOut: true, waitedSeconds: 120 }))).toEqual([
      'expected Running, observed ContainerCreating (still, after watching 120 s)',
    ]);
  });

  it('Rejected checks the message', () => {
    const e: Expectation = { outcome: 'Rejected', message: 'Unsupported value: "CachedIfFailed"' };
    expect(evaluate(e, obs({ outcome: 'Rejected', message: 'spec.containers[0].imagePullPolicy: Unsupported value: "CachedIfFailed": supported values: …' }))).toEqual([]);
    expect(evaluate(e, obs({ outcome: 'Rejected', message: 'forbidden' }))[0]).toContain('lacks "Unsupported value');
  });

  it('fallbackEventIfVersion: a cached version needs the event, a fresh one must not have it', () => {
    const e: Expectation = { outcome: 'Running', versionAnyOf: ['v1', 'v2'], fallbackEventIfVersion: 'v1' };
    expect(evaluate(e, obs({ version: 'v1', fallbackEvent: true }))).toEqual([]);
    expect(evaluate(e, obs({ version: 'v2' }))).toEqual([]);
    expect(evaluate(e, obs({ version: 'v1' }))[0]).toContain('silent fallback');
    expect(evaluate(e, obs({ version: 'v3' }))[0]).toBe('expected version v1 or v2, observed v3');
  });

  it('restart pull phases come from the timeline', () => {
    const timeline = [
      { atSeconds: 0, reason: 'Pulling' },
      { atSeconds: 10, reason: 'PullFailedUsingCached' },
      { atSeconds: 10.7, reason: 'Created' },
      { atSeconds: 10.8, reason: 'Started' },
      { atSeconds: 21.3, reason: 'PullFailedUsingCached' },
      { atSeconds: 22, reason: 'Created' },
      { atSeconds: 22.1, reason: 'Started' },
      { atSeconds: 42.6, reason: 'Pulling' },
      { atSeconds: 52.6, reason: 'PullFailedUsingCached' },
      { atSeconds: 53.3, reason: 'Created' },
      { atSeconds: 53.4, reason: 'Started' },
    ];
    expect(restartPullPhases(obs({ timeline }))).toEqual([0.7, 10.7]);
    const e: Expectation = { outcome: 'CrashLoopBackOff', minRestarts: 2, maxRestartPullSeconds: 3 };
    const f = evaluate(e, obs({ outcome: 'CrashLoopBackOff', restarts: 2, timeline }));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatch(/a restart spent 10.7 s pulling .* restarts pay the deadline/);
    expect(evaluate(e, obs({ outcome: 'CrashLoopBackOff', restarts: 2 }))).toEqual(['the observation has no event timeline, so restart pull times cannot be checked']);
  });
});

describe('stopWhen', () => {
  it('stops at the first settled state, never at a transient one', () => {
    const s = stopWhen({ outcome: 'Running' });
    expect(s(obs({ outcome: 'ContainerCreating' }))).toBe(false);
    expect(s(obs({ outcome: 'Pending' }))).toBe(false);
    expect(s(obs({ outcome: 'Running' }))).toBe(true);
    expect(s(obs({ outcome: 'ErrImagePull' }))).toBe(true); // a pod that failed first has failed
  });
  it('ImagePullBackOff waits past ErrImagePull; eventually waits past failures; crash loops wait for restarts', () => {
    expect(stopWhen({ outcome: 'ImagePullBackOff' })(obs({ outcome: 'ErrImagePull' }))).toBe(false);
    expect(stopWhen({ outcome: 'Running', eventually: true })(obs({ outcome: 'ImagePullBackOff' }))).toBe(false);
    const c = stopWhen({ outcome: 'CrashLoopBackOff', minRestarts: 2 });
    expect(c(obs({ outcome: 'Running', restarts: 0 }))).toBe(false);
    expect(c(obs({ outcome: 'CrashLoopBackOff', restarts: 1 }))).toBe(false);
    expect(c(obs({ outcome: 'CrashLoopBackOff', restarts: 2 }))).toBe(true);
    expect(c(obs({ outcome: 'ErrImagePull' }))).toBe(true);
  });
});

describe('durations and statistics', () => {
  it('evaluates durations over the kubelet settings', () => {
    const vars = { deadline: 10, window: 30 };
    expect(evalDuration('deadline + 1s', vars)).toBe(11);
    expect(evalDuration('window + 2s', vars)).toBe(32);
    expect(evalDuration('500ms', vars)).toBe(0.5);
    expect(evalDuration('2m - 30s', vars)).toBe(90);
    expect(durationSyntaxError('deadline + soon')).toContain('"soon"');
  });

  it('percentiles interpolate between order statistics', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(xs, 50)).toBe(5.5);
    expect(percentile(xs, 95)).toBe(9.55);
    expect(percentile([3], 95)).toBe(3);
    expect(percentile([], 50)).toBeNaN();
  });

  it('benchmarks: differences, ratios, judged figure against the target, failed pods fail it', () => {
    const base = { id: 'B', title: 't', subject: 's', baseline: 'b', formula: 's - b', where: 'x:1:1' } as const;
    const m = new Map([
      ['s', { samples: [1.1, 1.2, 1.3], failures: [] }],
      ['b', { samples: [1, 1, 1], failures: [] }],
    ]);
    const d = computeBenchmark({ ...base, op: 'difference', unit: 's', target: 0.3, judge: 'p50' }, m);
    expect(d).toMatchObject({ p50: 0.2, pass: true, baseline: { p50: 1 } });
    const r = computeBenchmark({ ...base, op: 'ratio', unit: 'ratio', target: 1.05, judge: 'p50', formula: 's / b' }, m);
    expect(r).toMatchObject({ p50: 1.2, pass: false });
    expect(r.failures).toEqual(['p50 1.2× is over the target 1.05×']);
    const bad = new Map([...m, ['s', { samples: [1.1], failures: ['pod 2: expected Running, observed ErrImagePull'] }]]);
    const f = computeBenchmark({ ...base, op: 'difference', unit: 's', target: 0.3, judge: 'p50' }, bad);
    expect(f.pass).toBe(false);
    expect(f.failures).toEqual(['s: pod 2: expected Running, observed ErrImagePull']);
  });

  it('benchmarks carry the subject’s phases, in the order they were first seen', () => {
    const data = { samples: [12, 14], failures: [] as string[] };
    addPhases(data, [{ name: 'creation → Pulling', seconds: 1 }, { name: 'Pulling → fallback', seconds: 10 }]);
    addPhases(data, [{ name: 'creation → Pulling', seconds: 3 }, { name: 'Pulling → fallback', seconds: 10 }]);
    const b = computeBenchmark({ id: 'P', title: 't', subject: 's', op: 'value', unit: 's', target: 20, judge: 'max', formula: 's', where: 'x:1:1' }, new Map([['s', data]]));
    expect(b.phases).toEqual([
      { name: 'creation → Pulling', p50: 2, p95: 2.9, max: 3, samples: 2 },
      { name: 'Pulling → fallback', p50: 10, p95: 10, max: 10, samples: 2 },
    ]);
    expect(phasesLine(b.phases!)).toBe('creation → Pulling 2.00 / 2.90 / 3.00 s; Pulling → fallback 10.00 / 10.00 / 10.00 s');
  });
});

describe('decisionWithin: the kubelet’s own pull start → decision', () => {
  const base = { outcome: 'Running', version: 'v1', fallbackEvent: true } as const;
  const decision = (durationSeconds: number) => ({ decision: 'fallback' as const, errorClass: 'FallbackDeadline', durationSeconds, deadlineSeconds: 10, breakerOpen: false });
  it('judges the kubelet’s figure, not a watch that saw the pod late', () => {
    // start-up as the watch saw it is 18 s on a loaded host; the kubelet decided at 10.02 s
    const o = { ...base, startupSeconds: 18, pullDecisions: [decision(10.02)] };
    expect(evaluate({ ...base, maxDecisionSeconds: 11 }, o)).toEqual([]);
  });
  it('fails a decision over the bound, and a pod the kubelet logged nothing for', () => {
    expect(evaluate({ ...base, maxDecisionSeconds: 11 }, { ...base, pullDecisions: [decision(10.2), decision(12.5)] })).toEqual([
      'the kubelet decided 12.5 s after the pull started, over the bound of 11 s',
    ]);
    expect(evaluate({ ...base, maxDecisionSeconds: 11 }, { ...base, pullDecisions: [] })[0]).toMatch(/logged no CachedIfFailed pull decision/);
  });
});
