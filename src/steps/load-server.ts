import { describeError, StepFailedError } from "../core/errors.js";
import type { LoadSql } from "../dialects/postgres.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { StagingStore } from "../io/staging/store.js";
import type { LoadResult } from "./results.js";
import { readManifest } from "./manifest.js";
import type { FailureDetails, LoadError } from "./results.js";

/** COPY rejected rows: nothing was loaded, and the live table was not touched. */
function rejected(loadErrors: LoadError[], cause: string): StepFailedError<FailureDetails> {
  const first = loadErrors[0];
  return new StepFailedError(
    `COPY rejected the staged rows, nothing loaded: ` +
      (first
        ? `line ${first.line}, column ${first.column}: ${first.reason} (${loadErrors.length} shown in the report)`
        : cause),
    { loadErrors },
  );
}

/** The OLAP server (Redshift) reads the manifest's parts from S3 in parallel on its own nodes. */
export async function serverLoad(
  statements: Extract<LoadSql, { copiesFrom: "s3" }>,
  manifestName: string,
  olap: PgSession,
  staging: StagingStore,
): Promise<LoadResult> {
  const manifest = await readManifest(staging, manifestName);
  for (const statement of statements.prepare) await olap.query(statement);
  try {
    await olap.query(statements.copy);
  } catch (error) {
    const { rows } = await olap
      .query<{ line_number: number; colname: string; err_reason: string; raw_field_value: string }>(
        statements.loadErrors,
      )
      .catch(() => ({ rows: [] }));
    throw rejected(
      rows.map((row) => ({
        line: Number(row.line_number),
        column: row.colname,
        reason: row.err_reason,
        value: row.raw_field_value,
      })),
      describeError(error),
    );
  }
  return { rowsCopied: await olap.count(statements.copiedRows), parts: manifest.entries.length };
}
