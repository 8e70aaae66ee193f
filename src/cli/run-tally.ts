import type { TenantEnd } from "../steps/progress.js";

interface TenantTally {
  expectedRows: number;
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
  /** Undefined until some rows are done. */
  etaMs: number | undefined;
}

/**
 * Counts the run's tenants and rows from the progress events. A tenant's rows are its estimate
 * (the plan's `altScoreRowsApprox`): its extract advances them, and once it is done they all
 * count; a tenant that fails or is skipped leaves the total, so the ETA is for the work left.
 */
export class RunTally {
  private readonly tenants = new Map<string, TenantTally>();
  private startedAt = Date.now();

  constructor(private readonly clock: () => number = Date.now) {}

  planned(tenants: readonly { tenant: string; expectedRows: number }[]): void {
    this.startedAt = this.clock();
    for (const { tenant, expectedRows } of tenants)
      this.tenants.set(tenant, { expectedRows, extractedRows: 0, state: "waiting" });
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
    const rowsDone = counted.reduce(
      (sum, tally) =>
        sum +
        (tally.state === "done" ? tally.expectedRows : Math.min(tally.extractedRows, tally.expectedRows)),
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
      etaMs: rowsDone > 0 ? Math.round((elapsed * (rowsTotal - rowsDone)) / rowsDone) : undefined,
    };
  }
}
