import { describeError } from "../core/errors.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { ReportReadsAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";
import type { LevelCount, TenantDistribution } from "./results.js";

/**
 * Reads what the report's charts show; before comes from the run's backup table. The report
 * does without charts when this fails, so a failure is a warning, not the tenant's failure.
 */
export async function reportReads(
  action: ReportReadsAction,
  context: StepContext,
): Promise<TenantDistribution | undefined> {
  const tenant = context.tenant.tenant.id;
  try {
    // Before and after are read at once, on two sessions: each is a pass over a whole table.
    const [first, second] = await Promise.all([context.sessions.olapReader(), context.sessions.olapReader()]);
    const read = async (olap: PgSession, statement: ReportReadsAction["after"]): Promise<LevelCount[]> =>
      (await olap.query<Record<string, string>>(statement)).rows.map((row) => ({
        schoolYear: Number(row.school_year),
        subjectScoreId: Number(row.subject_score_id),
        level: Number(row.level),
        students: Number(row.students),
      }));
    const hasBackup = action.backupExists !== undefined && (await first.count(action.backupExists)) > 0;
    const [before, after] = await Promise.all([
      hasBackup && action.before ? read(first, action.before) : undefined,
      read(second, action.after),
    ]);
    return { tenant, before, after };
  } catch (error) {
    context.warn(`tenant ${tenant}: no charts in the report: ${describeError(error)}`);
    return undefined;
  }
}
