import { VERIFY_EXAMPLES } from "../plan/tenant-actions.js";

/**
 * Verify's comparisons, without servers: the warehouse's rows and the OLAP side's rows in, the
 * checks out. Sums are compared exactly (integers and microseconds as bigint); scale scores
 * with the rounding the staged text carries.
 */

export interface VerifyCheckResult {
  name: "completeness" | "uniqueness" | "orphans" | "values" | "aggregate report";
  ok: boolean;
  /** What was compared and what was found, with numbers. */
  detail: string;
  /** A few `exam_alt_score` / `exam_score` ids (or report cells) to look at. */
  examples: string[];
}

/** Students per performance level for one school year, assessment and alt score, on both sides. */
export interface LevelCell {
  schoolYear: number;
  asmtId: number;
  subjectScoreId: number;
  level: number;
  warehouse: number;
  olap: number;
}

type Row = Record<string, unknown>;

/** Example ids per check: as many as the OLAP side reads (its LIMIT). */
export const EXAMPLES = VERIFY_EXAMPLES;
/** Groups read row by row when their counts or sums differ. */
export const DRILL_GROUPS = 20;
/** Staged scale scores carry 6 significant digits (MySQL's FLOAT text); a few hundredths is rounding. */
const SCALE_TOLERANCE = 0.01;

interface GroupSums {
  n: bigint;
  ids: bigint;
  scale: number;
  levels: bigint;
  completed: bigint;
  updated: bigint;
}

interface RowValues {
  scale: number;
  level: number;
  completed: string;
  updated: string;
}

/** Exact decimal text (`123`, `123.5`, `123.000001`) as whole microseconds. */
export function micros(value: unknown): bigint {
  const [whole = "0", fraction = ""] = String(value ?? "0").split(".");
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0").slice(0, 6));
}

function groupMap(rows: readonly Row[]): Map<string, GroupSums> {
  return new Map(
    rows.map((row) => [
      `${row.school_year}/${row.asmt_id}/${row.subject_score_id}`,
      {
        n: BigInt(String(row.n)),
        ids: BigInt(String(row.ids)),
        scale: Number(row.scale),
        levels: BigInt(String(row.levels)),
        completed: micros(row.completed),
        updated: micros(row.updated),
      },
    ]),
  );
}

function sameValues(a: GroupSums, b: GroupSums): boolean {
  return (
    a.levels === b.levels &&
    a.completed === b.completed &&
    a.updated === b.updated &&
    Math.abs(a.scale - b.scale) <= SCALE_TOLERANCE * Number(a.n)
  );
}

/** The groups of both sides: those whose rows differ (count or ids), those whose values differ. */
export function compareGroups(
  warehouse: readonly Row[],
  olap: readonly Row[],
): { identity: string[]; values: string[]; groups: number; rowsExpected: bigint } {
  const expected = groupMap(warehouse);
  const actual = groupMap(olap);
  const identity: string[] = [];
  const values: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const w = expected.get(key);
    const o = actual.get(key);
    if (!w || !o || w.n !== o.n || w.ids !== o.ids) identity.push(key);
    else if (!sameValues(w, o)) values.push(key);
  }
  const rowsExpected = [...expected.values()].reduce((sum, g) => sum + g.n, 0n);
  return { identity, values, groups: expected.size, rowsExpected };
}

function rowMap(rows: readonly Row[]): Map<string, RowValues> {
  return new Map(
    rows.map((row) => [
      String(row.id),
      {
        scale: Number(row.scale_score),
        level: Number(row.performance_level),
        completed: String(row.completed_at),
        updated: String(row.updated),
      },
    ]),
  );
}

function sameRow(a: RowValues, b: RowValues): boolean {
  return (
    a.level === b.level &&
    a.completed === b.completed &&
    a.updated === b.updated &&
    Math.abs(a.scale - b.scale) <= SCALE_TOLERANCE
  );
}

/** The rows of one group on both sides: ids missing from OLAP, extra in OLAP, and with other values. */
export function compareRows(
  warehouse: readonly Row[],
  olap: readonly Row[],
): { missing: string[]; extra: string[]; changed: string[] } {
  const w = rowMap(warehouse);
  const o = rowMap(olap);
  const missing: string[] = [];
  const extra: string[] = [];
  const changed: string[] = [];
  for (const [id, row] of w) {
    const other = o.get(id);
    if (!other) missing.push(id);
    else if (!sameRow(row, other)) changed.push(id);
  }
  for (const id of o.keys()) if (!w.has(id)) extra.push(id);
  return { missing, extra, changed };
}

/** The aggregate report's cells from both sides, in order. */
export function levelCells(warehouse: readonly Row[], olap: readonly Row[]): LevelCell[] {
  const cells = new Map<string, LevelCell>();
  const add = (rows: readonly Row[], side: "warehouse" | "olap") => {
    for (const row of rows) {
      const key = `${row.school_year}/${row.asmt_id}/${row.subject_score_id}/${row.level}`;
      const cell = cells.get(key) ?? {
        schoolYear: Number(row.school_year),
        asmtId: Number(row.asmt_id),
        subjectScoreId: Number(row.subject_score_id),
        level: Number(row.level),
        warehouse: 0,
        olap: 0,
      };
      cell[side] = Number(row.students);
      cells.set(key, cell);
    }
  };
  add(warehouse, "warehouse");
  add(olap, "olap");
  return [...cells.values()].sort(
    (a, b) =>
      a.schoolYear - b.schoolYear ||
      a.asmtId - b.asmtId ||
      a.subjectScoreId - b.subjectScoreId ||
      a.level - b.level,
  );
}

export function completenessCheck(
  groups: ReturnType<typeof compareGroups>,
  rows: { missing: string[]; extra: string[] },
): VerifyCheckResult {
  const { identity } = groups;
  return {
    name: "completeness",
    ok: identity.length === 0,
    detail:
      `${groups.groups} groups, ${groups.rowsExpected} rows expected for the exams in scope; ` +
      (identity.length === 0
        ? "every group has exactly the expected rows"
        : `${identity.length} groups differ: ${rows.missing.length} rows missing, ${rows.extra.length} rows extra (in the first ${DRILL_GROUPS} groups)`),
    examples: [
      ...rows.missing.slice(0, EXAMPLES).map((id) => `missing ${id}`),
      ...rows.extra.slice(0, EXAMPLES).map((id) => `extra ${id}`),
    ],
  };
}

export function valuesCheck(
  groupsWithOtherValues: readonly string[],
  changed: readonly string[],
): VerifyCheckResult {
  const ok = groupsWithOtherValues.length === 0 && changed.length === 0;
  return {
    name: "values",
    ok,
    detail: ok
      ? "scale score, performance level, completed_at and updated equal the warehouse's in every group"
      : `${groupsWithOtherValues.length + changed.length} rows or groups with other values than the warehouse's`,
    examples: changed.slice(0, EXAMPLES).map((id) => `changed ${id}`),
  };
}

export function uniquenessCheck(
  rows: readonly { n: unknown; first_id: unknown; last_id: unknown; keys: unknown }[],
): VerifyCheckResult {
  const keys = Number(rows[0]?.keys ?? 0);
  return {
    name: "uniqueness",
    ok: keys === 0,
    detail:
      keys === 0
        ? "no two rows share (school_year, asmt_id, student_id, subject_score_id)"
        : `${keys} keys are held by more than one row`,
    examples: rows.map((row) => `${row.n} rows, e.g. ids ${row.first_id} and ${row.last_id}`),
  };
}

export function orphansCheck(rows: readonly { id: unknown; orphans: unknown }[]): VerifyCheckResult {
  const count = Number(rows[0]?.orphans ?? 0);
  return {
    name: "orphans",
    ok: count === 0,
    detail:
      count === 0
        ? "every row's exam is in OLAP exam with the same student, assessment and year"
        : `${count} rows have no such exam`,
    examples: rows.map((row) => `orphan ${row.id}`),
  };
}

export function aggregateReportCheck(levels: readonly LevelCell[]): VerifyCheckResult {
  const differing = levels.filter((cell) => cell.warehouse !== cell.olap);
  return {
    name: "aggregate report",
    ok: differing.length === 0,
    detail: `${levels.length} cells (school year, assessment, alt score, performance level): students counted from OLAP ${
      differing.length === 0 ? "equal" : `differ in ${differing.length} cells from`
    } the warehouse's`,
    examples: differing
      .slice(0, EXAMPLES)
      .map(
        (c) =>
          `${c.schoolYear}/${c.asmtId}/${c.subjectScoreId}/level ${c.level}: warehouse ${c.warehouse}, OLAP ${c.olap}`,
      ),
  };
}
