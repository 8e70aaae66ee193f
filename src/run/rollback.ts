import type { DatabaseLogin } from "../config/settings.js";
import { RuntimeError } from "../core/errors.js";
import type { PgStatement } from "../core/statement.js";
import { olapDialect, type OlapDialectName } from "../dialects/choose.js";
import type { PostgresTenantSql } from "../dialects/postgres.js";
import { openDetectedOlap } from "../plan/discover.js";
import { PgSession } from "../io/db/pg-session.js";
import { openStaging } from "../io/staging/open.js";
import { removeAll } from "../io/staging/store.js";
import type { LockOwner } from "../steps/context.js";
import { acquireTenantLock, releaseTenantLock } from "../steps/lock.js";

export interface BackupOfTenant {
  tenant: string;
  olap: DatabaseLogin;
  schema: string;
  backupTable: string;
  stagingUri: string;
  /** The OLAP dialect the run used; absent in journals that did not record it (the server is asked). */
  dialect?: OlapDialectName;
}

/** A session in the run's dialect, and the dialect's statements on the tenant schema. */
async function openOlap(
  target: Pick<BackupOfTenant, "tenant" | "olap" | "dialect" | "schema">,
  runId?: string,
): Promise<{ olap: PgSession; sql: PostgresTenantSql }> {
  const what = `tenant ${target.tenant} OLAP`;
  if (!target.dialect) {
    const { session, dialect } = await openDetectedOlap(target.olap, what, { readOnly: false });
    return { olap: session, sql: dialect.tenant(target.schema, runId) };
  }
  const dialect = olapDialect(target.dialect);
  const olap = await PgSession.open(target.olap, what, dialect.session({ readOnly: false }));
  return { olap, sql: dialect.tenant(target.schema, runId) };
}

/** What rollback will run, for the operator to read first (the statements are the same on both engines). */
export const rollbackStatements = (target: BackupOfTenant): PgStatement[] =>
  olapDialect(target.dialect ?? "postgres")
    .tenant(target.schema)
    .restoreFromBackup(target.backupTable);

/** What cleanup drops besides the work tables, for the operator to read first. */
export const dropBackupStatement = (target: BackupOfTenant): PgStatement =>
  olapDialect(target.dialect ?? "postgres")
    .tenant(target.schema)
    .dropTable(target.backupTable);

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
  const { olap, sql } = await openOlap(target);
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
        for (const statement of sql.restoreFromBackup(target.backupTable)) await olap.query(statement);
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
  const { olap, sql } = await openOlap(target, runId);
  try {
    if ("backupTable" in target) {
      await olap.query(sql.dropTable(target.backupTable));
      removed.push(`${target.schema}.${target.backupTable}`);
    }
    for (const statement of sql.dropWorkTables()) await olap.query(statement);
  } finally {
    await olap.close();
  }
  const staging = openStaging(target.stagingUri);
  removed.push(`${await removeAll(staging)} staged objects in ${target.stagingUri}`);
  return removed;
}
