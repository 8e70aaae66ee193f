import { BACKFILL_MIGRATE_ID, EXAM_ALT_SCORE_COLUMNS, QUOTED_COLUMNS } from "../core/columns.js";
import { requirePlainIdentifier } from "../core/identifiers.js";
import { EXAMPLES_PER_REASON } from "../core/rejections.js";
import {
  type BoundValue,
  fixed,
  type MysqlStatement,
  StatementBuilder,
  type Wire,
} from "../core/statement.js";
import {
  type ExamBitmapValues,
  type ExtractDriver,
  type ExtractScope,
  type IdRange,
  LOCK_WAIT_SECONDS,
  type VerifyGroup,
  type WarehouseCapabilities,
} from "./types.js";

export const MYSQL_WIRE: Wire<"mysql"> = { protocol: "mysql", placeholder: () => "?" };

const sql = (text: string | readonly string[]) => fixed(MYSQL_WIRE, text);
const builder = () => new StatementBuilder(MYSQL_WIRE);

/** MySQL/Aurora quoting of a validated plain identifier. */
export function quoteMysql(identifier: string): string {
  return "`" + requirePlainIdentifier(identifier, "identifier") + "`";
}

/** Below this many exams the window is counted exactly; above, estimated from a sample. */
export const EXACT_WINDOW_COUNT_BELOW = 500_000;
const SAMPLE_SLICES = 20;
const SAMPLE_SHARE = 0.01;

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
export const EXTRACT_COLUMNS = (() => {
  const sources = EXAM_ALT_SCORE_COLUMNS.map((column) =>
    column === "migrate_id" ? `${SOURCE_OF[column]} AS migrate_id` : SOURCE_OF[column],
  );
  return [`SELECT ${sources.slice(0, 6).join(", ")},`, `       ${sources.slice(6).join(", ")}`];
})();

/** Only the rows whose alt values are set can be loaded. */
export const LOADABLE = "  AND wes.scale_score IS NOT NULL AND wes.performance_level IS NOT NULL";

/** Aurora's clause; MariaDB and MySQL write the same bytes with a local `INTO OUTFILE`. */
export const OUTFILE_FORMAT = `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\\n'`;

/**
 * The staged line, formatted by the server: `CONCAT` renders numbers and timestamps exactly as
 * `INTO OUTFILE` does (FLOAT with 6 significant digits, TIMESTAMP(6) with its microseconds),
 * and no column of the extract is a string that would need escaping. The line is NULL when any
 * value is: such a row is never staged.
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

/**
 * MariaDB and MySQL: every statement the back-fill sends to a warehouse. Aurora MySQL extends it.
 */
export class MysqlDialect {
  readonly name: string = "mysql";
  readonly label: string = "MariaDB/MySQL";
  readonly capabilities: WarehouseCapabilities = {
    extractsToS3: false,
    // Roles are not used: the tool's privileges are plain grants on MariaDB and MySQL.
    grantedRolesNeedActivation: false,
  };

  /** Statements every warehouse session starts with. */
  session(options: { readOnly: boolean }): MysqlStatement[] {
    return [
      // TIMESTAMP columns are stored in UTC and rendered in the session zone: read them in UTC,
      // whatever the server's or the operator's zone is (runbook defect 6).
      sql("SET time_zone = '+00:00'"),
      ...(options.readOnly ? [sql("SET SESSION TRANSACTION READ ONLY")] : []),
      // A streamed result may pause while staging catches up; the server must not drop us meanwhile.
      sql("SET SESSION net_write_timeout = 3600"),
      // A table lock held elsewhere (LOCK TABLES, DDL) would otherwise hold a statement for a
      // year (the default); after two minutes it fails with 1205 and the attempt is retried.
      sql(`SET SESSION lock_wait_timeout = ${LOCK_WAIT_SECONDS}`),
    ];
  }

  version(): MysqlStatement {
    return sql("SELECT version() AS version");
  }

  /** Only Aurora knows `@@aurora_version`; elsewhere the query fails. */
  auroraVersion(): MysqlStatement {
    return sql("SELECT @@aurora_version AS version");
  }

  requiredColumns(database: string, tables: readonly string[]): MysqlStatement {
    const q = builder();
    return q.build(
      "SELECT table_name AS table_name, column_name AS column_name FROM information_schema.columns " +
        `WHERE table_schema = ${q.bind(database)} AND table_name IN (${q.bindAll(tables)})`,
    );
  }

  /** The runbook's alt score lookup: alt scores exist for ICA (1) and summative (3) only. */
  altScoreIds(database: string): MysqlStatement {
    return sql(
      `SELECT id, subject_id, asmt_type_id FROM ${quoteMysql(database)}.subject_score ` +
        "WHERE asmt_type_id IN (1, 3) AND score_type_id = 2 ORDER BY id",
    );
  }

  /**
   * What the report calls each alt score: its code, its subject's and its assessment type's
   * (RDW's `subject_score`, `subject` and `asmt_type`). Read-only; the ids are never empty.
   */
  altScoreNames(database: string, ids: readonly number[]): MysqlStatement {
    const q = builder();
    const db = quoteMysql(database);
    return q.build(
      "SELECT ss.id, ss.code, s.code AS subject_code, t.code AS asmt_type_code " +
        `FROM ${db}.subject_score ss LEFT JOIN ${db}.subject s ON s.id = ss.subject_id ` +
        `LEFT JOIN ${db}.asmt_type t ON t.id = ss.asmt_type_id WHERE ss.id IN (${q.bindAll(ids)}) ORDER BY ss.id`,
    );
  }

  /** The lowest and highest id and the approximate size of `exam` or `exam_score`. */
  idSpan(database: string, table: "exam" | "exam_score"): MysqlStatement {
    const q = builder();
    return q.build(
      `SELECT MIN(id) AS lowest, MAX(id) AS highest, ` +
        `(SELECT table_rows FROM information_schema.tables WHERE table_schema = ${q.bind(database)} AND table_name = ${q.bind(table)}) AS rows_approx ` +
        `FROM ${quoteMysql(database)}.${table}`,
    );
  }

  examsInWindow(database: string, since: string): MysqlStatement {
    const q = builder();
    // Deleted exams are counted too: that way the count reads the updated index alone, twice
    // as fast on a large warehouse, for an estimate.
    return q.build(
      `SELECT COUNT(*) AS exams FROM ${quoteMysql(database)}.exam WHERE updated >= ${q.bind(since)}`,
    );
  }

  /**
   * Reads 1% of the exam ids in 20 evenly spread slices, to estimate how many exams are in the
   * window without reading them all (counting 30 million takes half a minute). Exam ids follow
   * the order exams arrived in, so the slices sample every period alike.
   */
  examsInWindowSample(
    database: string,
    since: string,
    lowest: number,
    highest: number,
  ): { statement: MysqlStatement; sampledIds: number } {
    const span = highest - lowest + 1;
    const width = Math.max(1, Math.floor((span * SAMPLE_SHARE) / SAMPLE_SLICES));
    // Each slice sits in the middle of its twentieth of the ids, so none leans early or late.
    const bounds = Array.from({ length: SAMPLE_SLICES }, (_, index) => {
      const start = lowest + Math.floor(((index + 0.5) * span) / SAMPLE_SLICES - width / 2);
      return [start, start + width - 1] as const;
    });
    const q = builder();
    const inWindow = q.bind(since);
    const slices = bounds.map(([low, high]) => `id BETWEEN ${q.bind(low)} AND ${q.bind(high)}`).join(" OR ");
    return {
      statement: q.build(
        `SELECT COUNT(*) AS sampled, COALESCE(SUM(updated >= ${inWindow}), 0) AS in_window ` +
          `FROM ${quoteMysql(database)}.exam WHERE ${slices}`,
      ),
      sampledIds: width * SAMPLE_SLICES,
    };
  }

  /**
   * The runbook's row selection: exams not deleted, updated in the window, scored; their alt
   * scores.
   */
  protected selection(
    q: StatementBuilder<"mysql">,
    scope: ExtractScope,
    driver: ExtractDriver = "exam",
    window: "since" | "either" = "since",
  ): string[] {
    const db = quoteMysql(scope.database);
    const tables =
      driver === "exam_score"
        ? // MySQL's optimizer starts from exam whatever share of it is in the window; over most
          // of the table, scanning exam_score in key order and looking each exam up by its key
          // reads far fewer pages (2.3 times faster on the benchmark's warehouse).
          [`FROM ${db}.exam_score wes`, `STRAIGHT_JOIN ${db}.exam we ON we.id = wes.exam_id`]
        : [`FROM ${db}.exam we`, `JOIN ${db}.exam_score wes ON wes.exam_id = we.id`];
    return [
      ...tables,
      "WHERE we.deleted = 0",
      ...(window === "since" ? [`  AND we.updated >= ${q.bind(scope.since)}`] : []),
      "  AND we.scale_score IS NOT NULL",
      "  AND we.performance_level IS NOT NULL",
      `  AND wes.subject_score_id IN (${q.bindAll(scope.altScoreIds)})`,
    ];
  }

  /** The row selection alone, as a statement fragment (for reading the same rows another way). */
  selectionOf(scope: ExtractScope, driver: ExtractDriver = "exam"): MysqlStatement {
    const q = builder();
    return q.build(this.selection(q, scope, driver));
  }

  /**
   * The runbook's extract for one range of ids of the driving table, one row per candidate: the
   * staged line, the reason it is not staged (if any) and the score id. Unlike the runbook it
   * does not drop rows with a NULL alt value, so that they can be counted and reported instead
   * of disappearing (runbook defect 2). Which exam counts is decided against the OLAP `exam`
   * table at merge time.
   */
  streamExtract(
    scope: ExtractScope,
    driver: ExtractDriver,
    range: IdRange = { low: null, high: null },
  ): MysqlStatement {
    const q = builder();
    const id = driver === "exam_score" ? "wes.id" : "we.id";
    return q.build([
      `SELECT ${lineExpression()} AS line,`,
      `       ${REJECTED_REASON} AS rejected,`,
      "       wes.id",
      ...this.selection(q, scope, driver),
      ...this.inIdRange(q, id, range),
    ]);
  }

  /** This session's id on the server, for watching its statement from another session. */
  connectionId(): MysqlStatement {
    return sql("SELECT CONNECTION_ID() AS id");
  }

  /** Another session's statement as the server sees it: gone when the row is gone. */
  processOf(connectionId: BoundValue): MysqlStatement {
    const q = builder();
    return q.build(
      `SELECT command, state, time FROM information_schema.processlist WHERE id = ${q.bind(connectionId)}`,
    );
  }

  /** Stops another session's statement (the session stays). */
  killQuery(connectionId: number): MysqlStatement {
    if (!Number.isSafeInteger(connectionId)) throw new Error(`internal: connection id ${connectionId}`);
    return sql(`KILL QUERY ${connectionId}`);
  }

  /** Aurora only: the server writes the loadable rows to S3 itself. */
  extractToS3(_scope: ExtractScope, _s3Target: string): MysqlStatement {
    throw new Error(`${this.label} cannot write to S3 (capability extractsToS3 is false)`);
  }

  /**
   * The rows `extractToS3` writes, counted in the same snapshot: AWS does not document
   * the statement's affected-rows as the number of rows written.
   */
  stagedCount(scope: ExtractScope): MysqlStatement {
    const q = builder();
    return q.build(["SELECT COUNT(*) AS n", ...this.selection(q, scope), LOADABLE]);
  }

  /**
   * One InnoDB snapshot for the count, the extract and the NULL census (REPEATABLE READ, the
   * default: every consistent read of the transaction sees the snapshot its first read made).
   */
  snapshot(): { begin: MysqlStatement; end: MysqlStatement } {
    return {
      begin: sql("START TRANSACTION WITH CONSISTENT SNAPSHOT"),
      end: sql("COMMIT"),
    };
  }

  /** Rows with a NULL alt value, which a server-side extract does not write: by reason with example ids. */
  nullCensus(scope: ExtractScope): MysqlStatement {
    const q = builder();
    return q.build([
      "SELECT IF(wes.scale_score IS NULL, 'null_scale_score', 'null_performance_level') AS reason,",
      "       COUNT(*) AS rejected,",
      `       SUBSTRING_INDEX(GROUP_CONCAT(wes.id ORDER BY wes.id SEPARATOR ','), ',', ${q.bind(EXAMPLES_PER_REASON)}) AS example_ids`,
      ...this.selection(q, scope),
      "  AND (wes.scale_score IS NULL OR wes.performance_level IS NULL)",
      "GROUP BY reason",
      "ORDER BY reason",
    ]);
  }

  /**
   * Verify: the loadable rows of one range of exam_score ids whose exam the bitmap names, summed
   * on the warehouse per (school year, asmt, alt score, performance level): rows, ids, checksums
   * and students (one OLAP exam per student, assessment and year). It reads as the streaming
   * extract does (exam_score in key order, each exam by its key), writes nothing, and sends back
   * a few rows instead of every row. Every row comes back with `older` 0.
   *
   * With `older` (`verify` alone, for deployments that ran the runbook by hand), the same pass
   * also sums the exams updated before the window that the second bitmap names (`older` 1), per
   * school year and run of 64 exam ids (in `asmt_id`): their loadable alt score rows, the earliest
   * `updated` (the `--since` that would bring them back), and which of the 64 exams have such rows
   * (`exams`, a 64-bit mask as decimal text). The masks of all ranges are ORed before their bits
   * are counted: an exam's score rows may lie in two ranges. The range is read once for both: a
   * pass of its own from `exam` would look up every score row of those exams by its key again.
   */
  verifyRangeSums(
    scope: ExtractScope,
    range: IdRange,
    exams: ExamBitmapValues,
    older?: ExamBitmapValues,
  ): MysqlStatement {
    const q = builder();
    if (!older) {
      return q.build([
        // Students are rows: one OLAP exam per student, assessment and year, and one score row per
        // exam and alt score. (COUNT(DISTINCT) would sort every row of the range: 2.5 times slower.)
        "SELECT 0 AS older, we.school_year, we.asmt_id, wes.subject_score_id, wes.performance_level AS level, COUNT(*) AS n,",
        `       SUM(wes.id) AS ids, SUM(${rowChecksum()}) AS checksums, COUNT(*) AS students`,
        ...this.selection(q, scope, "exam_score"),
        LOADABLE,
        ...this.inIdRange(q, "wes.id", range),
        ...this.inBitmap(q, exams),
        "GROUP BY we.school_year, we.asmt_id, wes.subject_score_id, wes.performance_level",
      ]);
    }
    const isOlder = () => `we.updated < ${q.bind(scope.since)}`;
    const unlessOlder = (value: string) => `IF(${isOlder()}, 0, ${value})`;
    return q.build([
      // An older exam's rows are grouped by the 64 exam ids around it, whose bits BIT_OR gathers
      // (no COUNT(DISTINCT), which sorts every row). The bit is the comparison (1 or 0) shifted:
      // MariaDB 10.11's BIT_OR over IF(…, 1 << n, 0) in a grouped query set bits of rows the IF
      // had made 0 (twice the exams there were). The mask goes as text: it may not fit a double.
      `SELECT ${isOlder()} AS older, we.school_year,`,
      `       IF(${isOlder()}, we.id DIV 64, we.asmt_id) AS asmt_id,`,
      `       ${unlessOlder("wes.subject_score_id")} AS subject_score_id, ${unlessOlder("wes.performance_level")} AS level,`,
      `       COUNT(*) AS n, SUM(${unlessOlder("wes.id")}) AS ids, SUM(${unlessOlder(rowChecksum())}) AS checksums,`,
      `       COUNT(*) AS students, CAST(BIT_OR((${isOlder()}) << (we.id MOD 64)) AS CHAR) AS exams,`,
      "       MIN(we.updated) AS earliest",
      ...this.selection(q, scope, "exam_score", "either"),
      LOADABLE,
      ...this.inIdRange(q, "wes.id", range),
      `  AND (we.updated >= ${q.bind(scope.since)}`,
      ...this.inBitmap(q, exams).map((line) => `  ${line}`),
      `    OR ${isOlder()}`,
      ...this.inBitmap(q, older).map((line) => `  ${line}`),
      "  )",
      "GROUP BY 1, 2, 3, 4, 5",
    ]);
  }

  /** The largest statement the server accepts, in bytes: it bounds the bitmaps one statement binds. */
  maxStatementBytes(): MysqlStatement {
    return sql("SELECT @@max_allowed_packet AS bytes");
  }

  /** Rows of the driving table whose id is in `range` (an open end adds no condition). */
  private inIdRange(q: StatementBuilder<"mysql">, id: string, range: IdRange): string[] {
    return [
      ...(range.low !== null ? [`  AND ${id} >= ${q.bind(range.low)}`] : []),
      ...(range.high !== null ? [`  AND ${id} < ${q.bind(range.high)}`] : []),
    ];
  }

  /**
   * The exams a bitmap names (bit i of byte i / 8 stands for exam `low + i`). The bytes are bound
   * and reach the server as a hex literal, a constant it reads in place: the same bytes in a user
   * variable are copied whole for every row that reads one (4 s instead of 0.1 s for 400,000 rows
   * with a 420 KB bitmap, on MariaDB 10.11).
   */
  private inBitmap(q: StatementBuilder<"mysql">, exams: ExamBitmapValues): string[] {
    const offset = () => `(we.id - ${q.bind(exams.low)})`;
    return [
      `  AND we.id BETWEEN ${q.bind(exams.low)} AND ${q.bind(exams.high)}`,
      `  AND ASCII(SUBSTRING(${q.bind(exams.bits)}, ${offset()} DIV 8 + 1, 1)) & (1 << (${offset()} % 8)) <> 0`,
    ];
  }

  /** Verify's drill-down: the rows of one (school year, asmt, alt score) group, of all exams in the window. */
  verifyGroupRows(scope: ExtractScope, group: VerifyGroup): MysqlStatement {
    const q = builder();
    const [year, asmt, score] = group;
    return q.build([
      `SELECT we.id AS exam_id, wes.id, ${rowChecksum()} AS checksum`,
      ...this.selection(q, scope),
      LOADABLE,
      `  AND we.school_year = ${q.bind(year)} AND we.asmt_id = ${q.bind(asmt)} AND wes.subject_score_id = ${q.bind(score)}`,
    ]);
  }
}

/**
 * Verify's checksum of a row: the first 32 bits of the MD5 of its canonical text, as an
 * unsigned integer. The OLAP dialects build the same text from the loaded row (see
 * `PostgresTenantSql.rowChecksum`): the id, the scale score as `DECIMAL(20,6)` of the text MySQL
 * renders a FLOAT with (6 significant digits, which is what was staged), the level, and both
 * timestamps as UTC text with microseconds (this session is UTC). Every part is text or an
 * exact number on both engines; nothing goes through a floating-point sum.
 */
function rowChecksum(): string {
  const text = [
    "wes.id",
    "CAST(CONCAT(wes.scale_score) AS DECIMAL(20,6))",
    "wes.performance_level",
    "DATE_FORMAT(we.completed_at, '%Y-%m-%d %H:%i:%s.%f')",
    "DATE_FORMAT(we.updated, '%Y-%m-%d %H:%i:%s.%f')",
  ].join(", ");
  return `CAST(CONV(LEFT(MD5(CONCAT_WS('|', ${text})), 8), 16, 10) AS UNSIGNED)`;
}

/**
 * Which table the streaming extract reads first: `exam` through its `updated` index when the
 * window holds few of the exams, else `exam_score` in key order (see `selection`).
 */
export function chooseDriver(examsInWindow: number, examRowsApprox: number): ExtractDriver {
  return examsInWindow * 3 >= examRowsApprox ? "exam_score" : "exam";
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

export const MYSQL = new MysqlDialect();
