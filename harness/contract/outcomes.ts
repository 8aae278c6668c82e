/**
 * What a pod can end up as, in the words the kubelet and the API server use. The watch stops on these, the
 * scenario schema accepts them as `outcome:` and the expectations judge by them, so they live here once.
 */

/** `Running`, a container Waiting reason (ErrImagePull, ImagePullBackOff, …), or `Rejected` by the API. */
export type Outcome = string;

/** The event the patched kubelet records when it runs a cached image because the pull failed. */
export const FALLBACK_EVENT_REASON = 'PullFailedUsingCached';

/** Container Waiting reasons that end an observation: the pod won't start without something changing. */
export const FAILURE_REASONS = [
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'ImageInspectError',
  'RegistryUnavailable',
  'SignatureValidationFailed',
  'CreateContainerConfigError',
  'CreateContainerError',
  'CrashLoopBackOff',
  'RunContainerError',
] as const;

/** The failure reasons a failed image pull shows (a crash loop that meets one of them stops watching). */
export const IMAGE_PULL_FAILURES: readonly string[] = ['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName'];

/** Reasons that only mean "not there yet": never judged before the watch runs out. */
export const TRANSIENT_OUTCOMES = ['Pending', 'ContainerCreating', 'PodInitializing'] as const;

export function isFailureReason(outcome: string): boolean {
  return (FAILURE_REASONS as readonly string[]).includes(outcome);
}

export function isTransientOutcome(outcome: string): boolean {
  return (TRANSIENT_OUTCOMES as readonly string[]).includes(outcome);
}
