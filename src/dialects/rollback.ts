import { BACKFILL_MIGRATE_ID, EXAM_ALT_SCORE_COLUMNS, UNIQUE_KEY } from "../core/columns.js";
import type { PgStatement } from "../core/statement.js";
import { quotePg, sql } from "./postgres-quote.js";

const COLUMNS = EXAM_ALT_SCORE_COLUMNS.join(", ");
const KEY = UNIQUE_KEY.join(", ");
const sameKey = (a: string, b: string) =>
  UNIQUE_KEY.map((column) => `${a}.${column} = ${b}.${column}`).join(" AND ");
/** The rollback's list of keys to restore: a temporary table, so it lives in the rollback's session only. */
const RESTORE = "rdw_backfill_restore";

/** The key-scoped restore: each statement runs in one transaction, in this order. */
export interface KeyRestoreSql {
  /** The keys that hold a back-filled row (migrate_id -1) and other rows than the backup's: those are restored. */
  prepare: PgStatement[];
  counts: {
    /** Keys to restore. */
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
 * GROUP BY, NOT EXISTS; no ON CONFLICT, no MERGE, no EXCEPT ALL, which Redshift does not support).
 * The run's backup is all it needs: the keys the run replaced or added are those that now hold
 * a back-filled row (migrate_id -1; migrate-olap never writes that id) where the live table's
 * rows differ from the backup's. Deriving them here, instead of recording them in the merge,
 * keeps 2.7 million logged rows per tenant out of the maintenance window (the benchmark's lean
 * tenant: `run --no-verify` 42.2 s with that record, 35.8 s without); a rollback is rare and may
 * take the time (30 s for that tenant).
 */
export class RollbackSql {
  private readonly live: string;

  /**
   * `analyzeKeys`: the list of keys needs an ANALYZE of its own for the joins that follow to be
   * planned for millions of rows (PostgreSQL's CREATE TABLE AS leaves a table without statistics).
   */
  constructor(
    private readonly schema: string,
    private readonly options: { analyzeKeys: boolean },
  ) {
    this.live = `${quotePg(schema)}.exam_alt_score`;
  }

  /**
   * Puts the backup's rows back at each key that holds a back-filled row and other rows than
   * the backup's, and leaves everything else as it is: a key migrate-olap rewrote since (its row
   * has another migrate_id, or is gone) keeps what migrate-olap wrote, and a key whose rows are
   * the backup's is not touched. A key the run wrote again with the row it held before needs no
   * restore. Back-filled rows that a later run or a by-hand INSERT wrote count as the run's.
   */
  restoreKeys(backupTable: string): KeyRestoreSql {
    const backup = this.table(backupTable);
    const backfilled = `migrate_id = ${BACKFILL_MIGRATE_ID}`;
    return {
      // One pass over both tables: how often each whole row is in each (GROUP BY takes NULLs as
      // equal), then per key, whether a row is not as often in both, and whether a back-filled
      // row is live. A row the backup held twice and the merge wrote once counts too.
      prepare: [
        sql([
          `CREATE TEMP TABLE ${RESTORE} AS`,
          `SELECT ${KEY} FROM (`,
          `  SELECT ${COLUMNS}, sum(in_live) AS in_live, sum(in_backup) AS in_backup FROM (`,
          `    SELECT ${COLUMNS}, 1 AS in_live, 0 AS in_backup FROM ${this.live}`,
          `    UNION ALL`,
          `    SELECT ${COLUMNS}, 0 AS in_live, 1 AS in_backup FROM ${backup}`,
          `  ) AS both_tables GROUP BY ${COLUMNS}`,
          `) AS each_row`,
          `GROUP BY ${KEY}`,
          `HAVING sum(CASE WHEN in_live <> in_backup THEN 1 ELSE 0 END) > 0`,
          `  AND sum(CASE WHEN ${backfilled} AND in_live > 0 THEN 1 ELSE 0 END) > 0`,
        ]),
        ...(this.options.analyzeKeys ? [sql(`ANALYZE ${RESTORE}`)] : []),
      ],
      counts: {
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
