import type { BackupAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";
import type { BackupResult } from "./results.js";

/** Copies `exam_alt_score` to `exam_alt_score_backup_<run id>` in the tenant schema, in one transaction. */
export async function backup(action: BackupAction, context: StepContext): Promise<BackupResult> {
  const olap = await context.sessions.olap();
  // A backup is one transaction: if its table exists, it is complete.
  if (await olap.count(action.exists)) return { table: action.backupTable };
  const rows = await olap.inTransaction(async () => {
    let copied = 0;
    for (const statement of action.statements) copied = (await olap.query(statement)).rowCount;
    return copied;
  });
  return { table: action.backupTable, rows };
}
