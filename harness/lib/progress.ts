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
  const list = new Listr<Ctx, 'default' | 'simple', 'simple'>(tasks, {
    ctx,
    exitOnError: true,
    concurrent: false,
    renderer: interactive() ? 'default' : 'simple',
    fallbackRenderer: 'simple',
    rendererOptions: { collapseSubtasks: false, timer: PRESET_TIMER },
    // simple renderer: timestamps and durations so a CI log shows where time went
    fallbackRendererOptions: { timestamp: PRESET_TIMESTAMP, timer: PRESET_TIMER },
  });
  return list.run();
}

/** One line of progress outside a task list (stderr, so stdout stays machine-readable). */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}
