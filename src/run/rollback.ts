import { expectEqual } from "../core/checks.js";
import { RuntimeError } from "../core/errors.js";
import type { PgStatement } from "../core/statement.js";
import type { PostgresTenantSql } from "../dialects/postgres.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { LockOwner } from "../steps/context.js";
import { acquireTenantLock, releaseTenantLock } from "../steps/lock.js";
import { openOlapOfRun, type TenantOfRun, tenantSqlOf } from "./olap-of-run.js";

export interface BackupOfTenant extends TenantOfRun {
  backupTable: string;
}

/**
 * `keys` (the default): only the keys that hold back-filled rows other than the backup's are
 * restored, so rows migrate-olap wrote since stay. `whole-table`: the table becomes the backup again.
 */
export type RollbackScope = "keys" | "whole-table";

/** What rollback will run, for the operator to read first (the statements are the same on both engines). */
export function rollbackStatements(
  target: BackupOfTenant,
  runId: string,
  scope: RollbackScope,
): PgStatement[] {
  const rollback = tenantSqlOf(target, runId).rollback();
  if (scope === "whole-table") return rollback.restoreWholeTable(target.backupTable);
  const restore = rollback.restoreKeys(target.backupTable);
  return [...restore.prepare, restore.deleteRunRows, restore.insertBackupRows, restore.finish];
}

export interface RollbackResult {
  tenant: string;
  rowsBefore: number;
  rowsAfter: number;
  /** Key-scoped: the keys restored, the back-filled rows removed and the backup rows put back. */
  keys?: { restored: number; removed: number; putBack: number };
}

/**
 * Restores the tenant from the run's backup in one transaction, under the tenant lock, with the
 * counts checked before COMMIT.
 */
export async function rollbackTenant(
  target: BackupOfTenant,
  runId: string,
  owner: LockOwner,
  options: { takeOver: boolean; warn: (message: string) => void; scope: RollbackScope },
): Promise<RollbackResult> {
  const { olap, sql } = await openOlapOfRun(target, runId);
  try {
    if (!(await olap.count(sql.tableExists(target.backupTable)))) {
      throw new RuntimeError(
        `tenant ${target.tenant}: backup table ${target.schema}.${target.backupTable} does not exist`,
      );
    }
    const lock = sql.lock();
    await acquireTenantLock(olap, lock, target.tenant, owner, options);
    try {
      return options.scope === "whole-table"
        ? await restoreWholeTable(olap, sql, target)
        : await restoreKeys(olap, sql, target);
    } finally {
      await releaseTenantLock(olap, lock.release, owner).catch(() => undefined);
    }
  } finally {
    await olap.close();
  }
}

async function restoreWholeTable(
  olap: PgSession,
  sql: PostgresTenantSql,
  target: BackupOfTenant,
): Promise<RollbackResult> {
  return olap.inTransaction(async () => {
    for (const statement of sql.replaceMemory()) await olap.query(statement);
    const rowsBefore = await olap.count(sql.countLive());
    for (const statement of sql.rollback().restoreWholeTable(target.backupTable)) await olap.query(statement);
    const rowsAfter = await olap.count(sql.countLive());
    const backupRows = await olap.count(sql.countTable(target.backupTable));
    if (rowsAfter !== backupRows) {
      throw new RuntimeError(
        `tenant ${target.tenant}: rollback count check failed (${rowsAfter} rows, backup has ${backupRows}); nothing changed`,
      );
    }
    return { tenant: target.tenant, rowsBefore, rowsAfter };
  });
}

/**
 * For each key that holds a back-filled row (migrate_id -1) and other rows than the backup's:
 * the back-filled rows go, and the backup's rows for the key come back unless migrate-olap wrote
 * a row for it since. A key migrate-olap rewrote or deleted since, and every other row, stay as
 * they are.
 */
async function restoreKeys(
  olap: PgSession,
  sql: PostgresTenantSql,
  target: BackupOfTenant,
): Promise<RollbackResult> {
  const restore = sql.rollback().restoreKeys(target.backupTable);
  return olap.inTransaction(async () => {
    for (const statement of sql.replaceMemory()) await olap.query(statement);
    const rowsBefore = await olap.count(sql.countLive());
    for (const statement of restore.prepare) await olap.query(statement);
    const restored = await olap.count(restore.counts.keysToRestore);
    const runRows = await olap.count(restore.counts.runRows);
    const backupRows = await olap.count(restore.counts.backupRows);
    const removed = (await olap.query(restore.deleteRunRows)).rowCount;
    const putBack = (await olap.query(restore.insertBackupRows)).rowCount;
    await olap.query(restore.finish);
    const rowsAfter = await olap.count(sql.countLive());
    expectEqual("back-filled rows removed", runRows, removed);
    expectEqual("backup rows put back", backupRows, putBack);
    expectEqual("final count = before - removed + put back", rowsBefore - removed + putBack, rowsAfter);
    return { tenant: target.tenant, rowsBefore, rowsAfter, keys: { restored, removed, putBack } };
  });
}
