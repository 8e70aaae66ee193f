import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { FileStagingStore } from "../../src/io/staging/file.js";
import { UPLOAD_PART_BYTES } from "../../src/io/staging/s3-upload.js";
import { PartWriter } from "../../src/steps/staged-parts.js";

/** Whole lines of uneven lengths, as the extract's chunks are. */
function chunk(index: number): string {
  let text = "";
  for (let row = 0; row <= index % 7; row++)
    text += `${index},${row},${"x".repeat((index * 31 + row * 17) % 400)}\n`;
  return text;
}

/** The file store, slowed down and watched: how many parts are being stored at once. */
class WatchedStore extends FileStagingStore {
  storing = 0;
  mostAtOnce = 0;

  constructor(
    uri: string,
    private readonly delayMs: number,
    private readonly failing?: string,
    private readonly slow?: { name: string; ms: number },
  ) {
    super(uri);
  }

  override async write(name: string, body: Readable): Promise<void> {
    this.storing += 1;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.storing);
    try {
      await super.write(name, body);
      await sleep(name === this.slow?.name ? this.slow.ms : this.delayMs);
      if (name === this.failing) throw new Error(`storing ${name} failed`);
    } finally {
      this.storing -= 1;
    }
  }
}

describe("the staged parts the extract writes", () => {
  let dir: string;
  let folder = 0;
  const uri = () => pathToFileURL(join(dir, `f${++folder}`)).href + "/";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rdw-parts-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("are at most the part size each, named in order, and hold every row once, in order", async () => {
    const store = new FileStagingStore(uri());
    const writer = new PartWriter(store, "exam_alt_score", 10_000, 5_000, undefined);
    let written = "";
    for (let index = 0; index < 400; index++) {
      await writer.write(chunk(index));
      written += chunk(index);
    }
    const parts = await writer.finish();
    assert.ok(parts.length > 10, `${parts.length} parts`);
    parts.forEach((part, index) => {
      assert.equal(part.name, `exam_alt_score.part_${String(index).padStart(5, "0")}`);
      assert.ok(part.bytes <= 10_000, `${part.name}: ${part.bytes} bytes`);
    });
    const stored = await Promise.all(parts.map((part) => readFile(new URL(part.name, store.uri), "utf8")));
    assert.equal(stored.join(""), written);
    assert.deepEqual(
      parts.map((part) => part.bytes),
      stored.map((text) => Buffer.byteLength(text)),
    );
  });

  it("give a write larger than a part a part of its own", async () => {
    const store = new FileStagingStore(uri());
    const writer = new PartWriter(store, "p", 1_000, 5_000, undefined);
    const writes = ["a\n".repeat(100), "b\n".repeat(2_000), "c\n"];
    for (const text of writes) await writer.write(text);
    const parts = await writer.finish();
    assert.deepEqual(
      parts.map((part) => part.bytes),
      [200, 4_000, 2],
    );
    const stored = await Promise.all(parts.map((part) => readFile(new URL(part.name, store.uri), "utf8")));
    assert.deepEqual(stored, writes);
  });

  it("store a closed part while the next one fills, and close that one only once the first is stored", async () => {
    const store = new WatchedStore(uri(), 30);
    const writer = new PartWriter(store, "p", 2_000, 5_000, undefined);
    for (let index = 0; index < 100; index++) await writer.write(chunk(index));
    const parts = await writer.finish();
    assert.ok(parts.length > 5);
    // two parts in staging at once (one storing while the next fills, or both closed while the
    // second waits for the first); a third would mean staging that falls behind no longer holds
    // the extract back
    assert.equal(store.mostAtOnce, 2);
    assert.equal(store.storing, 0);
  });

  it("fail the extract when a closed part fails to store, and leave nothing being stored", async () => {
    const store = new WatchedStore(uri(), 5, "p.part_00001");
    const writer = new PartWriter(store, "p", 2_000, 5_000, undefined);
    const failed = (async () => {
      for (let index = 0; index < 100; index++) await writer.write(chunk(index));
      await writer.finish();
    })();
    await assert.rejects(failed, /storing p\.part_00001 failed/);
    await writer.abort();
    assert.equal(store.storing, 0);
  });

  it("fail the extract, naming the part, when staging does not store a closed part in time", async () => {
    const store = new WatchedStore(uri(), 0, undefined, { name: "p.part_00000", ms: 1_000 });
    const writer = new PartWriter(store, "p", 2_000, 100, undefined);
    const failed = (async () => {
      for (let index = 0; index < 100; index++) await writer.write(chunk(index));
      await writer.finish();
    })();
    await assert.rejects(failed, (error: Error) => {
      assert.equal(error.name, "StalledError");
      assert.match(error.message, /staging had not stored p\.part_00000 for 0 s while streaming the extract/);
      return true;
    });
    await writer.abort();
    assert.equal(store.storing, 0);
  });

  it("store a part larger than one upload buffer before the next one fills", async () => {
    const store = new WatchedStore(uri(), 20);
    const writer = new PartWriter(store, "p", UPLOAD_PART_BYTES + 1, 5_000, undefined);
    const line = "x".repeat(1023) + "\n";
    const text = line.repeat(1024); // 1 MiB of whole lines
    for (let index = 0; index < 20; index++) await writer.write(text);
    const parts = await writer.finish();
    assert.deepEqual(
      parts.map((part) => part.bytes),
      [8, 8, 4].map((mib) => mib * 1024 * 1024),
    );
    assert.equal(store.mostAtOnce, 1);
  });
});
