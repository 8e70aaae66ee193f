import { setTimeout as sleep } from "node:timers/promises";
import type { Rejection, RejectionReason } from "../core/rejections.js";
import type { MysqlSession } from "../io/db/mysql-session.js";
import type { StagingStore } from "../io/staging/store.js";
import type { ServerExtractAction } from "../plan/actions.js";
import type { WarehouseDialectName } from "../dialects/choose.js";
import { writeManifest } from "./manifest.js";
import { watchedStatement } from "./statement-watch.js";
import type { ExtractResult, StagedPart } from "./results.js";
import type { StepProgress } from "./progress.js";

const WATCH_EVERY_MS = 2000;
/** Typical size of a staged row, to turn bytes seen in S3 into a row estimate for the progress bar. */
const APPROX_BYTES_PER_ROW = 95;

/**
 * Aurora writes the rows to S3 itself; this process waits, with the statement watched from a
 * second session (see statement-watch), and shows the parts appear. In the same snapshot it counts the rows the statement writes (the
 * rows staged, checked against COPY's count later) and those it leaves out (NULL alt values),
 * by reason. Then it writes the manifest COPY reads, from the listing of the parts.
 */
export async function serverExtract(
  action: ServerExtractAction,
  warehouse: MysqlSession,
  openWatcher: () => Promise<MysqlSession>,
  dialect: WarehouseDialectName,
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
  let census: { reason: RejectionReason; rejected: string; example_ids: string }[];
  try {
    await warehouse.execute(action.snapshot.begin);
    rowsStaged = Number((await warehouse.query<{ n: unknown }>(action.stagedCount))[0]?.n ?? 0);
    await watchedStatement(
      () => warehouse.execute(action.statement),
      warehouse,
      openWatcher,
      action.liveness,
      dialect,
    );
    census = await warehouse.query(action.nullCensus);
    await warehouse.execute(action.snapshot.end);
  } finally {
    watching.abort();
    await watcher;
  }
  const sourceRejections: Rejection[] = census.map((row) => ({
    reason: row.reason,
    count: Number(row.rejected),
    exampleIds: String(row.example_ids).split(","),
  }));
  const rejected = sourceRejections.reduce((sum, rejection) => sum + rejection.count, 0);
  progress.done(rowsStaged + rejected);
  // Aurora's output for zero rows is not documented: no part, or an empty one, both give an empty manifest.
  const parts = await partsOf();
  const manifestName = `${action.objectBase}.manifest`;
  await writeManifest(staging, manifestName, parts);
  return {
    rowsRead: rowsStaged + rejected,
    rowsStaged,
    parts: parts.length,
    manifestName,
    sourceRejections,
  };
}
