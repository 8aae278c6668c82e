/**
 * Errors a user can hit. Each says what went wrong, where, and how to fix it, and carries the exit code the
 * CLI returns: 1 for an expectation that failed or a host that can't run the loop, 2 for usage or bad input.
 */
export interface CifErrorOptions {
  /** What to do about it, one line. */
  hint?: string;
  /** Where: a file:line, a node name, a patch and hunk … */
  where?: string;
  exitCode?: 1 | 2;
  cause?: unknown;
}

export class CifError extends Error {
  readonly hint: string | undefined;
  readonly where: string | undefined;
  readonly exitCode: 1 | 2;

  constructor(message: string, options: CifErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.where = options.where;
    this.exitCode = options.exitCode ?? 1;
  }

  /** The text the CLI prints: `where: message` then the hint on its own line. */
  describe(): string {
    const head = this.where ? `${this.where}: ${this.message}` : this.message;
    return this.hint ? `${head}\n  fix: ${this.hint}` : head;
  }
}

/** Bad command line: unknown subcommand or flag, missing argument. Exit 2. */
export class UsageError extends CifError {
  constructor(message: string, options: Omit<CifErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/** Bad input file (scenario, series, config). Exit 2. `where` is file:line. */
export class InputError extends CifError {
  constructor(message: string, options: Omit<CifErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/** The host can't run the loop (no docker, no privileged containers, no Go, no disk). Exit 1. */
export class HostError extends CifError {
  constructor(message: string, options: Omit<CifErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: 1 });
  }
}

/** A subcommand that a later piece of work fills in. Exit 2: never a silent success. */
export class NotBuiltError extends CifError {
  constructor(what: string) {
    super(`${what} is not built yet`, { exitCode: 2, hint: 'see the open issues; this command exits 2 until it exists' });
  }
}
