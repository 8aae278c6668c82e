import { formatSeconds } from '../format/duration.ts';

/**
 * Bounds a driver call in real time: an adapter that never returns must not hang the run. Tests with a
 * virtual clock resolve at once, so the timer is always cleared.
 */
export async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not return within ${formatSeconds(ms / 1000)}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Grace beyond an observe timeout before the runner gives up on the driver; and the bound for other calls. */
export const OBSERVE_GRACE_MS = 60_000;
export const CALL_BOUND_MS = 10 * 60_000;
