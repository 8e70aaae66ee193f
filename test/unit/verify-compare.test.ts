import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  aggregateReportCheck,
  compareGroups,
  compareRows,
  completenessCheck,
  EXAMPLES,
  type LevelCell,
  levelCells,
  micros,
  orphansCheck,
  uniquenessCheck,
  valuesCheck,
} from "../../src/steps/verify-compare.js";

/**
 * One group's counts and sums, as both servers return them: numbers as text (DECIMAL, NUMERIC,
 * BIGINT sums), epoch seconds with their microseconds.
 */
const group = (year: number, asmt: number, score: number, sums: Partial<Record<string, string>> = {}) => ({
  school_year: year,
  asmt_id: asmt,
  subject_score_id: score,
  n: "3",
  ids: "3006",
  scale: "7502.5",
  levels: "6",
  completed: "4724697600.000000",
  updated: "4724697600.000003",
  ...sums,
});

/** The group a key names, as verify's drill-down reads it. */
const named = (keys: readonly string[]) => keys.map((key) => key.split("/").map(Number));

describe("micros", () => {
  it("reads exact decimal text as whole microseconds", () => {
    assert.equal(micros("123"), 123_000_000n);
    assert.equal(micros("123.5"), 123_500_000n);
    assert.equal(micros("123.000001"), 123_000_001n);
    assert.equal(micros("1574899200.000001"), 1_574_899_200_000_001n);
    // A sum of thirty million timestamps: far beyond what a double holds to the microsecond.
    assert.equal(micros("47246976000000000.123456"), 47_246_976_000_000_000_123_456n);
  });

  it("reads numbers, and a missing sum as zero", () => {
    assert.equal(micros(1.25), 1_250_000n);
    assert.equal(micros(42), 42_000_000n);
    assert.equal(micros(null), 0n);
    assert.equal(micros(undefined), 0n);
  });

  it("the same value written with different decimal places is the same", () => {
    assert.equal(micros("1574899200.5"), micros("1574899200.500000"));
    assert.equal(micros("1574899200"), micros("1574899200.000000"));
  });
});

describe("compareGroups", () => {
  it("identical sides: no differences; counts the warehouse's groups and rows", () => {
    const rows = [group(2020, 7, 19), group(2020, 7, 20, { n: "2", ids: "41" })];
    const result = compareGroups(
      rows,
      rows.map((row) => ({ ...row })),
    );
    assert.deepEqual(result, { identity: [], values: [], groups: 2, rowsExpected: 5n });
  });

  it("the order the groups arrive in does not matter", () => {
    const rows = [group(2020, 7, 19), group(2020, 7, 20), group(2021, 7, 19)];
    const result = compareGroups(rows, [...rows].reverse());
    assert.deepEqual([result.identity, result.values], [[], []]);
  });

  it("a group only the warehouse has, and one only OLAP has, differ in identity", () => {
    const warehouse = [group(2020, 7, 19), group(2020, 7, 20)];
    const olap = [group(2020, 7, 19), group(2021, 8, 21)];
    const result = compareGroups(warehouse, olap);
    assert.deepEqual(named(result.identity).sort(), [
      [2020, 7, 20],
      [2021, 8, 21],
    ]);
    assert.deepEqual(result.values, []);
    assert.equal(result.groups, 2);
  });

  it("the same number of rows with other ids differs in identity", () => {
    const result = compareGroups([group(2020, 7, 19)], [group(2020, 7, 19, { ids: "3007" })]);
    assert.deepEqual(named(result.identity), [[2020, 7, 19]]);
    assert.deepEqual(result.values, []);
  });

  it("another number of rows differs in identity, even with other values too", () => {
    const result = compareGroups([group(2020, 7, 19)], [group(2020, 7, 19, { n: "4", levels: "9" })]);
    assert.deepEqual(named(result.identity), [[2020, 7, 19]]);
    assert.deepEqual(result.values, []);
  });

  it("id sums beyond 2^53 that differ by one differ", () => {
    const big = (ids: bigint) => group(2020, 7, 19, { ids: String(ids) });
    const result = compareGroups([big(2n ** 60n + 1n)], [big(2n ** 60n)]);
    assert.deepEqual(named(result.identity), [[2020, 7, 19]]);
  });

  for (const [what, sums] of [
    ["performance levels", { levels: "7" }],
    ["completed_at, by one microsecond", { completed: "4724697600.000001" }],
    ["updated, by one microsecond", { updated: "4724697600.000002" }],
  ] as const) {
    it(`the same ids with other ${what} differ in values`, () => {
      const result = compareGroups([group(2020, 7, 19)], [group(2020, 7, 19, sums)]);
      assert.deepEqual(result.identity, []);
      assert.deepEqual(named(result.values), [[2020, 7, 19]]);
    });
  }

  it("microsecond sums are compared exactly: 1574899200.000001 and 1574899200.000002 differ", () => {
    const one = (updated: string) => group(2020, 7, 19, { n: "1", updated });
    assert.deepEqual(compareGroups([one("1574899200.000001")], [one("1574899200.000002")]).values.length, 1);
    assert.deepEqual(compareGroups([one("1574899200.000001")], [one("1574899200.000001")]).values, []);
    assert.deepEqual(compareGroups([one("1574899200.5")], [one("1574899200.500000")]).values, []);
  });

  it("scale sums may differ by rounding: up to 0.01 per row", () => {
    const scale = (n: number, value: string) => group(2020, 7, 19, { n: String(n), scale: value });
    const differs = (n: number, warehouse: string, olap: string) =>
      compareGroups([scale(n, warehouse)], [scale(n, olap)]).values.length > 0;
    // 100 rows: a tolerance of 0.01 × 100 = 1, both ways.
    assert.equal(differs(100, "7250.5", "7251.5"), false);
    assert.equal(differs(100, "7250.5", "7249.5"), false);
    assert.equal(differs(100, "7250.5", "7251.6"), true);
    assert.equal(differs(100, "7250.5", "7249.4"), true);
    // The tolerance grows with the rows: 1.5 is rounding over 200 rows, not over 100.
    assert.equal(differs(200, "14501", "14502.5"), false);
    assert.equal(differs(100, "14501", "14502.5"), true);
    // One row: half a hundredth is rounding, two hundredths are not.
    assert.equal(differs(1, "2501", "2501.005"), false);
    assert.equal(differs(1, "2501", "2501.02"), true);
  });
});

describe("compareRows", () => {
  const row = (id: string | number, values: Partial<Record<string, unknown>> = {}) => ({
    id,
    scale_score: 2501,
    performance_level: 2,
    completed_at: "2020-03-01 10:00:00",
    updated: "2020-03-02 11:00:00.000001",
    ...values,
  });

  it("names the ids missing from OLAP, extra in OLAP, and with other values", () => {
    const warehouse = [row(1), row(2), row(3), row(4), row(6), row(7)];
    const olap = [
      row(1),
      row(2, { performance_level: 3 }),
      row(4, { scale_score: 2501.004 }), // rounding, not a difference
      row(5),
      row(6, { updated: "2020-03-02 11:00:00.000002" }),
      row(7, { completed_at: "2020-03-01 10:00:01" }),
    ];
    const { missing, extra, changed } = compareRows(warehouse, olap);
    assert.deepEqual(missing, ["3"]);
    assert.deepEqual(extra, ["5"]);
    assert.deepEqual([...changed].sort(), ["2", "6", "7"]);
  });

  it("a scale score beyond 0.01 off is changed", () => {
    assert.deepEqual(compareRows([row(1)], [row(1, { scale_score: 2501.02 })]).changed, ["1"]);
  });

  it("matches ids whatever type each driver returns them as", () => {
    const result = compareRows([row(101), row("9007199254740993")], [row("101"), row("9007199254740993")]);
    assert.deepEqual(result, { missing: [], extra: [], changed: [] });
  });
});

describe("levelCells", () => {
  const level = (
    year: number,
    asmt: number,
    score: number,
    performance: number,
    students: string | number,
  ) => ({
    school_year: String(year),
    asmt_id: String(asmt),
    subject_score_id: String(score),
    level: String(performance),
    students,
  });

  it("merges both sides into one cell per group and level, 0 where a side has none, in numeric order", () => {
    const warehouse = [level(2021, 7, 19, 2, "5"), level(2020, 10, 19, 1, "3"), level(2020, 9, 19, 1, "4")];
    const olap = [level(2020, 9, 19, 3, 1), level(2021, 7, 19, 2, 5), level(2020, 9, 19, 1, 2)];
    const cell = (schoolYear: number, asmtId: number, level: number, w: number, o: number): LevelCell => ({
      schoolYear,
      asmtId,
      subjectScoreId: 19,
      level,
      warehouse: w,
      olap: o,
    });
    assert.deepEqual(levelCells(warehouse, olap), [
      cell(2020, 9, 1, 4, 2),
      cell(2020, 9, 3, 0, 1),
      cell(2020, 10, 1, 3, 0), // asmt 10 after 9: compared as numbers
      cell(2021, 7, 2, 5, 5),
    ]);
  });

  it("no rows, no cells", () => {
    assert.deepEqual(levelCells([], []), []);
  });
});

describe("the checks verify reports", () => {
  const ids = (count: number, from: number) => Array.from({ length: count }, (_, k) => String(from + k));

  it("completeness: ok when every group has its rows; otherwise the numbers and a few ids each way", () => {
    const same = [group(2020, 7, 19)];
    const passed = completenessCheck(compareGroups(same, same), { missing: [], extra: [] });
    assert.deepEqual([passed.name, passed.ok, passed.examples], ["completeness", true, []]);
    assert.match(passed.detail, /\b1 groups, 3 rows expected/);

    const groups = compareGroups([group(2020, 7, 19), group(2020, 7, 20, { n: "7" })], same);
    const failed = completenessCheck(groups, { missing: ids(8, 100), extra: ids(2, 900) });
    assert.equal(failed.ok, false);
    assert.match(failed.detail, /\b2 groups, 10 rows expected/);
    assert.match(failed.detail, /\b1 groups differ: 8 rows missing, 2 rows extra/);
    assert.deepEqual(failed.examples, [
      ...ids(EXAMPLES, 100).map((id) => `missing ${id}`),
      ...ids(2, 900).map((id) => `extra ${id}`),
    ]);
  });

  it("values: ok only when no group sum and no row differs", () => {
    assert.equal(valuesCheck([], []).ok, true);
    const groupOnly = valuesCheck(["2020/7/19"], []);
    assert.deepEqual([groupOnly.ok, groupOnly.examples], [false, []]);
    const rows = valuesCheck(["2020/7/19"], ids(8, 40));
    assert.equal(rows.ok, false);
    assert.match(rows.detail, /^9 rows or groups/);
    assert.deepEqual(
      rows.examples,
      ids(EXAMPLES, 40).map((id) => `changed ${id}`),
    );
  });

  it("uniqueness: ok with no duplicate keys; otherwise how many keys, and the ids of each", () => {
    assert.equal(uniquenessCheck([]).ok, true);
    const failed = uniquenessCheck([
      { n: "2", first_id: "10", last_id: "11", keys: "3" },
      { n: "3", first_id: "20", last_id: "29", keys: "3" },
    ]);
    assert.equal(failed.ok, false);
    assert.match(failed.detail, /^3 keys/);
    assert.equal(failed.examples.length, 2);
    assert.ok(failed.examples[0]!.includes("10") && failed.examples[0]!.includes("11"), failed.examples[0]);
    assert.ok(
      failed.examples[1]!.startsWith("3 rows") && failed.examples[1]!.includes("29"),
      failed.examples[1],
    );
  });

  it("orphans: ok with none; otherwise how many, and their ids", () => {
    assert.equal(orphansCheck([]).ok, true);
    const failed = orphansCheck([
      { id: "7", orphans: "12" },
      { id: "9", orphans: "12" },
    ]);
    assert.equal(failed.ok, false);
    assert.match(failed.detail, /^12 rows/);
    assert.deepEqual(failed.examples, ["orphan 7", "orphan 9"]);
  });

  it("aggregate report: ok when every cell has the same students on both sides; otherwise the cells that differ", () => {
    const cell = (level: number, warehouse: number, olap: number): LevelCell => ({
      schoolYear: 2020,
      asmtId: 7,
      subjectScoreId: 19,
      level,
      warehouse,
      olap,
    });
    const equal = aggregateReportCheck([cell(1, 4, 4), cell(2, 0, 0)]);
    assert.deepEqual([equal.ok, equal.examples], [true, []]);
    assert.match(equal.detail, /^2 cells/);
    const cells = [cell(1, 4, 4), ...Array.from({ length: 7 }, (_, k) => cell(k + 2, 10 + k, 20 + k))];
    const differing = aggregateReportCheck(cells);
    assert.equal(differing.ok, false);
    assert.match(differing.detail, /^8 cells .* differ in 7 cells/);
    assert.equal(differing.examples.length, EXAMPLES);
    assert.ok(differing.examples[0]!.includes("level 2") && /\b10\b.*\b20\b/.test(differing.examples[0]!));
  });
});
