import { expectEqual } from "../core/checks.js";
import { RuntimeError } from "../core/errors.js";
import { type Rejection, type RejectionReason, RejectionTally, totalRejected } from "../core/rejections.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { MergeAction } from "../plan/actions.js";
import type { PgStatement } from "../core/statement.js";
import { addChecksums, checksumOf } from "./check.js";
import type { StepContext } from "./context.js";
import type { LevelCount, MergeResult } from "./results.js";

/**
 * Replaces the affected rows in one transaction, so report readers see the old table until
 * COMMIT and never an empty or half-loaded one (runbook defect 3). The counts are checked
 * before COMMIT, with the live table's checksum; if they do not add up, nothing changes.
 */
export async function merge(action: MergeAction, context: StepContext): Promise<MergeResult> {
  const { extract: extracted, load: loaded } = context.results;
  if (!extracted || !loaded) throw new RuntimeError("internal: the plan merges before it extracts and loads");
  const { rowsCopied } = loaded;
  const progress = context.progress("merge", rowsCopied);
  const olap = await context.sessions.olap();
  // The extract watched every staged row go by: when it saw no twins, none need looking for.
  const keepPass = (extracted.twins === false && action.selectRowsNoTwins) || action.selectRows;
  let marked = 0;
  await withLocalSettings(olap, action.keepPassSettings, async () => {
    for (const statement of keepPass) marked = (await olap.query(statement)).rowCount;
  });
  await withLocalSettings(olap, action.analyzeRowsSettings, () => olap.query(action.analyzeRows));
  // The keep pass leaves twins out: fewer rows marked than staged means there are some.
  const twins = marked < rowsCopied;
  if (twins) for (const statement of action.analyzeStage) await olap.query(statement);
  const result = await replaceRows(action, context, olap, { rowsCopied, twins });
  progress.done(result.loaded);
  return result;
}

/** Runs `work` after `settings`, in a transaction of its own so that they last only for it; without settings, as is. */
async function withLocalSettings(
  olap: PgSession,
  settings: readonly PgStatement[],
  work: () => Promise<unknown>,
): Promise<void> {
  if (settings.length === 0) {
    await work();
    return;
  }
  await olap.inTransaction(async () => {
    for (const statement of settings) await olap.query(statement);
    await work();
  });
}

/** The kept rows' reads (beside, where the work tables are shared) and the replace's transaction. */
async function replaceRows(
  action: MergeAction,
  context: StepContext,
  olap: PgSession,
  { rowsCopied, twins }: { rowsCopied: number; twins: boolean },
): Promise<MergeResult> {
  // The replace does not touch the work tables, so a second session can read the kept rows while
  // it runs (PostgreSQL's DELETE and INSERT use one core; these reads use the other).
  const second = action.rejectionsOnSecondSession ? await context.sessions.olapReader() : undefined;
  if (second) for (const statement of action.secondSession) await second.query(statement);
  const keptRows = readKeptRows(second ?? olap, action, twins).then((kept) => {
    expectEqual(
      "staged rows = rows kept + rows rejected",
      rowsCopied,
      kept.count + totalRejected(kept.rejections),
    );
    return kept;
  });
  keptRows.catch(() => undefined); // awaited below; a failure then stops the merge
  if (!second) await keptRows; // one session: read before the transaction
  const { transaction } = action;
  return olap.inTransaction(async () => {
    for (const statement of transaction.settings) await olap.query(statement);
    const before = await readLevels(olap, transaction.levelsBefore);
    const liveBefore = before.count;
    const replaced = (await olap.query(transaction.deleteReplaced)).rowCount;
    await context.pause("merge");
    const afterReplace = await readChecksum(olap, transaction.liveChecksum);
    const inserted = (await olap.query(transaction.insertRows)).rowCount;
    const final = await readLevels(olap, transaction.levelsAfter);
    const kept = await keptRows;
    expectEqual("no key held by two back-filled rows", 0, kept.keysHeldTwice);
    expectEqual("rows inserted = rows kept", kept.count, inserted);
    expectEqual("count after the replace = before - replaced", liveBefore - replaced, afterReplace.count);
    expectEqual("final count = after the replace + inserted", afterReplace.count + inserted, final.count);
    // Two scans of the live table prove what a join with the kept rows would: a row lost,
    // doubled or changed by anything between the replace and here changes the count or the sum.
    expectEqual(
      "live checksum = after the replace + the back-filled rows'",
      addChecksums(afterReplace.checksum, kept.checksum),
      final.checksum,
    );
    return {
      rowsCopied,
      liveBefore,
      replaced,
      loaded: inserted,
      kept: liveBefore - replaced,
      liveAfter: final.count,
      keysHeldTwice: kept.keysHeldTwice,
      checksums: { afterReplace: afterReplace.checksum, backfilled: kept.checksum, final: final.checksum },
      targetRejections: kept.rejections,
      levels: { before: before.levels, after: final.levels },
    };
  });
}

interface KeptRows {
  rejections: Rejection[];
  keysHeldTwice: number;
  count: number;
  checksum: number;
}

/** What the merge needs to know of the kept rows (and of the staged rows it did not keep). */
async function readKeptRows(olap: PgSession, action: MergeAction, twins: boolean): Promise<KeptRows> {
  const rejections = await readRejections(
    olap,
    twins ? action.rejections.withTwins : action.rejections.marked,
  );
  const { enforced, count: keysCount } = action.keysHeldTwice;
  const keysHeldTwice = enforced && (await olap.count(enforced)) > 0 ? 0 : await olap.count(keysCount);
  const { count, checksum } = await readChecksum(olap, action.rowsChecksum);
  return { rejections, keysHeldTwice, count, checksum };
}

async function readChecksum(
  olap: PgSession,
  statement: PgStatement,
): Promise<{ count: number; checksum: number }> {
  const [row] = (await olap.query<{ n: string; checksum: string | null }>(statement)).rows;
  return { count: Number(row?.n ?? -1), checksum: checksumOf(row?.checksum) };
}

/** A live-table read per school year, alt score and level: its totals (a checksum of 0 when it sums none), and the alt scores per level. */
async function readLevels(
  olap: PgSession,
  statement: PgStatement,
): Promise<{ count: number; checksum: number; levels: LevelCount[] }> {
  const { rows } = await olap.query<
    Record<"school_year" | "subject_score_id" | "level" | "n", string> & {
      checksum?: string | null;
    }
  >(statement);
  const levels = rows.map((row) => ({
    schoolYear: Number(row.school_year),
    subjectScoreId: Number(row.subject_score_id),
    level: Number(row.level),
    scores: Number(row.n),
  }));
  const count = levels.reduce((sum, level) => sum + level.scores, 0);
  const checksum = rows.reduce((sum, row) => addChecksums(sum, checksumOf(row.checksum)), 0);
  return { count, checksum, levels };
}

async function readRejections(olap: PgSession, census: PgStatement): Promise<Rejection[]> {
  const { rows } = await olap.query<{ reason: RejectionReason; rejected: string; id: string }>(census);
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
