import { once } from "node:events";
import { PassThrough, Readable } from "node:stream";
import type { WarehouseConnection } from "../adapters/source/mysql.js";
import type { Manifest, StagingStore } from "../adapters/staging/store.js";
import { formatOutfileLine } from "../format/outfile-csv.js";
import type { StreamExtractAction } from "../plan/actions.js";
import {
  EXAM_ALT_SCORE_COLUMNS,
  PERFORMANCE_LEVEL_INDEX,
  QUOTED_COLUMNS,
  SCALE_SCORE_INDEX,
} from "../plan/sql/columns.js";
import { pausePoint } from "../run/fault-injection.js";
import type { StepProgress } from "./progress.js";
import type { ExtractResult, StagedPart } from "./extract.js";
import { RejectionTally } from "./rejections.js";

const QUOTED = EXAM_ALT_SCORE_COLUMNS.map((column) => QUOTED_COLUMNS.has(column));
const FLUSH_CHARS = 256 * 1024;
const PROGRESS_EVERY_ROWS = 10_000;

/**
 * Streams the warehouse rows into staged parts in `INTO OUTFILE` format, then writes the
 * manifest. Memory stays bounded: the query stream pauses while staging catches up.
 */
export async function streamExtract(
  action: StreamExtractAction,
  warehouse: WarehouseConnection,
  staging: StagingStore,
  progress: StepProgress,
): Promise<ExtractResult> {
  const parts = new PartWriter(staging, action.objectBase, action.partBytes);
  const rejections = new RejectionTally();
  let rowsRead = 0;
  let rowsStaged = 0;
  let pending = "";
  try {
    for await (const row of warehouse.stream(action.query)) {
      rowsRead++;
      if (row[SCALE_SCORE_INDEX] === null) rejections.add("null_scale_score", row[0] ?? null);
      else if (row[PERFORMANCE_LEVEL_INDEX] === null)
        rejections.add("null_performance_level", row[0] ?? null);
      else {
        pending += formatOutfileLine(row, QUOTED);
        rowsStaged++;
        parts.countRow();
        if (pending.length >= FLUSH_CHARS) {
          await parts.write(pending);
          pending = "";
          await pausePoint("extract");
        }
      }
      if (rowsRead % PROGRESS_EVERY_ROWS === 0) progress.update(rowsRead);
    }
    if (pending) await parts.write(pending);
    const staged = await parts.finish();
    const manifestName = `${action.objectBase}.manifest`;
    const manifest: Manifest = {
      entries: staged.map((part) => ({
        url: staging.uri + part.name,
        mandatory: true,
        meta: { content_length: part.bytes },
      })),
    };
    await staging.write(manifestName, Readable.from([JSON.stringify(manifest, null, 2)]));
    progress.done(rowsRead);
    return { rowsRead, rowsStaged, parts: staged, manifestName, sourceRejections: rejections.list() };
  } catch (error) {
    await parts.abort();
    throw error;
  }
}

interface OpenPart extends StagedPart {
  rows: number;
  stream: PassThrough;
  stored: Promise<void>;
}

/** Splits the output into parts named as Aurora names them: `<base>.part_00000`, … */
class PartWriter {
  private readonly finished: StagedPart[] = [];
  private current: OpenPart | undefined;

  constructor(
    private readonly staging: StagingStore,
    private readonly base: string,
    private readonly partBytes: number,
  ) {}

  countRow(): void {
    this.open().rows++;
  }

  async write(text: string): Promise<void> {
    const part = this.open();
    const chunk = Buffer.from(text, "utf8");
    part.bytes += chunk.length;
    if (!part.stream.write(chunk)) await Promise.race([once(part.stream, "drain"), part.stored]);
    if (part.bytes >= this.partBytes) await this.close();
  }

  async finish(): Promise<StagedPart[]> {
    await this.close();
    return this.finished;
  }

  async abort(): Promise<void> {
    const part = this.current;
    this.current = undefined;
    if (!part) return;
    part.stream.destroy();
    await part.stored.catch(() => undefined);
  }

  private open(): OpenPart {
    if (!this.current) {
      const name = `${this.base}.part_${String(this.finished.length).padStart(5, "0")}`;
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
    this.finished.push({ name: part.name, rows: part.rows, bytes: part.bytes });
  }
}
