import type { OlapConnection } from "../adapters/target/postgres.js";
import type { VerifyAction } from "../plan/actions.js";
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
 * Proves, after COMMIT, that every extracted row is either in the live table with the
 * warehouse's values or counted as rejected (runbook defect 7).
 */
export async function verify(
  action: VerifyAction,
  input: VerifyInput,
  olap: OlapConnection,
): Promise<VerifyResult> {
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
    check(
      "live rows equal to the back-filled rows",
      merge.loaded,
      await olap.count(action.countMatchingLiveRows),
    ),
    check("duplicate keys among back-filled rows", 0, await olap.count(action.countDuplicateKeys)),
  ];
  return { checks, ok: checks.every((c) => c.ok) };
}
