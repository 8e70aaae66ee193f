import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";

/** Above S3's 5 MiB minimum part size; 10,000 parts then allow objects of 80 GB. */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

/**
 * The part buffers of this process's uploads: each upload takes one (a second once it sends a
 * part) and gives them back when it ends, so that the tenants of a run, one after another or a
 * few at once, upload through the same few. A buffer let go returns its memory only after a
 * full garbage collection, and then to the C allocator rather than the system: with a new pair
 * per tenant, a run of four tenants held up to three pairs at once (61 MB of buffers) and peaked
 * at up to 201 MB, where one tenant's run peaks at 150–160 MB.
 */
export class PartBuffers {
  private readonly free: Buffer[] = [];
  /** Buffers allocated so far. */
  created = 0;

  /** At most `kept` free buffers are held for the next upload; more are let go. */
  constructor(private readonly kept: number) {}

  take(): Buffer {
    const reused = this.free.pop();
    if (reused) return reused;
    this.created += 1;
    return Buffer.allocUnsafe(UPLOAD_PART_BYTES);
  }

  giveBack(buffers: readonly Buffer[]): void {
    for (const buffer of buffers) if (this.free.length < this.kept) this.free.push(buffer);
  }
}

/**
 * Enough for two multipart uploads at once (the extract's, and another tenant's finishing), or
 * for the extract's part being sent while its next part fills.
 */
export const PART_BUFFERS = new PartBuffers(4);

/** Objects up to this size (manifests, journals) are gathered in plain memory, not pool buffers. */
const SMALL_OBJECT_BYTES = 256 * 1024;

/**
 * Uploads a stream as one object through part buffers from a pool, filled and sent in turn: one
 * uploads while the other fills, and no buffer is allocated per part. (lib-storage's `Upload`
 * copies every part into a new buffer; at hundreds of megabytes per tenant that garbage, not the
 * data in flight, set this process's peak memory.) An object of at most one part (a staged part
 * of the default size, a manifest, a journal) is sent with a single PUT: no multipart upload to
 * create and complete, which on S3 and on the S3-compatible server of the tests assembles the
 * object from its parts once more.
 */
export async function uploadStream(
  client: S3Client,
  bucket: string,
  key: string,
  body: Readable,
  buffers: PartBuffers = PART_BUFFERS,
): Promise<void> {
  const upload = new PooledUpload(client, bucket, key, buffers);
  const head: Buffer[] = [];
  let headBytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (upload.started) {
        await upload.take(data);
        continue;
      }
      head.push(data);
      headBytes += data.length;
      if (headBytes > SMALL_OBJECT_BYTES) for (const gathered of head.splice(0)) await upload.take(gathered);
    }
    if (upload.started) await upload.complete();
    else await putObject(client, bucket, key, Buffer.concat(head));
  } catch (error) {
    await upload.abort();
    throw error;
  }
}

function putObject(client: S3Client, bucket: string, key: string, body: Buffer): Promise<unknown> {
  return client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }),
  );
}

/**
 * An upload fed through part buffers from a pool, one part in flight at a time. A buffer is
 * sent as a part only once more data follows it, so an object that fits in one buffer is sent
 * with a single PUT instead. The second buffer is taken when the first is sent. It gives them
 * back once nothing is in flight, whether it completes or is aborted.
 */
class PooledUpload {
  private readonly buffers: Buffer[] = [];
  private finished = false;
  private filling: Buffer = Buffer.alloc(0);
  private filled = 0;
  private uploadId: string | undefined;
  private readonly parts: { ETag: string | undefined; PartNumber: number }[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  private flushed = 0;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly pool: PartBuffers,
  ) {}

  get started(): boolean {
    return this.buffers.length > 0;
  }

  async take(chunk: Buffer): Promise<void> {
    if (this.finished) throw new Error("internal: an upload takes no data after it ended");
    if (!this.started) {
      this.filling = this.pool.take();
      this.buffers.push(this.filling);
    }
    let data = chunk;
    while (data.length > 0) {
      if (this.filled === UPLOAD_PART_BYTES) await this.flush();
      const taken = data.copy(this.filling, this.filled);
      this.filled += taken;
      data = data.subarray(taken);
    }
  }

  async complete(): Promise<void> {
    if (this.flushed === 0) {
      await putObject(this.client, this.bucket, this.key, this.filling.subarray(0, this.filled));
      this.giveBackBuffers();
      return;
    }
    if (this.filled > 0) await this.flush();
    await this.inFlight;
    this.giveBackBuffers();
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
    );
  }

  async abort(): Promise<void> {
    await this.inFlight.catch(() => undefined);
    this.giveBackBuffers();
    if (this.uploadId === undefined) return;
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }))
      .catch(() => undefined);
  }

  /** Once nothing is in flight: the SDK holds no reference to any buffer any more. */
  private giveBackBuffers(): void {
    if (this.finished) return;
    this.finished = true;
    this.pool.giveBack(this.buffers);
  }

  private async flush(): Promise<void> {
    await this.inFlight; // the other buffer is free again
    this.inFlight = this.send(this.filling.subarray(0, this.filled));
    this.flushed += 1;
    this.inFlight.catch(() => undefined); // raised by the next flush, complete() or abort()
    if (this.buffers.length === 1) this.buffers.push(this.pool.take());
    this.filling = this.filling === this.buffers[0] ? this.buffers[1]! : this.buffers[0]!;
    this.filled = 0;
  }

  private async send(data: Buffer): Promise<void> {
    if (this.uploadId === undefined) {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key }),
      );
      this.uploadId = created.UploadId;
    }
    const PartNumber = this.parts.length + 1;
    const part = { ETag: undefined as string | undefined, PartNumber };
    this.parts.push(part);
    const sent = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber,
        Body: data,
      }),
    );
    part.ETag = sent.ETag;
  }
}
