import { once } from "node:events";
import { PassThrough } from "node:stream";
import { StalledError } from "../core/errors.js";
import { UPLOAD_PART_BYTES } from "../io/staging/s3-upload.js";
import type { StagingStore } from "../io/staging/store.js";
import type { ExtractSink } from "./context.js";
import type { StagedPart } from "./results.js";

interface OpenPart extends StagedPart {
  stream: PassThrough;
  stored: Promise<void>;
}

/**
 * The staged output, cut into parts of at most `partBytes` (unless one write alone is larger)
 * named as Aurora names them (`<base>.part_00000`, …), each stored as it is written. Writes from
 * the parallel ranges are taken one at a time, in the order they come. A closed part is stored
 * while the next one fills, and the next closes only once it is stored, so staging that falls
 * behind holds the extract back. (A part larger than one upload buffer, `--part-size` above 8
 * MiB, goes up as a multipart upload holding two buffers: it is stored before the next fills.)
 */
export class PartWriter {
  private readonly parts: StagedPart[] = [];
  private current: OpenPart | undefined;
  /** The closed part still being stored; it joins `parts` once stored. */
  private storing = { name: "", stored: Promise.resolve() };
  private queue: Promise<void> = Promise.resolve();
  private aborted = false;
  private opened = 0;

  constructor(
    private readonly staging: StagingStore,
    private readonly base: string,
    private readonly partBytes: number,
    private readonly stallMs: number,
    private readonly sink: ExtractSink | undefined,
  ) {}

  write(text: string): Promise<void> {
    if (this.aborted) return Promise.reject(new Error("the extract was abandoned"));
    const written = this.queue.then(() => this.writeNow(text));
    this.queue = written.catch(() => undefined);
    return written;
  }

  async finish(): Promise<StagedPart[]> {
    await this.queue;
    await this.close();
    await this.stored(this.storing);
    return this.parts;
  }

  /** Stops taking writes (another range may still be streaming) and abandons the open part. */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.queue;
    const part = this.current;
    this.current = undefined;
    part?.stream.destroy();
    await Promise.all([part?.stored.catch(() => undefined), this.storing.stored.catch(() => undefined)]);
  }

  private async writeNow(text: string): Promise<void> {
    const chunk = Buffer.from(text, "utf8");
    const full = this.current && this.current.bytes + chunk.length > this.partBytes;
    if (full) await this.close();
    const part = this.open();
    part.bytes += chunk.length;
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
      const name = `${this.base}.part_${String(this.opened++).padStart(5, "0")}`;
      const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
      const stored = this.staging.write(name, stream);
      stored.catch(() => undefined); // awaited in close(); avoid an unhandled rejection meanwhile
      this.current = { name, bytes: 0, stream, stored };
    }
    return this.current;
  }

  private async close(): Promise<void> {
    const part = this.current;
    if (!part) return;
    this.current = undefined;
    part.stream.end();
    const before = this.storing;
    // Settles once both are stored or have failed, so that abort() leaves nothing being stored.
    const stored = Promise.allSettled([before.stored, part.stored]).then(([earlier, own]) => {
      if (earlier.status === "rejected") throw earlier.reason;
      if (own.status === "rejected") throw own.reason;
      this.parts.push({ name: part.name, bytes: part.bytes });
    });
    stored.catch(() => undefined); // awaited by the next close(), finish() or abort()
    this.storing = { name: part.name, stored };
    await this.stored(before);
    if (this.partBytes > UPLOAD_PART_BYTES) await this.stored(this.storing);
  }

  /** A wait for a closed part to be stored, failing with a StalledError after `stallMs`. */
  private stored(part: { name: string; stored: Promise<void> }): Promise<unknown> {
    return this.bounded(part.stored, `staging had not stored ${part.name}`);
  }
}
