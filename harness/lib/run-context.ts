/**
 * A run's identity and its cleanup. Every docker container/network and Kubernetes object a run creates is
 * labelled `cif.run=<run-id>`; cleanup works from those labels, so it also works after a crash. Handlers
 * registered here run (last first) on normal exit and on SIGINT/SIGTERM; a second signal exits at once.
 */
import { randomBytes } from 'node:crypto';

export const RUN_LABEL = 'cif.run';
/** Marks everything the harness owns, across runs, so `cif cluster down` / the next run can find leftovers. */
export const OWNER_LABEL = 'cif.owner';
export const OWNER_VALUE = 'cached-if-failed';

export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${stamp}-${randomBytes(2).toString('hex')}`.toLowerCase();
}

export function runLabels(runId: string): Record<string, string> {
  return { [RUN_LABEL]: runId, [OWNER_LABEL]: OWNER_VALUE };
}

type Cleanup = { name: string; fn: () => Promise<void> };

export class Cleanups {
  private readonly stack: Cleanup[] = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => Promise<void>): () => void {
    const entry = { name, fn };
    this.stack.push(entry);
    return () => {
      const i = this.stack.indexOf(entry);
      if (i >= 0) this.stack.splice(i, 1);
    };
  }

  /** Runs every handler once, last registered first; errors are reported, not thrown, so all get their turn. */
  runAll(log: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<void> {
    this.running ??= (async () => {
      while (this.stack.length > 0) {
        const { name, fn } = this.stack.pop()!;
        try {
          await fn();
        } catch (err) {
          log(`cleanup: ${name} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

/** The process-wide cleanup stack, wired to SIGINT/SIGTERM by `installSignalHandlers`. */
export const cleanups = new Cleanups();

/**
 * Aborted on the first SIGINT/SIGTERM, before cleanup starts: long loops (the runner, watches, waits) pass
 * it on or check it, so they stop starting new work while the cleanup stack undoes what exists.
 */
const shutdownController = new AbortController();
export const shutdownSignal: AbortSignal = shutdownController.signal;

let installed = false;
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  let signalled = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signalled++;
    if (signalled > 1) {
      process.stderr.write(`\n${sig} again: exiting without finishing cleanup (the next run removes leftovers by label)\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${sig}: cleaning up …\n`);
    shutdownController.abort(new Error(`interrupted by ${sig}`));
    void cleanups.runAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
