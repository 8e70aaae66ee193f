import type { StagingStore } from "../adapters/staging/store.js";
import type { OlapConnection } from "../adapters/target/postgres.js";
import { RuntimeError } from "../errors.js";
import type { LoadAction } from "../plan/actions.js";
import { redshiftLoad } from "./load-redshift.js";
import { stdinLoad } from "./load-stdin.js";
import type { StepProgress } from "./progress.js";

export interface LoadInput {
  manifestName: string;
  /** Rows the extract staged. */
  rowsStaged: number;
}

export interface LoadResult {
  rowsCopied: number;
  parts: number;
}

/**
 * Fills the staging table from this run's staged parts, by COPY FROM STDIN or by
 * Redshift's COPY from S3, and checks that every staged row arrived before anything is merged.
 */
export async function load(
  action: LoadAction,
  input: LoadInput,
  olap: OlapConnection,
  staging: StagingStore,
  progress: StepProgress,
): Promise<LoadResult> {
  const result =
    action.mode === "redshift"
      ? await redshiftLoad(action, input, olap, staging, progress)
      : await stdinLoad(action, input, olap, staging, progress);
  return checkAllCopied(input, result, staging.uri);
}

/** The count check between load and merge: every staged row is in the staging table. */
export function checkAllCopied(input: LoadInput, result: LoadResult, stagingUri: string): LoadResult {
  if (result.rowsCopied !== input.rowsStaged) {
    throw new RuntimeError(
      `count check failed before merge: ${input.rowsStaged} rows staged, COPY read ${result.rowsCopied} from ${stagingUri}`,
    );
  }
  return result;
}
