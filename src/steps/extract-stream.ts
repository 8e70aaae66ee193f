import { RuntimeError } from "../core/errors.js";
import { type RejectionReason, RejectionTally } from "../core/rejections.js";
import type { MysqlSession, StreamOptions } from "../io/db/mysql-session.js";
import type { StagingStore } from "../io/staging/store.js";
import type { StreamExtractAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";
import { writeManifest } from "./manifest.js";
import type { ExtractResult } from "./results.js";
import type { StepProgress } from "./progress.js";
import type { ExtractSink } from "./context.js";
import { PartWriter } from "./staged-parts.js";
import { TwinWatch } from "./twins.js";

const FLUSH_CHARS = 64 * 1024;
const PROGRESS_EVERY_ROWS = 10_000;

/**
 * Streams the warehouse rows into staged parts in `INTO OUTFILE` format, one query per range of
 * the driving table's ids on its own connection, all at once; then writes the manifest. With a `sink` (the
 * load's COPY) every chunk also goes there, so that the load overlaps the extract.
 * Memory stays bounded: a query stream pauses while staging or the COPY catches up.
 */
export async function streamExtract(
  action: StreamExtractAction,
  warehouses: readonly MysqlSession[],
  staging: StagingStore,
  progress: StepProgress,
  pause: StepContext["pause"],
  stallMs: number,
  stillWorking: StreamOptions["stillWorking"],
  sink?: ExtractSink,
): Promise<ExtractResult> {
  if (warehouses.length < action.queries.length) {
    throw new Error(`streamExtract needs ${action.queries.length} warehouse connections`);
  }
  const rejections = new RejectionTally();
  const counts = { read: 0, staged: 0 };
  const twins = new TwinWatch();
  // One writer for all ranges: their chunks are whole lines, and one writer's parts hold two S3
  // upload buffers at most (one part storing, the next filling).
  const writer = new PartWriter(staging, action.objectBase, action.partBytes, stallMs, sink);
  try {
    await Promise.all(
      action.queries.map(async (query, index) => {
        let pending = "";
        let pendingRows = 0;
        const doing = `streaming the extract (range ${index + 1} of ${action.queries.length})`;
        for await (const rows of warehouses[index]!.stream(query, { stallMs, doing, stillWorking })) {
          for (const [line, rejected, id] of rows as [string | null, RejectionReason | null, string][]) {
            if (rejected !== null) rejections.add(rejected, id);
            else if (line === null) {
              throw new RuntimeError(
                `warehouse exam_score row ${id}: a column that exam_alt_score requires is NULL in the warehouse`,
              );
            } else {
              twins.see(line);
              pending += line + "\n";
              pendingRows++;
            }
          }
          const before = counts.read;
          counts.read += rows.length;
          if (pending.length >= FLUSH_CHARS) {
            await writer.write(pending);
            counts.staged += pendingRows;
            pending = "";
            pendingRows = 0;
            await pause("extract"); // a crash test may stop here, mid-extract
          }
          if (Math.floor(before / PROGRESS_EVERY_ROWS) !== Math.floor(counts.read / PROGRESS_EVERY_ROWS))
            progress.update(counts.read);
        }
        if (pending) await writer.write(pending);
        counts.staged += pendingRows;
        await pause("extract"); // small tenants never fill a chunk
      }),
    );
    const staged = await writer.finish();
    const manifestName = `${action.objectBase}.manifest`;
    await writeManifest(staging, manifestName, staged);
    progress.done(counts.read);
    return {
      rowsRead: counts.read,
      rowsStaged: counts.staged,
      parts: staged.length,
      manifestName,
      sourceRejections: rejections.list(),
      twins: twins.twins,
    };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
