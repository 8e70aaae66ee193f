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
 * Uploads a stream as one object through two part buffers that are filled and sent in turn:
 * one uploads while the other fills, and no buffer is allocated per part. (lib-storage's
 * `Upload` copies every part into a new buffer; at hundreds of megabytes per tenant that
 * garbage, not the data in flight, set this process's peak memory.) An object smaller than a
 * part, such as a manifest or a journal, is gathered and sent with a single PUT.
 */
export async function uploadStream(
  client: S3Client,
  bucket: string,
  key: string,
  body: Readable,
): Promise<void> {
  const upload = new PooledUpload(client, bucket, key);
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
      if (headBytes > UPLOAD_PART_BYTES) for (const gathered of head.splice(0)) await upload.take(gathered);
    }
    if (upload.started) await upload.complete();
    else {
      const whole = Buffer.concat(head);
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: whole, ContentLength: whole.length }),
      );
    }
  } catch (error) {
    await upload.abort();
    throw error;
  }
}

/** A multipart upload fed through two reused part buffers, one part in flight at a time. */
class PooledUpload {
  private buffers: [Buffer, Buffer] | undefined;
  private filling: Buffer = Buffer.alloc(0);
  private filled = 0;
  private uploadId: string | undefined;
  private readonly parts: { ETag: string | undefined; PartNumber: number }[] = [];
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
  ) {}

  get started(): boolean {
    return this.buffers !== undefined;
  }

  async take(chunk: Buffer): Promise<void> {
    if (!this.buffers) {
      this.buffers = [Buffer.allocUnsafe(UPLOAD_PART_BYTES), Buffer.allocUnsafe(UPLOAD_PART_BYTES)] as [
        Buffer,
        Buffer,
      ];
      this.filling = this.buffers[0];
    }
    let data = chunk;
    while (data.length > 0) {
      const taken = data.copy(this.filling, this.filled);
      this.filled += taken;
      data = data.subarray(taken);
      if (this.filled === UPLOAD_PART_BYTES) await this.flush();
    }
  }

  async complete(): Promise<void> {
    if (this.filled > 0) await this.flush();
    await this.inFlight;
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
    if (this.uploadId === undefined) return;
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }))
      .catch(() => undefined);
  }

  private async flush(): Promise<void> {
    await this.inFlight; // the other buffer is free again
    this.inFlight = this.send(this.filling.subarray(0, this.filled));
    this.inFlight.catch(() => undefined); // raised by the next flush, complete() or abort()
    this.filling = this.filling === this.buffers![0] ? this.buffers![1] : this.buffers![0];
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
