import type { OlapConnection } from "../adapters/target/postgres.js";
import type { BackupAction } from "../plan/actions.js";

export interface BackupResult {
  table: string;
  rows: number;
}

/** Copies `exam_alt_score` to `exam_alt_score_backup_<run id>` in the tenant schema, in one transaction. */
export async function backup(action: BackupAction, olap: OlapConnection): Promise<BackupResult> {
  const rows = await olap.inTransaction(async () => {
    let copied = 0;
    for (const statement of action.statements) copied = (await olap.query(statement)).rowCount;
    return copied;
  });
  return { table: action.backupTable, rows };
}
