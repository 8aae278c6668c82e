import { describe, expect, it } from 'vitest';
import { parsePullDecision, parsePullDecisions } from './pull-decisions.ts';

// The line as the patched kubelet prints it (patches/README.md, "Timing at the source"), behind journald's
// prefix as `journalctl -u kubelet` shows it.
const LINE =
  'Dec 01 07:30:01 cif-e2e-worker kubelet[231]: I1201 07:30:01.595258     231 cached_if_failed.go:318] ' +
  '"CachedIfFailed pull decided" pod="p1-refused-ab12/refused-3" podUID="0f3c1a2b-1111-2222-3333-444455556666" ' +
  'image="reg-s001.cif.test:5000/p1/app:stable" decision="fallback" errorClass="ConnectionRefused" ' +
  'pullStartedAt="2026-12-01T07:30:01.571234567Z" durationSeconds=0.024021 deadlineSeconds=10 breakerOpen=false';

describe('parsePullDecision', () => {
  it('reads every field of the decision line', () => {
    expect(parsePullDecision(LINE)).toEqual({
      pod: 'p1-refused-ab12/refused-3',
      podUID: '0f3c1a2b-1111-2222-3333-444455556666',
      image: 'reg-s001.cif.test:5000/p1/app:stable',
      decision: 'fallback',
      errorClass: 'ConnectionRefused',
      pullStartedAt: '2026-12-01T07:30:01.571234567Z',
      durationSeconds: 0.024021,
      deadlineSeconds: 10,
      breakerOpen: false,
    });
  });

  it('ignores other kubelet lines, including the human V(2) line', () => {
    expect(parsePullDecision('I1201 07:30:01.5 231 x.go:1] "Using the image present on the node after a failed CachedIfFailed pull" pod="a/b"')).toBeUndefined();
    expect(parsePullDecision('I1201 07:30:01.5 231 x.go:1] "Pulling image" image="a"')).toBeUndefined();
  });

  it('a value that looks like a key=value pair stays inside its quotes', () => {
    // an image chosen by someone else: its text must not become the decision or the duration
    // (moved to the end of the line, after the real fields, so a parser that split on spaces would let it win)
    const hostile = LINE.replace('image="reg-s001.cif.test:5000/p1/app:stable" ', '') + ' image="x/ decision=pulled durationSeconds=99:v1"';
    const d = parsePullDecision(hostile)!;
    expect(d.decision).toBe('fallback');
    expect(d.durationSeconds).toBe(0.024021);
    expect(d.image).toBe('x/ decision=pulled durationSeconds=99:v1');
  });

  it('a line without a usable decision or duration is not a decision', () => {
    expect(parsePullDecision(LINE.replace('decision="fallback"', 'decision="maybe"'))).toBeUndefined();
    expect(parsePullDecision(LINE.replace('durationSeconds=0.024021', 'durationSeconds=abc'))).toBeUndefined();
  });

  it('reads all decisions of a journal in order', () => {
    const journal = [LINE, 'noise', LINE.replace('refused-3', 'refused-4').replace('decision="fallback"', 'decision="error"')].join('\n');
    expect(parsePullDecisions(journal).map((d) => [d.pod, d.decision])).toEqual([
      ['p1-refused-ab12/refused-3', 'fallback'],
      ['p1-refused-ab12/refused-4', 'error'],
    ]);
  });
});
