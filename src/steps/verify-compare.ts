import { RuntimeError } from "../core/errors.js";
import { VERIFY_EXAMPLES } from "../plan/tenant-actions.js";

/**
 * Verify's comparisons, without servers. Each side gives, per (school year, asmt, alt score)
 * group, the rows, the sum of their ids and the sum of their checksums, all integers compared
 * exactly; the warehouse's from its sums page by page (`WarehouseTally`), the OLAP side's from
 * one aggregate query.
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

export interface OlderMissing {
  bySchoolYear: { schoolYear: number; exams: number; rows: number }[];
  /** UTC, `YYYY-MM-DD`: the day of the earliest such exam's `updated`; absent when none. */
  since?: string;
}

export interface GroupSums {
  n: bigint;
  ids: bigint;
  checksums: bigint;
}

const groupKey = (row: Row) => `${row.school_year}/${row.asmt_id}/${row.subject_score_id}`;

/**
 * The warehouse side, from the sums the warehouse computed per page: per group, the rows, the
 * sum of their ids and of their checksums; per report cell (group and level), the students.
 */
export class WarehouseTally {
  readonly groups = new Map<string, GroupSums>();
  /** Students per (school year, asmt, alt score, level). */
  readonly levels = new Map<string, number>();

  /** Adds one page's sums (a row per group and level). */
  addSums(rows: readonly Row[]): void {
    addGroupSums(this.groups, rows);
    for (const row of rows) {
      const cell = `${groupKey(row)}/${row.level}`;
      this.levels.set(cell, (this.levels.get(cell) ?? 0) + Number(row.students));
    }
  }
}

/** Adds rows of per-group (or per group and level) sums into `groups`, exactly. */
function addGroupSums(groups: Map<string, GroupSums>, rows: readonly Row[]): Map<string, GroupSums> {
  for (const row of rows) {
    const key = groupKey(row);
    const sums = groups.get(key) ?? { n: 0n, ids: 0n, checksums: 0n };
    sums.n += BigInt(String(row.n));
    sums.ids += BigInt(String(row.ids));
    sums.checksums += BigInt(String(row.checksums));
    groups.set(key, sums);
  }
  return groups;
}

function groupMap(rows: readonly Row[]): Map<string, GroupSums> {
  return addGroupSums(new Map(), rows);
}

/** What a verify statement holds besides its bitmaps (its text, the other values), with room to spare. */
const STATEMENT_BYTES_BESIDES_BITMAPS = 64 * 1024;
/** A bitmap's bytes at most, whatever the server accepts: 32 million exam ids. */
const MAX_BITMAP_BYTES = 4 * 1024 * 1024;

/**
 * Exam ids one bitmap may span, so that a statement's bitmaps, sent as hex text (two characters a
 * byte), fit the warehouse's `max_allowed_packet`: 16 million ids with MySQL 5.7's default (4 MB)
 * and one bitmap a statement; wider scopes are cut into several bitmaps, each a statement.
 */
export function bitmapSpan(maxStatementBytes: number, bitmapsPerStatement: number): number {
  if (!Number.isFinite(maxStatementBytes)) {
    throw new RuntimeError(
      "the warehouse did not tell its max_allowed_packet (verify sizes its bitmaps by it)",
    );
  }
  const bytes = Math.floor((maxStatementBytes - STATEMENT_BYTES_BESIDES_BITMAPS) / (2 * bitmapsPerStatement));
  if (bytes < 1024) {
    throw new RuntimeError(
      `the warehouse's max_allowed_packet (${maxStatementBytes} bytes) is too small for verify's statements`,
    );
  }
  return Math.min(bytes, MAX_BITMAP_BYTES) * 8;
}

export interface ExamBitmap {
  low: number;
  high: number;
  /** Bit i of byte i / 8 (least significant first) stands for exam `low + i`. */
  bits: Buffer;
}

/**
 * Builds bitmaps of exam ids given in ascending order, each spanning at most `span` ids: a
 * tenant's 3 million exams in scope, over 6.5 million ids, take 800 KB, where the ids as text
 * would take 24 MB.
 */
export class BitmapBuilder {
  private readonly done: ExamBitmap[] = [];
  private low = 0;
  private high = -1;
  private bits = Buffer.alloc(0);

  constructor(private readonly span: number) {}

  add(id: string | number): void {
    const value = Number(id);
    if (!Number.isSafeInteger(value)) throw new Error(`exam id ${id} is beyond 2^53`);
    if (value < this.high) throw new Error(`internal: exam ids out of order (${id} after ${this.high})`);
    if (this.high < 0 || value - this.low >= this.span) {
      this.finish();
      this.low = value;
      this.bits = Buffer.alloc(64 * 1024);
    }
    const offset = value - this.low;
    if (offset >> 3 >= this.bits.length) {
      const grown = Buffer.alloc(
        Math.min(Math.max(this.bits.length * 2, (offset >> 3) + 1), (this.span >> 3) + 1),
      );
      this.bits.copy(grown);
      this.bits = grown;
    }
    this.bits[offset >> 3]! |= 1 << (offset & 7);
    this.high = value;
  }

  /** The last id added (-1 before the first). */
  lastId(): number {
    return this.high;
  }

  /** The bitmaps, each trimmed to its last id. */
  bitmaps(): ExamBitmap[] {
    this.finish();
    return this.done;
  }

  private finish(): void {
    if (this.high < this.low) return;
    this.done.push({
      low: this.low,
      high: this.high,
      bits: this.bits.subarray(0, ((this.high - this.low) >> 3) + 1),
    });
    this.high = this.low - 1;
  }
}

/** The groups of both sides: those whose rows differ (count or ids), those whose values differ. */
export function compareGroups(
  expected: ReadonlyMap<string, GroupSums>,
  olap: readonly Row[],
): { identity: string[]; values: string[]; groups: number; rowsExpected: bigint } {
  const actual = groupMap(olap);
  const identity: string[] = [];
  const values: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const w = expected.get(key);
    const o = actual.get(key);
    if (!w || !o || w.n !== o.n || w.ids !== o.ids) identity.push(key);
    else if (w.checksums !== o.checksums) values.push(key);
  }
  const rowsExpected = [...expected.values()].reduce((sum, g) => sum + g.n, 0n);
  return { identity, values, groups: expected.size, rowsExpected };
}

/**
 * The rows of one group on both sides: ids missing from OLAP, extra in OLAP, and with other
 * values (another checksum). Warehouse rows of exams not in `inScope` are not expected.
 */
export function compareRows(
  warehouse: readonly Row[],
  olap: readonly Row[],
  inScope: ReadonlySet<string>,
): { missing: string[]; extra: string[]; changed: string[] } {
  const w = new Map(
    warehouse.filter((row) => inScope.has(String(row.exam_id))).map((row) => [String(row.id), row]),
  );
  const o = new Map(olap.map((row) => [String(row.id), row]));
  const missing: string[] = [];
  const extra: string[] = [];
  const changed: string[] = [];
  for (const [id, row] of w) {
    const other = o.get(id);
    if (!other) missing.push(id);
    else if (String(other.checksum) !== String(row.checksum)) changed.push(id);
  }
  for (const id of o.keys()) if (!w.has(id)) extra.push(id);
  return { missing, extra, changed };
}

/** The aggregate report's cells from both sides, in order. */
export function levelCells(warehouse: ReadonlyMap<string, number>, olap: readonly Row[]): LevelCell[] {
  const cells = new Map<string, LevelCell>();
  const add = (key: string, side: "warehouse" | "olap", students: number) => {
    const [year, asmt, score, level] = key.split("/").map(Number);
    const cell = cells.get(key) ?? {
      schoolYear: year!,
      asmtId: asmt!,
      subjectScoreId: score!,
      level: level!,
      warehouse: 0,
      olap: 0,
    };
    cell[side] = students;
    cells.set(key, cell);
  };
  for (const [key, students] of warehouse) add(key, "warehouse", students);
  for (const row of olap) add(`${groupKey(row)}/${row.level}`, "olap", Number(row.students));
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
      ? "id, scale score, performance level, completed_at and updated equal the warehouse's in every row (checksums)"
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

/**
 * The older exams a runbook run lost: of the exams the OLAP side lists (older than the window, no
 * alt score row), those the warehouse has loadable alt scores for, as the warehouse summed them
 * per school year (the rows of verify's range sums marked `older`).
 */
export class OlderTally {
  private readonly rows = new Map<number, number>();
  /** Per school year, per run of 64 exam ids (`asmt_id` of the row): which of them have rows. */
  private readonly exams = new Map<number, Map<string, bigint>>();
  private earliest: string | undefined;

  /**
   * Rows of one school year and run of 64 exam ids, each with the mask of its exams. An exam whose
   * score rows lie in two ranges comes in two rows: their masks are ORed, so it counts once.
   */
  addSums(rows: readonly Row[]): void {
    for (const row of rows) {
      const year = Number(row.school_year);
      this.rows.set(year, (this.rows.get(year) ?? 0) + Number(row.n));
      const masks = this.exams.get(year) ?? new Map<string, bigint>();
      const run = String(row.asmt_id);
      masks.set(run, (masks.get(run) ?? 0n) | BigInt(String(row.exams)));
      this.exams.set(year, masks);
      const earliest = String(row.earliest);
      if (this.earliest === undefined || earliest < this.earliest) this.earliest = earliest;
    }
  }

  result(): OlderMissing {
    const bySchoolYear = [...this.rows]
      .sort(([a], [b]) => a - b)
      .map(([schoolYear, rows]) => ({
        schoolYear,
        exams: [...(this.exams.get(schoolYear)?.values() ?? [])].reduce(
          (sum, mask) => sum + bitsSet(mask),
          0,
        ),
        rows,
      }));
    // The warehouse session is UTC, so `updated` is UTC text: its day is the --since to give.
    return { bySchoolYear, ...(this.earliest ? { since: this.earliest.slice(0, 10) } : {}) };
  }
}

function bitsSet(mask: bigint): number {
  let count = 0;
  for (let rest = mask; rest > 0n; rest &= rest - 1n) count++;
  return count;
}
