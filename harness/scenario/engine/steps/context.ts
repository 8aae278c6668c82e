/**
 * What a step handler gets: the cell it runs in, the driver and session, the fault in effect, and the
 * runner's clock, labels and log. A handler does one step; the runner decides when (see ../runner.ts).
 */
import type { FaultMode, ScenarioResult } from '../../../contract/index.ts';
import type { Clock, Driver, Session } from '../../../drivers/driver.ts';
import type { Step } from '../../format/model.ts';
import type { CellState } from '../cell.ts';

export interface StepContext {
  driver: Driver;
  session: Session;
  cell: CellState;
  /** The registry fault in effect when the step runs. */
  fault: FaultMode;
  clock: Clock;
  /** The run's labels, for what the step creates. */
  labels: Record<string, string>;
  log(line: string): void;
}

export type StepOf<K extends Step['kind']> = Step & { kind: K };

/** Runs one step; returns the results it judged (only `expect` judges). A throw breaks the cell. */
export type StepHandler<K extends Step['kind']> = (step: StepOf<K>, ctx: StepContext) => Promise<ScenarioResult[] | void>;

/** `worker-1` → the driver's first worker node. */
export const nodeName = (ctx: StepContext, index: number): string => ctx.driver.nodes[index]!;

/** Labels for the pods a step creates. */
export const podLabels = (ctx: StepContext, extra: Record<string, string> = {}): Record<string, string> => ({
  ...ctx.labels,
  'cif.scenario': ctx.cell.scenario.id,
  ...extra,
});
