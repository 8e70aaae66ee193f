import type { DatabaseLogin } from "../config/settings.js";
import { RuntimeError } from "../core/errors.js";
import type { PgStatement } from "../core/statement.js";
import { olapDialect, type OlapDialectName } from "../dialects/choose.js";
import { PgSession } from "../io/db/pg-session.js";
import { openStaging } from "../io/staging/open.js";
import type { LockOwner } from "../steps/context.js";
import { acquireTenantLock, releaseTenantLock } from "../steps/lock.js";

export interface BackupOfTenant {
  tenant: string;
  olap: DatabaseLogin;
  schema: string;
  backupTable: string;
  stagingUri: string;
  /** The OLAP dialect the run used (its load mode). */
  dialect: OlapDialectName;
}

const sqlOf = (target: Pick<BackupOfTenant, "schema" | "dialect">, runId?: string) =>
  olapDialect(target.dialect).tenant(target.schema, runId);

const openOlap = (target: Pick<BackupOfTenant, "tenant" | "olap" | "dialect">) =>
  PgSession.open(
    target.olap,
    `tenant ${target.tenant} OLAP`,
    olapDialect(target.dialect).session({ readOnly: false }),
  );

export const rollbackStatements = (target: BackupOfTenant): PgStatement[] =>
  sqlOf(target).restoreFromBackup(target.backupTable);

export interface RollbackResult {
  tenant: string;
  rowsBefore: number;
  rowsAfter: number;
}

/**
 * Makes `exam_alt_score` equal to the run's backup again, in one transaction, under the tenant
 * lock. The row count is checked against the backup before COMMIT.
 */
export async function rollbackTenant(
  target: BackupOfTenant,
  owner: LockOwner,
  options: { takeOver: boolean; warn: (message: string) => void },
): Promise<RollbackResult> {
  const sql = sqlOf(target);
  const olap = await openOlap(target);
  try {
    if (!(await olap.count(sql.tableExists(target.backupTable)))) {
      throw new RuntimeError(
        `tenant ${target.tenant}: backup table ${target.schema}.${target.backupTable} does not exist`,
      );
    }
    const lock = sql.lock();
    await acquireTenantLock(olap, lock, target.tenant, owner, options);
    try {
      return await olap.inTransaction(async () => {
        const rowsBefore = await olap.count(sql.countLive());
        for (const statement of rollbackStatements(target)) await olap.query(statement);
        const rowsAfter = await olap.count(sql.countLive());
        const backupRows = await olap.count(sql.countTable(target.backupTable));
        if (rowsAfter !== backupRows) {
          throw new RuntimeError(
            `tenant ${target.tenant}: rollback count check failed (${rowsAfter} rows, backup has ${backupRows}); nothing changed`,
          );
        }
        return { tenant: target.tenant, rowsBefore, rowsAfter };
      });
    } finally {
      await releaseTenantLock(olap, lock.release, owner).catch(() => undefined);
    }
  } finally {
    await olap.close();
  }
}

/**
 * Drops the backup table and the work tables an interrupted attempt may have left, and deletes
 * the staged files; returns what was removed.
 */
export async function cleanupTenant(
  target: BackupOfTenant | Omit<BackupOfTenant, "backupTable">,
  runId: string,
): Promise<string[]> {
  const removed: string[] = [];
  const olap = await openOlap(target);
  try {
    const sql = sqlOf(target, runId);
    if ("backupTable" in target) {
      await olap.query(sql.dropTable(target.backupTable));
      removed.push(`${target.schema}.${target.backupTable}`);
    }
    for (const statement of sql.dropWorkTables()) await olap.query(statement);
  } finally {
    await olap.close();
  }
  const staging = openStaging(target.stagingUri);
  const objects = await staging.list();
  for (const object of objects) await staging.remove(object.name);
  removed.push(`${objects.length} staged objects in ${target.stagingUri}`);
  return removed;
}
