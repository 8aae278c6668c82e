/**
 * `cif`: argument parsing and exit codes only. Each subcommand lives in commands/<name>.ts and calls one
 * function of the home that does the work. Exit codes: 0 success; 1 an expectation failed or the host can't
 * run the loop; 2 usage or bad input (including a subcommand that is not built yet).
 */
import { parseArgs } from 'node:util';
import type { Command } from './commands/command.ts';
import { buildCommand } from './commands/build.ts';
import { clusterCommand } from './commands/cluster.ts';
import { doctorCommand } from './commands/doctor.ts';
import { e2eCommand } from './commands/e2e.ts';
import { patchCommand } from './commands/patch.ts';
import { reportCommand } from './commands/report.ts';
import { runCommand } from './commands/run.ts';
import { CifError, UsageError } from './lib/errors.ts';
import { CommandError } from './lib/exec.ts';
import { cleanups, installSignalHandlers } from './lib/run-context.ts';

export const commands: readonly Command[] = [
  doctorCommand,
  patchCommand,
  buildCommand,
  clusterCommand,
  runCommand,
  reportCommand,
  e2eCommand,
];

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

export function topUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'cif — the CachedIfFailed prototype: patch series, patched kind clusters, registry-fault scenarios, reports',
    '',
    'Usage: cif <command> [flags]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `cif <command> --help` for a command’s flags.',
    '',
  ].join('\n');
}

export function commandUsage(c: Command): string {
  const lines = [`${c.summary}`, '', 'Usage:', ...c.usage.map((u) => `  cif ${u}`)];
  if (c.flags?.length) {
    const width = Math.max(...c.flags.map((f) => f.flag.length));
    lines.push('', 'Flags:', ...c.flags.map((f) => `  ${f.flag.padEnd(width)}  ${f.help}`));
  }
  lines.push(`  ${'--help'.padEnd(c.flags?.length ? Math.max(...c.flags.map((f) => f.flag.length)) : 6)}  show this help`, '');
  return lines.join('\n');
}

/** Runs the CLI; returns the exit code. Never calls process.exit (signals aside), so tests can drive it. */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topUsage());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`cif: unknown command "${name}"\n\n${topUsage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandUsage(command));
    return 0;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''), {
        hint: `see \`cif ${command.name} --help\``,
      });
    }
    if (parsed.positionals.length > command.maxPositionals) {
      throw new UsageError(`unexpected argument "${parsed.positionals[command.maxPositionals]}"`, {
        hint: `see \`cif ${command.name} --help\``,
      });
    }
    installSignalHandlers();
    return await command.run({ values: parsed.values, positionals: parsed.positionals });
  } catch (err) {
    if (err instanceof CifError) {
      io.err(`cif ${command.name}: ${err.describe()}\n`);
      if (err instanceof UsageError) io.err(`\n${commandUsage(command)}`);
      return err.exitCode;
    }
    if (err instanceof CommandError) {
      io.err(`cif ${command.name}: ${err.message}\n`);
      return 1;
    }
    io.err(`cif ${command.name}: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await cleanups.runAll();
  }
}
