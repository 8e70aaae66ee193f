import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { check, expectAllCopied, expectEqual } from "../../src/core/checks.js";
import { RuntimeError } from "../../src/core/errors.js";
import {
  EXAMPLES_PER_REASON,
  REJECTION_DESCRIPTIONS,
  type Rejection,
  type RejectionReason,
  RejectionTally,
  totalRejected,
} from "../../src/core/rejections.js";
import { inRunChecks } from "../../src/steps/check.js";
import type { ExtractResult, MergeResult } from "../../src/steps/results.js";
import { tallyRejections } from "../../src/steps/merge.js";

/** A small seeded generator, so that a failing order can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = random(seed);
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

const lowest = (ids: readonly string[], count: number) =>
  [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0)).slice(0, count);

const REASONS = Object.keys(REJECTION_DESCRIPTIONS) as RejectionReason[];

describe("RejectionTally", () => {
  const idSets: [string, string[]][] = [
    // Ids of several lengths: compared as text, "9" would come after "10".
    ["ids of different lengths", [9, 10, 11, 99, 100, 101, 7, 1000, 8, 12, 5000, 3].map(String)],
    // Ids beyond 2^53 that a double cannot tell apart.
    [
      "ids beyond 2^53",
      Array.from({ length: 30 }, (_, k) => String(2n ** 53n + BigInt(k))).concat(["18446744073709551615"]),
    ],
    ["exactly as many ids as examples", ["30", "10", "50", "20", "40"]],
    ["fewer ids than examples", ["30", "10"]],
  ];

  for (const [what, ids] of idSets) {
    it(`keeps the ${EXAMPLES_PER_REASON} lowest ids whatever the arrival order (${what})`, () => {
      const expected = lowest(ids, EXAMPLES_PER_REASON);
      for (let seed = 1; seed <= 25; seed++) {
        const tally = new RejectionTally();
        for (const id of shuffled(ids, seed)) tally.add("exam_not_in_olap", id);
        assert.deepEqual(
          tally.list(),
          [{ reason: "exam_not_in_olap", count: ids.length, exampleIds: expected }],
          `seed ${seed}`,
        );
      }
    });
  }

  it("counts rows without an id, without taking them as examples", () => {
    const tally = new RejectionTally();
    tally.add("null_scale_score", null);
    tally.add("null_scale_score", "12");
    tally.add("null_scale_score", null);
    assert.deepEqual(tally.list(), [{ reason: "null_scale_score", count: 3, exampleIds: ["12"] }]);
  });

  it("keeps each reason's count and examples apart, and lists reasons alphabetically", () => {
    const tally = new RejectionTally();
    const rows = shuffled(
      REASONS.flatMap((reason, r) =>
        Array.from({ length: r + 1 }, (_, k) => [reason, String(100 * r + k)] as const),
      ),
      7,
    );
    for (const [reason, id] of rows) tally.add(reason, id);
    const list = tally.list();
    assert.deepEqual(
      list.map((rejection) => rejection.reason),
      [...REASONS].sort(),
    );
    for (const rejection of list) {
      const r = REASONS.indexOf(rejection.reason);
      assert.equal(rejection.count, r + 1, rejection.reason);
      const ids = rows.filter(([reason]) => reason === rejection.reason).map(([, id]) => id);
      assert.deepEqual(rejection.exampleIds, lowest(ids, EXAMPLES_PER_REASON), rejection.reason);
    }
  });

  it("lists nothing when nothing was rejected", () => {
    assert.deepEqual(new RejectionTally().list(), []);
  });
});

describe("tallyRejections (rows of the rejections query)", () => {
  it("takes each reason's count from the query and its ids as examples, sorted", () => {
    // Per reason: the total, repeated on each of up to five example rows, as count(*) OVER gives it.
    const rows = shuffled(
      [
        ...["905", "12", "9007199254740993", "77", "300"].map((id) => ({
          reason: "superseded_exam" as const,
          rejected: "1234",
          id,
        })),
        { reason: "duplicate_score_row" as const, rejected: 1, id: 42 },
        ...["8", "9"].map((id) => ({ reason: "exam_not_in_olap" as const, rejected: "2", id })),
      ],
      3,
    );
    assert.deepEqual(tallyRejections(rows), [
      { reason: "duplicate_score_row", count: 1, exampleIds: ["42"] },
      { reason: "exam_not_in_olap", count: 2, exampleIds: ["8", "9"] },
      { reason: "superseded_exam", count: 1234, exampleIds: ["12", "77", "300", "905", "9007199254740993"] },
    ]);
  });

  it("no rows, no rejections", () => {
    assert.deepEqual(tallyRejections([]), []);
  });
});

describe("totalRejected", () => {
  it("adds the counts of every reason", () => {
    const rejections: Rejection[] = [
      { reason: "null_scale_score", count: 3, exampleIds: [] },
      { reason: "superseded_exam", count: 1234, exampleIds: ["1"] },
    ];
    assert.equal(totalRejected(rejections), 1237);
    assert.equal(totalRejected([]), 0);
  });
});

describe("count checks", () => {
  it("check is ok exactly when the numbers are equal, and keeps both", () => {
    assert.deepEqual(check("rows", 5, 5), { name: "rows", expected: 5, actual: 5, ok: true });
    assert.deepEqual(check("rows", 5, 4), { name: "rows", expected: 5, actual: 4, ok: false });
    assert.equal(check("rows", 0, 0).ok, true);
  });

  it("expectEqual passes equal counts and otherwise throws a RuntimeError naming the check and both numbers", () => {
    assert.doesNotThrow(() => expectEqual("rows inserted = rows kept", 1234, 1234));
    assert.throws(
      () => expectEqual("rows inserted = rows kept", 1234, 1233),
      (error: Error) =>
        error instanceof RuntimeError &&
        error.message.includes("rows inserted = rows kept") &&
        /expected 1234\b/.test(error.message) &&
        /got 1233\b/.test(error.message) &&
        /nothing committed/.test(error.message),
    );
  });

  it("expectAllCopied passes when COPY read every staged row, and otherwise names both counts and the staging", () => {
    assert.doesNotThrow(() => expectAllCopied(500, 500, "s3://b/pa/run1/"));
    for (const [staged, copied] of [
      [500, 499],
      [500, 501],
    ] as const) {
      assert.throws(
        () => expectAllCopied(staged, copied, "s3://b/pa/run1/"),
        (error: Error) =>
          error instanceof RuntimeError &&
          error.message.includes(`${staged} rows staged`) &&
          error.message.includes(`read ${copied}`) &&
          error.message.includes("s3://b/pa/run1/"),
      );
    }
  });
});

describe("inRunChecks", () => {
  const rejection = (reason: RejectionReason, count: number): Rejection => ({
    reason,
    count,
    exampleIds: [],
  });

  /** A consistent run: 1000 rows read, 10 not staged, 990 staged and copied, 15 not kept, 975 loaded. */
  const consistent = (): { extract: ExtractResult; merge: MergeResult } => ({
    extract: {
      rowsRead: 1000,
      rowsStaged: 990,
      parts: 0,
      manifestName: "exam_alt_score.manifest",
      sourceRejections: [rejection("null_scale_score", 7), rejection("null_performance_level", 3)],
    },
    merge: {
      rowsCopied: 990,
      liveBefore: 5000,
      replaced: 400,
      loaded: 975,
      kept: 4600,
      liveAfter: 5575,
      keysHeldTwice: 0,
      checksums: { afterReplace: 4_000_000_000, backfilled: 300_000_000, final: 5_032_704 },
      targetRejections: [rejection("superseded_exam", 12), rejection("exam_not_in_olap", 3)],
    },
  });

  it("all five hold for consistent numbers (the checksum adds modulo 2^32)", () => {
    const { extract, merge } = consistent();
    const checks = inRunChecks(extract, merge);
    assert.equal(checks.length, 5);
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
    );
  });

  it("a merge journaled before the checksums is checked by the counts it kept", () => {
    const { extract, merge } = consistent();
    delete merge.checksums;
    delete merge.keysHeldTwice;
    const checks = inRunChecks(extract, { ...merge, liveSharingKey: 975, liveEqual: 974 });
    assert.deepEqual(
      checks.filter((c) => !c.ok).map((c) => [c.name, c.expected, c.actual]),
      [["live rows equal to the back-filled rows", 975, 974]],
    );
  });

  type Run = ReturnType<typeof consistent>;
  /** What goes wrong, which of the five checks (in order) must then fail alone, and its two numbers. */
  const breaks: [string, number, (run: Run) => void, number, number][] = [
    ["a row read that is neither loaded nor rejected", 0, (run) => (run.extract.rowsRead += 1), 1001, 1000],
    [
      "a source rejection not among the rows read",
      0,
      (run) => run.extract.sourceRejections.push(rejection("null_scale_score", 2)),
      1000,
      1002,
    ],
    [
      "a target rejection not among the rows read",
      0,
      (run) => run.merge.targetRejections.push(rejection("duplicate_score_row", 1)),
      1000,
      1001,
    ],
    ["a staged row COPY did not read", 1, (run) => (run.merge.rowsCopied -= 1), 990, 989],
    ["a live row more than before - replaced + loaded", 2, (run) => (run.merge.liveAfter += 1), 5575, 5576],
    ["a key held by two back-filled rows", 3, (run) => (run.merge.keysHeldTwice = 1), 0, 1],
    [
      "a live row changed, lost or doubled after the replace",
      4,
      (run) => (run.merge.checksums!.final += 7),
      5_032_704,
      5_032_711,
    ],
  ];

  for (const [what, failing, corrupt, expected, actual] of breaks) {
    it(`check ${failing + 1} of 5 fails alone: ${what}`, () => {
      const run = consistent();
      corrupt(run);
      const checks = inRunChecks(run.extract, run.merge);
      assert.deepEqual(
        checks.map((c) => c.ok),
        [0, 1, 2, 3, 4].map((index) => index !== failing),
      );
      assert.deepEqual([checks[failing]!.expected, checks[failing]!.actual], [expected, actual]);
    });
  }
});
