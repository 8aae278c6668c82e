/**
 * Expectations against observations: when to stop watching a pod, and what did not match, in words.
 * Pure functions over results.ts types; the runner calls them, the tests pin them down.
 */
import type { Expectation, Observation } from '../../contract/index.ts';
import { FAILURE_REASONS, FALLBACK_EVENT_REASON, IMAGE_PULL_FAILURES, TRANSIENT_OUTCOMES } from '../../contract/index.ts';
import { formatSeconds } from '../format/duration.ts';

const isTransient = (o: string) => (TRANSIENT_OUTCOMES as readonly string[]).includes(o);
const isFailure = (o: string) => (FAILURE_REASONS as readonly string[]).includes(o);

/**
 * The `until` predicate for Session.observe: stop at the first settled state (Running, a failure reason,
 * Rejected) — a pod that fails first and recovers later has still failed. Transient states (ContainerCreating)
 * never stop the watch: an expectation of ContainerCreating ("never starts") is judged when the timeout runs
 * out. Crash-loop expectations watch until enough restarts or an image-pull failure.
 */
export function stopWhen(e: Expectation): (o: Observation) => boolean {
  return (o) => {
    if (o.outcome === 'Rejected') return true;
    if (isTransient(o.outcome)) return false;
    if (e.minRestarts !== undefined) {
      if (IMAGE_PULL_FAILURES.includes(o.outcome)) return true;
      return (o.restarts ?? 0) >= e.minRestarts && o.outcome === e.outcome;
    }
    if (e.eventually) return o.outcome === 'Running';
    // ImagePullBackOff comes after ErrImagePull; keep watching for it when that is what's expected
    if (e.outcome === 'ImagePullBackOff' && o.outcome === 'ErrImagePull') return false;
    return o.outcome === 'Running' || isFailure(o.outcome);
  };
}

/** Every way the observation differs from the expectation; empty = pass. */
export function evaluate(e: Expectation, o: Observation): string[] {
  const f: string[] = [];
  const waited = o.waitedSeconds !== undefined ? formatSeconds(o.waitedSeconds) : undefined;
  if (o.outcome !== e.outcome) {
    let text = `expected ${e.outcome}, observed ${o.outcome}`;
    if (o.timedOut && waited) text += ` (still, after watching ${waited})`;
    else if (o.startupSeconds !== undefined) text += ` after ${formatSeconds(o.startupSeconds)}`;
    if (o.message) text += `: ${o.message}`;
    f.push(text);
  }
  // An expected "never started" that timed out adds nothing: the report shows how long the watch waited.
  if (e.outcome === 'Rejected') {
    if (e.message !== undefined && !(o.message ?? '').includes(e.message)) {
      f.push(`the rejection message lacks "${e.message}"; it was: ${o.message ? JSON.stringify(o.message) : '(none)'}`);
    }
    return f;
  }
  if (e.version !== undefined && o.version !== e.version) {
    f.push(`expected version ${e.version}, observed ${o.version ?? 'none (the container printed no version)'}`);
  }
  if (e.versionAnyOf !== undefined && (o.version === undefined || !e.versionAnyOf.includes(o.version))) {
    f.push(`expected version ${e.versionAnyOf.join(' or ')}, observed ${o.version ?? 'none'}`);
  }
  const fallbackMessage = o.events?.find((ev) => ev.reason === FALLBACK_EVENT_REASON)?.message;
  if (e.fallbackEvent === true && !o.fallbackEvent) {
    const reasons = [...new Set((o.events ?? []).map((ev) => ev.reason))];
    f.push(`expected a ${FALLBACK_EVENT_REASON} event; none was recorded (events: ${reasons.join(', ') || 'none'})`);
  }
  if (e.fallbackEvent === false && o.fallbackEvent) {
    f.push(`expected no ${FALLBACK_EVENT_REASON} event; got one${fallbackMessage ? `: ${JSON.stringify(fallbackMessage)}` : ''}`);
  }
  if (e.fallbackEventIfVersion !== undefined && o.version !== undefined) {
    const want = o.version === e.fallbackEventIfVersion;
    if (want !== o.fallbackEvent) {
      f.push(
        want
          ? `ran the cached ${o.version} without a ${FALLBACK_EVENT_REASON} event (a silent fallback)`
          : `ran ${o.version} but recorded a ${FALLBACK_EVENT_REASON} event${fallbackMessage ? `: ${JSON.stringify(fallbackMessage)}` : ''}`,
      );
    }
  }
  if (e.maxDecisionSeconds !== undefined) {
    const worst = o.pullDecisions?.length ? Math.max(...o.pullDecisions.map((d) => d.durationSeconds)) : undefined;
    if (worst === undefined) f.push(`the kubelet logged no CachedIfFailed pull decision for this pod (bound ${formatSeconds(e.maxDecisionSeconds)})`);
    else if (worst > e.maxDecisionSeconds) f.push(`the kubelet decided ${formatSeconds(worst)} after the pull started, over the bound of ${formatSeconds(e.maxDecisionSeconds)}`);
  }
  if (e.maxStartupSeconds !== undefined && o.outcome === e.outcome) {
    if (o.startupSeconds === undefined) f.push(`no startup time was observed (bound ${formatSeconds(e.maxStartupSeconds)})`);
    else if (o.startupSeconds > e.maxStartupSeconds) {
      f.push(`started after ${formatSeconds(o.startupSeconds)}, over the bound of ${formatSeconds(e.maxStartupSeconds)}`);
    }
  }
  const reasons = new Set((o.events ?? []).map((ev) => ev.reason));
  for (const r of e.eventsPresent ?? []) if (!reasons.has(r)) f.push(`expected a ${r} event; none was recorded`);
  for (const r of e.eventsAbsent ?? []) if (reasons.has(r)) f.push(`expected no ${r} event; got one`);
  if (e.minRestarts !== undefined && (o.restarts ?? 0) < e.minRestarts) {
    f.push(`expected at least ${e.minRestarts} restarts, observed ${o.restarts ?? 0}${waited ? ` in ${waited}` : ''}`);
  }
  if (e.maxRestarts !== undefined && (o.restarts ?? 0) > e.maxRestarts) f.push(`expected at most ${e.maxRestarts} restarts, observed ${o.restarts}`);
  if (e.maxRestartPullSeconds !== undefined) {
    const phases = restartPullPhases(o);
    if (phases === undefined) f.push('the observation has no event timeline, so restart pull times cannot be checked');
    else if (phases.length === 0) f.push('no restart showed a pull (Pulling or fallback event before Created): cannot tell what restarts cost');
    else {
      const worst = Math.max(...phases);
      if (worst > e.maxRestartPullSeconds) {
        f.push(`a restart spent ${formatSeconds(worst)} pulling (phases: ${phases.map(formatSeconds).join(', ')}), over ${formatSeconds(e.maxRestartPullSeconds)}: restarts pay the deadline`);
      }
    }
  }
  return f;
}

/**
 * The pull phase of each restart, from the timeline: after each container start but the last, the first
 * `Pulling` or fallback event up to the next `Created`. undefined when there is no timeline.
 */
export function restartPullPhases(o: Observation): number[] | undefined {
  if (!o.timeline) return undefined;
  const phases: number[] = [];
  let started = false;
  let pullAt: number | undefined;
  for (const t of o.timeline) {
    if (t.reason === 'Started') {
      started = true;
      pullAt = undefined;
    } else if (started && pullAt === undefined && (t.reason === 'Pulling' || t.reason === FALLBACK_EVENT_REASON)) {
      pullAt = t.atSeconds;
    } else if (started && t.reason === 'Created' && pullAt !== undefined) {
      phases.push(Math.round((t.atSeconds - pullAt) * 1000) / 1000);
      pullAt = undefined;
    }
  }
  return phases;
}

/** One line for reports: `Running v1 + fallback event in 10.4 s`, `ContainerCreating after 60 s`. */
export function describeObservation(o: Observation): string {
  const parts = [o.outcome];
  if (o.version) parts.push(o.version);
  if (o.fallbackEvent) parts.push('+ fallback event');
  if (o.restarts) parts.push(`(${o.restarts} restarts)`);
  if (o.timedOut && o.waitedSeconds !== undefined) parts.push(`after ${formatSeconds(o.waitedSeconds)}`);
  else if (o.startupSeconds !== undefined) parts.push(`in ${formatSeconds(o.startupSeconds)}`);
  return parts.join(' ');
}

export function describeExpectation(e: Expectation): string {
  const parts = [e.outcome];
  if (e.version) parts.push(e.version);
  if (e.versionAnyOf) parts.push(e.versionAnyOf.join('|'));
  if (e.fallbackEvent === true) parts.push('+ fallback event');
  if (e.fallbackEvent === false) parts.push('no fallback event');
  if (e.maxStartupSeconds !== undefined) parts.push(`≤ ${formatSeconds(e.maxStartupSeconds)}`);
  if (e.maxDecisionSeconds !== undefined) parts.push(`kubelet decides ≤ ${formatSeconds(e.maxDecisionSeconds)}`);
  if (e.minRestarts !== undefined) parts.push(`≥ ${e.minRestarts} restarts`);
  if (e.sameOutcomeAs) parts.push(`like ${e.sameOutcomeAs}`);
  if (e.eventually) parts.push('eventually');
  if (e.message) parts.push(`“${e.message}”`);
  return parts.join(' ');
}
