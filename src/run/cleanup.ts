import type { PgStatement } from "../core/statement.js";
import { openStaging } from "../io/staging/open.js";
import { removeAll } from "../io/staging/store.js";
import { openOlapOfRun, type TenantOfRun, tenantSqlOf } from "./olap-of-run.js";

/** Earlier versions recorded the merge's keys for rollback in this table; cleanup drops it where one did. */
const keysOfEarlierVersions = (runId: string) => `rdw_backfill_keys_${runId}`;

/** What cleanup drops besides the work tables, for the operator to read first. */
export function cleanupStatements(
  target: TenantOfRun & { backupTable?: string },
  runId: string,
): PgStatement[] {
  const sql = tenantSqlOf(target, runId);
  return [
    ...(target.backupTable ? [sql.dropTable(target.backupTable)] : []),
    sql.dropTable(keysOfEarlierVersions(runId)),
  ];
}

/**
 * Drops the backup table and the work tables an interrupted attempt may have left, and deletes
 * the staged files; returns what was removed.
 */
export async function cleanupTenant(
  target: TenantOfRun & { backupTable?: string },
  runId: string,
): Promise<string[]> {
  const removed: string[] = [];
  const { olap, sql } = await openOlapOfRun(target, runId);
  try {
    for (const statement of cleanupStatements(target, runId)) await olap.query(statement);
    if (target.backupTable) removed.push(`${target.schema}.${target.backupTable}`);
    for (const statement of sql.dropWorkTables()) await olap.query(statement);
  } finally {
    await olap.close();
  }
  const staging = openStaging(target.stagingUri);
  removed.push(`${await removeAll(staging)} staged objects in ${target.stagingUri}`);
  return removed;
}
