/** The contract between cli.ts and each subcommand: its flags, its help text, and one function to call. */
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** Usage lines after `cif `, e.g. `cluster up [--name NAME] [--workers N]`. */
  usage: string[];
  /** Per-flag help, in the order shown. */
  flags?: { flag: string; help: string }[];
  options: OptionSpec;
  /** Upper bound on positionals; 0 = none accepted. */
  maxPositionals: number;
  /** Returns the process exit code. Throws CifError for failures a user can act on. */
  run(args: ParsedArgs): Promise<number>;
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolFlag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}
