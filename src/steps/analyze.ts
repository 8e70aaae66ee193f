import { describeError } from "../core/errors.js";
import type { AnalyzeAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";

/**
 * Housekeeping after the COMMIT: the back-fill is in place already, so a failure here is a
 * warning, not a failed tenant (a later ANALYZE or the engine's own vacuum catches up).
 */
export async function analyze(action: AnalyzeAction, context: StepContext): Promise<void> {
  const olap = await context.sessions.olap();
  const merged = context.results.merge;
  const replacedShare = merged && merged.liveAfter > 0 ? merged.replaced / merged.liveAfter : 0;
  const statements = [
    action.analyze,
    ...(replacedShare >= action.reclaim.minShare ? action.reclaim.statements : []),
  ];
  for (const statement of statements) {
    try {
      await olap.query(statement);
    } catch (error) {
      context.warn(
        `${context.tenant.tenant.id}: ${statement.sql.split(" ")[0]} failed (${describeError(error)}); the back-fill is committed`,
      );
    }
  }
}
