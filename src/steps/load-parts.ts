import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { RuntimeError } from "../core/errors.js";
import type { PgStatement } from "../core/statement.js";
import type { LoadSql } from "../dialects/postgres.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { StagingStore } from "../io/staging/store.js";
import type { StepContext } from "./context.js";
import type { LoadResult } from "./results.js";
import { readManifest } from "./manifest.js";
import type { StepProgress } from "./progress.js";
import type { OverlappedLoad } from "./context.js";

/**
 * Streams the parts listed in this run's manifest into the staging table (resuming, or
 * --load-after-extract): one COPY for them all, in the manifest's order. Each part's GET is sent
 * while the part before it streams, so that the store's time to first byte (tens of milliseconds
 * on S3, for each of hundreds of 8 MiB parts) is not paid part after part.
 */
export async function loadStagedParts(
  statements: Extract<LoadSql, { copiesFrom: "stdin" }>,
  manifestName: string,
  rowsStaged: number,
  olap: PgSession,
  context: Pick<StepContext, "staging" | "pause">,
  progress: StepProgress,
): Promise<LoadResult> {
  const { staging } = context;
  const manifest = await readManifest(staging, manifestName);
  // The tool writes every manifest itself, with each part's size.
  const totalBytes = manifest.entries.reduce((sum, entry) => sum + (entry.meta?.content_length ?? 0), 0);
  for (const statement of statements.prepare) await olap.query(statement);
  let bytesDone = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytesDone += chunk.length;
      progress.update(totalBytes ? Math.round((rowsStaged * bytesDone) / totalBytes) : 0);
      if (bytesDone !== chunk.length) return callback(null, chunk);
      // The first chunk goes into COPY; a crash test may hold the rest back.
      this.push(chunk);
      void context.pause("load").then(() => callback());
    },
  });
  const names = manifest.entries.map((entry) => entry.url.slice(staging.uri.length));
  const { input: copyInput, done } = olap.copyIn(statements.copy);
  const [, copied] = await Promise.all([
    pipeline(Readable.from(partsReadAhead(staging, names)), counter, copyInput),
    done,
  ]);
  return { rowsCopied: copied.rows, parts: manifest.entries.length };
}

/**
 * The parts' bytes one after another, the next part's GET sent as the current one starts. A
 * part opened ahead that failed before its turn (its socket idle past the client's timeout while
 * a large part streamed) is opened again; one left unread when the load stops is closed. Every
 * part must end with a whole line, or its last row would run into the next part's first.
 */
async function* partsReadAhead(staging: StagingStore, names: readonly string[]): AsyncGenerator<Buffer> {
  const open = (name: string) => {
    const opening = staging.read(name).then((part) => part.on("error", () => undefined));
    opening.catch(() => undefined); // awaited in its turn
    return opening;
  };
  let ahead = names.length > 0 ? open(names[0]!) : undefined;
  try {
    for (const [index, name] of names.entries()) {
      let part = await ahead!;
      ahead = index + 1 < names.length ? open(names[index + 1]!) : undefined;
      if (part.destroyed) part = await staging.read(name);
      let last: Buffer | undefined;
      for await (const chunk of part) {
        last = chunk as Buffer;
        yield last;
      }
      if (last && last.length > 0 && last[last.length - 1] !== NEWLINE) {
        throw new RuntimeError(`${staging.uri}${name}: the staged part does not end with a whole line`);
      }
    }
  } finally {
    void ahead?.then((part) => part.destroy()).catch(() => undefined);
  }
}

const NEWLINE = 0x0a;

/**
 * The same COPY as `loadStagedParts`, fed by the extract as it stages each chunk instead of
 * from the staged parts afterwards, so that the load takes no time of its own. The parts are
 * still written: a resumed run loads from them.
 */
export async function startOverlappedLoad(
  statements: { prepare: readonly PgStatement[]; copy: PgStatement },
  olap: PgSession,
  context: Pick<StepContext, "pause">,
): Promise<OverlappedLoad> {
  for (const statement of statements.prepare) await olap.query(statement);
  const { input, done } = olap.copyIn(statements.copy);
  done.catch(() => undefined); // raised through sink.settled or finish()
  return {
    sink: { stream: input, settled: done },
    async finish(extracted) {
      // A crash test holds the COPY open here: extracted and journaled, not yet loaded.
      await context.pause("load");
      input.end();
      const copied = await done;
      return { rowsCopied: copied.rows, parts: extracted.parts };
    },
    abort() {
      input.destroy();
    },
  };
}
