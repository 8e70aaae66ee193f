import { quotePg } from "../identifiers.js";
import type { Statement } from "../actions.js";
import { EXAM_ALT_SCORE_COLUMNS, UNIQUE_KEY } from "./columns.js";

const stmt = (sql: string, params: readonly (string | number)[] = []): Statement => ({ sql, params });

/** Temporary tables live in the load session only, so their names cannot collide across tenants or runs. */
export const STAGE_TABLE = "backfill_stage";
export const ROWS_TABLE = "backfill_rows";

const COLUMN_LIST = EXAM_ALT_SCORE_COLUMNS.join(", ");

/** Statements every OLAP session starts with. */
export const OLAP_SESSION: Statement[] = [
  // The staged files hold UTC timestamps without an offset; timestamptz reads them in the
  // session zone, so the session must be UTC (runbook defect 6).
  { sql: "SET timezone TO 'UTC'", params: [] },
];

/** Rows the last COPY of this session rejected (Redshift system table). */
export const redshiftLoadErrorsQuery = (limit: number): Statement =>
  stmt(
    "SELECT line_number, trim(colname) AS colname, trim(err_reason) AS err_reason, trim(raw_field_value) AS raw_field_value " +
      "FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT $1",
    [limit],
  );

/** Rows the last COPY of this session loaded (Redshift). */
export const redshiftCopiedRowsQuery = (): Statement => stmt("SELECT pg_last_copy_count() AS n");

export const olapVersionQuery = (): Statement => stmt("SELECT version() AS version");

/**
 * How COPY authenticates to S3: `IAM_ROLE 'arn…'`, or the older `CREDENTIALS 'aws_iam_role=arn…'`
 * the runbook uses. A configured value that already starts with `aws_iam_role=` keeps that form.
 */
export function redshiftAuthorization(role: string, form: "iam-role" | "credentials"): string {
  if (role.startsWith("aws_iam_role=")) return `CREDENTIALS '${role}'`;
  return form === "credentials" ? `CREDENTIALS 'aws_iam_role=${role}'` : `IAM_ROLE '${role}'`;
}

export const currentSchemaQuery = (): Statement => stmt("SELECT current_schema() AS schema");

export function requiredColumnsQuery(schema: string, tables: readonly string[]): Statement {
  return stmt(
    "SELECT table_name, column_name FROM information_schema.columns " +
      `WHERE table_schema = $1 AND table_name IN (${tables.map((_, i) => `$${i + 2}`).join(", ")})`,
    [schema, ...tables],
  );
}

export class OlapSql {
  private readonly live: string;
  private readonly exam: string;

  constructor(private readonly schema: string) {
    this.live = `${quotePg(schema)}.exam_alt_score`;
    this.exam = `${quotePg(schema)}.exam`;
  }

  countLive(): Statement {
    return stmt(`SELECT count(*) AS n FROM ${this.live}`);
  }

  backup(backupTable: string): Statement[] {
    const backup = `${quotePg(this.schema)}.${quotePg(backupTable)}`;
    return [
      stmt(`CREATE TABLE ${backup} (LIKE ${this.live})`),
      stmt(`INSERT INTO ${backup} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${this.live}`),
    ];
  }

  createStage(): Statement {
    return stmt(`CREATE TEMP TABLE ${STAGE_TABLE} (LIKE ${this.live})`);
  }

  /**
   * Redshift reads the parts listed in the manifest from S3 itself. `NULL AS '\\N'` because
   * Redshift string literals treat the backslash as an escape; `MAXERROR 0` so that no row is
   * dropped silently (runbook defect 2); the staged timestamps are UTC, which is how
   * `TIMEFORMAT 'auto'` reads a value without an offset into a timestamptz.
   */
  copyStageFromS3(manifestUri: string, authorization: string): Statement {
    return stmt(
      [
        `COPY ${STAGE_TABLE} (${COLUMN_LIST})`,
        `FROM '${manifestUri}'`,
        authorization,
        "FORMAT AS CSV",
        "NULL AS '\\\\N'",
        "TIMEFORMAT 'auto'",
        "MANIFEST",
        "COMPUPDATE OFF",
        "STATUPDATE OFF",
        "MAXERROR 0",
      ].join("\n"),
    );
  }

  copyStageFromStdin(): Statement {
    return stmt(`COPY ${STAGE_TABLE} (${COLUMN_LIST}) FROM STDIN WITH (FORMAT csv, NULL '\\N')`);
  }

  /**
   * The OLAP `exam` table holds the exam migrate-olap chose for each (student, asmt, year): a
   * staged row is kept only when its exam is that one (runbook defect 1). Should the warehouse
   * hold two score rows for one exam and alt score, the lowest id wins.
   */
  selectRows(): Statement[] {
    const key = UNIQUE_KEY.map((column) => `s.${column}`).join(", ");
    return [
      stmt(`CREATE TEMP TABLE ${ROWS_TABLE} (LIKE ${this.live})`),
      stmt(
        [
          `INSERT INTO ${ROWS_TABLE} (${COLUMN_LIST})`,
          `SELECT ${COLUMN_LIST} FROM (`,
          `  SELECT s.*, ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY s.id) AS key_rank`,
          `  FROM ${STAGE_TABLE} s`,
          `  JOIN ${this.exam} e ON e.id = s.exam_id AND e.student_id = s.student_id`,
          "    AND e.asmt_id = s.asmt_id AND e.school_year = s.school_year",
          ") ranked",
          "WHERE key_rank = 1",
        ].join("\n"),
      ),
    ];
  }

  rejections(examplesPerReason: number): Statement {
    return stmt(
      [
        "SELECT reason, rejected, id, exam_id FROM (",
        "  SELECT c.reason, c.id, c.exam_id, COUNT(*) OVER (PARTITION BY c.reason) AS rejected,",
        "         ROW_NUMBER() OVER (PARTITION BY c.reason ORDER BY c.id) AS example_rank",
        "  FROM (",
        "    SELECT s.id, s.exam_id, CASE",
        "        WHEN same_exam.id IS NOT NULL THEN 'duplicate_score_row'",
        "        WHEN same_id.id IS NOT NULL THEN 'olap_exam_differs'",
        "        WHEN latest.id IS NOT NULL THEN 'superseded_exam'",
        "        ELSE 'exam_not_in_olap' END AS reason",
        `    FROM ${STAGE_TABLE} s`,
        `    LEFT JOIN ${ROWS_TABLE} b ON b.id = s.id`,
        `    LEFT JOIN ${this.exam} same_exam ON same_exam.id = s.exam_id AND same_exam.student_id = s.student_id`,
        "      AND same_exam.asmt_id = s.asmt_id AND same_exam.school_year = s.school_year",
        `    LEFT JOIN ${this.exam} same_id ON same_id.id = s.exam_id`,
        `    LEFT JOIN ${this.exam} latest ON latest.student_id = s.student_id`,
        "      AND latest.asmt_id = s.asmt_id AND latest.school_year = s.school_year",
        "    WHERE b.id IS NULL",
        "  ) c",
        ") r",
        "WHERE example_rank <= $1",
        "ORDER BY reason, id",
      ].join("\n"),
      [examplesPerReason],
    );
  }

  /** Replaces only the rows that share a unique key with a back-filled row (runbook defect 4). */
  deleteReplaced(): Statement {
    const match = UNIQUE_KEY.map((column) => `${this.live}.${column} = b.${column}`).join(" AND ");
    return stmt(`DELETE FROM ${this.live} USING ${ROWS_TABLE} b WHERE ${match}`);
  }

  insertRows(): Statement {
    return stmt(`INSERT INTO ${this.live} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${ROWS_TABLE}`);
  }

  /** Keys of back-filled rows that occur more than once in the live table. */
  countDuplicateKeys(): Statement {
    const join = UNIQUE_KEY.map((column) => `t.${column} = b.${column}`).join(" AND ");
    const key = UNIQUE_KEY.map((column) => `t.${column}`).join(", ");
    return stmt(
      `SELECT count(*) AS n FROM (SELECT ${key} FROM ${this.live} t JOIN ${ROWS_TABLE} b ON ${join} ` +
        `GROUP BY ${key} HAVING count(*) > 1) d`,
    );
  }

  /** One row per tenant schema names the run that is working on it. */
  lock(): {
    create: Statement;
    lockTable: Statement;
    read: Statement;
    clear: Statement;
    take: Statement;
    release: Statement;
  } {
    const table = `${quotePg(this.schema)}.rdw_backfill_lock`;
    return {
      create: stmt(
        `CREATE TABLE IF NOT EXISTS ${table} (run_id VARCHAR(64) NOT NULL, host VARCHAR(255) NOT NULL, ` +
          "pid INTEGER NOT NULL, acquired_at TIMESTAMPTZ NOT NULL)",
      ),
      // Both PostgreSQL and Redshift accept LOCK TABLE (Redshift has no lock modes); it serializes takers.
      lockTable: stmt(`LOCK TABLE ${table}`),
      read: stmt(`SELECT run_id, host, pid, acquired_at FROM ${table}`),
      clear: stmt(`DELETE FROM ${table}`),
      take: stmt(`INSERT INTO ${table} (run_id, host, pid, acquired_at) VALUES ($1, $2, $3, $4)`),
      release: stmt(`DELETE FROM ${table} WHERE run_id = $1`),
    };
  }

  /** The rollback: the live table becomes the backup again, in one transaction. */
  restoreFromBackup(backupTable: string): Statement[] {
    const backup = `${quotePg(this.schema)}.${quotePg(backupTable)}`;
    return [
      stmt(`DELETE FROM ${this.live}`),
      stmt(`INSERT INTO ${this.live} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${backup}`),
    ];
  }

  /** Students per performance level for each school year and alt score, over a whole table. */
  levelDistribution(table: string): Statement {
    return stmt(
      "SELECT school_year, subject_score_id, performance_level AS level, count(DISTINCT student_id) AS students " +
        `FROM ${quotePg(this.schema)}.${quotePg(table)} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
  }

  countTable(table: string): Statement {
    return stmt(`SELECT count(*) AS n FROM ${quotePg(this.schema)}.${quotePg(table)}`);
  }

  dropTable(table: string): Statement {
    return stmt(`DROP TABLE IF EXISTS ${quotePg(this.schema)}.${quotePg(table)}`);
  }

  tableExists(table: string): Statement {
    return stmt(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
      [this.schema, table],
    );
  }

  countMatchingLiveRows(): Statement {
    const equal = EXAM_ALT_SCORE_COLUMNS.map((column) => `t.${column} = b.${column}`).join(" AND ");
    return stmt(`SELECT count(*) AS n FROM ${this.live} t JOIN ${ROWS_TABLE} b ON ${equal}`);
  }
}
