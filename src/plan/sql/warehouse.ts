import { quoteMysql } from "../identifiers.js";
import type { Statement } from "../actions.js";
import { BACKFILL_MIGRATE_ID } from "./columns.js";

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

export function examsInWindowQuery(database: string, since: string): Statement {
  return {
    sql: `SELECT COUNT(*) AS exams FROM ${quoteMysql(database)}.exam WHERE updated >= ? AND deleted = 0`,
    params: [since],
  };
}

export function examScoreSizeQuery(database: string): Statement {
  return {
    sql: "SELECT table_rows AS exam_score_rows FROM information_schema.tables WHERE table_schema = ? AND table_name = 'exam_score'",
    params: [database],
  };
}

const EXTRACT_COLUMNS = [
  "SELECT wes.id, wes.exam_id, wes.subject_score_id, we.student_id, we.asmt_id, we.school_year,",
  `       wes.scale_score, wes.performance_level, we.completed_at, ${BACKFILL_MIGRATE_ID} AS migrate_id, we.updated, we.update_import_id`,
];

/**
 * The runbook's row selection: exams not deleted, updated in the window, scored; their alt
 * scores. Verification narrows it to the exams listed in a session's temporary `scopeTable`.
 */
export function selection(
  database: string,
  altScoreIds: readonly number[],
  since: string,
  scopeTable?: string,
): Statement {
  const db = quoteMysql(database);
  return {
    sql: [
      `FROM ${db}.exam we`,
      ...(scopeTable ? [`JOIN ${quoteMysql(scopeTable)} scope ON scope.id = we.id`] : []),
      `JOIN ${db}.exam_score wes ON wes.exam_id = we.id`,
      "WHERE we.deleted = 0",
      "  AND we.updated >= ?",
      "  AND we.scale_score IS NOT NULL",
      "  AND we.performance_level IS NOT NULL",
      `  AND wes.subject_score_id IN (${altScoreIds.map(() => "?").join(", ")})`,
    ].join("\n"),
    params: [since, ...altScoreIds],
  };
}

const EXAMPLE_IDS = 5;
export const LOADABLE = "  AND wes.scale_score IS NOT NULL AND wes.performance_level IS NOT NULL";

/**
 * The runbook's extract, in `exam_alt_score` column order, without its filter on the alt
 * performance level: rows with a NULL alt value are streamed too so that they can be counted
 * and reported instead of disappearing (runbook defect 2). Which exam counts is decided
 * against the OLAP `exam` table at merge time, not here.
 */
export function extractQuery(database: string, altScoreIds: readonly number[], since: string): Statement {
  const from = selection(database, altScoreIds, since);
  return { sql: [...EXTRACT_COLUMNS, from.sql].join("\n"), params: from.params };
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
