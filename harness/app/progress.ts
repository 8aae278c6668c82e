/**
 * The live progress view of a run: a listr2 task per cluster group, a subtask per scenario showing its
 * latest line, side-by-side waves as concurrent subtasks. It schedules nothing: every task only waits for
 * the Runner's lifecycle events (RunEvent), so what it shows is what `Runner.runAll` did.
 */
import { runTasks, type Task } from '../lib/progress.ts';
import { describeNeeds } from '../drivers/driver.ts';
import type { Scenario } from '../scenario/format/model.ts';
import type { Runner, RunEvent, ScenarioRun } from '../scenario/engine/runner.ts';
import { groupByNeeds } from '../scenario/engine/schedule.ts';

type GroupState = { waves: Scenario[][] } | { reason: string } | { ended: true };

/** A value some task waits for and an event delivers, whichever comes first. */
class Latches<K, V> {
  private readonly m = new Map<K, { promise: Promise<V>; resolve: (v: V) => void; done: boolean }>();
  private entry(k: K) {
    let e = this.m.get(k);
    if (!e) {
      let resolve!: (v: V) => void;
      const promise = new Promise<V>((r) => (resolve = r));
      e = { promise, resolve, done: false };
      this.m.set(k, e);
    }
    return e;
  }
  wait(k: K): Promise<V> {
    return this.entry(k).promise;
  }
  set(k: K, v: V): void {
    const e = this.entry(k);
    if (!e.done) e.resolve(v);
    e.done = true;
  }
  /** Releases every waiter still waiting (the run ended or failed). */
  settle(v: V): void {
    for (const e of this.m.values()) if (!e.done) e.resolve(v);
  }
}

/** Runs `runner.runAll(scenarios)` with the view subscribed; returns what runAll returns. */
export async function runWithProgress(runner: Runner, scenarios: readonly Scenario[]): Promise<ScenarioRun[]> {
  const groups = new Latches<number, GroupState>();
  const released = new Latches<number, true>();
  const ended = new Latches<Scenario, ScenarioRun | undefined>();
  const outputs = new Map<string, (line: string) => void>();
  const lastLine = new Map<string, string>();
  const unsubscribe = runner.subscribe((e: RunEvent) => {
    if (e.type === 'group-ready') groups.set(e.group, { waves: e.waves });
    else if (e.type === 'group-unrunnable') groups.set(e.group, { reason: e.reason });
    else if (e.type === 'group-end') released.set(e.group, true);
    else if (e.type === 'scenario-end') ended.set(e.run.scenario, e.run);
    else if (e.type === 'line') {
      lastLine.set(e.scenario, e.line);
      outputs.get(e.scenario)?.(e.line);
    }
  });

  const scenarioTask = (s: Scenario): Task<object> => ({
    title: `${s.id}: ${s.title}`,
    task: async (_c, sub) => {
      outputs.set(s.id, (line) => (sub.output = line));
      const last = lastLine.get(s.id);
      if (last) sub.output = last;
      const run = await ended.wait(s);
      if (!run) return;
      const failed = run.results.filter((r) => !r.pass).length + run.benchmarks.filter((b) => !b.pass).length;
      sub.title = `${s.id}: ${failed ? `${failed} FAILED` : 'ok'} (${run.durationSeconds} s)`;
    },
  });

  const tasks: Task<object>[] = groupByNeeds(scenarios).map((group, i) => ({
    title: `cluster: ${describeNeeds(group.needs)} — ${group.scenarios.length} scenario(s)`,
    task: async (_ctx, task) => {
      const state = await groups.wait(i);
      if ('reason' in state) {
        task.title = `${task.title}: no cluster (${state.reason.replace(/^no cluster for [^:]*: /, '').split('\n')[0]})`;
        return;
      }
      if (!('waves' in state)) return;
      return task.newListr(
        [
          ...state.waves.map(
            (wave): Task<object> =>
              wave.length === 1
                ? scenarioTask(wave[0]!)
                : {
                    title: `${wave.length} scenarios side by side: ${wave.map((s) => s.id).join(', ')}`,
                    task: (_c, t) => t.newListr(wave.map(scenarioTask), { concurrent: true, exitOnError: true }),
                  },
          ),
          { title: 'release the cluster', task: async () => void (await released.wait(i)) },
        ],
        { concurrent: false, exitOnError: true },
      );
    },
  }));

  const run = runner.runAll(scenarios).finally(() => {
    unsubscribe();
    groups.settle({ ended: true });
    released.settle(true);
    ended.settle(undefined);
  });
  const [runs, view] = await Promise.allSettled([run, runTasks(tasks, {})]);
  if (runs.status === 'rejected') throw runs.reason;
  if (view.status === 'rejected') throw view.reason;
  return runs.value;
}
