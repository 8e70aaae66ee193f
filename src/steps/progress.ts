import type { StepName } from "../plan/actions.js";

/** What a step tells about its advance; the command line turns it into bars or log lines. */
export interface StepProgress {
  /** Total rows handled so far in this step. */
  update(rows: number): void;
  /** A short status next to the bar, e.g. what Aurora has written so far. */
  note(text: string): void;
  done(rows: number): void;
}

/** How a tenant's part in a run ended: `skipped` was never started (--fail-fast, --stop-after). */
export type TenantEnd = "done" | "failed" | "skipped";

export interface PlannedTenant {
  tenant: string;
  expectedRows: number;
  /** The extract's share of the tenant's time (0–1]: how much of the tenant its extracted rows stand for. */
  extractShare: number;
}

export interface ProgressSink {
  step(tenant: string, step: StepName, expectedRows: number | undefined): StepProgress;
  info(tenant: string, message: string): void;
  /** Before the first tenant starts: the tenants with work left, and the rows each is estimated to extract. */
  planned(tenants: readonly PlannedTenant[]): void;
  tenantStarted(tenant: string): void;
  tenantEnded(tenant: string, end: TenantEnd): void;
}

export const silentProgress: ProgressSink = {
  step: () => ({ update: () => undefined, note: () => undefined, done: () => undefined }),
  info: () => undefined,
  planned: () => undefined,
  tenantStarted: () => undefined,
  tenantEnded: () => undefined,
};
