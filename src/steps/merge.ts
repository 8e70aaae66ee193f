import type { OlapConnection } from "../adapters/target/postgres.js";
import { RuntimeError } from "../errors.js";
import type { MergeAction } from "../plan/actions.js";
import { pausePoint } from "../run/fault-injection.js";
import type { StepProgress } from "./progress.js";
import { type Rejection, type RejectionReason, RejectionTally, totalRejected } from "./rejections.js";

export interface MergeInput {
  /** Rows now in the staging table. */
  rowsCopied: number;
  /** The transaction already committed in an earlier attempt of this run: do not repeat it. */
  committed?: MergeResult;
}

export interface MergeResult {
  liveBefore: number;
  /** Existing rows with the key of a back-filled row, deleted and replaced by it. */
  replaced: number;
  /** Back-filled rows inserted. */
  loaded: number;
  /** Existing rows left as they were. */
  kept: number;
  liveAfter: number;
  /** Live rows sharing a key with a back-filled row, before COMMIT. */
  liveSharingKey: number;
  /** Live rows equal in every column to a back-filled row, before COMMIT. */
  liveEqual: number;
  /** Staged rows not loaded, by reason. */
  targetRejections: Rejection[];
}

/**
 * Replaces the affected rows in one transaction, so report readers see the old table until
 * COMMIT and never an empty or half-loaded one (runbook defect 3). The counts are checked
 * before COMMIT; if they do not add up, nothing changes.
 */
export async function merge(
  action: MergeAction,
  input: MergeInput,
  olap: OlapConnection,
  progress: StepProgress,
  /** A second session, when the work tables are visible to it: the rejections are read there meanwhile. */
  second?: OlapConnection,
): Promise<MergeResult> {
  let selected = 0;
  for (const statement of action.selectRows) selected = (await olap.query(statement)).rowCount;
  // The replace does not touch the work tables, so a second session can classify the rows not
  // kept while it runs (PostgreSQL's DELETE and INSERT use one core; this uses the other).
  const rejections = readRejections(second ?? olap, action).then((targetRejections) => {
    expectEqual(
      "staged rows = rows selected + rows rejected",
      input.rowsCopied,
      selected + totalRejected(targetRejections),
    );
    return targetRejections;
  });
  rejections.catch(() => undefined); // awaited below; a failure then stops the merge
  if (!second) await rejections; // one session: read before the transaction
  if (input.committed) {
    await rejections;
    progress.done(input.committed.loaded);
    return input.committed;
  }
  const { transaction } = action;
  const result = await olap.inTransaction(async () => {
    const liveBefore = await olap.count(transaction.countLive);
    const replaced = (await olap.query(transaction.deleteReplaced)).rowCount;
    await pausePoint("merge");
    const loaded = (await olap.query(transaction.insertRows)).rowCount;
    const liveAfter = await olap.count(transaction.countLive);
    const [check] = (await olap.query<{ key_matches: string; equal_rows: string }>(transaction.checkLiveRows))
      .rows;
    const liveSharingKey = Number(check?.key_matches ?? -1);
    const liveEqual = Number(check?.equal_rows ?? -1);
    expectEqual("rows inserted = rows selected", selected, loaded);
    expectEqual("final count = before - replaced + loaded", liveBefore - replaced + loaded, liveAfter);
    expectEqual("live rows sharing a key with a back-filled row", loaded, liveSharingKey);
    expectEqual("live rows equal to a back-filled row in every column", loaded, liveEqual);
    const targetRejections = await rejections;
    return {
      liveBefore,
      replaced,
      loaded,
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

async function readRejections(olap: OlapConnection, action: MergeAction): Promise<Rejection[]> {
  const { rows } = await olap.query<{ reason: RejectionReason; rejected: string; id: string }>(
    action.rejections,
  );
  const tally = new RejectionTally();
  const counts = new Map<RejectionReason, number>();
  for (const row of rows) {
    counts.set(row.reason, Number(row.rejected));
    tally.add(row.reason, String(row.id));
  }
  return tally.list().map((rejection) => ({ ...rejection, count: counts.get(rejection.reason) ?? 0 }));
}

function expectEqual(check: string, expected: number, actual: number): void {
  if (expected !== actual) {
    throw new RuntimeError(
      `count check failed, nothing committed: ${check}: expected ${expected}, got ${actual}`,
    );
  }
}
