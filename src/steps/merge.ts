import { expectEqual } from "../core/checks.js";
import { RuntimeError } from "../core/errors.js";
import { type Rejection, type RejectionReason, RejectionTally, totalRejected } from "../core/rejections.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { MergeAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";
import type { MergeResult } from "./results.js";

/**
 * Replaces the affected rows in one transaction, so report readers see the old table until
 * COMMIT and never an empty or half-loaded one (runbook defect 3). The counts are checked
 * before COMMIT; if they do not add up, nothing changes.
 */
export async function merge(action: MergeAction, context: StepContext): Promise<MergeResult> {
  const loaded = context.results.load;
  if (!loaded) throw new RuntimeError("internal: the plan merges before it loads");
  const { rowsCopied } = loaded;
  const progress = context.progress("merge", rowsCopied);
  const olap = await context.sessions.olap();
  let selected = 0;
  for (const statement of action.selectRows) selected = (await olap.query(statement)).rowCount;
  // The replace does not touch the work tables, so a second session can classify the rows not
  // kept while it runs (PostgreSQL's DELETE and INSERT use one core; this uses the other).
  const second = action.rejectionsOnSecondSession ? await context.sessions.olapReader() : undefined;
  const rejections = readRejections(second ?? olap, action).then((targetRejections) => {
    expectEqual(
      "staged rows = rows selected + rows rejected",
      rowsCopied,
      selected + totalRejected(targetRejections),
    );
    return targetRejections;
  });
  rejections.catch(() => undefined); // awaited below; a failure then stops the merge
  if (!second) await rejections; // one session: read before the transaction
  const { transaction } = action;
  const result = await olap.inTransaction(async () => {
    const liveBefore = await olap.count(transaction.countLive);
    const replaced = (await olap.query(transaction.deleteReplaced)).rowCount;
    await context.pause("merge");
    const inserted = (await olap.query(transaction.insertRows)).rowCount;
    const liveAfter = await olap.count(transaction.countLive);
    const [check] = (await olap.query<{ key_matches: string; equal_rows: string }>(transaction.checkLiveRows))
      .rows;
    const liveSharingKey = Number(check?.key_matches ?? -1);
    const liveEqual = Number(check?.equal_rows ?? -1);
    expectEqual("rows inserted = rows selected", selected, inserted);
    expectEqual("final count = before - replaced + loaded", liveBefore - replaced + inserted, liveAfter);
    expectEqual("live rows sharing a key with a back-filled row", inserted, liveSharingKey);
    expectEqual("live rows equal to a back-filled row in every column", inserted, liveEqual);
    const targetRejections = await rejections;
    for (const statement of transaction.recordKeys ?? []) await olap.query(statement);
    return {
      rowsCopied,
      liveBefore,
      replaced,
      loaded: inserted,
      kept: liveBefore - replaced,
      liveAfter,
      liveSharingKey,
      liveEqual,
      targetRejections,
    };
  });
  progress.done(result.loaded);
  return result;
}

async function readRejections(olap: PgSession, action: MergeAction): Promise<Rejection[]> {
  const { rows } = await olap.query<{ reason: RejectionReason; rejected: string; id: string }>(
    action.rejections,
  );
  return tallyRejections(rows);
}

/** The rejection rows (per reason: its count, and one row per example id) as a tally. */
export function tallyRejections(
  rows: readonly { reason: RejectionReason; rejected: string | number; id: string | number }[],
): Rejection[] {
  const tally = new RejectionTally();
  const counts = new Map<RejectionReason, number>();
  for (const row of rows) {
    counts.set(row.reason, Number(row.rejected));
    tally.add(row.reason, String(row.id));
  }
  return tally.list().map((rejection) => ({ ...rejection, count: counts.get(rejection.reason) ?? 0 }));
}
