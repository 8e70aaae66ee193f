import type { ExtractResult } from "./extract.js";
import type { LoadResult } from "./load.js";
import type { MergeResult } from "./merge.js";
import { totalRejected } from "./rejections.js";

export interface Check {
  name: string;
  expected: number;
  actual: number;
  ok: boolean;
}

export interface VerifyInput {
  extract: ExtractResult;
  load: LoadResult;
  merge: MergeResult;
}

export interface VerifyResult {
  checks: Check[];
  ok: boolean;
}

/**
 * Proves that every extracted row is either in the live table with the warehouse's values or
 * counted as rejected (runbook defect 7), from the counts the steps took; the merge took the
 * live-table ones inside its transaction, on exactly what it committed.
 */
export function verify(input: VerifyInput): VerifyResult {
  const { extract, load, merge } = input;
  const check = (name: string, expected: number, actual: number): Check => ({
    name,
    expected,
    actual,
    ok: expected === actual,
  });
  const checks = [
    check(
      "extracted = loaded + rejected",
      extract.rowsRead,
      merge.loaded + totalRejected(extract.sourceRejections) + totalRejected(merge.targetRejections),
    ),
    check("staged = copied into the staging table", extract.rowsStaged, load.rowsCopied),
    check("live rows equal to the back-filled rows", merge.loaded, merge.liveEqual),
    check("live rows sharing a key with a back-filled row", merge.loaded, merge.liveSharingKey),
  ];
  return { checks, ok: checks.every((c) => c.ok) };
}
