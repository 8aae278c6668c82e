import { describe, expect, it } from 'vitest';
import { CommandError, run, shellQuote } from './exec.ts';

describe('run', () => {
  it('returns stdout of a successful command', async () => {
    expect((await run('sh', ['-c', 'echo hello'])).stdout).toBe('hello');
  });

  it('throws CommandError carrying the command, exit code and the stderr tail', async () => {
    const err = await run('sh', ['-c', 'for i in $(seq 1 30); do echo line$i >&2; done; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    const ce = err as CommandError;
    expect(ce.exitCode).toBe(3);
    expect(ce.command).toBe("sh -c 'for i in $(seq 1 30); do echo line$i >&2; done; exit 3'");
    expect(ce.stderrTail.split('\n')).toHaveLength(20);
    expect(ce.stderrTail).toMatch(/^line11\n[\s\S]*line30$/);
    expect(ce.message).toMatch(/exited 3:\n {4}line11/);
  });

  it('with reject: false returns the failure instead', async () => {
    expect((await run('sh', ['-c', 'echo oops >&2; exit 4'], { reject: false })).exitCode).toBe(4);
  });

  it('a command that cannot start says so', async () => {
    const err = (await run('cif-no-such-binary', []).catch((e: unknown) => e)) as CommandError;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.message).toMatch(/cif-no-such-binary` (could not be started|exited)/);
    expect(err.message).toContain('ENOENT');
  });

  it('kills a command at its timeout', async () => {
    const err = (await run('sleep', ['10'], { timeout: 200 }).catch((e: unknown) => e)) as CommandError;
    expect(err.timedOut).toBe(true);
    expect(err.message).toContain('timed out');
  });
});

describe('shellQuote', () => {
  it.each([
    ['plain', 'plain'],
    ['with space', "'with space'"],
    ["it's", "'it'\\''s'"],
  ])('%s → %s', (a, q) => expect(shellQuote(a)).toBe(q));
});
