import type { StepName } from "../plan/actions.js";

/** What a step tells about its advance; the command line turns it into bars or log lines. */
export interface StepProgress {
  /** Total rows handled so far in this step. */
  update(rows: number): void;
  /** A short status next to the bar, e.g. what Aurora has written so far. */
  note(text: string): void;
  done(rows: number): void;
}

export interface ProgressSink {
  step(tenant: string, step: StepName, expectedRows: number | undefined): StepProgress;
  info(tenant: string, message: string): void;
}

export const silentProgress: ProgressSink = {
  step: () => ({ update: () => undefined, note: () => undefined, done: () => undefined }),
  info: () => undefined,
};
