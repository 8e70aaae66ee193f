import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { s3ClientConfig } from "../src/io/staging/s3.js";
import { PartBuffers, UPLOAD_PART_BYTES, uploadStream } from "../src/io/staging/s3-upload.js";
import { type LocalS3, startLocalS3 } from "../demo/s3-server.js";

const BUCKET = "rdw-upload-test";

/** Deterministic bytes in uneven chunks, like the extract's writes. */
function* chunks(total: number): Generator<Buffer> {
  let written = 0;
  for (let index = 0; written < total; index++) {
    const size = Math.min(total - written, 50_000 + ((index * 7919) % 200_000));
    yield Buffer.alloc(size, index % 251);
    written += size;
  }
}

const sha256 = (parts: Iterable<Buffer>) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
};

describe("uploading a stream to S3 through reused part buffers", () => {
  let s3: LocalS3;
  let client: S3Client;

  before(async () => {
    s3 = await startLocalS3([BUCKET]);
    client = new S3Client({
      ...s3ClientConfig(s3.env),
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  async function stored(key: string): Promise<{ bytes: number; sha: string }> {
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const parts: Buffer[] = [];
    for await (const part of object.Body as Readable) parts.push(part as Buffer);
    return { bytes: parts.reduce((sum, part) => sum + part.length, 0), sha: sha256(parts) };
  }

  for (const [name, total] of [
    ["empty", 0],
    ["smaller than a part (one PUT)", 1000],
    ["exactly one part (one PUT)", UPLOAD_PART_BYTES],
    ["several parts and a short last one", 2 * UPLOAD_PART_BYTES + 12_345],
  ] as const) {
    it(`stores every byte in order: ${name}`, async () => {
      const key = `objects/${total}`;
      await uploadStream(client, BUCKET, key, Readable.from(chunks(total)));
      assert.deepEqual(await stored(key), { bytes: total, sha: sha256(chunks(total)) });
    });
  }

  it("stores an object of at most one part with a single PUT from one pooled buffer, a larger one in parts", async () => {
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(context.commandName ?? "?");
        return next(args);
      },
      { step: "initialize", name: "recordCommands" },
    );
    try {
      const pool = new PartBuffers(4);
      await uploadStream(client, BUCKET, "objects/small", Readable.from(chunks(1000)), pool);
      assert.equal(pool.created, 0, "a small object (a manifest, a journal) takes no part buffer");
      await uploadStream(client, BUCKET, "objects/one-put", Readable.from(chunks(UPLOAD_PART_BYTES)), pool);
      assert.deepEqual(sent, ["PutObjectCommand", "PutObjectCommand"]);
      assert.equal(pool.created, 1, "one buffer: nothing was sent while it filled");
      sent.length = 0;
      await uploadStream(
        client,
        BUCKET,
        "objects/two-parts",
        Readable.from(chunks(UPLOAD_PART_BYTES + 1)),
        pool,
      );
      assert.deepEqual(sent, [
        "CreateMultipartUploadCommand",
        "UploadPartCommand",
        "UploadPartCommand",
        "CompleteMultipartUploadCommand",
      ]);
      assert.equal(pool.created, 2);
    } finally {
      client.middlewareStack.remove("recordCommands");
    }
    for (const [key, bytes] of [
      ["objects/one-put", UPLOAD_PART_BYTES],
      ["objects/two-parts", UPLOAD_PART_BYTES + 1],
    ] as const) {
      assert.deepEqual(await stored(key), { bytes, sha: sha256(chunks(bytes)) }, key);
    }
  });

  it("reuses the same two part buffers from one upload to the next, also after a failed one", async () => {
    const total = 2 * UPLOAD_PART_BYTES + 12_345;
    const pool = new PartBuffers(4);
    await uploadStream(client, BUCKET, "objects/first", Readable.from(chunks(total)), pool);
    assert.equal(pool.created, 2, "the first upload's two buffers");
    const failing = Readable.from(
      (function* () {
        yield* chunks(total);
        throw new Error("extract failed");
      })(),
    );
    await assert.rejects(uploadStream(client, BUCKET, "objects/second", failing, pool), /extract failed/);
    await uploadStream(client, BUCKET, "objects/third", Readable.from(chunks(total)), pool);
    assert.equal(pool.created, 2, "the later uploads took the same two");
    // a reused buffer carries no bytes of an earlier object into a later one
    assert.deepEqual(await stored("objects/third"), { bytes: total, sha: sha256(chunks(total)) });
  });

  it("fails when the stream fails, after a part was sent, and stores no object", async () => {
    const failing = Readable.from(
      (function* () {
        yield* chunks(2 * UPLOAD_PART_BYTES + 1000); // the first part is sent before the failure
        throw new Error("extract failed");
      })(),
    );
    await assert.rejects(uploadStream(client, BUCKET, "objects/failed", failing), /extract failed/);
    await assert.rejects(
      client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "objects/failed" })),
      /NoSuchKey|does not exist/,
    );
  });
});
