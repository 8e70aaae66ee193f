import type { StagingStore } from "../adapters/staging/store.js";
import type { OlapConnection } from "../adapters/target/postgres.js";
import { describeError, RuntimeError } from "../errors.js";
import type { RedshiftLoadAction } from "../plan/actions.js";
import type { LoadInput, LoadResult } from "./load.js";
import { readManifest } from "./manifest.js";
import type { StepProgress } from "./progress.js";

/** A row Redshift refused, from `stl_load_errors`. */
export interface LoadError {
  line: number;
  column: string;
  reason: string;
  value: string;
}

/** COPY rejected rows: nothing was loaded, and the live table was not touched. */
export class LoadRejectedError extends RuntimeError {
  constructor(
    readonly loadErrors: LoadError[],
    cause: string,
  ) {
    const first = loadErrors[0];
    super(
      `COPY rejected the staged rows, nothing loaded: ` +
        (first
          ? `line ${first.line}, column ${first.column}: ${first.reason} (${loadErrors.length} shown in the report)`
          : cause),
    );
  }
}

/** Redshift reads the manifest's parts from S3 in parallel on its own nodes. */
export async function redshiftLoad(
  action: RedshiftLoadAction,
  input: LoadInput,
  olap: OlapConnection,
  staging: StagingStore,
  progress: StepProgress,
): Promise<LoadResult> {
  const manifest = await readManifest(staging, input.manifestName);
  await olap.query(action.createStage);
  try {
    await olap.query(action.copy);
  } catch (error) {
    const { rows } = await olap
      .query<{ line_number: number; colname: string; err_reason: string; raw_field_value: string }>(
        action.loadErrors,
      )
      .catch(() => ({ rows: [] }));
    throw new LoadRejectedError(
      rows.map((row) => ({
        line: Number(row.line_number),
        column: row.colname,
        reason: row.err_reason,
        value: row.raw_field_value,
      })),
      describeError(error),
    );
  }
  const rowsCopied = await olap.count(action.copiedRows);
  progress.done(rowsCopied);
  return { rowsCopied, parts: manifest.entries.length };
}
