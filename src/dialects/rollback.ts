import { BACKFILL_MIGRATE_ID, EXAM_ALT_SCORE_COLUMNS, UNIQUE_KEY } from "../core/columns.js";
import type { PgStatement } from "../core/statement.js";
import { builder, quotePg, sql } from "./postgres-quote.js";

const COLUMNS = EXAM_ALT_SCORE_COLUMNS.join(", ");
const KEY = UNIQUE_KEY.join(", ");
const sameKey = (a: string, b: string) =>
  UNIQUE_KEY.map((column) => `${a}.${column} = ${b}.${column}`).join(" AND ");
/** The rollback's list of keys to restore: a temporary table, so it lives in the rollback's session only. */
const RESTORE = "rdw_backfill_restore";

/** The merge's record of the keys it inserted, for `rollback`. */
export interface RecordKeysSql {
  /** 1 when an earlier attempt of the merge made the keys table (then `insertNew`, else `createAll`). */
  exists: PgStatement;
  createAll: PgStatement;
  insertNew: PgStatement;
}

/** The key-scoped restore: each statement runs in one transaction, in this order. */
export interface KeyRestoreSql {
  /** The run's keys that still hold a back-filled row (migrate_id -1): those are restored. */
  prepare: PgStatement;
  counts: {
    /** Keys the run replaced or inserted. */
    runKeys: PgStatement;
    /** Of them, keys that still hold a back-filled row. */
    keysToRestore: PgStatement;
    /** Back-filled rows at those keys: what the DELETE removes. */
    runRows: PgStatement;
    /** Backup rows at those keys where migrate-olap wrote no row since: what the INSERT puts back. */
    backupRows: PgStatement;
  };
  deleteRunRows: PgStatement;
  insertBackupRows: PgStatement;
  finish: PgStatement;
}

/**
 * The way back from a run, on both PostgreSQL and Redshift (DELETE … USING, INSERT … SELECT,
 * NOT EXISTS; no ON CONFLICT, no MERGE). The merge records the unique key of every row it
 * inserts in `<schema>.rdw_backfill_keys_<run id>`, committed no later than its replace: those are
 * the keys whose rows it replaced (it deletes only rows sharing a key with a row it inserts), or,
 * when the replace then rolled back, keys that a restore leaves as they are (see `restoreKeys`).
 * A logged, permanent table, so that it survives a crash of the server as the backup does;
 * `cleanup` drops it.
 */
export class RollbackSql {
  private readonly live: string;
  private readonly keys: string;
  /** The keys table's name in the schema, for `tableExists` and `dropTable`. */
  readonly keysTable: string;

  constructor(
    private readonly schema: string,
    runId: string,
  ) {
    this.live = `${quotePg(schema)}.exam_alt_score`;
    this.keysTable = `rdw_backfill_keys_${runId}`;
    this.keys = this.table(this.keysTable);
  }

  /**
   * The keys of the rows the merge inserts (`rows`, the kept rows' work table), in its
   * transaction or beside it. A merge repeated after a crash finds keys recorded by an earlier
   * attempt that committed, and adds only those it did not record yet; the first merge creates
   * the table from them all, without that anti-join (which costs as much as the insert itself).
   */
  recordKeys(rows: string): RecordKeysSql {
    const keyOf = (alias: string) => UNIQUE_KEY.map((column) => `${alias}.${column}`).join(", ");
    const exists = builder();
    return {
      exists: exists.build(
        `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ${exists.bind(this.schema)} AND table_name = ${exists.bind(this.keysTable)}`,
      ),
      // CREATE TABLE AS writes its rows in bulk: 1.6 s where INSERT … SELECT into a new table took
      // 2.5 s (2.7 million keys on PostgreSQL 15). No DISTINCT: the merge has proved, before this,
      // that no key is held by two kept rows.
      createAll: sql([
        `CREATE TABLE ${this.keys} AS`,
        `SELECT ${UNIQUE_KEY.map((column) => `CAST(b.${column} AS BIGINT) AS ${column}`).join(", ")} FROM ${rows} b`,
      ]),
      insertNew: sql([
        `INSERT INTO ${this.keys} (${KEY})`,
        `SELECT ${keyOf("b")} FROM ${rows} b`,
        `WHERE NOT EXISTS (SELECT 1 FROM ${this.keys} k WHERE ${sameKey("k", "b")})`,
      ]),
    };
  }

  /**
   * Puts the backup's rows back for the run's keys that still hold a back-filled row, and leaves
   * everything else as it is: a key migrate-olap rewrote since (its row has another migrate_id, or
   * is gone) keeps what migrate-olap wrote, and rows at other keys are not touched. A key recorded
   * for a replace that rolled back holds, if a back-filled row, one an earlier run wrote before
   * this run's backup: the backup holds that same row, which the restore puts back unchanged.
   */
  restoreKeys(backupTable: string): KeyRestoreSql {
    const backup = this.table(backupTable);
    const backfilled = `migrate_id = ${BACKFILL_MIGRATE_ID}`;
    return {
      prepare: sql([
        `CREATE TEMP TABLE ${RESTORE} AS`,
        `SELECT DISTINCT ${UNIQUE_KEY.map((column) => `k.${column}`).join(", ")} FROM ${this.keys} k`,
        `JOIN ${this.live} t ON ${sameKey("t", "k")}`,
        `WHERE t.${backfilled}`,
      ]),
      counts: {
        runKeys: sql(`SELECT count(*) AS n FROM ${this.keys}`),
        keysToRestore: sql(`SELECT count(*) AS n FROM ${RESTORE}`),
        runRows: sql(
          `SELECT count(*) AS n FROM ${this.live} t JOIN ${RESTORE} r ON ${sameKey("t", "r")} WHERE t.${backfilled}`,
        ),
        backupRows: sql([
          `SELECT count(*) AS n FROM ${backup} b JOIN ${RESTORE} r ON ${sameKey("b", "r")}`,
          `WHERE NOT EXISTS (SELECT 1 FROM ${this.live} t WHERE ${sameKey("t", "b")} AND t.migrate_id <> ${BACKFILL_MIGRATE_ID})`,
        ]),
      },
      deleteRunRows: sql(
        `DELETE FROM ${this.live} USING ${RESTORE} r WHERE ${sameKey(this.live, "r")} AND ${this.live}.${backfilled}`,
      ),
      insertBackupRows: sql([
        `INSERT INTO ${this.live} (${COLUMNS})`,
        `SELECT ${EXAM_ALT_SCORE_COLUMNS.map((column) => `b.${column}`).join(", ")}`,
        `FROM ${backup} b JOIN ${RESTORE} r ON ${sameKey("b", "r")}`,
        `WHERE NOT EXISTS (SELECT 1 FROM ${this.live} t WHERE ${sameKey("t", "b")})`,
      ]),
      finish: sql(`DROP TABLE ${RESTORE}`),
    };
  }

  /** `rollback --whole-table`: the live table becomes the backup again (rows written since are lost). */
  restoreWholeTable(backupTable: string): PgStatement[] {
    return [
      sql(`DELETE FROM ${this.live}`),
      sql(`INSERT INTO ${this.live} (${COLUMNS}) SELECT ${COLUMNS} FROM ${this.table(backupTable)}`),
    ];
  }

  private table(name: string): string {
    return `${quotePg(this.schema)}.${quotePg(name)}`;
  }
}
