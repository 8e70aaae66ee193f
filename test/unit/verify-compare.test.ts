import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  aggregateReportCheck,
  compareGroups,
  compareRows,
  completenessCheck,
  BitmapBuilder,
  bitmapSpan,
  EXAMPLES,
  type ExamBitmap,
  type LevelCell,
  type GroupSums,
  levelCells,
  OlderTally,
  orphansCheck,
  uniquenessCheck,
  valuesCheck,
  WarehouseTally,
} from "../../src/steps/verify-compare.js";

/** One group's sums, as the OLAP side returns them: numbers as text (NUMERIC, BIGINT sums). */
const group = (year: number, asmt: number, score: number, sums: Partial<Record<string, string>> = {}) => ({
  school_year: year,
  asmt_id: asmt,
  subject_score_id: score,
  n: "3",
  ids: "3006",
  checksums: "9000000000",
  ...sums,
});

/** The warehouse side's sums of the same rows, as `WarehouseTally` keeps them. */
const tallied = (rows: readonly ReturnType<typeof group>[]): Map<string, GroupSums> =>
  new Map(
    rows.map((row) => [
      `${row.school_year}/${row.asmt_id}/${row.subject_score_id}`,
      { n: BigInt(row.n), ids: BigInt(row.ids), checksums: BigInt(row.checksums) },
    ]),
  );

/** The group a key names, as verify's drill-down reads it. */
const named = (keys: readonly string[]) => keys.map((key) => key.split("/").map(Number));

describe("compareGroups", () => {
  it("identical sides: no differences; counts the warehouse's groups and rows", () => {
    const rows = [group(2020, 7, 19), group(2020, 7, 20, { n: "2", ids: "41" })];
    const result = compareGroups(tallied(rows), rows);
    assert.deepEqual(result, { identity: [], values: [], groups: 2, rowsExpected: 5n });
  });

  it("the order the groups arrive in does not matter", () => {
    const rows = [group(2020, 7, 19), group(2020, 7, 20), group(2021, 7, 19)];
    const result = compareGroups(tallied(rows), [...rows].reverse());
    assert.deepEqual([result.identity, result.values], [[], []]);
  });

  it("a group only the warehouse has, and one only OLAP has, differ in identity", () => {
    const warehouse = [group(2020, 7, 19), group(2020, 7, 20)];
    const olap = [group(2020, 7, 19), group(2021, 8, 21)];
    const result = compareGroups(tallied(warehouse), olap);
    assert.deepEqual(named(result.identity).sort(), [
      [2020, 7, 20],
      [2021, 8, 21],
    ]);
    assert.deepEqual(result.values, []);
    assert.equal(result.groups, 2);
  });

  it("the same number of rows with other ids differs in identity", () => {
    const result = compareGroups(tallied([group(2020, 7, 19)]), [group(2020, 7, 19, { ids: "3007" })]);
    assert.deepEqual(named(result.identity), [[2020, 7, 19]]);
    assert.deepEqual(result.values, []);
  });

  it("another number of rows differs in identity, even with other checksums too", () => {
    const result = compareGroups(tallied([group(2020, 7, 19)]), [
      group(2020, 7, 19, { n: "4", checksums: "1" }),
    ]);
    assert.deepEqual(named(result.identity), [[2020, 7, 19]]);
    assert.deepEqual(result.values, []);
  });

  it("sums beyond 2^53 that differ by one differ (compared as integers, not doubles)", () => {
    const big = (ids: bigint, checksums: bigint) =>
      group(2020, 7, 19, { ids: String(ids), checksums: String(checksums) });
    assert.deepEqual(
      named(compareGroups(tallied([big(2n ** 60n + 1n, 1n)]), [big(2n ** 60n, 1n)]).identity),
      [[2020, 7, 19]],
    );
    assert.deepEqual(named(compareGroups(tallied([big(1n, 2n ** 60n + 1n)]), [big(1n, 2n ** 60n)]).values), [
      [2020, 7, 19],
    ]);
  });

  it("the same ids with another checksum sum differ in values", () => {
    const result = compareGroups(tallied([group(2020, 7, 19)]), [
      group(2020, 7, 19, { checksums: "9000000001" }),
    ]);
    assert.deepEqual(result.identity, []);
    assert.deepEqual(named(result.values), [[2020, 7, 19]]);
  });
});

describe("WarehouseTally", () => {
  /** One page's sums for one group and level, as the warehouse returns them (DECIMAL sums as text). */
  const sums = (level: number, n: number, ids: string, checksums: string, students: number, score = 19) => ({
    school_year: 2020,
    asmt_id: 7,
    subject_score_id: score,
    level,
    n: String(n),
    ids,
    checksums,
    students: String(students),
  });

  it("adds each page's sums per group exactly, beyond 2^53", () => {
    const tally = new WarehouseTally();
    tally.addSums([sums(1, 2, "9007199254740993", "4294967295", 2), sums(2, 1, "7", "1", 1)]);
    tally.addSums([sums(1, 1, "103", "4294967295", 1), sums(1, 1, "5", "3", 1, 20)]);
    assert.deepEqual(tally.groups.get("2020/7/19"), {
      n: 4n,
      ids: 9007199254741103n,
      checksums: 8589934591n,
    });
    assert.deepEqual(tally.groups.get("2020/7/20"), { n: 1n, ids: 5n, checksums: 3n });
    assert.equal(tally.groups.size, 2);
  });

  it("adds the students of each report cell over the pages", () => {
    const tally = new WarehouseTally();
    tally.addSums([sums(2, 3, "1", "1", 2), sums(3, 1, "1", "1", 1)]);
    tally.addSums([sums(2, 1, "1", "1", 1)]);
    assert.deepEqual(
      [...tally.levels],
      [
        ["2020/7/19/2", 3],
        ["2020/7/19/3", 1],
      ],
    );
  });
});

describe("exam bitmaps", () => {
  /** The ids a bitmap names, read back bit by bit as the warehouse does. */
  const named = ({ low, bits }: ExamBitmap) => {
    const ids: number[] = [];
    for (let offset = 0; offset < bits.length * 8; offset++)
      if (bits[offset >> 3]! & (1 << (offset % 8))) ids.push(low + offset);
    return ids;
  };

  const examBitmaps = (ids: readonly string[], span?: number) => {
    const builder = new BitmapBuilder(span ?? 1 << 24);
    for (const id of ids) builder.add(id);
    return builder.bitmaps();
  };

  it("names exactly the ids given, from the first to the last", () => {
    const ids = ["1000", "1001", "1007", "1008", "1100", "123456", "1000000"];
    const [bitmap, ...rest] = examBitmaps(ids);
    assert.deepEqual(rest, []);
    assert.deepEqual([bitmap!.low, bitmap!.high], [1000, 1000000]);
    assert.equal(bitmap!.bits.length, Math.floor((1000000 - 1000) / 8) + 1);
    assert.deepEqual(named(bitmap!), ids.map(Number));
  });

  it("starts another bitmap where the ids spread wider than one may span", () => {
    const ids = ["10", "11", "40", "41", "95"];
    const bitmaps = examBitmaps(ids, 32);
    assert.deepEqual(
      bitmaps.map((b) => [b.low, b.high]),
      [
        [10, 41],
        [95, 95],
      ],
    );
    assert.deepEqual(bitmaps.flatMap(named), ids.map(Number));
  });

  it("spans as many ids as the warehouse's largest statement holds, two hex characters a byte", () => {
    const fourMegabytes = 4 * 1024 * 1024;
    const oneBitmap = bitmapSpan(fourMegabytes, 1);
    const twoBitmaps = bitmapSpan(fourMegabytes, 2);
    // Each statement's bitmaps, as hex, leave room for the rest of the statement.
    assert.ok((oneBitmap / 8) * 2 < fourMegabytes - 32 * 1024, String(oneBitmap));
    assert.ok((twoBitmaps / 8) * 2 * 2 < fourMegabytes - 32 * 1024, String(twoBitmaps));
    assert.ok(oneBitmap > 16_000_000 && twoBitmaps > 8_000_000, `${oneBitmap} ${twoBitmaps}`);
    // A larger packet, larger bitmaps, up to 32 million ids each.
    assert.equal(bitmapSpan(64 * 1024 * 1024, 1), 32 * 1024 * 1024);
    assert.throws(() => bitmapSpan(32 * 1024, 2), /max_allowed_packet \(32768 bytes\) is too small/);
    assert.throws(() => bitmapSpan(Number(undefined), 1), /did not tell its max_allowed_packet/);
  });

  it("grows while ids are added page by page, and refuses ids out of order", () => {
    const builder = new BitmapBuilder(1 << 24);
    const ids = Array.from({ length: 3000 }, (_, i) => 5 + i * 997);
    for (const id of ids) builder.add(id);
    assert.throws(() => builder.add(6), /out of order/);
    const [bitmap] = builder.bitmaps();
    assert.deepEqual(named(bitmap!), ids);
  });
});

describe("compareRows", () => {
  const row = (id: string | number, checksum: number | string = 17, exam: string | number = 1) => ({
    id,
    exam_id: exam,
    checksum,
  });

  it("names the ids missing from OLAP, extra in OLAP, and with another checksum", () => {
    const warehouse = [row(1), row(2), row(3), row(4, 17, 9), row(6)];
    const olap = [row(1), row(2, "18"), row(5), row(6, "17")];
    const { missing, extra, changed } = compareRows(warehouse, olap, new Set(["1"]));
    // Row 4's exam is not in scope: not expected, so not missing.
    assert.deepEqual(missing, ["3"]);
    assert.deepEqual(extra, ["5"]);
    assert.deepEqual(changed, ["2"]);
  });

  it("matches ids whatever type each driver returns them as", () => {
    const result = compareRows(
      [row(101, 5, 7), row("9007199254740993", 6, "7")],
      [row("101", "5"), row("9007199254740993", 6)],
      new Set(["7"]),
    );
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
    const warehouse = new Map([
      ["2021/7/19/2", 5],
      ["2020/10/19/1", 3],
      ["2020/9/19/1", 4],
    ]);
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
    assert.deepEqual(levelCells(new Map(), []), []);
  });
});

describe("the checks verify reports", () => {
  const ids = (count: number, from: number) => Array.from({ length: count }, (_, k) => String(from + k));

  it("completeness: ok when every group has its rows; otherwise the numbers and a few ids each way", () => {
    const same = [group(2020, 7, 19)];
    const passed = completenessCheck(compareGroups(tallied(same), same), { missing: [], extra: [] });
    assert.deepEqual([passed.name, passed.ok, passed.examples], ["completeness", true, []]);
    assert.match(passed.detail, /\b1 groups, 3 rows expected/);

    const groups = compareGroups(tallied([group(2020, 7, 19), group(2020, 7, 20, { n: "7" })]), same);
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

describe("OlderTally: what a runbook run lost", () => {
  /** One school year's rows of one run of 64 exam ids, as a range's statement returns them. */
  const sums = (year: number, run: number, exams: bigint, n: number, earliest: string) => ({
    school_year: year,
    asmt_id: run,
    exams: String(exams),
    n: String(n),
    earliest,
  });

  it("counts the exams and adds the rows per school year over the ranges, and takes the earliest day as the --since", () => {
    const tally = new OlderTally();
    tally.addSums([
      sums(2018, 7, 0b101n, 3, "2018-01-15 23:59:59.999999"),
      sums(2019, 7, 1n << 63n, 1, "2019-05-01 00:00:00.000000"),
    ]);
    tally.addSums([
      sums(2019, 8, 1n, 2, "2019-06-01 00:00:00.000000"),
      sums(2019, 9, 1n, 1, "2019-06-02 00:00:00.000000"),
    ]);
    assert.deepEqual(tally.result(), {
      bySchoolYear: [
        { schoolYear: 2018, exams: 2, rows: 3 },
        { schoolYear: 2019, exams: 3, rows: 4 },
      ],
      since: "2018-01-15",
    });
  });

  it("an exam whose rows two ranges summed counts once: their masks are ORed", () => {
    const tally = new OlderTally();
    tally.addSums([sums(2019, 7, 0b0110n, 3, "2019-05-01 00:00:00.000000")]);
    tally.addSums([sums(2019, 7, 0b1100n, 2, "2019-05-02 00:00:00.000000")]);
    assert.deepEqual(tally.result().bySchoolYear, [{ schoolYear: 2019, exams: 3, rows: 5 }]);
  });

  it("nothing lost: no years and no --since", () => {
    assert.deepEqual(new OlderTally().result(), { bySchoolYear: [] });
  });
});
