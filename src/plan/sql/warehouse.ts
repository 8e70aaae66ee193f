import { quoteMysql } from "../identifiers.js";
import type { Statement } from "../actions.js";
import { BACKFILL_MIGRATE_ID, EXAM_ALT_SCORE_COLUMNS, QUOTED_COLUMNS } from "./columns.js";

/** Statements every warehouse session starts with. */
export const WAREHOUSE_SESSION: Statement[] = [
  // TIMESTAMP columns are stored in UTC and rendered in the session zone: read them in UTC,
  // whatever the server's or the operator's zone is (runbook defect 6).
  { sql: "SET time_zone = '+00:00'", params: [] },
  { sql: "SET SESSION TRANSACTION READ ONLY", params: [] },
  // A streamed result may pause while staging catches up; the server must not drop us meanwhile.
  { sql: "SET SESSION net_write_timeout = 3600", params: [] },
];

export function requiredColumnsQuery(database: string, tables: readonly string[]): Statement {
  return {
    sql:
      "SELECT table_name AS table_name, column_name AS column_name FROM information_schema.columns " +
      `WHERE table_schema = ? AND table_name IN (${tables.map(() => "?").join(", ")})`,
    params: [database, ...tables],
  };
}

/** The runbook's alt score lookup: alt scores exist for ICA (1) and summative (3) only. */
export function altScoreIdsQuery(database: string): Statement {
  return {
    sql:
      `SELECT id, subject_id, asmt_type_id FROM ${quoteMysql(database)}.subject_score ` +
      "WHERE asmt_type_id IN (1, 3) AND score_type_id = 2 ORDER BY id",
    params: [],
  };
}

/** Below this many exams the window is counted exactly; above, estimated from a sample. */
export const EXACT_WINDOW_COUNT_BELOW = 500_000;
const SAMPLE_SLICES = 20;
const SAMPLE_SHARE = 0.01;

/**
 * Reads 1% of the exam ids in 20 evenly spread slices, to estimate how many exams are in the
 * window without reading them all (counting 30 million takes half a minute). Exam ids follow
 * the order exams arrived in, so the slices sample every period alike.
 */
export function examsInWindowSampleQuery(
  database: string,
  since: string,
  lowest: number,
  highest: number,
): { statement: Statement; sampledIds: number } {
  const span = highest - lowest + 1;
  const width = Math.max(1, Math.floor((span * SAMPLE_SHARE) / SAMPLE_SLICES));
  // Each slice sits in the middle of its twentieth of the ids, so none leans early or late.
  const bounds = Array.from({ length: SAMPLE_SLICES }, (_, index) => {
    const start = lowest + Math.floor(((index + 0.5) * span) / SAMPLE_SLICES - width / 2);
    return [start, start + width - 1];
  });
  return {
    statement: {
      sql:
        "SELECT COUNT(*) AS sampled, COALESCE(SUM(updated >= ?), 0) AS in_window " +
        `FROM ${quoteMysql(database)}.exam WHERE ${bounds.map(() => "id BETWEEN ? AND ?").join(" OR ")}`,
      params: [since, ...bounds.flat()],
    },
    sampledIds: width * SAMPLE_SLICES,
  };
}

export function examsInWindowQuery(database: string, since: string): Statement {
  return {
    // Deleted exams are counted too: that way the count reads the updated index alone, twice
    // as fast on a large warehouse, for an estimate.
    sql: `SELECT COUNT(*) AS exams FROM ${quoteMysql(database)}.exam WHERE updated >= ?`,
    params: [since],
  };
}

/** Where each `exam_alt_score` column comes from in the warehouse. */
const SOURCE_OF: Record<(typeof EXAM_ALT_SCORE_COLUMNS)[number], string> = {
  id: "wes.id",
  exam_id: "wes.exam_id",
  subject_score_id: "wes.subject_score_id",
  student_id: "we.student_id",
  asmt_id: "we.asmt_id",
  school_year: "we.school_year",
  scale_score: "wes.scale_score",
  performance_level: "wes.performance_level",
  completed_at: "we.completed_at",
  migrate_id: String(BACKFILL_MIGRATE_ID),
  updated: "we.updated",
  update_import_id: "we.update_import_id",
};

/** The runbook's select list, in `exam_alt_score` column order, for Aurora's `INTO OUTFILE S3`. */
const EXTRACT_COLUMNS = (() => {
  const sources = EXAM_ALT_SCORE_COLUMNS.map((column) =>
    column === "migrate_id" ? `${SOURCE_OF[column]} AS migrate_id` : SOURCE_OF[column],
  );
  return [`SELECT ${sources.slice(0, 6).join(", ")},`, `       ${sources.slice(6).join(", ")}`];
})();

/**
 * The runbook's row selection: exams not deleted, updated in the window, scored; their alt
 * scores. Verification narrows it to the exams listed in a session's temporary `scopeTable`.
 */
export function selection(
  database: string,
  altScoreIds: readonly number[],
  since: string,
  scopeTable?: string,
  driver: ExtractDriver = "exam",
): Statement {
  const db = quoteMysql(database);
  const tables =
    driver === "exam_score"
      ? // MySQL's optimizer starts from exam whatever share of it is in the window; over most
        // of the table, scanning exam_score in key order and looking each exam up by its key
        // reads far fewer pages (2.3 times faster on the benchmark's warehouse).
        [
          `FROM ${db}.exam_score wes`,
          `STRAIGHT_JOIN ${db}.exam we ON we.id = wes.exam_id`,
          ...(scopeTable ? [`STRAIGHT_JOIN ${quoteMysql(scopeTable)} scope ON scope.id = we.id`] : []),
        ]
      : [
          `FROM ${db}.exam we`,
          ...(scopeTable ? [`JOIN ${quoteMysql(scopeTable)} scope ON scope.id = we.id`] : []),
          `JOIN ${db}.exam_score wes ON wes.exam_id = we.id`,
        ];
  return {
    sql: [
      ...tables,
      "WHERE we.deleted = 0",
      "  AND we.updated >= ?",
      "  AND we.scale_score IS NOT NULL",
      "  AND we.performance_level IS NOT NULL",
      `  AND wes.subject_score_id IN (${altScoreIds.map(() => "?").join(", ")})`,
    ].join("\n"),
    params: [since, ...altScoreIds],
  };
}

/**
 * Which table the streaming extract reads first: `exam` through its `updated` index when the
 * window holds few of the exams, else `exam_score` in key order (see `selection`).
 */
export type ExtractDriver = "exam" | "exam_score";

export function chooseDriver(examsInWindow: number, examRowsApprox: number): ExtractDriver {
  return examsInWindow * 3 >= examRowsApprox ? "exam_score" : "exam";
}

const EXAMPLE_IDS = 5;
export const LOADABLE = "  AND wes.scale_score IS NOT NULL AND wes.performance_level IS NOT NULL";

/**
 * The staged line, formatted by the server: `CONCAT` renders numbers and timestamps exactly as
 * `INTO OUTFILE` does (FLOAT with 6 significant digits, TIMESTAMP(6) with its microseconds),
 * and no column of the extract is a string that would need escaping. The server does this work
 * spread over the parallel ranges; this process then only appends lines. The line is NULL when
 * any value is: such a row is never staged.
 */
function lineExpression(): string {
  const parts: string[] = [];
  let literal = "";
  EXAM_ALT_SCORE_COLUMNS.forEach((column, index) => {
    const quoted = QUOTED_COLUMNS.has(column);
    literal += (index > 0 ? "," : "") + (quoted ? '"' : "");
    if (literal) parts.push(`'${literal}'`);
    parts.push(SOURCE_OF[column]);
    literal = quoted ? '"' : "";
  });
  if (literal) parts.push(`'${literal}'`);
  return `CONCAT(${parts.join(", ")})`;
}

/** Why a row cannot be staged: an alt value is NULL (runbook defect 2: counted, not lost). */
const REJECTED_REASON =
  "CASE WHEN wes.scale_score IS NULL THEN 'null_scale_score' " +
  "WHEN wes.performance_level IS NULL THEN 'null_performance_level' END";

/** Ids of the driving table from `low` (inclusive) to `high` (exclusive); null means unbounded. */
export interface IdRange {
  low: number | null;
  high: number | null;
}

/**
 * The runbook's extract for one range of ids of the driving table, one row per candidate: the
 * staged line, the reason it is not staged (if any) and the score id. Unlike the runbook it
 * does not drop rows with a NULL alt value, so that they can be counted and reported instead
 * of disappearing (runbook defect 2). Which exam counts is decided against the OLAP `exam`
 * table at merge time.
 */
export function extractQuery(
  database: string,
  altScoreIds: readonly number[],
  since: string,
  driver: ExtractDriver,
  range: IdRange = { low: null, high: null },
): Statement {
  const from = selection(database, altScoreIds, since, undefined, driver);
  const id = driver === "exam_score" ? "wes.id" : "we.id";
  const bounds: string[] = [];
  const params: (string | number)[] = [...from.params];
  if (range.low !== null) {
    bounds.push(`  AND ${id} >= ?`);
    params.push(range.low);
  }
  if (range.high !== null) {
    bounds.push(`  AND ${id} < ?`);
    params.push(range.high);
  }
  return {
    sql: [
      `SELECT ${lineExpression()} AS line,`,
      `       ${REJECTED_REASON} AS rejected,`,
      "       wes.id",
      from.sql,
      ...bounds,
    ].join("\n"),
    params,
  };
}

/**
 * Splits a table's ids into `count` ranges of equal width for parallel reads. The first and
 * last are open-ended, so that rows written since the plan was made are not missed.
 */
export function idRanges(lowest: number | null, highest: number | null, count: number): IdRange[] {
  if (lowest === null || highest === null || count <= 1) return [{ low: null, high: null }];
  const width = Math.ceil((highest - lowest + 1) / count);
  return Array.from({ length: count }, (_, index) => ({
    low: index === 0 ? null : lowest + index * width,
    high: index === count - 1 ? null : lowest + (index + 1) * width,
  }));
}

/** The lowest and highest id and the approximate size of `exam` or `exam_score`. */
export function idSpanQuery(database: string, table: "exam" | "exam_score"): Statement {
  return {
    sql:
      `SELECT MIN(id) AS lowest, MAX(id) AS highest, ` +
      `(SELECT table_rows FROM information_schema.tables WHERE table_schema = ? AND table_name = ?) AS rows_approx ` +
      `FROM ${quoteMysql(database)}.${table}`,
    params: [database, table],
  };
}

/** Aurora's clause; MariaDB and MySQL write the same bytes with a local `INTO OUTFILE`. */
export const OUTFILE_FORMAT = `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\\n'`;

/**
 * Aurora writes the loadable rows to S3 itself (`<target>.part_00000`, … and `<target>.manifest`).
 * No window functions or CTEs, so it runs on Aurora MySQL 2 (MySQL 5.7) as well as 3.
 */
export function auroraExtractStatement(
  database: string,
  altScoreIds: readonly number[],
  since: string,
  s3Target: string,
): Statement {
  const from = selection(database, altScoreIds, since);
  return {
    sql: [
      ...EXTRACT_COLUMNS,
      from.sql,
      LOADABLE,
      `INTO OUTFILE S3 '${s3Target}'`,
      OUTFILE_FORMAT,
      "MANIFEST ON",
      "OVERWRITE ON",
    ].join("\n"),
    params: from.params,
  };
}

/** Rows with a NULL alt value, which Aurora does not write: counted by reason with example ids. */
export function nullAltValuesCensus(
  database: string,
  altScoreIds: readonly number[],
  since: string,
): Statement {
  const from = selection(database, altScoreIds, since);
  return {
    sql: [
      "SELECT IF(wes.scale_score IS NULL, 'null_scale_score', 'null_performance_level') AS reason,",
      "       COUNT(*) AS rejected,",
      "       SUBSTRING_INDEX(GROUP_CONCAT(wes.id ORDER BY wes.id SEPARATOR ','), ',', ?) AS example_ids",
      from.sql,
      "  AND (wes.scale_score IS NULL OR wes.performance_level IS NULL)",
      "GROUP BY reason",
      "ORDER BY reason",
    ].join("\n"),
    params: [EXAMPLE_IDS, ...from.params],
  };
}

export const auroraVersionQuery = (): Statement => ({
  sql: "SELECT @@aurora_version AS version",
  params: [],
});
export const versionQuery = (): Statement => ({ sql: "SELECT version() AS version", params: [] });
export const grantsQuery = (): Statement => ({ sql: "SHOW GRANTS", params: [] });
export const currentUserQuery = (): Statement => ({ sql: "SELECT CURRENT_USER() AS user", params: [] });
export const defaultS3RoleQuery = (): Statement => ({
  sql: "SELECT @@aws_default_s3_role AS role",
  params: [],
});
