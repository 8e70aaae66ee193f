import { type Check, check as compare } from "../core/checks.js";
import { RuntimeError, StepFailedError } from "../core/errors.js";
import { totalRejected } from "../core/rejections.js";
import type { CheckAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";
import type { ExtractResult } from "./results.js";
import type { MergeResult } from "./results.js";
import type { FailureDetails } from "./results.js";

/**
 * Proves that every extracted row is either in the live table with the warehouse's values or
 * counted as rejected (runbook defect 7), from the counts the steps took; the merge took the
 * live-table ones inside its transaction, on exactly what it committed.
 */
export function inRunChecks(extract: ExtractResult, merge: MergeResult): Check[] {
  return [
    compare(
      "extracted = loaded + rejected",
      extract.rowsRead,
      merge.loaded + totalRejected(extract.sourceRejections) + totalRejected(merge.targetRejections),
    ),
    compare("staged = copied into the staging table", extract.rowsStaged, merge.rowsCopied),
    compare(
      "final count = before - replaced + loaded",
      merge.liveBefore - merge.replaced + merge.loaded,
      merge.liveAfter,
    ),
    ...liveTableChecks(merge),
  ];
}

/** What the merge proved of the live table before COMMIT (journals of earlier versions kept other counts). */
function liveTableChecks(merge: MergeResult): Check[] {
  const { checksums } = merge;
  if (checksums) {
    return [
      compare("no key held by two back-filled rows", 0, merge.keysHeldTwice ?? -1),
      compare(
        "live checksum = after the replace + the back-filled rows'",
        addChecksums(checksums.afterReplace, checksums.backfilled),
        checksums.final,
      ),
    ];
  }
  return [
    compare("live rows equal to the back-filled rows", merge.loaded, merge.liveEqual ?? -1),
    compare("live rows sharing a key with a back-filled row", merge.loaded, merge.liveSharingKey ?? -1),
  ];
}

const CHECKSUM_MODULUS = 2n ** 32n;

/** A sum of row hashes as the server gave it (any size, any sign), modulo 2^32. */
export function checksumOf(sum: unknown): number {
  const value = BigInt(sum === null || sum === undefined ? 0 : String(sum)) % CHECKSUM_MODULUS;
  return Number(value < 0n ? value + CHECKSUM_MODULUS : value);
}

export function addChecksums(a: number, b: number): number {
  return checksumOf(BigInt(a) + BigInt(b));
}

export async function check(_action: CheckAction, context: StepContext): Promise<{ checks: Check[] }> {
  const { extract, merge } = context.results;
  if (!extract || !merge) throw new RuntimeError("internal: the plan checks before it merges");
  const checks = inRunChecks(extract, merge);
  const failed = checks.filter((c) => !c.ok).map((c) => c.name);
  if (failed.length > 0) {
    throw new StepFailedError<FailureDetails>(`verification failed: ${failed.join("; ")}`, { checks });
  }
  return { checks };
}
