import type { BoundValue, MysqlStatement, PgStatement } from "../core/statement.js";

/** How long a statement may wait for a lock another session holds, on either server. */
export const LOCK_WAIT_SECONDS = 120;

/** What a warehouse engine can do, as the plan and the steps read it. */
export interface WarehouseCapabilities {
  /** Writes a query's rows to S3 itself (Aurora's `INTO OUTFILE S3`); the tool writes the manifest. */
  extractsToS3: boolean;
  /** Granted roles are inactive until the session runs `SET ROLE` (MySQL 8.0 and Aurora MySQL 3). */
  grantedRolesNeedActivation: boolean;
}

/** What an OLAP engine can do, as the plan and the steps read it. */
export interface OlapCapabilities {
  /**
   * `temporary`: the work tables live in the load session only (their names cannot collide, and
   * they are gone after a crash). `unlogged`: named after the run, visible to every session,
   * dropped after the merge, before a new attempt and by cleanup.
   */
  workTables: "temporary" | "unlogged";
  /**
   * Other sessions can read the work tables: while the replace runs, the merge classifies the
   * rows it did not keep on a second session.
   */
  workTablesShared: boolean;
  /** Where COPY reads the staged rows: from this process (`FROM STDIN`) or from S3 itself. */
  copiesFrom: "stdin" | "s3";
  /** A session can be made read-only, so that a read-only command cannot change anything. */
  readOnlySessions: boolean;
  /** `MERGE` is available (the replace does not need it: DELETE … USING and INSERT run everywhere). */
  merge: boolean;
}

/** Which table the streaming extract reads first (see `MysqlDialect.selection`). */
export type ExtractDriver = "exam" | "exam_score";

/** Ids of the driving table from `low` (inclusive) to `high` (exclusive); null means unbounded. */
export interface IdRange {
  low: number | null;
  high: number | null;
}

/** The lowest and highest id of a table; null when it is empty. */
export interface IdSpan {
  lowest: number | null;
  highest: number | null;
}

/** The rows the back-fill reads from one tenant's warehouse. */
export interface ExtractScope {
  database: string;
  altScoreIds: readonly number[];
  /** UTC, `YYYY-MM-DD HH:MM:SS.ffffff`. */
  since: string;
}

export type { MysqlStatement, PgStatement };

/** One group of verify's comparison: school year, assessment and alt score (placeholders in the plan). */
export type VerifyGroup = readonly [BoundValue, BoundValue, BoundValue];

/** A bitmap of exam ids as verify binds it (bit i of byte i / 8 stands for exam `low + i`); placeholders in the plan. */
export interface ExamBitmapValues {
  low: BoundValue;
  high: BoundValue;
  bits: BoundValue;
}
