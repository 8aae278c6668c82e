/**
 * Running external commands (docker, go, git, kind, kubectl …). One place so that every failure carries the
 * command line, the exit code and the tail of stderr — enough to act on without re-running anything.
 */
import { execa, type Options as ExecaOptions, type ResultPromise } from 'execa';

const STDERR_TAIL_LINES = 20;

export class CommandError extends Error {
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: string;
  readonly stdout: string;
  readonly timedOut: boolean;

  constructor(fields: {
    command: string;
    exitCode: number | undefined;
    signal: string | undefined;
    stderr: string;
    stdout: string;
    timedOut: boolean;
    cause?: unknown;
  }) {
    const tail = tailLines(fields.stderr, STDERR_TAIL_LINES);
    const how = fields.timedOut
      ? 'timed out'
      : fields.signal
        ? `was killed by ${fields.signal}`
        : fields.exitCode === undefined
          ? 'could not be started'
          : `exited ${fields.exitCode}`;
    super(`\`${fields.command}\` ${how}${tail ? `:\n${indent(tail)}` : ''}`, { cause: fields.cause });
    this.name = 'CommandError';
    this.command = fields.command;
    this.exitCode = fields.exitCode;
    this.signal = fields.signal;
    this.stderrTail = tail;
    this.stdout = fields.stdout;
    this.timedOut = fields.timedOut;
  }
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  /** Milliseconds; the command is killed (SIGTERM, then SIGKILL) after it. */
  timeout?: number;
  signal?: AbortSignal;
  /** Stream output to this process's stdout/stderr as well as capturing it. */
  inherit?: boolean;
  /** Return the result instead of throwing on a non-zero exit. */
  reject?: boolean;
}

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

function toExecaOptions(options: RunOptions): ExecaOptions {
  return {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    input: options.input,
    timeout: options.timeout,
    cancelSignal: options.signal,
    forceKillAfterDelay: 5_000,
    stdout: options.inherit ? ['pipe', 'inherit'] : 'pipe',
    stderr: options.inherit ? ['pipe', 'inherit'] : 'pipe',
    stripFinalNewline: true,
    reject: false,
  };
}

/** Runs `file args…`; throws CommandError unless it exits 0 (or `reject: false`). */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const command = [file, ...args].map(shellQuote).join(' ');
  const result = await execa(file, args, toExecaOptions(options));
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  const failed = result.failed || result.exitCode !== 0;
  if (failed && options.reject !== false) {
    throw new CommandError({
      command,
      exitCode: result.exitCode,
      signal: result.signal,
      stderr: stderr || (result.failed && !result.exitCode ? String(result.message ?? '') : ''),
      stdout,
      timedOut: Boolean(result.timedOut),
      cause: result.cause,
    });
  }
  return { command, exitCode: result.exitCode ?? -1, stdout, stderr };
}

/** For long-running children the caller manages (port-forwards, dockerd logs): the raw execa process. */
export function spawn(file: string, args: readonly string[], options: RunOptions = {}): ResultPromise {
  return execa(file, args, { ...toExecaOptions(options), buffer: false });
}

/** True when `file` can be found on PATH and started. */
export async function available(file: string, args: readonly string[] = ['--version']): Promise<boolean> {
  const r = await execa(file, args, { reject: false, timeout: 10_000, stdin: 'ignore' });
  return !r.failed && r.exitCode === 0;
}

export function tailLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n').trim();
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
