/** What a pod's start is made of, read from the events its watch saw (the measure step's samples and phases). */
import { FALLBACK_EVENT_REASON, type Observation } from '../../contract/index.ts';
import { round } from './stats.ts';

/**
 * One pod's start, cut at the events the watch saw: creation → Pulling (the sandbox: network, pause
 * container — before any pull), Pulling → PullFailedUsingCached or → Pulled (the registry and the
 * deadline), then → Running (container start and the kubelet's status report). Only a pod that ran has
 * the last interval; a pod that never pulled (IfNotPresent, cached) has just creation → Running.
 */
export function podPhases(o: Observation): { name: string; seconds: number }[] {
  const timeline = o.timeline ?? [];
  const first = (reason: string) => timeline.find((t) => t.reason === reason)?.atSeconds;
  const pulling = first('Pulling');
  const fallback = first(FALLBACK_EVENT_REASON);
  const pulled = first('Pulled');
  const end = o.outcome === 'Running' ? o.startupSeconds : undefined;
  const phases: { name: string; seconds: number }[] = [];
  const add = (name: string, from: number | undefined, to: number | undefined) => {
    if (from !== undefined && to !== undefined && to >= from) phases.push({ name, seconds: round(to - from) });
  };
  if (pulling === undefined) {
    add('creation → Running', 0, end);
    return phases;
  }
  add('creation → Pulling', 0, pulling);
  const answered = fallback !== undefined && fallback >= pulling ? { name: 'fallback', at: fallback } : pulled !== undefined && pulled >= pulling ? { name: 'Pulled', at: pulled } : undefined;
  if (answered) {
    add(`Pulling → ${answered.name}`, pulling, answered.at);
    add(`${answered.name} → Running`, answered.at, end);
  }
  return phases;
}

/**
 * The first Pulling → the first PullFailedUsingCached in the watch's timeline: how long the kubelet tried
 * the registry before it fell back, the interval its fallback deadline bounds.
 */
export function pullToFallbackSeconds(o: Observation): number | undefined {
  return podPhases(o).find((p) => p.name === 'Pulling → fallback')?.seconds;
}
