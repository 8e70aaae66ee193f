import { OlapConnection } from "../adapters/target/postgres.js";
import { openStaging } from "../adapters/staging/open.js";
import type { DatabaseLogin } from "../config/settings.js";
import { RuntimeError } from "../errors.js";
import type { Statement } from "../plan/actions.js";
import { OlapSql, unloggedWorkTables } from "../plan/sql/olap.js";
import { acquireTenantLock, type LockOwner, releaseTenantLock } from "./lock.js";

export interface BackupOfTenant {
  tenant: string;
  olap: DatabaseLogin;
  schema: string;
  backupTable: string;
  stagingUri: string;
}

export const rollbackStatements = (target: BackupOfTenant): Statement[] =>
  new OlapSql(target.schema).restoreFromBackup(target.backupTable);

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
  const sql = new OlapSql(target.schema);
  const olap = await OlapConnection.open(target.olap, `tenant ${target.tenant} OLAP`, { readOnly: false });
  try {
    if (!(await olap.count(sql.tableExists(target.backupTable)))) {
      throw new RuntimeError(
        `tenant ${target.tenant}: backup table ${target.schema}.${target.backupTable} does not exist`,
      );
    }
    await acquireTenantLock(olap, target.schema, target.tenant, owner, options);
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
      await releaseTenantLock(olap, target.schema, owner).catch(() => undefined);
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
  const olap = await OlapConnection.open(target.olap, `tenant ${target.tenant} OLAP`, { readOnly: false });
  try {
    const sql = new OlapSql(target.schema, unloggedWorkTables(target.schema, runId));
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
