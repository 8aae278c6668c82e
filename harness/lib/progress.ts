/**
 * Progress for long steps. A TTY gets listr2's live task list; CI and pipes get one plain line per state
 * change with elapsed time, which reads well in a log.
 */
import { Listr, PRESET_TIMER, PRESET_TIMESTAMP, type ListrTask } from 'listr2';

export type Task<Ctx> = ListrTask<Ctx>;

export function interactive(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && !process.env.CI;
}

export async function runTasks<Ctx extends object>(tasks: Task<Ctx>[], ctx: Ctx): Promise<Ctx> {
  // A TTY gets the live list; CI and pipes get the simple renderer with timestamps and durations, so a
  // log shows where the time went. (The simple renderer takes its options from `rendererOptions` when it is
  // the chosen renderer, and from `fallbackRendererOptions` when listr2 falls back to it.)
  const simpleOptions = { timestamp: PRESET_TIMESTAMP, timer: PRESET_TIMER };
  const list = interactive()
    ? new Listr<Ctx, 'default', 'simple'>(tasks, {
        ctx,
        exitOnError: true,
        renderer: 'default',
        rendererOptions: { collapseSubtasks: false, timer: PRESET_TIMER },
        fallbackRenderer: 'simple',
        fallbackRendererOptions: simpleOptions,
      })
    : new Listr<Ctx, 'simple', 'simple'>(tasks, {
        ctx,
        exitOnError: true,
        renderer: 'simple',
        rendererOptions: simpleOptions,
        fallbackRenderer: 'simple',
        fallbackRendererOptions: simpleOptions,
      });
  return list.run();
}

/** One line of progress outside a task list (stderr, so stdout stays machine-readable). */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}
