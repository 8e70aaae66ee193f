import { EXAM_ALT_SCORE_COLUMNS, QUOTED_COLUMNS, UNIQUE_KEY } from "../core/columns.js";
import type { BoundValue, PgStatement, StatementBuilder } from "../core/statement.js";
import { builder, quotePg, sql } from "./postgres-quote.js";
import { RollbackSql } from "./rollback.js";
import { LOCK_WAIT_SECONDS, type OlapCapabilities, type VerifyGroup } from "./types.js";

export { builder, POSTGRES_WIRE, quotePg, sql } from "./postgres-quote.js";

export const COLUMN_LIST = EXAM_ALT_SCORE_COLUMNS.join(", ");

/** The keep pass's mark on each row of the `rows` work table; only kept rows are back-filled. */
const VERDICT = { kept: 0, examDiffers: 1, examNotFound: 2 } as const;

/** The IAM role a server-side COPY reads S3 with, and the form it is given in. */
export interface S3Access {
  /** `migrate.aws.redshift.role`; absent when not configured (the preflight says so). */
  role: string | undefined;
  form: "iam-role" | "credentials";
}

/** How the staging table is filled, as the load action shows it. */
export type LoadSql =
  | {
      copiesFrom: "stdin";
      /** Work tables an interrupted attempt may have left are dropped, then the stage is created. */
      prepare: PgStatement[];
      /** `COPY … FROM STDIN`, fed by the extract as it streams, or with each staged part. */
      copy: PgStatement;
    }
  | {
      copiesFrom: "s3";
      prepare: PgStatement[];
      /** `COPY … FROM '<manifest>' … MANIFEST`: the server reads the parts from S3. */
      copy: PgStatement;
      copiedRows: PgStatement;
      /**
       * Read when COPY fails, to report line, column and reason: the first that answers with
       * rows (provisioned clusters keep them in `stl_load_errors`, Serverless in `sys_load_error_detail`).
       */
      loadErrors: PgStatement[];
    };

/** The statements of the tenant lock: one row per tenant schema names the run working on it. */
export interface LockSql {
  /** Read-only, before migrate-olap is stopped: does the lock table exist (then `read` tells who holds it). */
  exists: PgStatement;
  create: PgStatement;
  lockTable: PgStatement;
  read: PgStatement;
  clear: PgStatement;
  take: PgStatement;
  release: PgStatement;
}

/** What taking the lock runs (and `plan` peeks with): all but the release, which `unlock` runs. */
export type TakeLockSql = Omit<LockSql, "release">;

/** PostgreSQL: every statement the back-fill sends to an OLAP database. Redshift extends it. */
export class PostgresDialect {
  readonly name: string = "postgres";
  readonly label: string = "PostgreSQL";
  readonly capabilities: OlapCapabilities = {
    // PostgreSQL cannot read temporary tables with parallel workers, and another session cannot
    // see them; unlogged tables skip the WAL as temporary ones do.
    workTables: "unlogged",
    workTablesShared: true,
    copiesFrom: "stdin",
    readOnlySessions: true,
    merge: true,
  };

  /** What every session can run before the engine is known: both engines accept it. */
  probeSession(): PgStatement[] {
    // The staged files hold UTC timestamps without an offset; timestamptz reads them in the
    // session zone, so the session must be UTC (runbook defect 6).
    return [sql("SET timezone TO 'UTC'")];
  }

  /** Statements every session starts with. */
  session(options: { readOnly: boolean }): PgStatement[] {
    const readOnly = options.readOnly && this.capabilities.readOnlySessions;
    return [
      ...this.probeSession(),
      ...this.memorySettings(),
      ...this.compilerSettings(),
      ...this.joinSettings(),
      ...this.lockWaitSettings(),
      ...(readOnly ? [sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")] : []),
    ];
  }

  /**
   * PostgreSQL's default `work_mem`, whatever the server's: hash joins and aggregates over
   * millions of rows run faster in batches whose hash tables fit the CPU's caches than in one
   * table of hundreds of MB (on the benchmark's lean tenant, 4 MB against 128 MB: the keep pass
   * 2.4 s against 4.6 s, the census 4.1 against 5.0, verify's pass 4.8 against 5.7, its key check
   * 2.3 against 3.6). The replace's DELETE is the exception (`replaceMemory`).
   */
  protected memorySettings(): PgStatement[] {
    return [sql("SET work_mem = '4MB'")];
  }

  /**
   * No JIT compilation: its inlining and optimization cost more than they save on these
   * statements, each of which runs once (the merge's census of rows not kept: 9.2 s with JIT,
   * 7.2 s without, on the benchmark's lean tenant).
   */
  protected compilerSettings(): PgStatement[] {
    return [sql("SET jit = off")];
  }

  /**
   * No nested loops: every join this tool runs pairs tables of up to millions of rows on keys
   * whose columns depend on each other (an exam id fixes its student, assessment and year).
   * PostgreSQL multiplies the columns' selectivities, estimates one row, and may then loop over
   * the whole stage for every staged row: the keep pass of a 730,000-row tenant ran for 40 minutes
   * with `max_parallel_workers_per_gather = 0` before it was stopped, and took 1.4 s without
   * nested loops. Hash and merge joins do not depend on that estimate being right.
   */
  protected joinSettings(): PgStatement[] {
    return [sql("SET enable_nestloop = off")];
  }

  /**
   * A lock held elsewhere (a DDL, an open transaction on the lock table) would otherwise hold a
   * statement forever; after two minutes it fails with 55P03 and the attempt is retried.
   */
  protected lockWaitSettings(): PgStatement[] {
    return [sql(`SET lock_timeout = '${LOCK_WAIT_SECONDS}s'`)];
  }

  version(): PgStatement {
    return sql("SELECT version() AS version");
  }

  currentSchema(): PgStatement {
    return sql("SELECT current_schema() AS schema");
  }

  requiredColumns(schema: string, tables: readonly string[]): PgStatement {
    const q = builder();
    return q.build(
      "SELECT table_name, column_name FROM information_schema.columns " +
        `WHERE table_schema = ${q.bind(schema)} AND table_name IN (${q.bindAll(tables)})`,
    );
  }

  /**
   * The cluster's free space and a table's size, in MB, when the engine tells them through SQL;
   * PostgreSQL does not know its disk's free space.
   */
  diskSpace(_schema: string): { free: PgStatement; tableSize: PgStatement } | undefined {
    return undefined;
  }

  /**
   * A session whose statements run beside others that keep the cores busy: one process, no
   * parallel workers. The merge's second session reads the kept rows while the replace (a DELETE
   * and an INSERT, which PostgreSQL runs in one process) runs on the first: parallel workers there
   * would take the replace's core. Verify's key check is a hash aggregate whose parallel form sorts
   * the workers' partial groups: 2.3 s alone in one process, 3.3 s with two workers.
   */
  singleProcess(): PgStatement[] {
    return [sql("SET max_parallel_workers_per_gather = 0")];
  }

  /** The statements on one tenant schema; those on work tables need the run they belong to. */
  tenant(schema: string, runId?: string): PostgresTenantSql {
    return new PostgresTenantSql(schema, runId, this.capabilities.workTables);
  }
}

/** The statements on one tenant schema; the work tables are of the kind the dialect declares. */
export class PostgresTenantSql {
  protected readonly live: string;
  protected readonly exam: string;

  constructor(
    readonly schema: string,
    readonly runId: string | undefined,
    private readonly workTables: OlapCapabilities["workTables"],
  ) {
    this.live = `${quotePg(schema)}.exam_alt_score`;
    this.exam = `${quotePg(schema)}.exam`;
  }

  /** The table COPY fills. */
  get stage(): string {
    return this.workTable("stage");
  }

  /** The staged rows but twins, each with the keep pass's verdict (see `selectRows`). */
  get rows(): string {
    return this.workTable("rows");
  }

  /** Temporary tables live in their session, so their names cannot collide; unlogged ones are named after the run. */
  private workTable(role: "stage" | "rows"): string {
    if (this.workTables === "temporary") return `backfill_${role}`;
    if (this.runId === undefined) throw new Error("internal: work tables are named after a run");
    return `${quotePg(this.schema)}.${quotePg(`rdw_backfill_${role}_${this.runId}`)}`;
  }

  private createWorkTable(name: string): string {
    return this.workTables === "temporary" ? `CREATE TEMP TABLE ${name}` : `CREATE UNLOGGED TABLE ${name}`;
  }

  /** Drops the work tables (temporary ones go with their session: nothing to drop). */
  dropWorkTables(): PgStatement[] {
    if (this.workTables === "temporary") return [];
    return [sql(`DROP TABLE IF EXISTS ${this.stage}`), sql(`DROP TABLE IF EXISTS ${this.rows}`)];
  }

  countLive(): PgStatement {
    return sql(`SELECT count(*) AS n FROM ${this.live}`);
  }

  /**
   * The whole table, copied in the backup step's transaction. `CREATE TABLE … AS` writes in bulk,
   * faster than an INSERT into a table made first (2.0 s against 2.9 s for 2.7 million rows on
   * the benchmark's machine); the copy has the columns and types, not the NOT NULL constraints,
   * which nothing reads it for.
   */
  backup(backupTable: string): PgStatement[] {
    return [sql(`CREATE TABLE ${this.table(backupTable)} AS SELECT ${COLUMN_LIST} FROM ${this.live}`)];
  }

  createStage(): PgStatement {
    return sql(`${this.createWorkTable(this.stage)} (LIKE ${this.live})`);
  }

  /** This process feeds COPY; the manifest and S3 access are for servers that read S3 themselves. */
  load(_manifestUri: string, _access: S3Access): LoadSql {
    return {
      copiesFrom: "stdin",
      prepare: [...this.dropWorkTables(), this.createStage()],
      copy: sql(`COPY ${this.stage} (${COLUMN_LIST}) FROM STDIN WITH (FORMAT csv, NULL '\\N')`),
    };
  }

  /**
   * Every staged row but its twins, each with its verdict (`VERDICT`): the OLAP `exam` table
   * holds the exam migrate-olap chose for each (student, asmt, year), so a staged row is kept
   * only when its exam is that one (runbook defect 1). Should the warehouse hold two score rows
   * for one exam and alt score (twins), the lowest id stays and the others are left out. The rows
   * not kept stay in the table, marked, so that the census reads them rather than finding them
   * again by joining the stage with the kept rows (3.2 s of the census's 5.6 s on the benchmark's
   * lean tenant); the statements that read the kept rows take `verdict = 0`.
   */
  selectRows(): PgStatement[] {
    return this.keepPass("leave twins out");
  }

  /**
   * The keep pass when the extract saw every staged row and no twins among them: the same marks,
   * without looking for twins (a quarter to a third of the pass's time: 2.5–2.7 s against 3.7–4.0 s
   * on the benchmark's lean stage).
   */
  selectRowsNoTwins(): PgStatement[] {
    return this.keepPass("no twins");
  }

  /**
   * Settings for the keep pass's own transaction: parallel workers for it even when PostgreSQL
   * would rather not. Its CREATE TABLE AS writes every row through the leader, so the planner
   * prices each row the workers hand over (`parallel_tuple_cost`) and, without the twins'
   * anti-join, keeps the join in one process: 3.6 s against 2.5–2.8 s with workers on the
   * benchmark's lean stage (2.7 million rows), 5.0 s against 4.3 s inside a run. None for
   * temporary tables, which PostgreSQL never scans in parallel (Redshift has no such settings).
   */
  keepPassSettings(): PgStatement[] {
    if (this.workTables === "temporary") return [];
    return [sql("SET LOCAL parallel_setup_cost = 0"), sql("SET LOCAL parallel_tuple_cost = 0")];
  }

  private keepPass(mode: "leave twins out" | "no twins"): PgStatement[] {
    const columns = EXAM_ALT_SCORE_COLUMNS.map((column) => `s.${column}`).join(", ");
    const verdict = this.verdictOf("s", "e");
    const classify = `  FROM ${this.stage} s LEFT JOIN ${this.exam} e ON e.id = s.exam_id`;
    const marked = [`SELECT ${columns},`, `  ${verdict} AS verdict`, classify];
    if (this.workTables === "temporary") {
      // A temporary table is read by one process anyway: one window function over the join. The
      // table is made empty and filled by an INSERT, whose count the merge reads: Redshift is
      // "based on PostgreSQL 8.0.2", and CREATE TABLE AS reports its row count from 9.0 on.
      const createEmpty = sql([`${this.createWorkTable(this.rows)} AS`, ...marked, "WHERE 1 = 0"]);
      const insert = `INSERT INTO ${this.rows} (${COLUMN_LIST}, verdict)`;
      if (mode === "no twins") return [createEmpty, sql([insert, ...marked])];
      return [
        createEmpty,
        sql([
          insert,
          `SELECT ${COLUMN_LIST}, verdict FROM (`,
          `  SELECT ${columns},`,
          `    ${verdict} AS verdict,`,
          "    ROW_NUMBER() OVER (PARTITION BY s.exam_id, s.subject_score_id ORDER BY s.id) AS twin_rank",
          classify,
          ") ranked",
          "WHERE twin_rank = 1",
        ]),
      ];
    }
    const create = `${this.createWorkTable(this.rows)} AS`;
    if (mode === "no twins") return [sql([create, ...marked])];
    // An anti-join, which PostgreSQL runs in parallel on unlogged tables, instead of a sort.
    return [
      sql([
        create,
        ...marked,
        `WHERE NOT EXISTS (SELECT 1 FROM ${this.stage} d`,
        "  WHERE d.exam_id = s.exam_id AND d.subject_score_id = s.subject_score_id AND d.id < s.id)",
      ]),
    ];
  }

  /**
   * Kept when the OLAP exam with the row's exam id has the row's student, asmt and year. One
   * exam per (student, asmt, year) in OLAP `exam` makes the kept rows one per unique key; were
   * `exam` ever to hold two exams for one key, the merge's duplicate check would refuse.
   */
  private verdictOf(staged: string, exam: string): string {
    const sameKey = ["student_id", "asmt_id", "school_year"]
      .map((column) => `${exam}.${column} = ${staged}.${column}`)
      .join(" AND ");
    return (
      `CASE WHEN ${exam}.id IS NULL THEN ${VERDICT.examNotFound} ` +
      `WHEN ${sameKey} THEN ${VERDICT.kept} ELSE ${VERDICT.examDiffers} END`
    );
  }

  /**
   * Staged rows not kept, by reason, with their lowest ids as examples: the marked rows, whose
   * exam not found by id is looked up by key (a retake, or not in OLAP at all). `withTwins` also
   * classifies the twins, which the keep pass left out of the table: the staged rows it does not
   * hold, found by a join of the stage with it. Read only when there are twins (rarely).
   */
  rejections(examplesPerReason: number): { marked: PgStatement; withTwins: PgStatement } {
    const census = (sources: string[]) => {
      const q = builder();
      return q.build([
        "SELECT reason, rejected, id, exam_id FROM (",
        "  SELECT c.reason, c.id, c.exam_id, COUNT(*) OVER (PARTITION BY c.reason) AS rejected,",
        "         ROW_NUMBER() OVER (PARTITION BY c.reason ORDER BY c.id) AS example_rank",
        "  FROM (",
        ...sources,
        "  ) c",
        ") r",
        `WHERE example_rank <= ${q.limit(examplesPerReason)}`,
        "ORDER BY reason, id",
      ]);
    };
    const marked = [
      "    SELECT m.id, m.exam_id, CASE",
      `        WHEN m.verdict = ${VERDICT.examDiffers} THEN 'olap_exam_differs'`,
      "        WHEN latest.id IS NOT NULL THEN 'superseded_exam'",
      "        ELSE 'exam_not_in_olap' END AS reason",
      `    FROM ${this.rows} m`,
      ...this.examByKey("m", ` AND m.verdict = ${VERDICT.examNotFound}`),
      `    WHERE m.verdict <> ${VERDICT.kept}`,
    ];
    const twins = [
      "    SELECT t.id, t.exam_id, CASE",
      "        WHEN same_id.student_id = t.student_id AND same_id.asmt_id = t.asmt_id",
      "          AND same_id.school_year = t.school_year THEN 'duplicate_score_row'",
      "        WHEN same_id.id IS NOT NULL THEN 'olap_exam_differs'",
      "        WHEN latest.id IS NOT NULL THEN 'superseded_exam'",
      "        ELSE 'exam_not_in_olap' END AS reason",
      "    FROM (",
      `      SELECT s.* FROM ${this.stage} s LEFT JOIN ${this.rows} b ON b.id = s.id WHERE b.id IS NULL`,
      "    ) t",
      `    LEFT JOIN ${this.exam} same_id ON same_id.id = t.exam_id`,
      ...this.examByKey("t", ""),
    ];
    return { marked: census(marked), withTwins: census([...marked, "    UNION ALL", ...twins]) };
  }

  /** A LEFT JOIN of `exam` by (student, asmt, year) as `latest`, with `condition` ("" or " AND …") added. */
  private examByKey(alias: string, condition: string): string[] {
    return [
      // "+ 0" keeps PostgreSQL from probing exam's key index once per row not kept (random
      // reads of a cold index: 13 s for 300,000 rows on the benchmark's tenant); a hash join
      // reads exam once. Redshift, which has no indexes, hash-joins either way.
      `    LEFT JOIN ${this.exam} latest ON latest.student_id + 0 = ${alias}.student_id`,
      `      AND latest.asmt_id + 0 = ${alias}.asmt_id AND latest.school_year + 0 = ${alias}.school_year${condition}`,
    ];
  }

  /**
   * The replace's transaction deletes by a join of the live table with millions of keys, which
   * runs in memory at 128 MB and spills in batches at 4 MB: 5.6 s against 12.5 s for 2.7 million
   * rows. `SET LOCAL` lasts until the transaction ends.
   */
  replaceMemory(): PgStatement[] {
    return [sql("SET LOCAL work_mem = '128MB'")];
  }

  /** Replaces only the rows that share a unique key with a back-filled row (runbook defect 4). */
  deleteReplaced(): PgStatement {
    const match = UNIQUE_KEY.map((column) => `${this.live}.${column} = b.${column}`).join(" AND ");
    return sql(
      `DELETE FROM ${this.live} USING ${this.rows} b WHERE ${match} AND b.verdict = ${VERDICT.kept}`,
    );
  }

  /** After the replace, outside its transaction: fresh statistics for the queries that follow. */
  analyze(): PgStatement {
    return sql(`ANALYZE ${this.live}`);
  }

  /**
   * Reclaims the replaced rows' space now rather than whenever autovacuum comes (a server may
   * have it off; else it runs throttled while verify and the reports read). The same pass sets
   * the hint bits and the visibility map of the inserted rows, which every later scan would
   * otherwise check row by row: on the benchmark's lean tenant, 0.8 s here saved 2.5 s of verify.
   * VACUUM cannot run in a transaction block: it runs after the COMMIT.
   */
  reclaimDeleted(): PgStatement[] {
    return [sql(`VACUUM ${this.live}`)];
  }

  insertRows(): PgStatement {
    return sql(
      `INSERT INTO ${this.live} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${this.rows} WHERE verdict = ${VERDICT.kept}`,
    );
  }

  /**
   * The staged rows' statistics, for the census of twins, which joins the stage: without them
   * PostgreSQL guesses, and the census sorted all of `exam` in each parallel worker to merge-join
   * it (9 s instead of 5.5 s on the benchmark's lean tenant). The keep pass is planned alike with
   * and without them (5.5 s and 5.8 s, parallel hash joins): with no twins, none are taken.
   */
  analyzeStage(): PgStatement[] {
    return [sql(`ANALYZE ${this.stage}`)];
  }

  /**
   * The kept rows' statistics, so that the replace's join and the checks get a plan made for
   * millions of rows, not for an empty table (a table made by CREATE TABLE AS has none).
   */
  analyzeRows(): PgStatement {
    return sql(`ANALYZE ${this.rows}`);
  }

  /**
   * Settings for `analyzeRows` alone, in a transaction of its own: a sample of 3,000 rows instead
   * of 30,000 (ANALYZE samples 300 rows per unit of the statistics target). The plans that follow
   * need the table's size, the share of each verdict and roughly how many keys are distinct, which
   * such a sample tells as well: 18 ms against 250–290 ms for 3 million rows on the benchmark's
   * lean tenant, with the same plans. `SET LOCAL`, so that the live table's ANALYZE after the
   * replace keeps the server's target.
   */
  analyzeRowsSettings(): PgStatement[] {
    return [sql("SET LOCAL default_statistics_target = 10")];
  }

  /**
   * Keys held by more than one kept row: none, when OLAP `exam` holds one exam per key (PostgreSQL
   * enforces its UNIQUE constraint; Redshift does not). The merge refuses to commit otherwise.
   */
  keysHeldTwice(): PgStatement {
    const key = UNIQUE_KEY.join(", ");
    return sql(
      `SELECT count(*) AS n FROM (SELECT ${key} FROM ${this.rows} WHERE verdict = ${VERDICT.kept} ` +
        `GROUP BY ${key} HAVING count(*) > 1) twice`,
    );
  }

  /**
   * 1 when the server enforces one exam per (school_year, asmt_id, student_id) in this schema's
   * `exam` (a valid, immediate, unique index on exactly those columns): then no two kept rows can
   * share a key, and `keysHeldTwice` need not be read. That rests on there being no twins among
   * them either: the keep pass leaves them out, or the extract's watch saw none (its reading of
   * the lines the warehouse really sends is checked by test/census.test.ts).
   */
  examKeyEnforced(): PgStatement | undefined {
    const q = builder();
    return q.build([
      "SELECT count(*) AS n FROM pg_index i",
      "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace s ON s.oid = c.relnamespace",
      `WHERE s.nspname = ${q.bind(this.schema)} AND c.relname = 'exam'`,
      "  AND i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indnatts = 3",
      "  AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a",
      "       WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)) = ARRAY['asmt_id', 'school_year', 'student_id']",
    ]);
  }

  /** The kept rows' count and the sum of their row hashes (see `rowHash`). */
  rowsChecksum(): PgStatement {
    return this.checksumOf(this.rows, `t.verdict = ${VERDICT.kept}`);
  }

  /**
   * The live table's count and sum of row hashes, taken after the DELETE; after the INSERT (by
   * `liveLevels`) they must be these plus the kept rows', or a row was lost, doubled or changed.
   * Two scans of one table instead of a join of the live table with the kept rows.
   */
  liveChecksum(): PgStatement {
    return this.checksumOf(this.live);
  }

  /**
   * The live table's count and checksum per school year, alt score and performance level, after
   * the insert: for the checks and for the report's charts (alt scores per level, after), so that
   * no pass of its own reads the table for them (after the COMMIT, the first reader of the
   * inserted rows also pays for setting their hint bits: 3.3 s on the benchmark's lean tenant).
   */
  liveLevels(): PgStatement {
    return this.levelsOf(`, sum(${this.rowHash()}) AS checksum`);
  }

  /**
   * The same groups before the replace, counted only: the checks need their total and the report
   * their levels; the checksum they compare is taken after the DELETE (`liveChecksum`), so hashing
   * every row here would only cost (0.25 s of CPU per million rows on the benchmark's machine).
   */
  liveLevelCounts(): PgStatement {
    return this.levelsOf("");
  }

  private levelsOf(checksum: string): PgStatement {
    return sql(
      "SELECT school_year, subject_score_id, performance_level AS level, " +
        `count(*) AS n${checksum} FROM ${this.live} t GROUP BY 1, 2, 3`,
    );
  }

  private checksumOf(table: string, condition?: string): PgStatement {
    const where = condition ? ` WHERE ${condition}` : "";
    return sql(`SELECT count(*) AS n, sum(${this.rowHash()}) AS checksum FROM ${table} t${where}`);
  }

  /**
   * A 32-bit hash of every column of a row, only ever compared with others taken on the same
   * server and session settings within one merge: each column through PostgreSQL's own hash
   * function for its type (the ones its hash indexes use), seeded with the column's position so
   * that values swapped between two columns of one type change it, XORed, and the top 32 bits
   * kept, so that the sum is a fast bigint. Twice as fast as `hashtext(concat_ws(…))` (0.51 s
   * instead of 0.91 s for 2.7 million rows): no column is rendered as text. A timestamptz is
   * hashed as the timestamp it is in the session's zone (UTC), one to one; a float's -0 and 0 hash
   * alike, as PostgreSQL finds them equal.
   */
  protected rowHash(): string {
    const hashes = EXAM_ALT_SCORE_COLUMNS.map((column, index) => {
      const seed = index + 1;
      // Every integer column through the bigint hash, so that any integer type the table has fits.
      if (QUOTED_COLUMNS.has(column)) return `timestamp_hash_extended(t.${column}::timestamp, ${seed})`;
      if (column === "scale_score") return `hashfloat8extended(t.${column}, ${seed})`;
      return `hashint8extended(t.${column}, ${seed})`;
    });
    return `((${hashes.join(" # ")}) >> 32)::int`;
  }

  lock(): LockSql {
    const table = `${quotePg(this.schema)}.rdw_backfill_lock`;
    const take = builder();
    const release = builder();
    return {
      exists: this.tableExists("rdw_backfill_lock"),
      create: sql(
        `CREATE TABLE IF NOT EXISTS ${table} (run_id VARCHAR(64) NOT NULL, host VARCHAR(255) NOT NULL, ` +
          "pid INTEGER NOT NULL, acquired_at TIMESTAMPTZ NOT NULL)",
      ),
      // Both PostgreSQL and Redshift accept LOCK TABLE (Redshift has no lock modes); it serializes takers.
      lockTable: sql(`LOCK TABLE ${table}`),
      read: sql(`SELECT run_id, host, pid, acquired_at FROM ${table}`),
      clear: sql(`DELETE FROM ${table}`),
      take: take.build(
        `INSERT INTO ${table} (run_id, host, pid, acquired_at) VALUES (${take.bindAll(["<run id>", "<host>", "<pid>", "<now>"])})`,
      ),
      release: release.build(`DELETE FROM ${table} WHERE run_id = ${release.bind("<run id>")}`),
    };
  }

  /** The run's way back: the restores from its backup. */
  rollback(): RollbackSql {
    return new RollbackSql(this.schema, { analyzeKeys: true });
  }

  countTable(table: string): PgStatement {
    return sql(`SELECT count(*) AS n FROM ${this.table(table)}`);
  }

  dropTable(table: string): PgStatement {
    return sql(`DROP TABLE IF EXISTS ${this.table(table)}`);
  }

  tableExists(table: string): PgStatement {
    const q = builder();
    return q.build(
      `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ${q.bind(this.schema)} AND table_name = ${q.bind(table)}`,
    );
  }

  /** Verify: one page of the ids of OLAP exams in scope (keyset pagination keeps memory flat). */
  scopePage(since: string, afterId: string, pageSize: number): PgStatement {
    const q = builder();
    return q.build(
      `SELECT id FROM ${this.exam} WHERE updated >= ${q.bind(since)} AND id > ${q.bind(afterId)} ORDER BY id LIMIT ${q.limit(pageSize)}`,
    );
  }

  private inScope(q: StatementBuilder<"postgres">, altScoreIds: readonly number[], since: string): string[] {
    return [
      `FROM ${this.live} t`,
      `JOIN ${this.exam} e ON e.id = t.exam_id AND e.student_id = t.student_id AND e.asmt_id = t.asmt_id AND e.school_year = t.school_year`,
      `WHERE e.updated >= ${q.bind(since)} AND t.subject_score_id IN (${q.bindAll(altScoreIds)})`,
    ];
  }

  /**
   * Verify, in one pass over the live table joined with `exam`: per (school year, asmt, alt
   * score, performance level), the rows in scope, the sum of their ids (exact: bigint sums are
   * bigint on Redshift, numeric on PostgreSQL) and of their checksums, and the rows whose exam is
   * not in `exam` (orphans). Once keys are unique (verify's uniqueness check), the rows of a cell
   * are its students, so the aggregate report's cells need no DISTINCT pass of their own (where a
   * key is held twice, the cell counts it twice, as the aggregate reports then do). No
   * DISTINCT aggregate at all, so that PostgreSQL computes the checksums in parallel workers;
   * cells of out-of-scope rows only come back with n = 0.
   */
  verifyCells(altScoreIds: readonly number[], since: string): PgStatement {
    const q = builder();
    const inScope = "r.in_scope = 1";
    return q.build([
      "SELECT r.school_year, r.asmt_id, r.subject_score_id, r.performance_level AS level,",
      `       sum(r.in_scope) AS n, sum(CASE WHEN ${inScope} THEN r.id END) AS ids,`,
      `       sum(CASE WHEN ${inScope} THEN ${this.rowChecksum("r")} END) AS checksums,`,
      "       sum(r.orphan) AS orphans",
      "FROM (",
      "  SELECT t.*,",
      `    CASE WHEN e.updated >= ${q.bind(since)} AND t.subject_score_id IN (${q.bindAll(altScoreIds)}) THEN 1 ELSE 0 END AS in_scope,`,
      "    CASE WHEN e.id IS NULL THEN 1 ELSE 0 END AS orphan",
      `  FROM ${this.live} t`,
      `  LEFT JOIN ${this.exam} e ON e.id = t.exam_id AND e.student_id = t.student_id AND e.asmt_id = t.asmt_id AND e.school_year = t.school_year`,
      ") r",
      "GROUP BY r.school_year, r.asmt_id, r.subject_score_id, r.performance_level",
    ]);
  }

  verifyGroupRows(altScoreIds: readonly number[], since: string, group: VerifyGroup): PgStatement {
    const q = builder();
    const [year, asmt, score] = group;
    return q.build([
      `SELECT t.id, t.exam_id, ${this.rowChecksum("t")} AS checksum`,
      ...this.inScope(q, altScoreIds, since),
      `  AND t.school_year = ${q.bind(year)} AND t.asmt_id = ${q.bind(asmt)} AND t.subject_score_id = ${q.bind(score)}`,
    ]);
  }

  /**
   * Verify, for deployments that ran the runbook by hand (its `DELETE … WHERE true` removed the
   * rows of exams older than its window): where the next page of `pageSize` OLAP exams updated
   * before the window ends (null: no more), read by the primary key alone.
   */
  olderPageEnd(since: string, afterId: BoundValue, pageSize: number): PgStatement {
    const q = builder();
    return q.build([
      "SELECT max(id) AS last_id FROM (",
      `  SELECT id FROM ${this.exam} WHERE updated < ${q.bind(since)} AND id > ${q.bind(afterId)}`,
      `  ORDER BY id LIMIT ${q.limit(pageSize)}`,
      ") page",
    ]);
  }

  /**
   * Verify: the page's OLAP exams updated before the window that have no alt score row at all.
   * Both sides are bounded by the page's ids, so each page reads only its share of the alt score
   * rows' exam ids (Redshift skips the other blocks by the sort key's zone maps).
   */
  olderExamsWithoutAltScores(
    altScoreIds: readonly number[],
    since: string,
    afterId: BoundValue,
    lastId: BoundValue,
  ): PgStatement {
    const q = builder();
    return q.build([
      `SELECT e.id FROM ${this.exam} e`,
      `WHERE e.updated < ${q.bind(since)} AND e.id > ${q.bind(afterId)} AND e.id <= ${q.bind(lastId)}`,
      `  AND NOT EXISTS (SELECT 1 FROM ${this.live} t WHERE t.exam_id = e.id AND t.exam_id > ${q.bind(afterId)}`,
      `    AND t.exam_id <= ${q.bind(lastId)} AND t.subject_score_id IN (${q.bindAll(altScoreIds)}))`,
      "ORDER BY e.id",
    ]);
  }

  /** Verify's drill-down: the OLAP exams in scope of one school year and assessment. */
  verifyGroupScope(since: string, group: VerifyGroup): PgStatement {
    const q = builder();
    const [year, asmt] = group;
    return q.build(
      `SELECT id FROM ${this.exam} WHERE updated >= ${q.bind(since)} AND school_year = ${q.bind(year)} AND asmt_id = ${q.bind(asmt)}`,
    );
  }

  /**
   * The checksum of a loaded row, equal to the warehouse's (`rowChecksum` in the MySQL dialect)
   * for the same values: the first 32 bits of the MD5 of the same canonical text. A scale score
   * read from MySQL's 6-significant-digit text is the same `DECIMAL(20,6)` again; the timestamps
   * are rendered in UTC whatever the session's zone.
   */
  protected rowChecksum(row: string): string {
    const utc = (column: string) =>
      `TO_CHAR(${row}.${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')`;
    const text = [
      `CAST(${row}.id AS VARCHAR)`,
      `CAST(CAST(${row}.scale_score AS DECIMAL(20,6)) AS VARCHAR)`,
      `CAST(${row}.performance_level AS VARCHAR)`,
      utc("completed_at"),
      utc("updated"),
    ].join(" || '|' || ");
    return this.hexToBigint(`LEFT(MD5(${text}), 8)`);
  }

  /** Eight hex digits as a non-negative bigint. */
  protected hexToBigint(hex: string): string {
    return `('x' || ${hex})::bit(32)::bigint`;
  }

  /** Keys held by more than one row, anywhere in the table. */
  duplicateKeys(limit: number): PgStatement {
    const q = builder();
    return q.build([
      "SELECT school_year, asmt_id, student_id, subject_score_id, count(*) AS n, min(id) AS first_id, max(id) AS last_id,",
      "       count(*) OVER () AS keys",
      `FROM ${this.live}`,
      "GROUP BY school_year, asmt_id, student_id, subject_score_id",
      "HAVING count(*) > 1",
      "ORDER BY min(id)",
      `LIMIT ${q.limit(limit)}`,
    ]);
  }

  /** Rows whose exam is not in OLAP `exam` with the same student, assessment and school year. */
  orphans(limit: number): PgStatement {
    const q = builder();
    return q.build([
      "SELECT t.id, count(*) OVER () AS orphans",
      `FROM ${this.live} t`,
      `LEFT JOIN ${this.exam} e ON e.id = t.exam_id AND e.student_id = t.student_id AND e.asmt_id = t.asmt_id AND e.school_year = t.school_year`,
      "WHERE e.id IS NULL",
      "ORDER BY t.id",
      `LIMIT ${q.limit(limit)}`,
    ]);
  }

  protected table(name: string): string {
    return `${quotePg(this.schema)}.${quotePg(name)}`;
  }
}

export const POSTGRES = new PostgresDialect();
