import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StagingStore } from "../adapters/staging/store.js";
import type { OlapConnection } from "../adapters/target/postgres.js";
import type { StdinLoadAction } from "../plan/actions.js";
import type { ExtractResult, ExtractSink } from "./extract.js";
import { checkAllCopied, type LoadInput, type LoadResult } from "./load.js";
import { readManifest } from "./manifest.js";
import { pausePoint } from "../run/fault-injection.js";
import type { StepProgress } from "./progress.js";

/** Streams the parts listed in this run's manifest into the staging table (resuming, or --load-after-extract). */
export async function stdinLoad(
  action: StdinLoadAction,
  input: LoadInput,
  olap: OlapConnection,
  staging: StagingStore,
  progress: StepProgress,
): Promise<LoadResult> {
  const manifest = await readManifest(staging, input.manifestName);
  // Aurora's manifests carry no sizes; then the listing tells them.
  const sizes = new Map((await staging.list()).map((object) => [staging.uri + object.name, object.bytes]));
  const totalBytes = manifest.entries.reduce(
    (sum, entry) => sum + (entry.meta?.content_length ?? sizes.get(entry.url) ?? 0),
    0,
  );
  for (const statement of [...action.session, ...action.dropWorkTables]) await olap.query(statement);
  await olap.query(action.createStage);
  let bytesDone = 0;
  let rowsCopied = 0;
  for (const entry of manifest.entries) {
    const { input: copyInput, done } = olap.copyIn(action.copy);
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytesDone += chunk.length;
        progress.update(totalBytes ? Math.round((input.rowsStaged * bytesDone) / totalBytes) : 0);
        if (bytesDone !== chunk.length) return callback(null, chunk);
        // The first chunk goes into COPY; a crash test may hold the rest back.
        this.push(chunk);
        void pausePoint("load").then(() => callback());
      },
    });
    const part = await staging.read(entry.url.slice(staging.uri.length));
    const [, copied] = await Promise.all([pipeline(part, counter, copyInput), done]);
    rowsCopied += copied.rows;
  }
  progress.done(rowsCopied);
  return { rowsCopied, parts: manifest.entries.length };
}

export interface OverlappedLoad {
  /** For the extract: the COPY's input. */
  sink: ExtractSink;
  /** Ends the COPY once the extract is done, and checks that it read every staged row. */
  finish(extracted: ExtractResult): Promise<LoadResult>;
  /** Abandons the COPY (the extract failed): the staging table keeps nothing. */
  abort(): void;
}

/**
 * The same COPY as `stdinLoad`, fed by the extract as it stages each chunk instead of from the
 * staged parts afterwards, so that the load takes no time of its own. The parts are still
 * written: a resumed run loads from them.
 */
export async function startOverlappedLoad(
  action: StdinLoadAction,
  olap: OlapConnection,
  stagingUri: string,
): Promise<OverlappedLoad> {
  for (const statement of [...action.session, ...action.dropWorkTables]) await olap.query(statement);
  await olap.query(action.createStage);
  const { input, done } = olap.copyIn(action.copy);
  done.catch(() => undefined); // raised through sink.settled or finish()
  return {
    sink: { stream: input, settled: done },
    async finish(extracted) {
      // A crash test holds the COPY open here: extracted and journaled, not yet loaded.
      await pausePoint("load");
      input.end();
      const copied = await done;
      return checkAllCopied(
        extracted,
        { rowsCopied: copied.rows, parts: extracted.parts.length },
        stagingUri,
      );
    },
    abort() {
      input.destroy();
    },
  };
}
