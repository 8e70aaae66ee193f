import type { PlannedTenant, TenantEnd } from "../steps/progress.js";

interface TenantTally {
  expectedRows: number;
  extractShare: number;
  extractedRows: number;
  state: "waiting" | "running" | TenantEnd;
}

/** Where the whole run stands, for its progress bar and its periodic log line. */
export interface RunStanding {
  tenants: number;
  running: number;
  done: number;
  failed: number;
  skipped: number;
  /** Estimated rows of the tenants done, plus what the running ones have extracted. */
  rowsDone: number;
  /** Estimated rows of the tenants that were not skipped or failed. */
  rowsTotal: number;
  /**
   * The work done, in rows of `rowsTotal`: the tenants done, and of each running tenant its
   * extracted rows times its extract's share of its time.
   */
  workDone: number;
  /** From `workDone`; undefined until some work is done. */
  etaMs: number | undefined;
}

/**
 * Counts the run's tenants and rows from the progress events. A tenant's rows are its estimate
 * (the plan's `altScoreRowsApprox`): its extract advances them, and once it is done they all
 * count; a tenant that fails or is skipped leaves the total, so the ETA is for the work left.
 * The ETA weighs a running tenant's extracted rows by its extract's share of its time: the
 * extract is a third to a half of a tenant's time, and without the weight the ETA neared zero
 * while a single tenant's merge and verify still had most of the run to go.
 */
export class RunTally {
  private readonly tenants = new Map<string, TenantTally>();
  private startedAt = Date.now();

  constructor(private readonly clock: () => number = Date.now) {}

  planned(tenants: readonly PlannedTenant[]): void {
    this.startedAt = this.clock();
    for (const { tenant, expectedRows, extractShare } of tenants)
      this.tenants.set(tenant, { expectedRows, extractShare, extractedRows: 0, state: "waiting" });
  }

  started(tenant: string): void {
    const tally = this.tenants.get(tenant);
    if (tally) tally.state = "running";
  }

  extracted(tenant: string, rows: number): void {
    const tally = this.tenants.get(tenant);
    if (tally) tally.extractedRows = rows;
  }

  ended(tenant: string, end: TenantEnd): void {
    const tally = this.tenants.get(tenant);
    if (tally) tally.state = end;
  }

  /** Whether every planned tenant has ended. */
  get over(): boolean {
    return [...this.tenants.values()].every((tally) => !["waiting", "running"].includes(tally.state));
  }

  standing(): RunStanding {
    const all = [...this.tenants.values()];
    const count = (state: TenantTally["state"]) => all.filter((tally) => tally.state === state).length;
    const counted = all.filter((tally) => tally.state !== "failed" && tally.state !== "skipped");
    const rowsTotal = counted.reduce((sum, tally) => sum + tally.expectedRows, 0);
    const extracted = (tally: TenantTally) =>
      tally.state === "done" ? tally.expectedRows : Math.min(tally.extractedRows, tally.expectedRows);
    const rowsDone = counted.reduce((sum, tally) => sum + extracted(tally), 0);
    const workDone = counted.reduce(
      (sum, tally) => sum + extracted(tally) * (tally.state === "done" ? 1 : tally.extractShare),
      0,
    );
    const elapsed = this.clock() - this.startedAt;
    return {
      tenants: all.length,
      running: count("running"),
      done: count("done"),
      failed: count("failed"),
      skipped: count("skipped"),
      rowsDone,
      rowsTotal,
      workDone,
      etaMs: workDone > 0 ? Math.round((elapsed * (rowsTotal - workDone)) / workDone) : undefined,
    };
  }
}
