import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { olapDdl } from "../demo/schema.js";
import { dropPgDatabase, localServers, openPg, recreatePgDatabase } from "../demo/local-servers.js";
import { POSTGRES } from "../src/dialects/postgres.js";
import { PgSession } from "../src/io/db/pg-session.js";
import { FileStagingStore } from "../src/io/staging/file.js";
import { loadStagedParts } from "../src/steps/load-parts.js";
import { writeManifest } from "../src/steps/manifest.js";

const PARTS = 12;
const ROWS_PER_PART = 250;

/** Row `id` as the extract stages it (exam_alt_score's columns, timestamps quoted). */
function line(id: number): string {
  return `${id},${id},9,${id},1,2021,2500,2,"2021-03-01 10:00:00",-1,"2021-03-02 10:00:00.123456",7\n`;
}

/** The file store, watched: when each part was opened and when its bytes were all read. */
class WatchedStore extends FileStagingStore {
  readonly events: string[] = [];
  private readonly failOnce = new Set<string>();

  /** The next read of `name` gives a stream that fails before a byte is read (a GET timed out). */
  failNextRead(name: string): void {
    this.failOnce.add(name);
  }

  override async read(name: string): Promise<Readable> {
    this.events.push(`open ${name}`);
    if (this.failOnce.delete(name)) {
      const failed = new Readable({ read() {} });
      setImmediate(() => failed.destroy(new Error(`GET ${name} timed out`)));
      return failed;
    }
    const part = await super.read(name);
    part.on("end", () => this.events.push(`end ${name}`));
    return part;
  }
}

describe("loading the staged parts into PostgreSQL (resume, --load-after-extract)", () => {
  const servers = localServers();
  const database = `rdwbf_parts_${randomBytes(3).toString("hex")}`;
  const schema = "tenant_parts";
  const tenant = POSTGRES.tenant(schema, "20261207_000000_load");
  const load = tenant.load("unused", { role: undefined, form: "iam-role" });
  if (load.copiesFrom !== "stdin") throw new Error("PostgreSQL copies from stdin");
  let client: pg.Client;
  let session: PgSession;
  let dir: string;
  let folder = 0;
  const silent = { update() {}, note() {}, done() {} };
  const noPause = async () => {};

  /** A fresh staging folder holding the parts (each `ROWS_PER_PART` rows) and their manifest. */
  async function stage(store: FileStagingStore, partTexts: string[]): Promise<string[]> {
    const names = partTexts.map((_, index) => `exam_alt_score.part_${String(index).padStart(5, "0")}`);
    for (const [index, text] of partTexts.entries()) {
      await store.write(names[index]!, Readable.from([text]));
    }
    const parts = partTexts.map((text, index) => ({ name: names[index]!, bytes: Buffer.byteLength(text) }));
    await writeManifest(store, "exam_alt_score.manifest", parts);
    return names;
  }

  const partTexts = () =>
    Array.from({ length: PARTS }, (_, part) => {
      let text = "";
      for (let row = 1; row <= ROWS_PER_PART; row++) text += line(part * ROWS_PER_PART + row);
      return text;
    });

  const newStore = async () => {
    const uri = pathToFileURL(join(dir, `f${++folder}`)).href + "/";
    return new WatchedStore(uri);
  };

  /** The load as a run does it, from the folder's manifest. */
  const loadFrom = (store: FileStagingStore) =>
    loadStagedParts(
      load,
      "exam_alt_score.manifest",
      PARTS * ROWS_PER_PART,
      session,
      { staging: store, pause: noPause },
      silent,
    );

  /** Every row's id, 1 to PARTS × ROWS_PER_PART: the parts' rows in order. */
  const everyId = Array.from({ length: PARTS * ROWS_PER_PART }, (_, index) => index + 1);

  const stagedIds = async (): Promise<number[]> =>
    (await client.query<{ id: string }>(`SELECT id FROM ${tenant.stage} ORDER BY ctid`)).rows.map((row) =>
      Number(row.id),
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rdw-load-parts-"));
    await recreatePgDatabase(servers.pg, database);
    client = await openPg(servers.pg, database);
    for (const ddl of olapDdl(schema)) await client.query(ddl);
    session = await PgSession.open({ ...servers.pg, database, origin: "test" }, "OLAP", [
      ...POSTGRES.session({ readOnly: false }),
    ]);
  });

  after(async () => {
    await session?.close();
    await client?.end();
    await dropPgDatabase(servers.pg, database);
    await rm(dir, { recursive: true, force: true });
  });

  it("copies every row of every part once, in the manifest's order, opening each part while the one before streams", async () => {
    const store = await newStore();
    const names = await stage(store, partTexts());
    const result = await loadFrom(store);
    assert.deepEqual(result, { rowsCopied: PARTS * ROWS_PER_PART, parts: PARTS });
    assert.deepEqual(await stagedIds(), everyId);
    const partEvents = store.events.filter((event) => !event.endsWith(".manifest"));
    for (let index = 1; index < names.length; index++) {
      assert.ok(
        partEvents.indexOf(`open ${names[index]}`) < partEvents.indexOf(`end ${names[index - 1]}`),
        `${names[index]} was opened only after ${names[index - 1]} was read: ${partEvents.join(", ")}`,
      );
    }
    let open = 0;
    let mostOpen = 0;
    for (const event of partEvents) {
      open += event.startsWith("open ") ? 1 : -1;
      mostOpen = Math.max(mostOpen, open);
    }
    assert.equal(mostOpen, 2, "at most the part streaming and the next are open");
  });

  it("opens again a part whose read-ahead failed before its turn, and still copies every row once", async () => {
    const store = await newStore();
    const names = await stage(store, partTexts());
    store.failNextRead(names[3]!);
    const result = await loadFrom(store);
    assert.equal(result.rowsCopied, PARTS * ROWS_PER_PART);
    assert.equal(store.events.filter((event) => event === `open ${names[3]}`).length, 2);
    assert.deepEqual(await stagedIds(), everyId);
  });

  it("refuses a part that does not end with a whole line, naming it, and copies nothing", async () => {
    const store = await newStore();
    const texts = partTexts();
    texts[5] = texts[5]!.slice(0, -20); // the part lost its last bytes: a row cut short
    const names = await stage(store, texts);
    await assert.rejects(loadFrom(store), (error: Error) => {
      assert.match(error.message, new RegExp(`${names[5]}: the staged part does not end with a whole line`));
      return true;
    });
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${tenant.stage}`);
    assert.equal(Number(rows[0]!.n), 0, "the COPY was aborted: no row of any part stayed");
  });
});
