import { describeError, StepFailedError } from "../core/errors.js";
import type { PgStatement } from "../core/statement.js";
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

/**
 * The OLAP server (Redshift) reads the manifest's parts from S3 in parallel on its own nodes. An
 * empty manifest (nothing staged) is not handed to COPY, which fails when it finds no files.
 */
export async function serverLoad(
  statements: Extract<LoadSql, { copiesFrom: "s3" }>,
  manifestName: string,
  olap: PgSession,
  staging: StagingStore,
): Promise<LoadResult> {
  const manifest = await readManifest(staging, manifestName);
  for (const statement of statements.prepare) await olap.query(statement);
  if (manifest.entries.length === 0) return { rowsCopied: 0, parts: 0 };
  try {
    await olap.query(statements.copy);
  } catch (error) {
    throw rejected(await loadErrors(statements.loadErrors, olap), describeError(error));
  }
  return { rowsCopied: await olap.count(statements.copiedRows), parts: manifest.entries.length };
}

/** The first source of load errors that has rows for the failed COPY; a missing system table is skipped. */
async function loadErrors(sources: readonly PgStatement[], olap: PgSession): Promise<LoadError[]> {
  for (const source of sources) {
    const { rows } = await olap
      .query<{
        line_number: unknown;
        colname: string;
        err_reason: string;
        raw_field_value?: string;
        file_name?: string;
      }>(source)
      .catch(() => ({ rows: [] }));
    if (rows.length > 0) {
      return rows.map((row) => ({
        line: Number(row.line_number),
        column: row.colname,
        reason: row.err_reason,
        value: row.raw_field_value ?? (row.file_name ? `in ${row.file_name}` : ""),
      }));
    }
  }
  return [];
}
