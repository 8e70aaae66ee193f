import type { Statement } from "../plan/actions.js";
import { quoteMysql, quotePg } from "../plan/identifiers.js";
import { type ExtractDriver, LOADABLE, selection } from "../plan/sql/warehouse.js";

/** Session-private table of the OLAP exams in scope, for the warehouse side of the comparison. */
export const SCOPE_TABLE = "rdw_verify_scope";

/** The group the comparison works in: small enough to drill into, few enough to list. */
const GROUP = ["school_year", "asmt_id", "subject_score_id"] as const;

const stmt = (sql: string, params: readonly (string | number)[] = []): Statement => ({ sql, params });

export const warehouseSql = {
  createScope: () => stmt(`CREATE TEMPORARY TABLE ${quoteMysql(SCOPE_TABLE)} (id BIGINT PRIMARY KEY)`),
  insertScope: (ids: readonly string[]) =>
    stmt(`INSERT INTO ${quoteMysql(SCOPE_TABLE)} (id) VALUES ${ids.map(() => "(?)").join(", ")}`, ids),

  /** Per group: rows, the sum of their ids, and sums of the values, over the rows the back-fill should load. */
  groups(database: string, altScoreIds: readonly number[], since: string, driver: ExtractDriver): Statement {
    const from = selection(database, altScoreIds, since, SCOPE_TABLE, driver);
    return stmt(
      [
        "SELECT we.school_year, we.asmt_id, wes.subject_score_id, COUNT(*) AS n, SUM(wes.id) AS ids,",
        "       SUM(wes.scale_score) AS scale, SUM(wes.performance_level) AS levels,",
        "       SUM(UNIX_TIMESTAMP(we.completed_at)) AS completed, SUM(UNIX_TIMESTAMP(we.updated)) AS updated",
        from.sql,
        LOADABLE,
        "GROUP BY we.school_year, we.asmt_id, wes.subject_score_id",
      ].join("\n"),
      from.params,
    );
  },

  groupRows(
    database: string,
    altScoreIds: readonly number[],
    since: string,
    group: readonly number[],
    driver: ExtractDriver,
  ): Statement {
    const from = selection(database, altScoreIds, since, SCOPE_TABLE, driver);
    return stmt(
      [
        "SELECT wes.id, wes.scale_score, wes.performance_level, we.completed_at, we.updated",
        from.sql,
        LOADABLE,
        "  AND we.school_year = ? AND we.asmt_id = ? AND wes.subject_score_id = ?",
      ].join("\n"),
      [...from.params, ...group],
    );
  },

  /** Students per performance level, as the Alt Score aggregate report counts them. */
  levels(database: string, altScoreIds: readonly number[], since: string, driver: ExtractDriver): Statement {
    const from = selection(database, altScoreIds, since, SCOPE_TABLE, driver);
    return stmt(
      [
        "SELECT we.school_year, we.asmt_id, wes.subject_score_id, wes.performance_level AS level,",
        "       COUNT(DISTINCT we.student_id) AS students",
        from.sql,
        LOADABLE,
        "GROUP BY we.school_year, we.asmt_id, wes.subject_score_id, wes.performance_level",
      ].join("\n"),
      from.params,
    );
  },
};

export class OlapVerifySql {
  private readonly live: string;
  private readonly exam: string;

  constructor(schema: string) {
    this.live = `${quotePg(schema)}.exam_alt_score`;
    this.exam = `${quotePg(schema)}.exam`;
  }

  /** One page of the ids of OLAP exams in scope (keyset pagination keeps memory flat). */
  scopePage(since: string, afterId: string, pageSize: number): Statement {
    return stmt(`SELECT id FROM ${this.exam} WHERE updated >= $1 AND id > $2 ORDER BY id LIMIT $3`, [
      since,
      afterId,
      pageSize,
    ]);
  }

  private inScope(altScoreIds: readonly number[]): string {
    return [
      `FROM ${this.live} t`,
      `JOIN ${this.exam} e ON e.id = t.exam_id AND e.student_id = t.student_id AND e.asmt_id = t.asmt_id AND e.school_year = t.school_year`,
      `WHERE e.updated >= $1 AND t.subject_score_id IN (${altScoreIds.map((_, i) => `$${i + 2}`).join(", ")})`,
    ].join("\n");
  }

  groups(altScoreIds: readonly number[], since: string): Statement {
    return stmt(
      [
        "SELECT t.school_year, t.asmt_id, t.subject_score_id, count(*) AS n, sum(t.id) AS ids,",
        "       sum(t.scale_score) AS scale, sum(t.performance_level) AS levels,",
        "       sum(extract(epoch FROM t.completed_at)) AS completed, sum(extract(epoch FROM t.updated)) AS updated",
        this.inScope(altScoreIds),
        `GROUP BY ${GROUP.map((c) => `t.${c}`).join(", ")}`,
      ].join("\n"),
      [since, ...altScoreIds],
    );
  }

  groupRows(altScoreIds: readonly number[], since: string, group: readonly number[]): Statement {
    const n = altScoreIds.length + 2;
    return stmt(
      [
        "SELECT t.id, t.scale_score, t.performance_level,",
        "       to_char(t.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS completed_at,",
        "       to_char(t.updated AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS updated",
        this.inScope(altScoreIds),
        `  AND t.school_year = $${n} AND t.asmt_id = $${n + 1} AND t.subject_score_id = $${n + 2}`,
      ].join("\n"),
      [since, ...altScoreIds, ...group],
    );
  }

  levels(altScoreIds: readonly number[], since: string): Statement {
    return stmt(
      [
        "SELECT t.school_year, t.asmt_id, t.subject_score_id, t.performance_level AS level,",
        "       count(DISTINCT t.student_id) AS students",
        this.inScope(altScoreIds),
        "GROUP BY t.school_year, t.asmt_id, t.subject_score_id, t.performance_level",
      ].join("\n"),
      [since, ...altScoreIds],
    );
  }

  /** Keys held by more than one row, anywhere in the table. */
  duplicateKeys(limit: number): Statement {
    return stmt(
      [
        "SELECT school_year, asmt_id, student_id, subject_score_id, count(*) AS n, min(id) AS first_id, max(id) AS last_id,",
        "       count(*) OVER () AS keys",
        `FROM ${this.live}`,
        "GROUP BY school_year, asmt_id, student_id, subject_score_id",
        "HAVING count(*) > 1",
        "ORDER BY min(id)",
        "LIMIT $1",
      ].join("\n"),
      [limit],
    );
  }

  /** Rows whose exam is not in OLAP `exam` with the same student, assessment and school year. */
  orphans(limit: number): Statement {
    return stmt(
      [
        "SELECT t.id, count(*) OVER () AS orphans",
        `FROM ${this.live} t`,
        `LEFT JOIN ${this.exam} e ON e.id = t.exam_id AND e.student_id = t.student_id AND e.asmt_id = t.asmt_id AND e.school_year = t.school_year`,
        "WHERE e.id IS NULL",
        "ORDER BY t.id",
        "LIMIT $1",
      ].join("\n"),
      [limit],
    );
  }
}
