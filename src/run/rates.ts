import type { RunRate } from "../plan/estimate.js";
import { RunJournal } from "./journal.js";

/** Below this many rows a run's rate says more about its fixed costs than about its speed. */
const MIN_ROWS = 100_000;
const RUNS_CONSIDERED = 5;

/**
 * The rate of the latest succeeded runs in the journal folder: rows read by their extracts over
 * the tenants' whole durations (backup, load, merge and verify included). Undefined without one.
 */
export async function measuredRate(journalDir: string): Promise<RunRate | undefined> {
  const runs = (await RunJournal.list(journalDir))
    .filter((run) => run.status === "succeeded")
    .slice(-RUNS_CONSIDERED);
  let rows = 0;
  let milliseconds = 0;
  for (const run of runs) {
    for (const tenant of Object.values(run.tenants)) {
      const read = tenant.results.extract?.rowsRead;
      if (tenant.state !== "verified" || read === undefined || !tenant.durationMs) continue;
      rows += read;
      milliseconds += tenant.durationMs;
    }
  }
  if (rows < MIN_ROWS || milliseconds === 0) return undefined;
  return {
    rowsPerSecond: rows / (milliseconds / 1000),
    source: `measured over the last ${runs.length} succeeded run(s) in ${journalDir}`,
  };
}
