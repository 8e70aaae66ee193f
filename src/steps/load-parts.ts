import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PgStatement } from "../core/statement.js";
import type { LoadSql } from "../dialects/postgres.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { StepContext } from "./context.js";
import type { LoadResult } from "./results.js";
import { readManifest } from "./manifest.js";
import type { StepProgress } from "./progress.js";
import type { OverlappedLoad } from "./context.js";

/** Streams the parts listed in this run's manifest into the staging table (resuming, or --load-after-extract). */
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
  let rowsCopied = 0;
  for (const entry of manifest.entries) {
    const { input: copyInput, done } = olap.copyIn(statements.copy);
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
    const part = await staging.read(entry.url.slice(staging.uri.length));
    const [, copied] = await Promise.all([pipeline(part, counter, copyInput), done]);
    rowsCopied += copied.rows;
  }
  return { rowsCopied, parts: manifest.entries.length };
}

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
