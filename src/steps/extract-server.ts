import { setTimeout as sleep } from "node:timers/promises";
import type { Rejection, RejectionReason } from "../core/rejections.js";
import type { MysqlSession } from "../io/db/mysql-session.js";
import type { StagingStore } from "../io/staging/store.js";
import type { ServerExtractAction } from "../plan/actions.js";
import type { ExtractResult, StagedPart } from "./results.js";
import type { StepProgress } from "./progress.js";

const WATCH_EVERY_MS = 2000;
/** Typical size of a staged row, to turn bytes seen in S3 into a row estimate for the progress bar. */
const APPROX_BYTES_PER_ROW = 95;

/**
 * Aurora writes the rows to S3 itself; this process only waits (no client-side timeout) and
 * watches the parts appear. The rows Aurora leaves out (NULL alt values) are counted by reason.
 */
export async function serverExtract(
  action: ServerExtractAction,
  warehouse: MysqlSession,
  staging: StagingStore,
  progress: StepProgress,
): Promise<ExtractResult> {
  const started = Date.now();
  const partsOf = async (): Promise<StagedPart[]> =>
    (await staging.list()).filter((object) => object.name.startsWith(`${action.objectBase}.part_`));
  const watching = new AbortController();
  const watcher = (async () => {
    while (!watching.signal.aborted) {
      await sleep(WATCH_EVERY_MS, undefined, { signal: watching.signal }).catch(() => undefined);
      const parts = await partsOf().catch(() => []);
      const bytes = parts.reduce((sum, part) => sum + part.bytes, 0);
      progress.update(Math.round(bytes / APPROX_BYTES_PER_ROW));
      const seconds = Math.round((Date.now() - started) / 1000);
      progress.note(
        `${parts.length} parts, ${(bytes / 1024 / 1024).toFixed(1)} MiB in S3 after ${seconds} s`,
      );
    }
  })();
  let rowsStaged: number;
  try {
    rowsStaged = await warehouse.execute(action.statement);
  } finally {
    watching.abort();
    await watcher;
  }
  const census = await warehouse.query<{ reason: RejectionReason; rejected: string; example_ids: string }>(
    action.nullCensus,
  );
  const sourceRejections: Rejection[] = census.map((row) => ({
    reason: row.reason,
    count: Number(row.rejected),
    exampleIds: String(row.example_ids).split(","),
  }));
  const rejected = sourceRejections.reduce((sum, rejection) => sum + rejection.count, 0);
  progress.done(rowsStaged + rejected);
  return {
    rowsRead: rowsStaged + rejected,
    rowsStaged,
    parts: await partsOf(),
    manifestName: `${action.objectBase}.manifest`,
    sourceRejections,
  };
}
