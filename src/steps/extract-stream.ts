import { once } from "node:events";
import { PassThrough } from "node:stream";
import { RuntimeError, StalledError } from "../core/errors.js";
import { type RejectionReason, RejectionTally } from "../core/rejections.js";
import type { MysqlSession, StreamOptions } from "../io/db/mysql-session.js";
import type { StagingStore } from "../io/staging/store.js";
import type { StreamExtractAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";
import { writeManifest } from "./manifest.js";
import type { ExtractResult, StagedPart } from "./results.js";
import type { StepProgress } from "./progress.js";
import type { ExtractSink } from "./context.js";
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
  // One writer for all ranges: their chunks are whole lines, and one upload at a time keeps the
  // S3 upload's buffers to a single pair.
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
            await writer.write(pending, pendingRows);
            counts.staged += pendingRows;
            pending = "";
            pendingRows = 0;
            await pause("extract"); // a crash test may stop here, mid-extract
          }
          if (Math.floor(before / PROGRESS_EVERY_ROWS) !== Math.floor(counts.read / PROGRESS_EVERY_ROWS))
            progress.update(counts.read);
        }
        if (pending) await writer.write(pending, pendingRows);
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
      parts: staged,
      manifestName,
      sourceRejections: rejections.list(),
      twins: twins.twins,
    };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

interface OpenPart extends StagedPart {
  rows: number;
  stream: PassThrough;
  stored: Promise<void>;
}

/**
 * The staged output, cut into parts of about `partBytes` named as Aurora names them
 * (`<base>.part_00000`, …), each stored as it is written. Writes from the parallel ranges are
 * taken one at a time, in the order they come.
 */
class PartWriter {
  private readonly parts: StagedPart[] = [];
  private current: OpenPart | undefined;
  private queue: Promise<void> = Promise.resolve();
  private aborted = false;

  constructor(
    private readonly staging: StagingStore,
    private readonly base: string,
    private readonly partBytes: number,
    private readonly stallMs: number,
    private readonly sink: ExtractSink | undefined,
  ) {}

  write(text: string, rows: number): Promise<void> {
    if (this.aborted) return Promise.reject(new Error("the extract was abandoned"));
    const written = this.queue.then(() => this.writeNow(text, rows));
    this.queue = written.catch(() => undefined);
    return written;
  }

  async finish(): Promise<StagedPart[]> {
    await this.queue;
    await this.close();
    return this.parts;
  }

  /** Stops taking writes (another range may still be streaming) and abandons the open part. */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.queue;
    const part = this.current;
    this.current = undefined;
    if (!part) return;
    part.stream.destroy();
    await part.stored.catch(() => undefined);
  }

  private async writeNow(text: string, rows: number): Promise<void> {
    const part = this.open();
    const chunk = Buffer.from(text, "utf8");
    part.bytes += chunk.length;
    part.rows += rows;
    const waits: Promise<unknown>[] = [];
    if (!part.stream.write(chunk)) {
      const drained = Promise.race([once(part.stream, "drain"), part.stored]);
      waits.push(this.bounded(drained, `staging took no data for part ${part.name}`));
    }
    if (this.sink && !this.sink.stream.write(chunk)) {
      const drained = Promise.race([once(this.sink.stream, "drain"), this.sink.settled]);
      waits.push(this.bounded(drained, "the OLAP COPY took no data"));
    }
    await Promise.all(waits);
    if (part.bytes >= this.partBytes) await this.close();
  }

  /** A wait for the receiver to take more, failing with a StalledError after `stallMs`. */
  private bounded(wait: Promise<unknown>, what: string): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StalledError(`${what} for ${Math.round(this.stallMs / 1000)} s while streaming the extract`),
          ),
        this.stallMs,
      );
    });
    return Promise.race([wait, stalled]).finally(() => clearTimeout(timer));
  }

  private open(): OpenPart {
    if (!this.current) {
      const name = `${this.base}.part_${String(this.parts.length).padStart(5, "0")}`;
      const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
      const stored = this.staging.write(name, stream);
      stored.catch(() => undefined); // awaited in close(); avoid an unhandled rejection meanwhile
      this.current = { name, rows: 0, bytes: 0, stream, stored };
    }
    return this.current;
  }

  private async close(): Promise<void> {
    const part = this.current;
    if (!part) return;
    this.current = undefined;
    part.stream.end();
    await part.stored;
    this.parts.push({ name: part.name, rows: part.rows, bytes: part.bytes });
  }
}
