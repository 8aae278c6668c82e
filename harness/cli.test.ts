import { describe, expect, it } from 'vitest';
import { commands, main, type Io } from './cli.ts';

function capture(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), stdout: () => out, stderr: () => err };
}

describe('cif CLI', () => {
  it.each([
    { argv: ['--help'], code: 0, stream: 'stdout', text: 'Usage: cif <command>' },
    { argv: ['help'], code: 0, stream: 'stdout', text: 'Commands:' },
    { argv: [], code: 2, stream: 'stdout', text: 'Usage: cif <command>' },
    { argv: ['frobnicate'], code: 2, stream: 'stderr', text: 'unknown command "frobnicate"' },
    { argv: ['doctor', '--bogus'], code: 2, stream: 'stderr', text: "Unknown option '--bogus'" },
    { argv: ['doctor', 'extra'], code: 2, stream: 'stderr', text: 'unexpected argument "extra"' },
    { argv: ['cluster', 'up', '--workers'], code: 2, stream: 'stderr', text: "Option '--workers <value>' argument missing" },
  ])('cif $argv → exit $code', async ({ argv, code, stream, text }) => {
    const io = capture();
    expect(await main(argv, io)).toBe(code);
    expect(stream === 'stdout' ? io.stdout() : io.stderr()).toContain(text);
  });

  it('prints usage for every command with --help and -h, exit 0', async () => {
    for (const c of commands) {
      for (const flag of ['--help', '-h']) {
        const io = capture();
        expect(await main([c.name, flag], io)).toBe(0);
        expect(io.stdout()).toContain(`cif ${c.name}`);
        expect(io.stdout()).toContain('--help');
      }
    }
  });

  it('a usage error shows the command’s usage after the message', async () => {
    const io = capture();
    await main(['doctor', '--nope'], io);
    expect(io.stderr()).toMatch(/fix: see `cif doctor --help`[\s\S]*Usage:\n {2}cif doctor/);
  });

  it('every command name is unique and has a summary and usage', () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of commands) {
      expect(c.summary.length).toBeGreaterThan(10);
      expect(c.usage.length).toBeGreaterThan(0);
    }
  });
});
