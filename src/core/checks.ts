import { RuntimeError } from "./errors.js";

/** A count compared with what it must be, as the report shows it. */
export interface Check {
  name: string;
  expected: number;
  actual: number;
  ok: boolean;
}

export function check(name: string, expected: number, actual: number): Check {
  return { name, expected, actual, ok: expected === actual };
}

/** Throws when a count inside a transaction is off, so that the transaction is rolled back. */
export function expectEqual(name: string, expected: number, actual: number): void {
  if (expected !== actual) {
    throw new RuntimeError(
      `count check failed, nothing committed: ${name}: expected ${expected}, got ${actual}`,
    );
  }
}

/** The count check between load and merge: every staged row is in the staging table. */
export function expectAllCopied(rowsStaged: number, rowsCopied: number, stagingUri: string): void {
  if (rowsCopied !== rowsStaged) {
    throw new RuntimeError(
      `count check failed before merge: ${rowsStaged} rows staged, COPY read ${rowsCopied} from ${stagingUri}`,
    );
  }
}
