/**
 * The contract of issue 3 in the vocabulary of the scenarios: which registry fault modes are "unreachable"
 * (CachedIfFailed falls back to a cached image) and which are the registry's own answer (never falls back).
 * Scenario rules name these classes (`fault: unreachable`) so the matrix reads like the contract.
 */
import { FAULT_MODES, type FaultMode } from '../report/results.ts';

/** The kubelet's fallback event; observe/ owns the name (the watch reports `fallbackEvent` from it). */
export { FALLBACK_EVENT_REASON } from '../observe/pod-status.ts';

export const FAULT_CLASSES = {
  /** The registry can't be reached or is overloaded: fall back when a cached copy exists. */
  unreachable: ['stopped', 'refused', 'blackhole', 'dns', 'hang', 'http-503', 'http-429'],
  /** The registry answered: bad credentials, forbidden, tag removed. Never fall back. */
  'denied-or-missing': ['unauthorized', 'forbidden', 'not-found'],
  /** The registry works, badly: pulls succeed (slow) or succeed some of the time (flapping). */
  degraded: ['slow', 'flapping'],
} as const satisfies Record<string, readonly FaultMode[]>;

export type FaultClass = keyof typeof FAULT_CLASSES;
export const FAULT_CLASS_NAMES = Object.keys(FAULT_CLASSES) as FaultClass[];

export function isUnreachable(mode: FaultMode): boolean {
  return (FAULT_CLASSES.unreachable as readonly string[]).includes(mode);
}

/** A fault mode name or a class name → the modes it stands for. */
export function faultsOf(name: string): FaultMode[] | undefined {
  if ((FAULT_MODES as readonly string[]).includes(name)) return [name as FaultMode];
  if (name in FAULT_CLASSES) return [...FAULT_CLASSES[name as FaultClass]];
  return undefined;
}

/** Container Waiting reasons that end an observation: the pod won't start on its own from here. */
export const FAILURE_REASONS = [
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'CrashLoopBackOff',
] as const;

/** Reasons that only mean "not there yet": never judged before the watch runs out. */
export const TRANSIENT_OUTCOMES = ['Pending', 'ContainerCreating', 'PodInitializing'] as const;

export const IMAGE_PULL_FAILURES = ['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName'];
