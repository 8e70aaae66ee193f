import { quotePg } from "../identifiers.js";
import type { Statement } from "../actions.js";
import { EXAM_ALT_SCORE_COLUMNS, UNIQUE_KEY } from "./columns.js";

const stmt = (sql: string, params: readonly (string | number)[] = []): Statement => ({ sql, params });

/**
 * The tables the load and merge keep their rows in. On Redshift they are temporary: they live
 * in the load session only, so their names cannot collide across tenants or runs. PostgreSQL
 * cannot read temporary tables with parallel workers, so there they are unlogged tables named
 * after the run, dropped after the merge (and before a new attempt, after a crash).
 */
export interface WorkTables {
  kind: "temporary" | "unlogged";
  stage: string;
  rows: string;
}

export const TEMPORARY_WORK_TABLES: WorkTables = {
  kind: "temporary",
  stage: "backfill_stage",
  rows: "backfill_rows",
};

export function unloggedWorkTables(schema: string, runId: string): WorkTables {
  const table = (role: string) => `${quotePg(schema)}.${quotePg(`rdw_backfill_${role}_${runId}`)}`;
  return { kind: "unlogged", stage: table("stage"), rows: table("rows") };
}

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

  private readonly stage: string;
  private readonly rows: string;

  constructor(
    private readonly schema: string,
    private readonly work: WorkTables = TEMPORARY_WORK_TABLES,
  ) {
    this.live = `${quotePg(schema)}.exam_alt_score`;
    this.exam = `${quotePg(schema)}.exam`;
    this.stage = work.stage;
    this.rows = work.rows;
  }

  private createTable(name: string): string {
    return this.work.kind === "temporary" ? `CREATE TEMP TABLE ${name}` : `CREATE UNLOGGED TABLE ${name}`;
  }

  /**
   * PostgreSQL only (Redshift has no such setting): enough memory for the merge's hash joins
   * over millions of rows to stay in memory instead of spilling to disk in batches.
   */
  postgresSession(): Statement[] {
    return [stmt("SET work_mem = '128MB'")];
  }

  /** Drops the work tables (nothing to do for temporary ones, which go with the session). */
  dropWorkTables(): Statement[] {
    if (this.work.kind === "temporary") return [];
    return [stmt(`DROP TABLE IF EXISTS ${this.stage}`), stmt(`DROP TABLE IF EXISTS ${this.rows}`)];
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
    return stmt(`${this.createTable(this.stage)} (LIKE ${this.live})`);
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
        `COPY ${this.stage} (${COLUMN_LIST})`,
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
    return stmt(`COPY ${this.stage} (${COLUMN_LIST}) FROM STDIN WITH (FORMAT csv, NULL '\\N')`);
  }

  /**
   * The OLAP `exam` table holds the exam migrate-olap chose for each (student, asmt, year): a
   * staged row is kept only when its exam is that one (runbook defect 1). Should the warehouse
   * hold two score rows for one exam and alt score, the lowest id wins.
   */
  selectRows(): Statement[] {
    const inOlapExam = [
      `  FROM ${this.stage} s`,
      `  JOIN ${this.exam} e ON e.id = s.exam_id AND e.student_id = s.student_id`,
      "    AND e.asmt_id = s.asmt_id AND e.school_year = s.school_year",
    ];
    if (this.work.kind === "unlogged") {
      // One exam per (student, asmt, year) in OLAP `exam` makes "same key" the same as "same
      // exam and alt score": an anti-join, which PostgreSQL runs in parallel, instead of a sort.
      // Were `exam` ever to hold two exams for one key, the merge's duplicate check would refuse.
      return [
        stmt(
          [
            `${this.createTable(this.rows)} AS`,
            `SELECT ${EXAM_ALT_SCORE_COLUMNS.map((column) => `s.${column}`).join(", ")}`,
            ...inOlapExam,
            `WHERE NOT EXISTS (SELECT 1 FROM ${this.stage} d`,
            "  WHERE d.exam_id = s.exam_id AND d.subject_score_id = s.subject_score_id AND d.id < s.id)",
          ].join("\n"),
        ),
      ];
    }
    const key = UNIQUE_KEY.map((column) => `s.${column}`).join(", ");
    return [
      stmt(`${this.createTable(this.rows)} (LIKE ${this.live})`),
      stmt(
        [
          `INSERT INTO ${this.rows} (${COLUMN_LIST})`,
          `SELECT ${COLUMN_LIST} FROM (`,
          `  SELECT s.*, ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY s.id) AS key_rank`,
          ...inOlapExam,
          ") ranked",
          "WHERE key_rank = 1",
        ].join("\n"),
      ),
    ];
  }

  /** Staged rows not kept, classified by looking their exam up by id, then by key. */
  rejections(examplesPerReason: number): Statement {
    return stmt(
      [
        "SELECT reason, rejected, id, exam_id FROM (",
        "  SELECT c.reason, c.id, c.exam_id, COUNT(*) OVER (PARTITION BY c.reason) AS rejected,",
        "         ROW_NUMBER() OVER (PARTITION BY c.reason ORDER BY c.id) AS example_rank",
        "  FROM (",
        "    SELECT s.id, s.exam_id, CASE",
        "        WHEN same_id.student_id = s.student_id AND same_id.asmt_id = s.asmt_id",
        "          AND same_id.school_year = s.school_year THEN 'duplicate_score_row'",
        "        WHEN same_id.id IS NOT NULL THEN 'olap_exam_differs'",
        "        WHEN latest.id IS NOT NULL THEN 'superseded_exam'",
        "        ELSE 'exam_not_in_olap' END AS reason",
        "    FROM (",
        `      SELECT s.* FROM ${this.stage} s LEFT JOIN ${this.rows} b ON b.id = s.id WHERE b.id IS NULL`,
        "    ) s",
        `    LEFT JOIN ${this.exam} same_id ON same_id.id = s.exam_id`,
        `    LEFT JOIN ${this.exam} latest ON latest.student_id = s.student_id`,
        "      AND latest.asmt_id = s.asmt_id AND latest.school_year = s.school_year",
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
    return stmt(`DELETE FROM ${this.live} USING ${this.rows} b WHERE ${match}`);
  }

  insertRows(): Statement {
    return stmt(`INSERT INTO ${this.live} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${this.rows}`);
  }

  /**
   * One pass over the live rows that share a key with a back-filled row: as many as were
   * back-filled when no key occurs twice, and as many equal in every column when each holds
   * the warehouse's values.
   */
  checkLiveRows(): Statement {
    const join = UNIQUE_KEY.map((column) => `t.${column} = b.${column}`).join(" AND ");
    const equal = EXAM_ALT_SCORE_COLUMNS.map((column) => `t.${column} = b.${column}`).join(" AND ");
    return stmt(
      `SELECT count(*) AS key_matches, count(CASE WHEN ${equal} THEN 1 END) AS equal_rows ` +
        `FROM ${this.live} t JOIN ${this.rows} b ON ${join}`,
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
}
