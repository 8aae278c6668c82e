/**
 * Durations and targets as scenario files write them: `10s`, `1.5s`, `500ms`, `2m`, and sums over the
 * cluster's kubelet settings — `deadline + 1s`, `window + 2s` — so a file states a bound the way the issue
 * does ("≤ deadline + 1 s") and stays right if the deadline changes. Ratios are written `1.05x`.
 */

export interface DurationVars {
  /** imagePullFallbackTimeout, seconds. */
  deadline: number;
  /** imagePullFallbackCircuitBreakerWindow, seconds. */
  window: number;
}

const UNIT: Record<string, number> = { ms: 0.001, s: 1, m: 60 };
const TERM = /^(\d+(?:\.\d+)?)(ms|s|m)$/;

export const DURATION_SYNTAX = 'a duration like `10s`, `500ms`, `2m`, or a sum like `deadline + 1s` / `window + 2s`';

/** Parses a plain duration (no variables) to seconds; undefined when malformed. */
export function parsePlainDuration(text: string): number | undefined {
  const m = TERM.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT[m[2]!]!;
}

/** Checks the syntax of a duration expression; returns an error text or undefined. */
export function durationSyntaxError(text: string): string | undefined {
  const terms = text.split(/\s*([+-])\s*/);
  for (let i = 0; i < terms.length; i += 2) {
    const t = terms[i]!.trim();
    if (t === 'deadline' || t === 'window') continue;
    if (parsePlainDuration(t) === undefined) return `"${t}" is not ${DURATION_SYNTAX}`;
  }
  return undefined;
}

/** Evaluates a duration expression to seconds. Call durationSyntaxError first; this throws on bad input. */
export function evalDuration(text: string, vars: DurationVars): number {
  const err = durationSyntaxError(text);
  if (err) throw new Error(err);
  const parts = text.split(/\s*([+-])\s*/);
  let total = 0;
  let sign = 1;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!.trim();
    if (i % 2 === 1) {
      sign = p === '-' ? -1 : 1;
      continue;
    }
    const v = p === 'deadline' ? vars.deadline : p === 'window' ? vars.window : parsePlainDuration(p)!;
    total += sign * v;
  }
  return Math.round(total * 1000) / 1000;
}

/** `1.05x` → 1.05. */
export function parseRatio(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)x$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

export function formatSeconds(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (Number.isInteger(s)) return `${s} s`;
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}
